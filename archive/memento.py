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
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import requests

from archive.errors import WitnessError

ARCHIVED, PENDING, FAILED, UNKNOWN = "archived", "pending", "failed", "unknown"
STATUSES = (ARCHIVED, PENDING, FAILED, UNKNOWN)
DEFAULT_MAX_RAW = 100_000_000
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
        try:
            stamp = parsedate_to_datetime(when).strftime("%Y%m%d%H%M%S")
        except (TypeError, ValueError):
            return None
        return response.url, stamp
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
        served = _served_timestamp(response)
        if timestamp and served and served != timestamp:
            raise WitnessError(f"asked for snapshot {timestamp} of {url}, got {served}",
                               retryable=True)
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


def _served_timestamp(response: requests.Response) -> str | None:
    when = response.headers.get("Memento-Datetime")
    if when:
        try:
            return parsedate_to_datetime(when).strftime("%Y%m%d%H%M%S")
        except (TypeError, ValueError):
            return None
    found = ts_from_url(response.url)
    return found[0] if found else None
