"""A paragraph withdrawn by hiding it (a ``<style>`` rule, an inline style, ``hidden``) is
reported as ``hidden`` by ``archive``'s change records, ``history`` and its report: never
as unchanged, never as removed (the text is still in the page). Loopback pages only: each
route serves version 1 of a page, then version 2."""

from __future__ import annotations

import itertools
import json

import pytest
from webfixtures import send

from provenance.api import Evidence
from provenance.changes import hiding
from provenance.changes.timeline import CHANGED
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger
from provenance.web.app import create_app
from provenance.web.security import Access

PARAGRAPHS = [
    "The regional administration published its first assessment of the night's shelling.",
    "Emergency crews worked through the morning to clear the debris from the market square.",
    "According to the ministry, 9 861 soldiers were killed and 16 153 wounded since February.",
    "The mayor asked residents to stay in shelters until the all-clear signal is given.",
    "Schools in the district will remain closed for the rest of the week, officials said.",
    "Volunteers opened two more points where families can receive water and warm food.",
]
WITHDRAWN = PARAGRAPHS[2]


def page(style: str = "", attrs: str = "", keep: bool = True) -> str:
    """The article, its third paragraph with ``attrs`` (or left out when not ``keep``)."""
    body = "".join(f"<p{attrs if n == 2 else ''}>{text}</p>"
                   for n, text in enumerate(PARAGRAPHS) if keep or n != 2)
    return (f"<!DOCTYPE html><html><head><title>Night of shelling</title>{style}</head>"
            f"<body><nav>Home News Region</nav><article><h1>Night of shelling</h1>{body}"
            "</article><footer>All rights reserved</footer></body></html>")


def route(web, path: str, bodies: list[str]) -> str:
    served = itertools.count()

    def handler(h):
        send(h, 200, bodies[min(next(served), len(bodies) - 1)].encode("utf-8"),
             content_type="text/html; charset=utf-8")

    web.add_route(path, handler)
    return web.url(path)


