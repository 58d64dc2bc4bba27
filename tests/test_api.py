"""The library API alone, no CLI: archive -> verify -> history -> export on a loopback site."""

from __future__ import annotations

import random
import zipfile

import pytest
from evalset import Passage, render
from webfixtures import ARTICLE, RU_UTF8, send

from provenance.api import ArchiveEvents, Evidence
from provenance.errors import StoreError

CLAIM = "Россия потеряла 9 861 человек убитыми, 16 153 ранеными"



def test_archive_verify_history_export_through_the_api(tmp_path, web):
    web.add_route("/api/article", lambda h: send(h, 200, RU_UTF8,
                                                 content_type="text/html; charset=utf-8"))
    url = web.url("/api/article")
    passage = Passage("api", "rus", ARTICLE[0], ARTICLE[1], CLAIM, ARTICLE[2], "")
    shot = tmp_path / "shot.png"
    render(passage, passage.body, "clean", random.Random(1)).save(shot)
    seen = []
    with Evidence(tmp_path / "evidence") as evidence:
        run = evidence.archive([url], events=ArchiveEvents(captured=seen.append))
        assert [o.url for o in run.outcomes] == [url] and run.outcomes[0].ok
        assert seen == run.outcomes and not run.failures  # reported as recorded
        checked = evidence.verify(shot, passage.claim)
        assert checked.verification.verdict == "match", checked.verification.reasons
        assert checked.record.kind == "verification"
        items = evidence.history(url)
        assert [i["source"] for i in items] == ["local"]
        summary = evidence.export([run.outcomes[0].record.id], tmp_path / "bundle.zip")
        assert summary["files"] >= 2
        assert evidence.check().intact
    with zipfile.ZipFile(tmp_path / "bundle.zip") as bundle:
        assert "MANIFEST.sha256" in bundle.namelist()


def test_a_read_only_evidence_creates_nothing(tmp_path):
    with pytest.raises(StoreError):
        Evidence(tmp_path / "none", writable=False)
    assert not (tmp_path / "none").exists()
