"""A new extractor is not an edit: ``changed`` and ``history`` compare one extractor's texts.

The first capture is made by a stand-in for an older extractor (it kept the navigation and
the footer and names itself ``archive.text`` 2); the second, of the very same page, by
today's. Their stored texts differ, but the page did not: both must be extracted again from
their WARCs, and nothing reported.
"""

from __future__ import annotations

import json

from test_changes import KP, archive, article, changing_route, html

import archive.textpool as archive_textpool
from archive.extract_article import Extractor
from archive.text import PageText, extract_text, flat_text
from provenance.cli import main
from provenance.store.filestore import Store
from provenance.store.kinds import CHANGED
from provenance.store.ledger import Ledger
from provenance.store.records import ChangedPayload

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
    monkeypatch.setattr(archive_textpool, "extract_text", old_extractor)
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


# --- a fallback text on one side: the diff says so ------------------------------------------------

def _no_article(text: str) -> str:
    """The same article inside an <aside>: no extractor finds an article, so the whole
    visible text (menu, footer, a "most read" box) is kept, with a note saying so."""
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    return ("<html><body><nav>Главная Политика</nav><aside>" + paragraphs + "<p>"
            + "Самое читаемое за неделю. " * 10 + "</p></aside>"
            "<footer>Все права защищены</footer></body></html>")


FALLBACK_NOTE = "no article found: the whole visible text is kept"


def test_a_diff_against_a_fallback_text_says_so(tmp_path, capsys, web):
    """The page did not lose its article; the extractor did. The change history reports
    (menu and "most read" lines added) must say this copy's text is a fallback."""
    store = str(tmp_path / "ev")
    url = changing_route(web, "/text/fallback", [(200, html(article(KP))),
                                                 (200, _no_article(article(KP)))])
    archive(capsys, store, url)
    archive(capsys, store, url)
    assert main(["--json", "--store", store, "history", url, "--to", "none"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    diff = items[1]["diff"]
    assert diff["added"]  # a change is reported...
    assert diff["text_notes"] == [{"copy": "this", "note": FALLBACK_NOTE}]  # ...and qualified
    assert "text_notes" not in (items[0].get("diff") or {})
    assert main(["--store", store, "history", url, "--to", "none"]) == 0
    lines = capsys.readouterr().out.splitlines()
    changed = [line for line in lines if "CHANGED" in line]
    assert len(changed) == 1 and changed[0].endswith(
        f"CHANGED (compare with care: this copy's text: {FALLBACK_NOTE})")
    report = tmp_path / "timeline.html"
    assert main(["--store", store, "history", url, "--to", "none", "--report",
                 str(report)]) == 0
    assert f"compare with care: this copy's text: {FALLBACK_NOTE}" in report.read_text()


def test_a_changed_record_carries_the_text_notes_history_shows(tmp_path, capsys, web):
    """The ``changed`` record written when the capture is made says what history says: the
    change was measured against a fallback text (a reader of the ledger or an exported
    bundle alone must not take it for an edit of the article)."""
    store = str(tmp_path / "ev")
    url = changing_route(web, "/text/fallback-record", [(200, html(article(KP))),
                                                        (200, _no_article(article(KP)))])
    archive(capsys, store, url)
    second = archive(capsys, store, url)
    notes = [{"copy": "this", "note": FALLBACK_NOTE}]
    assert second["changed"]["text_notes"] == notes  # in archive's JSON...
    with Ledger(Store(store)) as ledger:
        (record,) = list(ledger.records(kind=CHANGED))
    assert record.data["text_notes"] == notes  # ...and in the ledger record
    assert ChangedPayload.from_json(record.data).text_notes == notes
    assert main(["--json", "--store", store, "history", url, "--to", "none"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert items[1]["diff"]["text_notes"] == record.data["text_notes"]
    assert main(["--store", store, "check"]) == 0


def test_a_changed_record_of_two_extractors_carries_today_s_notes(tmp_path, capsys, web,
                                                                   monkeypatch):
    """Texts by two extractors are both made again; the notes are what today's says of them."""
    store = str(tmp_path / "ev")
    url = changing_route(web, "/text/fallback-two", [(200, html(article(KP))),
                                                     (200, _no_article(article(KP)))])
    monkeypatch.setattr(archive_textpool, "extract_text", old_extractor)
    archive(capsys, store, url)
    monkeypatch.undo()
    second = archive(capsys, store, url)
    assert second["changed"]["text_notes"] == [{"copy": "this", "note": FALLBACK_NOTE}]


def test_a_changed_record_without_notes_has_no_key(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = changing_route(web, "/text/plain-change", [(200, html(article(KP))),
                                                     (200, html(article(None)))])
    archive(capsys, store, url)
    assert "text_notes" not in archive(capsys, store, url)["changed"]
    with Ledger(Store(store)) as ledger:
        (record,) = list(ledger.records(kind=CHANGED))
    assert "text_notes" not in record.data


def test_watch_says_compare_with_care(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = changing_route(web, "/text/fallback-watch", [(200, html(article(KP))),
                                                       (200, _no_article(article(KP)))])
    assert main(["--store", store, "watch", url, "--every", "0.05s", "--for", "0.3s",
                 "--to", "none", "--tsa", "none"]) == 0
    changed = [line for line in capsys.readouterr().out.splitlines() if "CHANGED" in line]
    assert len(changed) == 1 and changed[0].endswith(
        f"(compare with care: this copy's text: {FALLBACK_NOTE})")


def test_archive_copies_by_two_extractors_are_compared_by_one_and_noted(tmp_path, capsys,
                                                                          ia_env):
    """Archive copies kept with different extractors are extracted again from their WARCs
    (they were skipped before), and the fallback side is named."""
    from waybackserver import Snap

    url = "http://127.0.0.1:9/text/fallback-copies"
    body = html(article(KP)).encode()
    ia_env.snaps[url] = [
        Snap("20220320100000", url, 200, "text/html; charset=utf-8", None, body),
        Snap("20220320110000", url, 200, "text/html; charset=utf-8", None,
             _no_article(article(KP)).encode()),
        Snap("20220320120000", url, 200, "text/html; charset=utf-8", None, body)]
    store = str(tmp_path / "ev")
    assert main(["--json", "--store", store, "history", url, "--to", "ia",
                 "--fetch-witnesses"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [i["diff"]["text_notes"] for i in items[1:]] == [
        [{"copy": "this", "note": FALLBACK_NOTE}], [{"copy": "earlier", "note": FALLBACK_NOTE}]]
