"""trafilatura called with options built once (:func:`archive.extract_article.options_for`):
the very options, and so the very text, that ``extract``'s keyword arguments give."""

from __future__ import annotations

import pytest
import trafilatura
from trafilatura.settings import Extractor as TrafilaturaOptions

from archive import extract_article
from archive.extract_article import options_for, trafilatura_text
from archive.text import extract_text

URLS = [None, "http://example.org/news/1", "https://пример.рф/статья?id=7",
        "http://example.org/\udcff-lone-surrogate"]

PAGE = ("<html><head><title>Report</title></head><body><nav>Home | News</nav><article>"
        "<h1>Ministry figures</h1><p>According to the ministry, 9 861 people were lost in the "
        "region over the spring, more than in any season before.</p><p>The figures were "
        "published on Monday and withdrawn on Tuesday without a word of explanation.</p>"
        "<table><tr><td>March</td><td>3 112</td></tr></table></article>"
        "<footer>Contacts</footer></body></html>")


@pytest.mark.parametrize("url", URLS)
def test_the_options_are_those_extract_builds_from_its_keyword_arguments(url):
    """Every field, as trafilatura's own ``__init__`` sets it for this URL: a trafilatura
    that sets a field differently fails here, not silently in the texts."""
    fresh = TrafilaturaOptions(comments=False, tables=True, dedup=False, url=url)
    mine = options_for(url)
    assert {k: getattr(mine, k) for k in TrafilaturaOptions.__slots__} == \
        {k: getattr(fresh, k) for k in TrafilaturaOptions.__slots__}


def test_a_call_changes_neither_the_shared_options_nor_another_pages():
    before = {k: getattr(extract_article._OPTIONS, k) for k in TrafilaturaOptions.__slots__}
    first = options_for("http://example.org/a")
    trafilatura_text(PAGE, "http://example.org/b")
    assert first.url == "http://example.org/a"
    assert {k: getattr(extract_article._OPTIONS, k)
            for k in TrafilaturaOptions.__slots__} == before


@pytest.mark.parametrize("url", URLS[:3])
def test_the_text_is_what_extract_gives_with_its_keyword_arguments(url):
    own = trafilatura.extract(PAGE, url=url, include_comments=False, include_tables=True,
                              deduplicate=False)
    assert own and trafilatura.extract(PAGE, options=options_for(url)) == own
    page = extract_text(PAGE.encode(), "text/html; charset=utf-8", url or "http://x/")
    assert "9 861 people" in page.text and "Contacts" not in page.text


ARTICLE = ("<p>According to the ministry, 9 861 people were lost in the region over the "
           "spring, more than in any season before.</p><p>The figures were published on "
           "Monday and withdrawn on Tuesday without a word of explanation.</p>")
PAGES = {
    "whole": PAGE,
    "comments and a processing instruction": (
        "<?xml-stylesheet href='a.css'?><!doctype html><html><head><!-- head note -->"
        "<title>Report <!-- not a comment in a title --></title><meta name='author' "
        "content='A. Writer'></head><body><!--[if IE]><p>old browsers</p><![endif]-->"
        f"<article><h1>Ministry<!-- x --> figures</h1>{ARTICLE}<!-- end --></article>"
        "</body></html>"),
    "self-closed html tag": f"<html lang='en'/><head><title>T</title></head><body>{ARTICLE}"
                            "</body></html>",
    "fragment": f"<article><h1>Ministry figures</h1>{ARTICLE}</article>",
    "body only": f"<body><nav>Home</nav><main>{ARTICLE}</main></body>",
    "one paragraph": ARTICLE[:ARTICLE.index("</p>") + 4],
}


@pytest.mark.parametrize("name", PAGES)
def test_one_shared_parse_gives_what_two_parses_gave(name):
    """trafilatura's parse of a whole document serves our readers too (issue 16): the
    metadata and the text are those of our own parse beside trafilatura's (the old way),
    whatever comments, instructions or repairs the page has; a page that is not a whole
    document is parsed our way as before."""
    from archive.article_refine import parse
    from archive.extract_article import page_tree, whole_document
    from archive.page_meta import page_meta

    markup, url = PAGES[name], "http://example.org/report"
    tree = page_tree(markup)
    shared = tree if whole_document(tree) else parse(markup)
    assert whole_document(tree) == (name in ("whole", "comments and a processing instruction",
                                             "self-closed html tag"))
    assert page_meta(markup, url, shared) == page_meta(markup, url, parse(markup))
    assert trafilatura_text(markup, url, shared, tree) == \
        trafilatura_text(markup, url, parse(markup))


def test_a_whole_document_is_parsed_once(monkeypatch):
    import archive.text

    ours: list[str] = []
    real = archive.text.parse
    monkeypatch.setattr(archive.text, "parse", lambda markup: ours.append(markup) or real(markup))
    extract_text(PAGE.encode(), "text/html; charset=utf-8", "http://example.org/")
    assert ours == []  # trafilatura's parse served
    extract_text(PAGES["fragment"].encode(), "text/html; charset=utf-8", "http://example.org/")
    assert len(ours) == 1
