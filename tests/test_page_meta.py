"""archive.page_meta: metadata read from lxml's tree are exactly html.parser's (BeautifulSoup's)
reading, the one captures always recorded; where the parsers read odd markup apart, the page
is read by BeautifulSoup again. Each page here is one such oddity."""

import pytest
from bs4 import BeautifulSoup

from archive.article_refine import parse
from archive.page_meta import PageMeta, _Reader, _SoupPage, page_meta
from archive.text import extract_text

URL = "https://site.example/news/1"
BODY = "<p>" + "Der Fluss stieg über Nacht um zwei Meter, die Altstadt lag im Wasser. " * 4 + "</p>"


def _page(head: str, body: str = BODY, html: str = "<html>", before: str = "") -> str:
    return (f"<!doctype html>{before}{html}<head>{head}</head><body><article>{body}</article>"
            "</body></html>")


# (markup, (title, canonical_url, published, modified, language)) as html.parser reads them
CASES = {
    "canonical_entity": (
        _page('<title>T</title><link rel="canonical" href="/a?id=1&section=2&amp;region=3">'),
        ("T", "https://site.example/a?id=1§ion=2&region=3", None, None, None)),
    "og_url_entity": (
        _page('<title>T</title><meta property="og:url" content="https://site.example/a?x=1&copy=2">'),
        ("T", "https://site.example/a?x=1©=2", None, None, None)),
    "lang_cr": (_page("<title>T</title>", html='<html lang=" de\r\nDE ">'),
                ("T", None, None, None, "de\r\nDE")),
    "published_cr": (_page('<title>T</title><meta name="date" content="2020\r01">'),
                     ("T", None, "2020\r01", None, None)),
    "duplicate_lang": (_page("<title>T</title>", html='<html lang="de-DE" lang="de">'),
                       ("T", None, None, None, "de")),
    "text_before_html": (_page("<title>T</title>", html='<html lang="de-DE">',
                               before="<br /> <b>Warning</b>: it's 'x'"),
                         ("T", None, None, None, "de-DE")),
    "conditional_html": (_page("<title>T</title>", html='<html lang="y">',
                               before='<!--[if IE]><html lang="x" class="ie"><![endif]-->'),
                         ("T", None, None, None, "y")),
    "lang_entity": (_page("<title>T</title>", html='<html lang="en&copy">'),
                    ("T", None, None, None, "en©")),
    "title_markup": (_page("<title>A <b>B</b> C</title>"), ("A B C", None, None, None, None)),
    "title_legacy_entity": (_page("<title>&copy2024 Site &amp; &notit; Co</title>"),
                            ("&copy2024 Site & &notit Co", None, None, None, None)),
    "title_entities": (_page("<title>A &#8211; B &raquo; C&nbsp;&amp; D</title>"),
                       ("A – B » C\xa0& D", None, None, None, None)),
    "title_nul": (_page("<title>A\x00B</title>"), ("A\x00B", None, None, None, None)),
    "h1_nested": (_page("", body="<h1>Head<h2>Sub</h2>tail</h1>" + BODY),
                  ("HeadSubtail", None, None, None, None)),
    "meta_in_textarea": (
        _page("<title>T</title>",
              body='<textarea><meta name="date" content="2020-01-01"></textarea>' + BODY),
        ("T", None, "2020-01-01", None, None)),
    "json_ld": (
        _page('<title>T</title><script type="application/ld+json">{"@graph": [{"datePublished":'
              ' " 2021-02-03 ", "dateModified": "2021-02-04"}]}</script>'),
        ("T", None, "2021-02-03", "2021-02-04", None)),
    "itemprop": (
        _page("<title>T</title>", body='<time itemprop="datePublished" datetime="2019-05-06">'
              'May</time><span itemprop="dateModified" content="2019-05-07"></span>' + BODY),
        ("T", None, "2019-05-06", "2019-05-07", None)),
    "time_tag": (_page("<title>T</title>", body='<time datetime=" 2018-01-01 ">x</time>' + BODY),
                 ("T", None, "2018-01-01", None, None)),
    "time_empty": (_page("<title>T</title>", body="<time datetime>x</time>" + BODY),
                   ("T", None, "", None, None)),
    "http_equiv": (_page('<title>T</title><meta http-equiv="Content-Language" content=" ru ">'),
                   ("T", None, None, None, "ru")),
    "lang_blank": (_page('<title>T</title><meta property="og:locale" content="en_GB">',
                         html='<html lang="  ">'), ("T", None, None, None, None)),
    "og_title": (_page('<title> </title><meta property="og:title" content="  OG\n title ">'
                       '<meta name="twitter:title" content="tw">'),
                 ("OG title", None, None, None, None)),
    "no_elements": ("just text, no tags", (None, None, None, None, None)),
}


def _fields(meta: PageMeta) -> tuple[str | None, ...]:
    return (meta.title, meta.canonical_url, meta.published, meta.modified, meta.language)


@pytest.mark.parametrize("name", CASES)
def test_metadata_are_html_parsers_reading(name):
    markup, expected = CASES[name]
    reference = _Reader(_SoupPage(BeautifulSoup(markup, "html.parser")), URL).meta()
    assert _fields(reference) == expected
    assert _fields(page_meta(markup, URL, parse(markup))) == expected
    page = extract_text(markup.encode("utf-8"), "text/html; charset=utf-8", URL)
    assert (page.title, page.canonical_url, page.published, page.modified,
            page.language) == expected


def test_plain_page_is_read_from_lxml_alone(monkeypatch):
    """The common page costs no second parse (that is the point of reading lxml's tree)."""
    import archive.page_meta as module

    def no_soup(*args, **kwargs):
        raise AssertionError("BeautifulSoup was asked")

    monkeypatch.setattr(module, "BeautifulSoup", no_soup)
    markup = _page('<title>A &amp; B &#8211; C</title><link rel="canonical" href="/a?x=1&amp;y=2">'
                   '<meta property="article:published_time" content="2024-01-02">',
                   html='<html lang="en">')
    assert _fields(page_meta(markup, URL, parse(markup))) == (
        "A & B – C", "https://site.example/a?x=1&y=2", "2024-01-02", None, "en")
