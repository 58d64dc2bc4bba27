"""archive.declared_body: a page's article as its schema.org JSON-LD declares it, and when
archive.text takes it instead of the markup's text."""

from __future__ import annotations

import json

from archive.article_refine import parse
from archive.declared_body import MAX_DEPTH, MAX_SCRIPT_CHARS, declared_body, declared_scripts
from archive.text import DECLARED, extract_text

BODY = ("The council voted on Tuesday to close the old bridge for repairs.\n\n"
        "Engineers found cracks in two of its pillars during the spring survey.\n"
        "Traffic will use the ferry until the work is done next year.")
URL = "https://news.example/bridge"


def _ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def _page(head: str, body: str) -> bytes:
    return (f"<html><head><title>Bridge</title>{head}</head><body>{body}</body></html>"
            ).encode()


def test_the_one_declared_article_body_is_read_one_paragraph_a_line():
    scripts = [json.dumps({"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "name": "Bridge"},
        {"@type": "NewsArticle", "headline": "Bridge closes", "articleBody": BODY}]})]
    assert declared_body(scripts) == "\n".join(line.strip() for line in BODY.split("\n")
                                               if line.strip())


def test_a_body_declared_as_markup_is_read_as_text():
    body = "<p><strong>By a reporter</strong></p><p>The bridge &amp; the ferry.<br>Next.</p>"
    assert declared_body([json.dumps({"@type": ["Article"], "articleBody": body})]) == (
        "By a reporter\nThe bridge & the ferry.\nNext.")


def test_two_different_bodies_or_none_of_an_article_declare_nothing():
    one = {"@type": "BlogPosting", "articleBody": "First post."}
    two = {"@type": "BlogPosting", "articleBody": "Second post."}
    assert declared_body([json.dumps([one, two])]) is None  # a list of articles
    assert declared_body([json.dumps(one), json.dumps(one)]) == "First post."  # said twice
    assert declared_body([json.dumps({"@type": "Product", "articleBody": "x"})]) is None
    assert declared_body(["{not json", ""]) is None


def test_the_walk_and_the_scripts_read_are_bounded():
    nested: dict[str, object] = {"@type": "Article", "articleBody": "Deep."}
    for _ in range(MAX_DEPTH + 2):
        nested = {"child": nested}
    assert declared_body([json.dumps(nested)]) is None
    deep = "[" * 100_000 + "]" * 100_000  # json's recursion limit: no article, no crash
    assert declared_body([deep]) is None
    huge = _ld({"@type": "Article", "articleBody": "x" * MAX_SCRIPT_CHARS})
    assert declared_scripts(parse(f"<html><head>{huge}</head></html>")) == []


def test_a_page_whose_markup_shows_little_of_its_article_has_the_declared_one():
    # a page its scripts write: the markup holds a caption and two short notes (more than
    # trafilatura's own JSON fallback needs to stay away), the article is in its data
    head = _ld({"@type": "NewsArticle", "articleBody": "\n".join([BODY] * 8)})
    shown = ("<div id='app'><figure><img src='b.jpg'><figcaption>The old bridge, seen from "
             "the river in May, before the survey found its cracks. Photo: Agency</figcaption>"
             "</figure><p>The council meets again in the autumn to hear what the engineers "
             "found, and the ferry company has said it will add two crossings an hour while "
             "the bridge is closed to all traffic.</p><p>Readers can send their questions "
             "about the closure to the newsroom by letter or by mail.</p></div>")
    page = extract_text(_page(head, shown), "text/html", URL)
    assert page.extractor == DECLARED
    assert "Engineers found cracks in two of its pillars" in page.text.splitlines()[1]
    assert page.note and "articleBody" in page.note
    # the same page declaring two different articles (a list of them) keeps its markup's text
    two = _ld([{"@type": "NewsArticle", "articleBody": "\n".join([BODY] * 8)},
               {"@type": "NewsArticle", "articleBody": "Another story. " * 100}])
    page = extract_text(_page(two, shown), "text/html", URL)
    assert page.extractor != DECLARED
    assert "Engineers found cracks" not in page.text


def test_a_page_showing_its_article_keeps_the_markups_text():
    # a declared body never replaces an article the page shows, however it differs: a
    # forger's declaration (or a stale one) cannot put words the reader did not see
    shown = "".join(f"<p>{line} It is the article as the page shows it to its readers.</p>"
                    for line in BODY.split("\n") if line)
    head = _ld({"@type": "NewsArticle", "articleBody": "Something else entirely. " * 20})
    page = extract_text(_page(head, f"<article>{shown}</article>"), "text/html", URL)
    assert page.extractor != DECLARED
    assert "Something else entirely" not in page.text
    assert "Engineers found cracks" in page.text
