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

