"""What both witnesses share: memento headers, a submission's outcome, the raw copy's hash.

A Wayback-style archive (the Internet Archive or pywb) names a snapshot by a 14-digit UTC
timestamp and the original URL: ``BASE/web/<ts>/<url>`` on the IA, ``BASE/<ts>/<url>`` on
pywb. Adding ``id_`` to the timestamp asks for the payload exactly as archived, without the
replay rewriting; :func:`fetch_raw` hashes that payload (with any ``Content-Encoding``
undone) so it can be compared with what we captured ourselves.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from archive.deadline import BoundedSession
from archive.errors import WitnessError
from archive.httpdate import parse_http_date
from archive.pagekey import same_page

ARCHIVED, PENDING, FAILED, UNKNOWN = "archived", "pending", "failed", "unknown"
# A snapshot outside the time window of our capture (archive.window): older, or much later.
STALE, LATE = "stale", "late"
STATUSES = (ARCHIVED, PENDING, FAILED, UNKNOWN, STALE, LATE)
DEFAULT_MAX_RAW = 100_000_000
MAX_MOVES = 5  # the archive's own redirects to the same snapshot (URL canonicalisation)
MAX_PAGE_SCAN = 256 * 1024  # how much of an archive's own page is read for its reason
REDIRECTS = frozenset({301, 302, 303, 307, 308})
NOT_A_COPY = "the archive's own page, not a copy"
_SCRIPTS = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TAGS = re.compile(r"<[^>]*>")
# An archive's refusal in its own words, e.g. web.archive.org's "Sorry. This URL has been
# excluded from the Wayback Machine." (edgi-govdata-archiving/wayback's recordings).
_REFUSAL = re.compile(r"[^.!?]{0,120}\b(excluded|blocked|robots\.txt|not available for "
                      r"playback|access (?:is )?denied|forbidden)\b[^.!?]{0,120}[.!?]?", re.I)
API_MAX_BODY = 8 * 1024 * 1024  # a save answer, a job status or 1,000 CDX rows: far less
_RAW = re.compile(r"/\d{14}id_/")  # a raw copy's URL: the page's bytes, no banner
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
    """An RFC 8288 ``Link`` header as ``(target, params)`` pairs.

    web.archive.org writes every target of its Link header HTML-escaped: the memento of
    ``…/authorize?response_type=cookie&client_id=…`` names its original as
    ``…?response_type=cookie&amp;client_id=…`` (edgi-govdata-archiving/wayback's springer
    recording). Read as written, that is another query (``amp;client_id``), so the copy of
    the very page asked for was judged a copy of another page; ``&amp;`` is read as ``&``."""
    links = []
    for match in _LINK.finditer(header or ""):
        params: dict[str, str] = {}
        for part in match.group(2).split(";"):
            if "=" in part:
                key, _, value = part.partition("=")
                params[key.strip().lower()] = value.strip().strip('"')
        links.append((match.group(1).replace("&amp;", "&"), params))
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
    when = parse_http_date(value)
    return None if when is None else when.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def ts_to_datetime(ts: str) -> datetime | None:
    """A 14-digit Wayback timestamp as an aware UTC datetime; None if it names no real time."""
    if not (isinstance(ts, str) and len(ts) == 14 and ts.isdigit()):
        return None
    try:
        return datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def memento_links(header: str | None) -> list[tuple[str, str | None]]:
    """``(url, timestamp)`` of every link whose relation is exactly ``memento``.

    A Wayback answer's ``Link`` header also names ``first memento``, ``prev memento``,
    ``next memento`` and ``last memento`` (seen in every real web.archive.org replay): those
    are other snapshots, never this one."""
    found = []
    for target, params in parse_links(header):
        if params.get("rel", "").lower().split() == ["memento"]:
            when = params.get("datetime")
            stamp = http_date_to_ts(when) if when else None
            found.append((target, stamp or (ts_from_url(target) or (None, ""))[0]))
    return found


def memento_from_response(response: requests.Response, base: str) -> tuple[str, str] | None:
    """``(memento_url, timestamp)`` of the snapshot an answer is, or names.

    The time is the answer's ``Memento-Datetime`` when it has one; else the snapshot named by
    ``Content-Location``, ``Location`` or a link whose relation is exactly ``memento``. The
    URL is the one among those that names that time (else the answer's own URL). A memento's
    ``Location`` is never among them: it is the archived page's own redirect, to another page
    at the same time (springer's login page's 302, in edgi-govdata-archiving/wayback's
    recordings, named the article's snapshot as the login page's)."""
    when = response.headers.get("Memento-Datetime")
    candidates = [response.headers.get("Content-Location")]
    if when is None:
        candidates.append(response.headers.get("Location"))
    candidates += [target for target, _ in memento_links(response.headers.get("Link"))]
    named = [(urljoin(base + "/", c), found[0]) for c in candidates
             if c and (found := ts_from_url(c))]
    if when is not None:
        stamp = http_date_to_ts(when)
        if stamp is None:
            return None
        url = next((u for u, ts in named if ts == stamp), response.url)
        return url, stamp
    return named[0] if named else None


class AnswerKind(Enum):
    """What an archive's answer to a request for one snapshot is."""

    COPY = "copy"  # a memento (it has Memento-Datetime): any status, archived 3xx/4xx/5xx too
    MOVED = "moved"  # the archive's own redirect to the same snapshot under another URL
    OTHER_SNAPSHOT = "other-snapshot"  # the archive's redirect to a snapshot at another time
    OTHER_PAGE = "other-page"  # a copy, or the archive's redirect to one, of another page
    EXCLUDED = "excluded"  # the archive will not show it (exclusion, blocked site, robots)
    NOT_ARCHIVED = "not-archived"  # the archive has no such snapshot (404, no Memento-Datetime)
    OWN_PAGE = "own-page"  # any other page of the archive's own (a 200 "not archived" page)
    UNAVAILABLE = "unavailable"  # the archive itself is throttling or failing (429/5xx)


@dataclass(frozen=True)
class Answer:
    """An archive's answer, judged: a copy only if it carries a Memento-Datetime."""

    kind: AnswerKind
    timestamp: str | None = None  # COPY: its Memento-Datetime; MOVED/OTHER: the target's
    location: str | None = None  # MOVED/OTHER_SNAPSHOT: where the archive points
    reason: str | None = None  # EXCLUDED/UNAVAILABLE/NOT_ARCHIVED: one line


def judge_answer(url: str, status: int, headers: Mapping[str, str], body: bytes,
                 asked: str | None = None) -> Answer:
    """Judge the archive's answer to ``GET url`` (a memento URL, raw or not).

    Only an answer with a ``Memento-Datetime`` is a copy, whatever its status: an archived
    redirect, 404, 429 or 503 is what the page answered then; but a copy whose ``Link``
    ``rel="original"`` names another page than the memento URL asked for, or the archive's
    redirect to a snapshot of another page, is OTHER_PAGE (:mod:`archive.pagekey`).
    Without one the answer is the archive's own: a redirect (to the same snapshot,
    ``asked``, under another URL, or to another snapshot), an exclusion or "blocked site"
    page (403, or a 200 page saying so, as web.archive.org sends), a 404 (no snapshot),
    throttling / an outage (429, 5xx), or OWN_PAGE: any other page of its own (a 200 "not
    archived" page, which is no exclusion) or a redirect away from its snapshots (to the
    live page: what is served there is the origin's word, not the archive's)."""
    page = (ts_from_url(url) or ("", ""))[1]  # the page asked for, in a Wayback-style URL
    when = headers.get("Memento-Datetime")
    if when is not None:
        original = next((target for target, params in parse_links(headers.get("Link"))
                         if "original" in params.get("rel", "").lower().split()), None)
        if page and original and not same_page(original, page):
            return Answer(AnswerKind.OTHER_PAGE, timestamp=http_date_to_ts(when),
                          location=original)
        return Answer(AnswerKind.COPY, timestamp=http_date_to_ts(when))
    location = headers.get("Location")
    if status in REDIRECTS and location:
        target = urljoin(url, location.strip())
        found = ts_from_url(target)
        if not found or urlsplit(target).netloc != urlsplit(url).netloc:
            # away from the archive's snapshots (the live page itself, a login): a copy
            # served there would be the origin's word, not the archive's
            return Answer(AnswerKind.OWN_PAGE, location=target, reason=(
                f"HTTP {status} to {target[:200]}, not to a snapshot of the archive"))
        if page and not same_page(found[1], page):
            return Answer(AnswerKind.OTHER_PAGE, timestamp=found[0], location=target)
        if asked and found[0] != asked:
            return Answer(AnswerKind.OTHER_SNAPSHOT, timestamp=found[0], location=target)
        return Answer(AnswerKind.MOVED, timestamp=found[0], location=target)
    if status == 429 or status >= 500:
        return Answer(AnswerKind.UNAVAILABLE, reason=f"HTTP {status}")
    if status in (404, 410):
        return Answer(AnswerKind.NOT_ARCHIVED, reason=f"HTTP {status}: no such snapshot")
    reason = exclusion_reason(status, headers, body)
    if status in (403, 451) or not reason.endswith(NOT_A_COPY):
        return Answer(AnswerKind.EXCLUDED, reason=reason)
    return Answer(AnswerKind.OWN_PAGE, reason=reason)  # no word of a refusal: only not a copy


def exclusion_reason(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The archive's own words for refusing a copy, in one line."""
    error = headers.get("X-Archive-Wayback-Runtime-Error") or ""
    if error:
        words = error.rsplit(":", 1)[-1].strip()  # "...AccessControlException: Blocked Site Error"
        return f"HTTP {status}: {words[:160]}"
    text = _TAGS.sub(" ", _SCRIPTS.sub(" ", body[:MAX_PAGE_SCAN].decode("utf-8", "replace")))
    found = _REFUSAL.search(" ".join(text.split()))
    if found:
        return f"HTTP {status}: {found.group(0).strip()[:200]}"
    return f"HTTP {status} without a Memento-Datetime: {NOT_A_COPY}"


class ExcludedByArchive(WitnessError):
    """The archive holds the URL but will not show it: not a copy, and not a different one."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, retryable=False)
        self.reason = reason


class NotArchived(WitnessError):
    """The archive has no snapshot at the URL asked for."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def answer_error(url: str, answer: Answer, retry_after: float | None = None) -> WitnessError:
    """The WitnessError for an answer that is not a copy."""
    if answer.kind is AnswerKind.EXCLUDED:
        return ExcludedByArchive(f"excluded by the archive: {url} ({answer.reason})",
                                 reason=answer.reason or "")
    if answer.kind is AnswerKind.NOT_ARCHIVED:
        return NotArchived(f"the archive has no snapshot at {url} ({answer.reason})")
    if answer.kind is AnswerKind.OTHER_SNAPSHOT:
        return WitnessError(f"asked for one snapshot of {url}, got {answer.timestamp}: the "
                            "archive points to another snapshot", retryable=False)
    if answer.kind is AnswerKind.OWN_PAGE:
        return WitnessError(f"the archive answered {url} with {answer.reason}",
                            retryable=False)
    if answer.kind is AnswerKind.OTHER_PAGE:
        return WitnessError(f"asked for a snapshot of {url}, the archive answered for another "
                            f"page ({(answer.location or '')[:200]}): not a copy of this page",
                            retryable=False)
    if answer.kind is AnswerKind.MOVED:
        return WitnessError(f"{url}: the archive redirected more than {MAX_MOVES} times "
                            "without serving a copy", retryable=False)
    return WitnessError(f"the raw copy {url} answered {answer.reason}", retryable=True,
                        retry_after=retry_after)


def refuse_replay(raw_url: str, location: str) -> None:
    """WitnessError if an archive redirects a raw copy (``id_``) to its replay page: the
    banner and rewritten links it adds are not the page's bytes, and comparing them would
    say the archive holds another copy where it holds the very page."""
    if _RAW.search(raw_url) and not _RAW.search(location):
        raise WitnessError(f"{raw_url}: asked for the raw copy, the archive redirected to its "
                           f"replay page ({location[:200]}), which adds its own banner and "
                           "links: not the page's bytes, not compared", retryable=False)


def fetch_raw(
    session: requests.Session,
    url: str,
    *,
    send: Callable[[Callable[[], requests.Response]], requests.Response],
    timeout: Any,
    timestamp: str | None = None,
    max_bytes: int = DEFAULT_MAX_RAW,
) -> RawCopy:
    """GET a raw (``id_``) copy and hash its decoded payload; WitnessError if there is none.

    Redirects are not followed blindly: an archived redirect (with Memento-Datetime) is the
    copy; the archive's own redirect to the same snapshot is followed at most
    :data:`MAX_MOVES` times, but never from a raw copy to a replay page (its banner and
    rewritten links are not the page's bytes); one to another snapshot is an error when
    ``timestamp`` is given (we compare only the snapshot asked for). An exclusion page
    raises ExcludedByArchive.
    """
    target = url
    for _ in range(MAX_MOVES + 1):
        response = send(functools.partial(session.get, target, timeout=timeout, stream=True,
                                          allow_redirects=False))
        with response:
            answer = judge_answer(target, response.status_code, response.headers,
                                  _peek(response), timestamp)
            if answer.kind is AnswerKind.MOVED and answer.location:
                refuse_replay(url, answer.location)
                target = answer.location
                continue
            if answer.kind is not AnswerKind.COPY:
                raise answer_error(url, answer)
            if timestamp:
                _check_served(response, url, timestamp)
            return _hash_copy(response, url, max_bytes)
    raise answer_error(url, Answer(AnswerKind.MOVED))


def _peek(response: requests.Response) -> bytes:
    """The start of an answer's body, for judging it (read only when it is not a copy)."""
    if response.headers.get("Memento-Datetime") is not None:
        return b""
    try:
        return response.content[:MAX_PAGE_SCAN] if response.status_code < 500 else b""
    except requests.RequestException:
        return b""


def _hash_copy(response: requests.Response, url: str, max_bytes: int) -> RawCopy:
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