def archive(capsys, store: str, url: str) -> dict:
    assert main(["--json", "--store", store, "archive", url, "--to", "none", "--tsa",
                 "none"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[-1])


def history(capsys, store: str, url: str, *extra: str) -> tuple[list[dict], str]:
    assert main(["--json", "--store", store, "history", url, "--to", "none", *extra]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert main(["--store", store, "history", url, "--to", "none"]) == 0
    return lines, capsys.readouterr().out


def twice(tmp_path, capsys, web, name: str, first: str, second: str):
    """Capture version 1 then version 2; (the second capture's ``changed``, history's last
    item, history's human output, the change records)."""
    store = str(tmp_path / "ev")
    url = route(web, f"/hidden/{name}", [first, second])
    archive(capsys, store, url)
    changed = archive(capsys, store, url)["changed"]
    items, human = history(capsys, store, url)
    with Ledger(Store(store)) as ledger:
        records = [r.data for r in ledger.records(kind=CHANGED)]
    return changed, items[-1], human, records


HIDINGS = {
    "style-rule": page("<style>.withdrawn { display: none }</style>", ' class="withdrawn"'),
    "inline-style": page(attrs=' style="display: none"'),
    "hidden-attribute": page(attrs=" hidden"),
    "visibility-rule": page("<style>p.gone { visibility: hidden }</style>", ' class="gone"'),
}


@pytest.mark.parametrize("how", sorted(HIDINGS))
def test_a_paragraph_withdrawn_by_hiding_it_is_hidden_not_removed_nor_unchanged(
        tmp_path, capsys, web, how):
    changed, item, human, records = twice(tmp_path, capsys, web, how, page(), HIDINGS[how])
    assert changed is not None  # never "no change"
    assert changed["hidden"] == [WITHDRAWN]
    assert WITHDRAWN not in changed["removed"] and changed["added"] == []
    assert changed["shown"] == [] and changed["figures"] == []  # its figures did not go
    assert records[-1]["hidden"] == [WITHDRAWN] and WITHDRAWN not in records[-1]["removed"]
    diff = item["diff"]
    assert diff is not None and diff["hidden"] == [WITHDRAWN] and diff["removed"] == []
    assert f"hidden by the page's style: {WITHDRAWN}" in human
    assert f"- {WITHDRAWN}" not in human and "unchanged" not in human.splitlines()[-2]


def test_a_hidden_paragraph_shown_again_is_shown(tmp_path, capsys, web):
    changed, item, human, records = twice(tmp_path, capsys, web, "shown-again",
                                          HIDINGS["style-rule"], page())
    assert changed is not None and changed["shown"] == [WITHDRAWN]
    assert changed["hidden"] == [] and changed["removed"] == [] and changed["added"] == []
    assert records[-1]["shown"] == [WITHDRAWN]
    assert item["diff"]["shown"] == [WITHDRAWN]
    assert f"shown again: {WITHDRAWN}" in human


def test_shown_again_after_a_hidden_attribute_is_shown_not_added(tmp_path, capsys, web):
    changed, item, _, _ = twice(tmp_path, capsys, web, "unhidden",
                                HIDINGS["hidden-attribute"], page())
    assert changed["shown"] == [WITHDRAWN] and changed["added"] == []
    assert item["diff"]["shown"] == [WITHDRAWN]


@pytest.mark.parametrize("rule", [
    "@media print { .withdrawn { display: none } }",
    "@media (max-width: 600px) { .withdrawn { display: none } }",
    ".withdrawn:hover { display: none }",
    "@supports (display: grid) { .withdrawn { display: none } }",
])
def test_a_conditional_rule_hides_nothing(tmp_path, capsys, web, rule):
    # beside it, another paragraph surely hidden: the one claim the change may make
    second = page(f"<style>{rule} .gone {{ display: none }}</style>", ' class="withdrawn"')
    second = second.replace(f"<p>{PARAGRAPHS[4]}", f"<p class='gone'>{PARAGRAPHS[4]}")
    changed, item, human, records = twice(tmp_path, capsys, web,
                                          f"cond-{abs(hash(rule))}", page(), second)
    assert changed["hidden"] == [PARAGRAPHS[4]]  # the page shows WITHDRAWN on a screen
    assert records[-1]["hidden"] == item["diff"]["hidden"] == [PARAGRAPHS[4]]
    assert WITHDRAWN not in human


def test_a_linked_sheet_unread_hides_nothing_but_is_said(tmp_path, capsys, web):
    second = page('<link rel="stylesheet" href="/hidden/withdrawn.css">', ' class="withdrawn"')
    changed, item, human, records = twice(tmp_path, capsys, web, "linked", page(), second)
    assert changed is None and records == []  # not known to be hidden: no claim
    assert item["diff"] is None and item["style_sheets_unread"] == 1
    assert "1 style sheet not read" in human


def test_a_linked_sheet_is_said_beside_a_change(tmp_path, capsys, web):
    second = page('<link rel="stylesheet" href="/hidden/withdrawn.css">'
                  "<style>.withdrawn { display: none }</style>", ' class="withdrawn"')
    changed, item, human, records = twice(tmp_path, capsys, web, "linked-and-rule", page(),
                                          second)
    assert changed["hidden"] == [WITHDRAWN] and changed["style_sheets_unread"] == 1
    assert records[-1]["style_sheets_unread"] == 1
    assert item["diff"]["style_sheets_unread"] == 1
    assert "1 style sheet not read" in human


def test_a_paragraph_really_removed_stays_removed(tmp_path, capsys, web):
    changed, item, human, records = twice(tmp_path, capsys, web, "removed", page(),
                                          page(keep=False))
    assert changed["removed"] == [WITHDRAWN] and changed["hidden"] == []
    assert {f["old"] for f in changed["figures"]} == {"9861", "16153"}
    assert item["diff"]["removed"] == [WITHDRAWN] and records[-1].get("hidden") is None
    assert f"- {WITHDRAWN}" in human


def test_the_report_shows_hidden_passages_apart(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = route(web, "/hidden/report", [page(), HIDINGS["style-rule"]])
    archive(capsys, store, url)
    archive(capsys, store, url)
    report = tmp_path / "r.html"
    assert main(["--store", store, "history", url, "--to", "none", "--report",
                 str(report)]) == 0
    html = report.read_text("utf-8")
    assert "hidden by the page's style:</span> <s>According to the ministry" in html
    assert "<del>" not in html and "1 with\n changes" in html


@pytest.mark.parametrize("how", ["<style>.h { display: none }</style>", ""])
def test_a_figure_hidden_inside_a_paragraph_hides_the_paragraph_as_written(tmp_path, capsys,
                                                                          web, how):
    attrs = ' class="h"' if how else ' style="display:none"'
    second = page(how).replace("9 861 soldiers", f"<span{attrs}>9 861</span> soldiers")
    changed, item, _, _ = twice(tmp_path, capsys, web, f"span-{bool(how)}", page(), second)
    assert changed["hidden"] == [WITHDRAWN] and WITHDRAWN not in changed["removed"]
    assert item["diff"]["hidden"] == [WITHDRAWN]


def test_a_paragraph_hidden_in_both_captures_is_no_change(tmp_path, capsys, web):
    hidden = HIDINGS["style-rule"]
    second = hidden.replace(f"<p>{PARAGRAPHS[4]}", f"<p hidden>{PARAGRAPHS[4]}")
    changed, item, _, records = twice(tmp_path, capsys, web, "hidden-both",
                                      hidden.replace("<nav>Home", "<nav>Start"), second)
    assert changed["hidden"] == [PARAGRAPHS[4]]  # WITHDRAWN was hidden already
    assert records[-1]["hidden"] == item["diff"]["hidden"] == [PARAGRAPHS[4]]


def test_serve_shows_hidden_passages_apart(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = route(web, "/hidden/serve", [page(), HIDINGS["hidden-attribute"]])
    archive(capsys, store, url)
    archive(capsys, store, url)
    with Evidence(store) as evidence:
        client = create_app(evidence, Access("127.0.0.1", 8124)).test_client()
        html = client.get(f"/history?url={url}", base_url="http://127.0.0.1:8124").get_data(
            as_text=True)
    assert "hidden by the page's style: <s>According to the ministry" in html
    assert "<del>According" not in html


def test_a_paragraph_moved_and_hidden_is_hidden_only(tmp_path, capsys, web):
    hidden = HIDINGS["style-rule"]
    moved = hidden.replace(f"<p class=\"withdrawn\">{WITHDRAWN}</p>", "").replace(
        "</article>", f"<p class=\"withdrawn\">{WITHDRAWN}</p></article>")
    assert moved != hidden
    changed, item, _, _ = twice(tmp_path, capsys, web, "moved", page(), moved)
    assert changed["hidden"] == [WITHDRAWN]
    assert WITHDRAWN not in changed["added"] and WITHDRAWN not in changed["removed"]


def test_a_paragraph_deleted_beside_a_hidden_copy_it_always_had_is_removed(tmp_path, capsys,
                                                                          web):
    copy = f"<div hidden class='share-text'><p>{WITHDRAWN}</p></div>"
    first = page().replace("</article>", f"</article>{copy}")
    second = page(keep=False).replace("</article>", f"</article>{copy}")
    newly = page(attrs=" hidden").replace("</article>", f"</article>{copy}")
    changed, item, _, _ = twice(tmp_path, capsys, web, "share-copy", first, second)
    assert changed["removed"] == [WITHDRAWN] and changed["hidden"] == []
    assert item["diff"]["removed"] == [WITHDRAWN]
    changed, _, _, _ = twice(tmp_path / "b", capsys, web, "share-copy-b", first, newly)
    assert changed["hidden"] == [WITHDRAWN] and changed["removed"] == []  # both copies kept


def test_a_page_too_long_to_read_in_time_claims_nothing(tmp_path, capsys, web, monkeypatch):
    monkeypatch.setattr(hiding, "MAX_SECONDS", -1.0)  # every page past its time
    changed, item, _, _ = twice(tmp_path, capsys, web, "slow", page(),
                                HIDINGS["inline-style"])
    assert changed["hidden"] == [] and changed["removed"] == [WITHDRAWN]  # the text's word
    assert item["diff"]["hidden"] == []
