"""A page whose server fails for a while is not a page that was edited or removed.

An outage (HTTP 503), a rate limit (429) or a gateway timeout is recorded as a capture with
its status, as always; but what the server sent then is not the page's text. Compared like
one, it read as "every passage removed, every figure gone" and, when the page came back,
"every passage added", and the real edit made during the outage was never shown at all.
"""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

from test_changes import KP, REST, article, changing_route, html

from provenance.changes.timeline import screenshot_timeline
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.kinds import CHANGED
from provenance.store.ledger import Ledger

OUTAGE = "<html><body><h1>Service Unavailable</h1><p>Try again later.</p></body></html>"
LIMIT = "<html><body><p>Too many requests: slow down.</p></body></html>"


def archive(capsys, store: str, url: str) -> dict:
    assert main(["--json", "--store", store, "archive", url, "--to", "none", "--tsa",
                 "none"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[-1])


def test_an_outage_is_no_removal_and_the_edit_made_during_it_is_shown(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = changing_route(web, "/outage/kp", [
        (200, html(article(KP))), (503, OUTAGE), (429, LIMIT), (200, html(article(None)))])
    outs = [archive(capsys, store, url) for _ in range(4)]
    assert [o["http_status"] for o in outs] == [200, 503, 429, 200]
    assert outs[1]["changed"] is None and outs[2]["changed"] is None  # nothing removed
    edit = outs[3]["changed"]
    assert edit["since_seq"] == outs[0]["ledger_seq"]  # compared with the page, not the 429
    assert edit["removed"] == [KP] and edit["added"] == []
    assert "http_status" not in edit
    with Ledger(Store(store)) as ledger:
        assert len(list(ledger.records(kind=CHANGED))) == 1

    assert main(["--store", store, "history", url, "--to", "none"]) == 0
    lines = capsys.readouterr().out.splitlines()
    outage = [line for line in lines if "  503  " in line or "  429  " in line]
    assert len(outage) == 2 and all("not compared: the server answered HTTP" in line
                                    and "CHANGED" not in line for line in outage)
    assert f"    - {KP}" in lines and not any(REST[0] in line for line in lines)
    report = tmp_path / "timeline.html"
    assert main(["--store", store, "history", url, "--to", "none", "--report",
                 str(report)]) == 0
    page = report.read_text(encoding="utf-8")
    assert page.count("not compared: the server answered HTTP") == 2
    assert page.count("<del>") == 1  # the one passage really removed
    assert main(["--store", store, "check"]) == 0


def test_watch_says_an_outage_was_not_compared(tmp_path, capsys, web):
    served = itertools.count()
    bodies = [(200, html(article(KP))), (503, OUTAGE)]

    def handler(h):
        from webfixtures import send

        status, body = bodies[min(next(served), 1)]
        send(h, status, body.encode(), content_type="text/html; charset=utf-8")

    web.add_route("/outage/watch", handler)
    store = str(tmp_path / "ev")
    assert main(["--store", store, "watch", web.url("/outage/watch"), "--every", "0.1s",
                 "--for", "0.35s", "--tsa", "none"]) == 0
    captured = capsys.readouterr()
    assert "CHANGED" not in captured.out and "removed" not in captured.out
    assert "not compared: the server answered HTTP 503" in captured.err
    assert "no change since" not in captured.err


def test_a_screenshot_is_not_withdrawn_by_an_outage(tmp_path, capsys, web):
    """Shown at T1, then the server answers 503: not "not shown from T2 on"."""
    store = str(tmp_path / "ev")
    url = changing_route(web, "/outage/shot", [(200, html(article(KP))), (503, OUTAGE)])
    outs = [archive(capsys, store, url) for _ in range(2)]

    def shows(text: str) -> SimpleNamespace:
        return SimpleNamespace(verdict="match" if KP in text else "absent", score=1.0,
                               found=KP in text)

    with Ledger(Store(store)) as ledger:
        result = screenshot_timeline(ledger, Store(store), shows, url)
    assert [c["verdict"] for c in result["captures"]] == ["match", None]
    assert result["captures"][1]["not_compared"].startswith("not compared")
    assert result["first_shown"] == outs[0]["fetched_at"] and result["absent_since"] is None
    assert "not shown" not in result["summary"]


def test_a_read_only_history_never_reads_the_archives_own_page_as_the_page(
        tmp_path, capsys, web, monkeypatch):
    """On a store that cannot be written (evidence handed over), ``history
    --fetch-witnesses`` fetched each copy as a plain page: the archive's "has not archived
    that URL" page (HTTP 200, no Memento-Datetime) was diffed as the page's text, every
    passage "removed". It is judged as pull judges a copy now: not a copy, not compared."""
    import random

    from test_witness_adversarial import archive_at, cdx_answer
    from webfixtures import send

    from archive.witness import WitnessSpec
    from provenance.changes.timeline import timeline

    store = str(tmp_path / "ev")
    url = changing_route(web, f"/outage/ro-{random.randrange(1 << 30)}",
                         [(200, html(article(KP)))])
    archive(capsys, store, url)

    def answer(h, rest):
        if rest.startswith("/cdx/search/cdx"):
            return send(h, 200, cdx_answer([("20300101000000", url)]),
                        content_type="application/json")
        return send(h, 200, b"<html><body><p>Hrm. Wayback Machine has not archived that "
                            b"URL.</p></body></html>")

    archive_at(web, monkeypatch, answer)
    with Ledger(Store(store, create=False, writable=False)) as ledger:
        assert not ledger.writable
        items = timeline(ledger, ledger.store, url, [WitnessSpec.parse("ia")],
                         fetch_witnesses=True)
    (copy,) = [i for i in items if i["source"] == "ia"]
    assert "diff" not in copy and "not a copy" in copy["fetch_error"]


def test_a_network_failure_records_no_capture_and_no_change(tmp_path, capsys, web):
    """A connection dropped without an answer: no capture, so nothing to call removed; the
    next capture is compared with the last page (already so: kept as a guard)."""
    served = itertools.count()
    bodies = [html(article(KP)), None, html(article(None))]

    def handler(h):
        from webfixtures import send

        body = bodies[min(next(served), 2)]
        if body is None:
            h.close_connection = True  # hang up: no status line at all
            return
        send(h, 200, body.encode(), content_type="text/html; charset=utf-8")

    web.add_route("/outage/dropped", handler)
    url = web.url("/outage/dropped")
    store = str(tmp_path / "ev")
    first = archive(capsys, store, url)
    assert main(["--json", "--store", store, "archive", url, "--to", "none", "--tsa",
                 "none"]) != 0
    capsys.readouterr()
    last = archive(capsys, store, url)
    assert last["changed"]["since_seq"] == first["ledger_seq"]
    assert last["changed"]["removed"] == [KP]
    with Ledger(Store(store)) as ledger:
        assert len(list(ledger.records(kind="capture"))) == 2


def test_a_soft_404_is_a_change_of_text_not_a_page_gone(tmp_path, capsys, web):
    """HTTP 200 with "page not found": what is proven is that the text served there
    changed; no status change is claimed (already so; kept as a guard on the wording)."""
    store = str(tmp_path / "ev")
    url = changing_route(web, "/outage/soft404", [
        (200, html(article(KP))), (200, "<html><body><p>Страница не найдена</p></body></html>")])
    first, soft = (archive(capsys, store, url) for _ in range(2))
    assert soft["changed"]["removed"] and "Страница не найдена" in soft["changed"]["added"]
    assert "http_status" not in soft["changed"]


def test_a_read_only_history_never_takes_a_copy_from_the_indexs_digest(
        tmp_path, capsys, web, monkeypatch):
    """Two snapshots the index lists with one digest, whose copies differ (the paragraph
    with the figures removed in the second). The old read-only path fetched only the first
    and reused its text for every row with that digest: "unchanged", the removal unseen."""
    import random

    from test_witness_adversarial import HEADER, archive_at, http_date
    from webfixtures import send

    from archive.witness import WitnessSpec
    from provenance.changes.timeline import timeline

    store = str(tmp_path / "ev")
    url = changing_route(web, f"/outage/digest-{random.randrange(1 << 30)}",
                         [(200, html(article(KP)))])
    archive(capsys, store, url)
    copies = {"20220320100000": html(article(KP)), "20220320200000": html(article(None))}
    table = "[" + ",".join([HEADER] + [json.dumps(
        ["k", ts, url, "text/html", "200", "AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH", "1"])
        for ts in copies]) + "]"

    def answer(h, rest):
        if rest.startswith("/cdx/search/cdx"):
            return send(h, 200, table.encode(), content_type="application/json")
        stamp = rest.split("/")[2][:14]
        return send(h, 200, copies[stamp].encode(), {"Memento-Datetime": http_date(stamp)},
                    content_type="text/html; charset=utf-8")

    archive_at(web, monkeypatch, answer)
    with Ledger(Store(store, create=False, writable=False)) as ledger:
        items = timeline(ledger, ledger.store, url, [WitnessSpec.parse("ia")],
                         fetch_witnesses=True)
    first, second = [i for i in items if i["source"] == "ia"]
    assert second["diff"]["removed"] == [KP]
