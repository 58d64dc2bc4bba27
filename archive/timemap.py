"""Memento (RFC 7089) TimeMaps: any archive's list of snapshots of a URL, read only.

A TimeMap (``application/link-format``, RFC 6690) is a comma-separated list of links::

    <http://example.org/>; rel="original",
    <https://arch.example/timemap/link/http://example.org/>; rel="self",
    <https://arch.example/20220320161245/http://example.org/>; rel="first memento";
      datetime="Sun, 20 Mar 2022 16:12:45 GMT",
    <https://arch.example/20220321080000/http://example.org/>; rel="memento";
      datetime="Mon, 21 Mar 2022 08:00:00 GMT"

Every link whose relation includes ``memento`` is a snapshot (``first memento``, ``last
memento`` and ``prev``/``next`` are mementos too, in a TimeMap); its time is the ``datetime``
attribute, else the 14-digit timestamp in its URL. Links with relation ``timemap`` are more
pages of the same map (the Internet Archive and large archives page them); they are
followed, each once, up to :data:`MAX_PAGES`. Every page is read with a size cap and a
total deadline (a :class:`~archive.deadline.BoundedSession`).

``memento=BASE`` names such an archive: ``BASE + URL`` is the URL's TimeMap, e.g.
``memento=https://archive.ph/timemap/link/`` or, for a pywb collection,
``memento=http://127.0.0.1:8080/news/timemap/link/``. Raw copies: a Wayback-style memento
URL (``…/<14 digits>/<url>``, as pywb, the Internet Archive and Arquivo.pt write them) gets
``id_`` after its timestamp; archive.today's (archive.ph, archive.is, …, Wayback-style too)
and any other memento URL have no raw mode and are fetched as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from archive.cdx import CdxRow, collapse_duplicates
from archive.deadline import BoundedSession
from archive.errors import WitnessError
from archive.memento import (
    FAILED,
    RawCopy,
    Submission,
    http_date_to_ts,
    parse_links,
    ts_to_datetime,
)
from archive.pagekey import same_page
from archive.ratelimit import RateLimiter, Throttle

MAX_PAGES = 100
MAX_TIMEMAP_BYTES = 16 * 1024 * 1024  # one page of a TimeMap
MAX_MEMENTOS = 200_000
_WAYBACK_STYLE = re.compile(r"^(.*/)(\d{14})(?:[a-z]{2}_)?(/.+)$")
# archive.today's names: Wayback-style memento URLs, but no ``id_`` raw mode.
NO_RAW_MODE = ("archive.today", "archive.ph", "archive.is", "archive.li", "archive.vn",
               "archive.fo", "archive.md")


@dataclass(frozen=True)
class TimeMapPage:
    """One page of a TimeMap: its mementos and the other pages it links."""

    original: str | None = None
    mementos: list[CdxRow] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)


def parse_timemap(text: str, *, base: str, source: str = "TimeMap") -> TimeMapPage:
    """Mementos and further pages in a link-format TimeMap; WitnessError if it has no links."""
    links = [(target, params) for target, params in parse_links(text) if "rel" in params]
    if not links and text.strip():
        raise WitnessError(f"{source} is not a link-format TimeMap")
    original = None
    rows: list[CdxRow] = []
    pages: list[str] = []
    for target, params in links:
        rels = params.get("rel", "").lower().split()
        url = urljoin(base, target.strip())
        if "original" in rels and original is None:
            original = url
        if "timemap" in rels and "self" not in rels:
            pages.append(url)
        if "memento" in rels:
            stamp = _memento_time(url, params)
            if stamp is not None:
                rows.append(CdxRow(timestamp=stamp, original="", statuscode=None, digest=None,
                                   mimetype=None, length=None, memento=url))
    filled = [CdxRow(row.timestamp, original or row.original, None, None, None, None,
                     memento=row.memento) for row in rows]
    return TimeMapPage(original, filled, pages)


def _memento_time(url: str, params: dict[str, str]) -> str | None:
    when = params.get("datetime")
    if when:
        return http_date_to_ts(when)
    found = _WAYBACK_STYLE.match(url)
    return found.group(2) if found and ts_to_datetime(found.group(2)) else None


def of_page(row: CdxRow, url: str) -> CdxRow | None:
    """``row`` filed under ``url`` if everything that names its page names ``url`` (the
    TimeMap's ``rel="original"``, the URL inside a Wayback-style memento URL); None for a
    memento of another page, which is never a copy of this one."""
    named = [row.original] if row.original else []
    inside = _WAYBACK_STYLE.match(row.memento or "")
    if inside:
        named.append(inside.group(3)[1:])
    if not all(same_page(name, url) for name in named):
        return None
    return row if row.original else replace(row, original=url)


def raw_memento_url(memento: str) -> str:
    """``…/20220321080000/http://x/`` → ``…/20220321080000id_/http://x/``; else as it is.

    archive.today (archive.ph, .is, .md, …) has no raw mode, though its TimeMaps name its
    mementos Wayback-style (``https://archive.is/19980130085039/http://www.kernel.org/``, as
    its real TimeMaps read): its mementos are fetched as they are, never with an ``id_``
    it does not know."""
    found = _WAYBACK_STYLE.match(memento)
    if found is None or _no_raw_mode(memento):
        return memento
    return f"{found.group(1)}{found.group(2)}id_{found.group(3)}"


def _no_raw_mode(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == name or host.endswith("." + name) for name in NO_RAW_MODE)


class MementoClient:
    """A Memento archive's TimeMaps (``BASE + URL``), read only: it archives nothing."""

    def __init__(self, base: str, *, session: requests.Session | None = None,
                 timeout: Any = (10, 120), throttle: Throttle | None = None) -> None:
        self.base = base
        self.name = f"memento={base}"
        self.session = session or BoundedSession()
        self.timeout = timeout
        self.throttle = throttle or Throttle(RateLimiter(1.0))

    def save(self, url: str) -> Submission:
        return Submission(FAILED, retryable=False, error=(
            f"{self.name} is a Memento source, read only: it cannot archive pages"))

    def timemap_url(self, url: str) -> str:
        return f"{self.base}{url}"

    def snapshots(self, url: str, *, since: str | None = None, until: str | None = None,
                  max_rows: int = MAX_MEMENTOS) -> list[CdxRow]:
        """Every memento the TimeMap (all its pages) lists, oldest first; ``since``/``until``
        (4 to 14 digits) keep a date range; a memento of another page is dropped
        (:func:`of_page`). An archive that knows no snapshot: []."""
        todo, seen = [self.timemap_url(url)], set[str]()
        rows: list[CdxRow] = []
        while todo:
            page_url = todo.pop(0)
            if page_url in seen:
                continue
            if len(seen) >= MAX_PAGES:
                raise WitnessError(f"{self.name}: the TimeMap of {url} has more than "
                                   f"{MAX_PAGES} pages", retryable=False)
            seen.add(page_url)
            page = self._page(page_url)
            if page is None:
                continue
            rows += [kept for row in page.mementos if (kept := of_page(row, url))]
            if len(rows) > max_rows:
                raise WitnessError(f"{self.name} lists more than {max_rows} snapshots of {url}: "
                                   "give a date range", retryable=False)
            todo += [p for p in page.pages if p not in seen]
        low, high = (since or "").ljust(14, "0"), (until or "").ljust(14, "9")
        return collapse_duplicates(r for r in rows if low <= r.timestamp <= high)

    def _page(self, page_url: str) -> TimeMapPage | None:
        response = self.throttle.send(
            lambda: self.session.get(page_url, timeout=self.timeout,
                                     **_cap(self.session)),
            what=f"{self.name} TimeMap")
        with response:
            if response.status_code == 404:
                return None  # the archive has no snapshot of the URL
            if response.status_code != 200:
                raise WitnessError(f"{self.name} TimeMap answered HTTP {response.status_code}",
                                   retryable=response.status_code >= 500)
            return parse_timemap(response.text, base=page_url, source=f"{self.name} TimeMap")

    def raw_url(self, timestamp: str, url: str, memento: str | None = None) -> str:
        return raw_memento_url(memento) if memento else f"{self.base}{url}"

    def raw(self, timestamp: str, url: str) -> RawCopy:
        raise WitnessError(f"{self.name} is read only: its copies are fetched by "
                           "Witness.fetch_snapshot", retryable=False)


def _cap(session: requests.Session) -> dict[str, Any]:
    return {"max_body": MAX_TIMEMAP_BYTES} if isinstance(session, BoundedSession) else {}

