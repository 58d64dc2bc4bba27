"""A page's title, canonical URL, dates and language, read from the page's lxml tree.

The page is parsed once, by lxml, for these and for :mod:`archive.article_refine`; reading
them from that tree costs a fraction of a second parse by BeautifulSoup and html.parser.
The values must stay the ones html.parser's reading gives (captures have always recorded
those), and the two parsers read odd markup apart: html.parser decodes ``&section=`` in an
attribute to ``§ion=`` where lxml keeps it (as HTML wants), keeps ``&copy2024`` in text where
lxml decodes it, parses tags inside ``<title>`` and ``<textarea>`` where lxml keeps them as
text, keeps carriage returns and NULs that lxml turns into line feeds and U+FFFD, nests an
``<h2>`` in an unclosed ``<h1>``, reads the first of two ``<html>`` tags and the last of two
``lang`` attributes. The ``<html>`` tag's ``lang`` is read by html.parser itself (up to that
tag only); any other value read that shows one of these signs, or an ``<h1>`` needed for the
title, makes the page be read by BeautifulSoup, as before (9 of the 990 pages of
``benchmarks.text``'s set).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.entities import html5
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from lxml import etree

from archive.article_refine import text_content

PUBLISHED_KEYS = ("article:published_time", "datePublished", "pubdate", "publishdate",
                  "dc.date.issued", "date")
MODIFIED_KEYS = ("article:modified_time", "og:updated_time", "dateModified", "last-modified",
                 "dc.date.modified")
MAX_HTML_PREFIX = 65536  # characters of markup read by html.parser for the <html> tag
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


@dataclass
class PageMeta:
    """The metadata fields of :class:`archive.text.PageText`."""

    title: str | None = None
    canonical_url: str | None = None
    published: str | None = None
    modified: str | None = None
    language: str | None = None


class _Doubt(Exception):
    """A value lxml may read differently from html.parser: read the page with BeautifulSoup."""


def page_meta(markup: str, url: str, root: etree._Element | None) -> PageMeta:
    """The page's metadata from its lxml tree ``root`` (not changed), or from ``markup``
    by BeautifulSoup when the tree's values may not be html.parser's (see the module)."""
    try:
        if root is None:
            raise _Doubt  # no element for lxml: a page of text, or none to speak of
        return _Reader(_LxmlPage(root, markup), url).meta()
    except _Doubt:
        return _Reader(_SoupPage(BeautifulSoup(markup, "html.parser")), url).meta()


_Meta = tuple[list[str], Any]  # a <meta>'s property, name and itemprop; its content


class _Page(Protocol):
    """The few questions metadata asks of a parsed page, whichever parser made it."""

    def checked(self, value: str, *, title: bool = False) -> str: ...
    def title(self) -> str | None: ...
    def h1(self) -> str | None: ...
    def metas(self) -> list[_Meta]: ...
    def links(self) -> Iterable[tuple[list[str], str]]: ...  # rel tokens, href
    def itemprop(self, key: str) -> Iterable[Any]: ...  # datetime or content of each
    def json_ld(self) -> Iterable[str | None]: ...
    def time_datetime(self) -> str | None: ...
    def html_lang(self) -> str | None: ...
    def http_equiv(self) -> Iterable[tuple[str, Any]]: ...  # http-equiv, content


class _Reader:
    """The metadata rules, asked of either parser's page (the values returned are checked)."""

    def __init__(self, page: _Page, url: str) -> None:
        self.page, self.url = page, url
        self.metas = page.metas()

    def meta(self) -> PageMeta:
        return PageMeta(
            title=self._title(),
            canonical_url=self._canonical(),
            published=self._first_time(PUBLISHED_KEYS, "datePublished", use_time_tag=True),
            modified=self._first_time(MODIFIED_KEYS, "dateModified", use_time_tag=False),
            language=self._language())

    def _meta(self, key: str, *, title: bool = False) -> str | None:
        key = key.lower()
        for names, content in self.metas:
            if key in names and content:
                return self.page.checked(str(content).strip(), title=title)
        return None

    def _title(self) -> str | None:
        for value in (self.page.title(), self._meta("og:title", title=True),
                      self._meta("twitter:title", title=True)):
            if value and value.strip():
                return _SPACES.sub(" ", value).strip()
        value = self.page.h1()
        return _SPACES.sub(" ", value).strip() if value and value.strip() else None

    def _canonical(self) -> str | None:
        for rels, href in self.page.links():
            if "canonical" in [r.lower() for r in rels]:
                return urljoin(self.url, self.page.checked(href.strip()))
        og = self._meta("og:url")
        return urljoin(self.url, og) if og else None

    def _first_time(self, meta_keys: tuple[str, ...], ld_key: str, *,
                    use_time_tag: bool) -> str | None:
        for key in meta_keys:
            value = self._meta(key)
            if value:
                return value
        for found in self.page.itemprop(ld_key):
            if found:
                return self.page.checked(str(found).strip())
        for script in self.page.json_ld():
            try:
                data = json.loads(script or "")
            except ValueError:
                continue
            value = _find_key(data, ld_key)
            if value:
                return value
        if use_time_tag:
            found = self.page.time_datetime()
            return None if found is None else self.page.checked(found.strip())
        return None

    def _language(self) -> str | None:
        lang = self.page.html_lang()
        if lang:
            return self.page.checked(lang.strip()) or None
        for equiv, content in self.page.http_equiv():
            if equiv.lower() == "content-language" and content:
                return self.page.checked(str(content).strip())
        return self._meta("og:locale")


