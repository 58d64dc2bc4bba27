"""What both witnesses share: memento headers, a submission's outcome, the raw copy's hash.

A Wayback-style archive (the Internet Archive or pywb) names a snapshot by a 14-digit UTC
timestamp and the original URL: ``BASE/web/<ts>/<url>`` on the IA, ``BASE/<ts>/<url>`` on
pywb. Adding ``id_`` to the timestamp asks for the payload exactly as archived, without the
replay rewriting; :func:`fetch_raw` hashes that payload (with any ``Content-Encoding``
undone) so it can be compared with what we captured ourselves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import requests

from archive.deadline import BoundedSession
from archive.errors import WitnessError

ARCHIVED, PENDING, FAILED, UNKNOWN = "archived", "pending", "failed", "unknown"
# A snapshot outside the time window of our capture (archive.window): older, or much later.
STALE, LATE = "stale", "late"
STATUSES = (ARCHIVED, PENDING, FAILED, UNKNOWN, STALE, LATE)
DEFAULT_MAX_RAW = 100_000_000
API_MAX_BODY = 8 * 1024 * 1024  # a save answer, a job status or 1,000 CDX rows: far less
_TS_IN_URL = re.compile(r"/(\d{14})(?:[a-z]{2}_)?/(.+)$")
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+=(?:\"[^\"]*\"|[^;,]*))*)")


@dataclass(frozen=True)
class Submission:
    """What a witness said about one URL (before its raw copy is fetched)."""

    status: str  # archived | pending | failed | unknown
    url: str | None = None  # the memento (replay) URL
    timestamp: str | None = None  # 14 digits UTC
    original: str | None = None  # the URL as the witness archived it
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    job_id: str | None = None

    @classmethod
    def from_error(cls, exc: WitnessError, *, status: str = PENDING,
                   job_id: str | None = None) -> Submission:
        return cls(status if exc.retryable else FAILED, error=str(exc),
                   retryable=exc.retryable, retry_after=exc.retry_after, job_id=job_id)


@dataclass(frozen=True)
class RawCopy:
    """The witness's payload for a snapshot, hashed after undoing Content-Encoding."""

    url: str
    sha256: str
    size: int
    status: int


def parse_links(header: str | None) -> list[tuple[str, dict[str, str]]]:
    """An RFC 8288 ``Link`` header as ``(target, params)`` pairs."""
    links = []
    for match in _LINK.finditer(header or ""):
        params: dict[str, str] = {}
        for part in match.group(2).split(";"):
            if "=" in part:
                key, _, value = part.partition("=")
                params[key.strip().lower()] = value.strip().strip('"')
        links.append((match.group(1), params))
    return links


def ts_from_url(url: str | None) -> tuple[str, str] | None:
    """``(timestamp, original)`` from a memento URL such as ``…/web/20220321140307/https://…``."""
    match = _TS_IN_URL.search(url or "")
    return (match.group(1), match.group(2)) if match else None


def api_cap(session: requests.Session) -> dict[str, Any]:
    """``max_body`` for a JSON answer, when ``session`` can cap one (a BoundedSession)."""
    return {"max_body": API_MAX_BODY} if isinstance(session, BoundedSession) else {}


def http_date_to_ts(value: str) -> str | None:
    """``Fri, 24 Nov 2017 15:13:15 GMT`` (a Memento-Datetime) → ``20171124151315`` in UTC.

    An offset other than GMT is converted to UTC (the snapshot's time, not its wall clock);
    None when the value is not an HTTP date."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def ts_to_datetime(ts: str) -> datetime | None:
    """A 14-digit Wayback timestamp as an aware UTC datetime; None if it names no real time."""
    if not (isinstance(ts, str) and len(ts) == 14 and ts.isdigit()):
        return None
    try:
        return datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def memento_from_response(response: requests.Response, base: str) -> tuple[str, str] | None:
    """``(memento_url, timestamp)`` from Content-Location, Location, Link or Memento-Datetime."""
    candidates = [response.headers.get("Content-Location"), response.headers.get("Location")]
    for target, params in reversed(parse_links(response.headers.get("Link"))):
        if "memento" in params.get("rel", "").split():
            candidates.append(target)
    for candidate in candidates:
        found = ts_from_url(candidate)
        if candidate and found:
            return urljoin(base + "/", candidate), found[0]
    when = response.headers.get("Memento-Datetime")
    if when:
        stamp = http_date_to_ts(when)
        return (response.url, stamp) if stamp else None
    return None


def fetch_raw(
    session: requests.Session,
    url: str,
    *,
    send: Callable[[Callable[[], requests.Response]], requests.Response],
    timeout: Any,
    timestamp: str | None = None,
    max_bytes: int = DEFAULT_MAX_RAW,
) -> RawCopy:
    """GET a raw (``id_``) copy and hash its decoded payload; WitnessError if unavailable.

    With ``timestamp``, a witness that serves a different snapshot (a Wayback redirect to the
    closest one) is an error, not a copy: we compare only the snapshot it named.
    """
    response = send(lambda: session.get(url, timeout=timeout, stream=True))
    with response:
        # An archived error page (the original answered 404 or 410) comes back with that
        # status and a Memento-Datetime: it is a copy to compare, not a witness failure.
        archived = response.headers.get("Memento-Datetime") is not None
        if response.status_code != 200 and not (archived and response.status_code < 500):
            raise WitnessError(f"the raw copy {url} answered HTTP {response.status_code}",
                               retryable=response.status_code >= 500)
        if timestamp:
            _check_served(response, url, timestamp)
        digest = hashlib.sha256()
        size = 0
        try:
            for block in response.iter_content(64 * 1024):  # requests undoes gzip/deflate/br
                size += len(block)
                if size > max_bytes:
                    raise WitnessError(f"the raw copy {url} is larger than {max_bytes} bytes",
                                       retryable=False)
                digest.update(block)
        except requests.RequestException as exc:
            raise WitnessError(f"the raw copy {url} could not be read ({type(exc).__name__})"
                               ) from None
    return RawCopy(url=url, sha256=digest.hexdigest(), size=size, status=response.status_code)


def _check_served(response: requests.Response, url: str, timestamp: str) -> None:
    """The copy served must be the snapshot asked for, by every date it carries.

    A Wayback Machine asked for a snapshot it cannot replay redirects to the closest one,
    which may be years away (e.g. ``/web/20171101000000id_/…`` answers 302 to
    ``/web/20171124151315id_/…``, recorded in edgi-govdata-archiving/wayback's cassettes).
    Its ``Memento-Datetime`` and the final URL's timestamp must both name ``timestamp``
    where present, and at least one must be there: an undated copy, or one whose
    ``Memento-Datetime`` is not a date, is not a copy of that snapshot."""
    header = response.headers.get("Memento-Datetime")
    dated = ts_from_url(response.url)
    served = []
    if header is not None:
        stamp = http_date_to_ts(header)
        if stamp is None:
            raise WitnessError(f"the raw copy {url} has an unreadable Memento-Datetime "
                               f"({header[:60]!r})", retryable=True)
        served.append(stamp)
    if dated:
        served.append(dated[0])
    if not served:
        raise WitnessError(f"the raw copy {url} does not say which snapshot it is "
                           "(no Memento-Datetime, no timestamp in its URL)", retryable=True)
    other = next((stamp for stamp in served if stamp != timestamp), None)
    if other is not None:
        raise WitnessError(f"asked for snapshot {timestamp} of {url}, got {other}",
                           retryable=True)
