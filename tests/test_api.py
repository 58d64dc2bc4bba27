"""The library API alone, no CLI: archive -> verify -> history -> export on a loopback site."""

from __future__ import annotations

import random
import threading
import zipfile

import pytest
from evalset import Passage, render
from webfixtures import ARTICLE, RU_UTF8, send

from provenance.api import ArchiveEvents, Evidence, VerifyEvents
from provenance.errors import StoreError, UsageError

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


def _shot(tmp_path, name="shot.png"):
    passage = Passage("api", "rus", ARTICLE[0], ARTICLE[1], CLAIM, ARTICLE[2], "")
    path = tmp_path / name
    render(passage, passage.body, "clean", random.Random(1)).save(path)
    return path


def test_ocr_reads_once_then_takes_the_reading_from_the_store(tmp_path, tsa):
    shot = _shot(tmp_path)
    seen = []
    with Evidence(tmp_path / "evidence") as evidence:
        first = evidence.ocr([shot], tsas=[tsa.url], on_read=seen.append)
        assert [r.ok for r in first.reads] == [True] and seen == first.reads
        assert not first.reads[0].cached and "9 861" in first.reads[0].result.text
        assert [s["status"] for s in first.timestamps.summaries()] == ["granted"]
        again = evidence.ocr([shot, tmp_path / "missing.png"], tsas=[tsa.url])
        assert again.reads[0].cached and again.reads[0].record == first.reads[0].record
        assert [r.image for r in again.failures] == [str(tmp_path / "missing.png")]
        assert again.timestamps.results == []  # nothing new to stamp
        kinds = [r.kind for r in evidence.log()]
        assert kinds == ["ocr", "timestamp"]


def test_verify_against_a_capture_by_id_and_by_url(tmp_path, web):
    web.add_route("/api/verify", lambda h: send(h, 200, RU_UTF8,
                                                content_type="text/html; charset=utf-8"))
    url = web.url("/api/verify")
    shot = _shot(tmp_path)
    notes = []
    with Evidence(tmp_path / "evidence") as evidence:
        by_url = evidence.verify(shot, against=url, events=VerifyEvents(note=notes.append))
        assert notes == [f"capturing {url}"]
        capture = by_url.capture
        assert capture is not None and capture.kind == "capture"
        assert by_url.verification.verdict == "match", by_url.verification.reasons
        assert by_url.timeline is not None and len(by_url.timeline["captures"]) == 1
        by_id = evidence.verify(shot, against=str(capture.seq))
        assert by_id.capture == capture and by_id.ocr_cached and by_id.timeline is None
        assert by_id.record.data["against"]["capture"] == capture.id
        with pytest.raises(UsageError, match="not a capture"):
            evidence.verify(shot, against=str(by_id.record.seq))
        with pytest.raises(UsageError):
            evidence.verify(shot)  # neither a claim nor a capture
        about = [r.kind for r in evidence.log(url)]
        assert about == ["capture", "verification", "verification"]
        assert [r.kind for r in evidence.log(kinds=["ocr"])] == ["ocr"]


def test_a_capture_text_edited_in_the_store_is_never_compared(tmp_path, web):
    web.add_route("/api/edited", lambda h: send(h, 200, RU_UTF8,
                                                content_type="text/html; charset=utf-8"))
    shot = _shot(tmp_path)
    with Evidence(tmp_path / "evidence") as evidence:
        (outcome,) = evidence.archive([web.url("/api/edited")]).outcomes
        text = next(f for f in outcome.record.files if f["role"] == "text")
        path = evidence.store.path(text["path"])
        path.chmod(0o644)
        path.write_text(CLAIM, encoding="utf-8")  # a forger makes the page say the claim
        with pytest.raises(StoreError, match="altered"):
            evidence.verify(shot, against=outcome.record.id)


def test_retry_then_check_and_check_bundle(tmp_path, web, tsa):
    web.add_route("/api/retry", lambda h: send(h, 200, RU_UTF8,
                                               content_type="text/html; charset=utf-8"))
    with Evidence(tmp_path / "evidence") as evidence:
        (outcome,) = evidence.archive([web.url("/api/retry")]).outcomes
        assert evidence.retry().witnesses == [] and not evidence.retry().still_pending
        tsa.down = True
        run = evidence.retry(tsas=[tsa.url])
        assert [s["status"] for s in run.stamps] == ["pending"] and run.still_pending
        tsa.down = False
        run = evidence.retry()
        assert [s["status"] for s in run.stamps] == ["granted"] and not run.still_pending
        evidence.export([outcome.record.id], tmp_path / "b.zip")
    assert Evidence.check_at(tmp_path / "evidence").intact
    report = Evidence.check_bundle(tmp_path / "b.zip", tsa.pki.root)
    assert report.intact, report.problems
    assert not Evidence.check_bundle(tmp_path / "b.zip").intact  # no root trusted: not proven
    with pytest.raises(UsageError):
        Evidence.check_bundle(tmp_path / "none.zip")
    (tmp_path / "evidence" / "ledger.sqlite3").unlink()
    assert not Evidence.check_at(tmp_path / "evidence").intact  # said as damage, not refused


def test_watch_records_captures_and_changes_until_stopped(tmp_path, web):
    pages = iter(["<p>Убито 9 861 человек.</p>", "<p>Убито 9 881 человек.</p>"])
    body = {"now": next(pages)}
    web.add_route("/api/watch", lambda h: send(h, 200, body["now"].encode(),
                                               content_type="text/html; charset=utf-8"))
    stop = threading.Event()
    seen = []

    def on_capture(watched):
        seen.append(watched)
        if len(seen) == 1:
            body["now"] = next(pages)
        else:
            stop.set()

    with Evidence(tmp_path / "evidence") as evidence:
        run = evidence.watch([web.url("/api/watch")], every=0.05, stop=stop,
                             on_capture=on_capture)
        assert (run.captures, run.changes, run.failures) == (2, 1, 0)
        assert [w.first for w in seen] == [True, False]
        assert seen[1].outcome.changed is not None
        assert [r.kind for r in evidence.log(kinds=["changed"])] == ["changed"]
