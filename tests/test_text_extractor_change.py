"""A new extractor is not an edit: ``changed`` and ``history`` compare one extractor's texts.

The first capture is made by a stand-in for an older extractor (it kept the navigation and
the footer and names itself ``archive.text`` 2); the second, of the very same page, by
today's. Their stored texts differ, but the page did not: both must be extracted again from
their WARCs, and nothing reported.
"""

from __future__ import annotations

import json

from test_changes import KP, archive, article, changing_route, html

import archive.capture as archive_capture
from archive.extract_article import Extractor
from archive.text import PageText, extract_text, flat_text
from provenance.cli import main
from provenance.store.filestore import Store
from provenance.store.kinds import CHANGED
from provenance.store.ledger import Ledger

OLD = Extractor("archive.text", "2")


def old_extractor(body: bytes, content_type: str | None, url: str) -> PageText:
    page = extract_text(body, content_type, url)
    page.text = flat_text(body.decode("utf-8"))  # navigation and footer kept, as old walks did
    page.extractor = OLD
    return page


def test_a_text_changed_only_by_a_new_extractor_is_no_change(tmp_path, capsys, web,
                                                              monkeypatch):
    store = str(tmp_path / "ev")
    page = html(article(KP))
    url = changing_route(web, "/text/extractor", [(200, page), (200, page)])
    monkeypatch.setattr(archive_capture, "extract_text", old_extractor)
    first = archive(capsys, store, url)
    monkeypatch.undo()
    second = archive(capsys, store, url)
    assert first["text_sha256"] != second["text_sha256"]  # the stored texts do differ...
    assert second["changed"] is None                       # ...but the page did not
    with Ledger(Store(store)) as ledger:
        assert list(ledger.records(kind=CHANGED)) == []
        records = [r.data for r in ledger.records(kind="capture")]
    assert records[0]["extractor"] == {"name": "archive.text", "version": "2"}
    assert records[1]["extractor"]["name"] == "trafilatura"
    assert main(["--json", "--store", store, "history", url, "--to", "none"]) in (0, 1)
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    local = [i for i in items if i.get("source") == "local"]
    assert len(local) == 2 and "diff" in local[1]  # compared...
    assert all(i.get("diff") is None for i in items)  # ...and found unchanged