def _find_key(data: object, key: str) -> str | None:
    if isinstance(data, dict):
        if isinstance(data.get(key), str):
            return str(data[key]).strip()
        items: list[object] = list(data.values())
    elif isinstance(data, list):
        items = list(data)
    else:
        return None
    for item in items:
        found = _find_key(item, key)
        if found:
            return found
    return None


# A name HTML decodes without its ";" ("&copy", "&sect") kept by lxml before a letter, a digit
# or "=" (as HTML wants in an attribute) that html.parser decodes ("?a=1&section=2" gives
# "?a=1§ion=2"); a line feed that was a carriage return; a replacement character that was
# a NUL: lxml's value may not be html.parser's.
_LEGACY_NAMES = sorted((name for name in html5 if not name.endswith(";")), key=len, reverse=True)
_DOUBTFUL_VALUE = re.compile(f"&(?:{'|'.join(_LEGACY_NAMES)})|[\n\ufffd]")
_DOUBTFUL_TITLE = re.compile("&[A-Za-z0-9#]|[<\ufffd]")  # white space is folded in a title
# In text both parsers decode a complete reference alike ("&#8211;", "&amp;", "&raquo;"), not
# one without its ";" or an unknown name; lxml's title text cannot tell, so its source is read.
_RAW_TITLE = re.compile(r"<title\b[^>]*>([^<]*)", re.I)
_ODD_REFERENCE = re.compile(r"&(?=[A-Za-z0-9#])"
                            r"(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_NAMED_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]*;)")
# lxml reads these elements' content as text, html.parser as markup (tags it would find)
_RAW_IN_LXML = ("title", "iframe", "textarea", "xmp", "noembed", "noframes", "plaintext")


class _LxmlPage:
    """The questions answered from lxml's tree (not changed); a value html.parser might read
    otherwise raises :class:`_Doubt`. Only the values metadata returns are checked."""

    def __init__(self, root: etree._Element, markup: str) -> None:
        self.root, self.markup = root, markup
        self.itemprops: list[etree._Element] | None = None
        for element in root.iter(*_RAW_IN_LXML):
            if "<" in (element.text or ""):
                raise _Doubt  # html.parser would find tags (a <meta>, a <title>) in there

    def checked(self, value: str, *, title: bool = False) -> str:
        if (_DOUBTFUL_TITLE if title else _DOUBTFUL_VALUE).search(value):
            raise _Doubt
        return value

    def title(self) -> str | None:
        element = next(self.root.iter("title"), None)
        if element is None:
            return None
        text = self.checked(text_content(element), title=True)
        for raw in _RAW_TITLE.findall(self.markup):  # the title's source (and any lookalike)
            if _ODD_REFERENCE.search(raw) or any(
                    name not in html5 for name in _NAMED_REFERENCE.findall(raw)):
                raise _Doubt  # "&copy2024", "&notit;": html.parser and lxml read them apart
        return text

    def h1(self) -> str | None:
        if next(self.root.iter("h1"), None) is None:
            return None
        raise _Doubt  # an <h1>'s extent depends on the parser's nesting rules: rare, ask bs4

    def metas(self) -> list[_Meta]:
        return [([(tag.get(a) or "").lower() for a in ("property", "name", "itemprop")],
                 tag.get("content")) for tag in self.root.iter("meta")]

    def links(self) -> Iterable[tuple[list[str], str]]:
        for link in self.root.iter("link"):
            href = link.get("href")
            if href is not None:
                yield (link.get("rel") or "").split(), href

    def itemprop(self, key: str) -> Iterable[Any]:
        if self.itemprops is None:  # one walk for both dates
            self.itemprops = _WITH_ITEMPROP(self.root)
        for tag in self.itemprops:
            if tag.get("itemprop") == key:
                yield tag.get("datetime") or tag.get("content")

    def json_ld(self) -> Iterable[str | None]:
        for script in self.root.iter("script"):
            if script.get("type") == "application/ld+json":
                text = script.text
                if text is not None and ("\ufffd" in text or "</script" in text.lower()):
                    raise _Doubt
                yield text

    def time_datetime(self) -> str | None:
        for tag in self.root.iter("time"):
            value = tag.get("datetime")
            if value is not None:
                return str(value)
        return None

    def html_lang(self) -> str | None:
        return _html_lang(self.markup)

    def http_equiv(self) -> Iterable[tuple[str, Any]]:
        for tag in self.root.iter("meta"):
            equiv = tag.get("http-equiv")
            if equiv is not None:
                yield equiv, tag.get("content")


