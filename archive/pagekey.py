"""Whether an archive's "original URL" names the page we asked about.

An archive's index files a page under a canonical key (the Wayback Machine's SURT): it
treats ``http`` and ``https``, a leading ``www.``, a default port, a trailing slash, the
order of query arguments and a fragment as the same page, and answers an exact lookup of
``http://example.org/a`` with rows for ``https://www.example.org/a/``. Those are the same
page here too. Anything else is another page: another host or subdomain, another path
(``/page-2`` is not ``/page``, whatever a prefix match returns), another query value, and
another path case (the index lowercases paths, but ``/Page`` and ``/page`` are two pages on
many servers). A row, a job or a memento for another page is never a copy of this one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

from archive.cdx import CdxRow

_WWW = re.compile(r"^www\d*\.")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def page_key(url: str) -> tuple[str, int | None, str, tuple[tuple[str, str], ...]] | None:
    """``(host, port, path, sorted query)`` as an archive's index compares pages; None for
    something that is not an http(s) URL."""
    text = (url or "").strip()
    if "://" not in text:
        text = "http://" + text  # a CDX server takes "example.org/a" as the http URL
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    path = unquote(parts.path or "/")
    path = path.rstrip("/") or "/"
    query = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return _WWW.sub("", host), port, path, query


def same_page(original: str, asked: str) -> bool:
    """True when ``original`` (what an archive says it holds) names the page ``asked``."""
    key = page_key(original)
    return key is not None and key == page_key(asked)


def rows_of(rows: Iterable[CdxRow], url: str) -> list[CdxRow]:
    """The index rows whose original URL is the page ``url`` (a row for another page, as a
    prefix match or a hostile index sends, is dropped)."""
    return [row for row in rows if same_page(row.original, url)]