_WITH_ITEMPROP = etree.XPath("//*[@itemprop]")
_HTML_TAG = re.compile(r"<html(?=[\t\n\r\f />\0])", re.I)  # html.parser's end of a tag name


def _html_lang(markup: str) -> str | None:
    """The ``lang`` of the page's first ``<html>`` as html.parser and bs4 read it (the last of
    duplicates wins; lxml keeps the first, or none when text came before the tag): the page
    is read by html.parser itself, but only up to that tag (usually a few hundred bytes)."""
    match = _HTML_TAG.search(markup)
    if match is None:
        return None  # no <html> tag at all
    reader = _FirstHtml()
    at = 0
    stop = min(len(markup), MAX_HTML_PREFIX)
    while at < stop:
        # up to the first tag that may be it, then a piece at a time
        upto = markup.find(">", match.end()) + 1 if at == 0 else at + 1024
        upto = min(stop, upto if upto > at else at + 1024)
        reader.feed(markup[at:upto])
        if reader.attrs is not None:
            return reader.attrs.get("lang") or None
        at = upto
    raise _Doubt  # far into the page, or none that html.parser sees: let bs4 read it all


class _FirstHtml(HTMLParser):
    """The attributes of the first ``<html>`` start tag fed, as bs4 keeps them (the last of
    duplicates); fed as bs4 feeds html.parser, so comments and scripts hide the same tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.attrs: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html" and self.attrs is None:
            self.attrs = {name: value or "" for name, value in attrs}


class _SoupPage:
    """The questions answered from BeautifulSoup's html.parser tree (the reference)."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.soup = soup

    def checked(self, value: str, *, title: bool = False) -> str:
        return value

    def title(self) -> str | None:
        return self.soup.title.get_text() if self.soup.title else None

    def h1(self) -> str | None:
        h1 = self.soup.find("h1")
        return h1.get_text() if h1 else None

    def metas(self) -> list[_Meta]:
        return [([str(tag.get(a, "")).lower() for a in ("property", "name", "itemprop")],
                 tag.get("content")) for tag in self.soup.find_all("meta")]

    def links(self) -> Iterable[tuple[list[str], str]]:
        for link in self.soup.find_all("link", href=True):
            rel: Any = link.get("rel") or []
            yield (rel if isinstance(rel, list) else str(rel).split()), str(link["href"])

    def itemprop(self, key: str) -> Iterable[Any]:
        for tag in self.soup.find_all(attrs=bs4_attrs(itemprop=key)):
            yield tag.get("datetime") or tag.get("content")

    def json_ld(self) -> Iterable[str | None]:
        for script in self.soup.find_all("script", type="application/ld+json"):
            yield script.string

    def time_datetime(self) -> str | None:
        time_tag = self.soup.find("time", datetime=True)
        return None if time_tag is None else str(time_tag["datetime"])

    def html_lang(self) -> str | None:
        html = self.soup.find("html")
        return str(html["lang"]) if isinstance(html, Tag) and html.get("lang") else None

    def http_equiv(self) -> Iterable[tuple[str, Any]]:
        for tag in self.soup.find_all("meta", attrs={"http-equiv": True}):
            yield str(tag["http-equiv"]), tag.get("content")


def bs4_attrs(**values: str) -> Any:
    """An attribute filter for bs4 (its type stubs reject a plain dict of strings)."""
    return values
