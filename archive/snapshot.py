"""An archive's copy of a page, fetched once and kept as evidence like a capture.

A snapshot in someone else's archive (the Wayback Machine, a pywb, any Memento archive) is
evidence only if we keep what the archive served: :func:`fetch_snapshot` fetches its raw
copy (``id_``, never the rewritten replay) once, with the limits of a capture
(:class:`~archive.fetch.Fetcher`: total deadline, size cap, exact request and response
heads), and returns a :class:`SnapshotCopy` that :meth:`SnapshotCopy.write_warc` writes as a
WARC whose ``WARC-Target-URI`` is the memento URL we fetched; the metadata record names the
archive, the original URL, the ``Memento-Datetime`` and the archive's index digest.

The index (CDX) digest is the archive's SHA-1 of the payload, in base32. The Internet
Archive hashes the payload with any Content-Encoding undone (its ``id_`` may gzip on the
fly); pywb hashes it as stored. :class:`DigestCheck` says whether our SHA-1 of either form
agrees, differs, or cannot be checked (no digest in the index): a digest is the archive's
word, our hash is what we received.

Only an answer carrying ``Memento-Datetime`` is a copy (:func:`archive.memento.judge_answer`):
an exclusion page raises :class:`~archive.memento.ExcludedByArchive`, a missing snapshot
:class:`~archive.memento.NotArchived`, and throttling or an outage a retryable
:class:`~archive.errors.WitnessError`. The archive's own redirect to the same snapshot under
another URL is followed (at most :data:`~archive.memento.MAX_MOVES` times, each hop kept);
an archived redirect is the copy.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, BinaryIO

from requests.structures import CaseInsensitiveDict

from archive.cdx import ts_to_rfc3339
from archive.errors import FetchError, WitnessError
from archive.fetch import (
    DEFAULT_MAX_DECODED,
    Exchange,
    Fetcher,
    FetchResult,
    decode_payload_for_text,
    decoded_body,
)
from archive.memento import (
    MAX_MOVES,
    MAX_PAGE_SCAN,
    Answer,
    AnswerKind,
    answer_error,
    judge_answer,
    refuse_replay,
)
from archive.ratelimit import RateLimiter, parse_retry_after
from archive.warc import write_capture_warc


class DigestCheck(Enum):
    """Does our SHA-1 of the payload agree with the archive's index digest?"""

    AGREES = "agrees"
    DIFFERS = "differs"
    UNCHECKED = "unchecked"  # the index gave no digest


@dataclass(frozen=True)
class SnapshotRef:
    """Which snapshot to fetch: what a TimeMap or CDX row says, plus where its raw copy is."""

    archive: str  # the witness's name: "ia", "pywb=BASE", "memento=BASE"
    original: str  # the page's URL as the archive holds it
    timestamp: str  # 14 digits UTC
    memento_url: str  # the replay URL (what a reader opens)
    raw_url: str  # the ``id_`` URL (memento_url itself where the archive has no raw mode)
    cdx_digest: str | None = None  # the index's SHA-1, base32, without "sha1:"


@dataclass(frozen=True)
class SnapshotCopy:
    """A snapshot as fetched: every hop byte for byte, hashes, and the digest check."""

    ref: SnapshotRef
    result: FetchResult
    memento_datetime: str  # RFC 3339 UTC, from the copy's Memento-Datetime
    status: int  # the status the page answered when archived (a 301, 404, 429 is a copy)
    sha256: str  # of the payload as received (Content-Encoding kept), as a capture's sha256
    sha1_base32: str  # of the payload, in the form that matched the index (else decoded)
    digest_check: DigestCheck
    warnings: list[str] = field(default_factory=list)

    @property
    def exchange(self) -> Exchange:
        return self.result.final

    @property
    def agrees(self) -> bool | None:
        """True/False as the archive's digest agrees with our hash; None if unchecked."""
        if self.digest_check is DigestCheck.UNCHECKED:
            return None
        return self.digest_check is DigestCheck.AGREES

    def metadata(self) -> dict[str, Any]:
        """What the WARC's metadata record says about the snapshot."""
        return {"snapshot": {
            "archive": self.ref.archive, "original_url": self.ref.original,
            "memento_url": self.ref.memento_url, "raw_url": self.ref.raw_url,
            "timestamp": self.ref.timestamp, "memento_datetime": self.memento_datetime,
            "archived_status": self.status, "sha256": self.sha256,
            "cdx_digest": f"sha1:{self.ref.cdx_digest}" if self.ref.cdx_digest else None,
            "payload_sha1": f"sha1:{self.sha1_base32}",
            "digest_check": self.digest_check.value, "warnings": self.warnings,
        }}

    def write_warc(self, out: BinaryIO) -> None:
        """The copy as a gzipped WARC/1.1: request/response per hop (Target-URI: the
        memento URL fetched), then the metadata record (:meth:`metadata`)."""
        write_capture_warc(self.result, out, metadata=self.metadata())


def fetch_snapshot(ref: SnapshotRef, *, fetcher: Fetcher | None = None,
                   limiter: RateLimiter | None = None) -> SnapshotCopy:
    """Fetch ``ref``'s raw copy once; raises ExcludedByArchive, NotArchived, WitnessError.

    ``limiter``: the archive's read rate limiter (one wait before each request)."""
    fetcher = fetcher or Fetcher()
    hops: list[Exchange] = []
    target = ref.raw_url
    fetched_at = ""
    for _ in range(MAX_MOVES + 1):
        if limiter is not None:
            limiter.wait()
        try:
            one = fetcher.fetch_one(target)
        except FetchError as exc:
            raise WitnessError(f"{ref.archive}: the copy {target} could not be fetched: {exc}",
                               retryable=exc.reason not in ("too-large",)) from None
        fetched_at = fetched_at or one.fetched_at
        hops.append(one.final)
        answer = judge_answer(target, one.final.status, CaseInsensitiveDict(one.final.headers),
                              _page_start(one.final), ref.timestamp)
        if answer.kind is AnswerKind.MOVED and answer.location:
            refuse_replay(ref.raw_url, answer.location)
            target = answer.location
            continue
        result = FetchResult(url=ref.raw_url, final_url=target, exchanges=hops,
                             fetched_at=fetched_at)
        return _copy(ref, result, answer)
    raise answer_error(ref.raw_url, Answer(AnswerKind.MOVED))


def _page_start(ex: Exchange) -> bytes:
    """The start of an answer's body decoded, for the archive's own words (an exclusion
    page is sent gzipped as often as not); the bytes as received if they do not decode."""
    if ex.header("Memento-Datetime") is not None:
        return b""  # a copy: its words are the page's, never the archive's
    try:
        return decode_payload_for_text(ex.body, ex.header("content-encoding"), ex.url,
                                       keep=MAX_PAGE_SCAN, limit=8 * MAX_PAGE_SCAN).data
    except FetchError:
        return ex.body[:MAX_PAGE_SCAN]


def _copy(ref: SnapshotRef, result: FetchResult, answer: Answer) -> SnapshotCopy:
    final = result.final
    if answer.kind is not AnswerKind.COPY:
        raise answer_error(ref.raw_url, answer,
                           retry_after=parse_retry_after(final.header("Retry-After")))
    if answer.timestamp is None:
        raise WitnessError(f"{ref.archive}: the copy {final.url} has an unreadable "
                           f"Memento-Datetime", retryable=True)
    if answer.timestamp != ref.timestamp:
        raise WitnessError(f"{ref.archive}: asked for snapshot {ref.timestamp} of "
                           f"{ref.original}, got {answer.timestamp}", retryable=False)
    check, sha1, warnings = _digest_check(final, ref.cdx_digest)
    return SnapshotCopy(ref=ref, result=result, memento_datetime=ts_to_rfc3339(answer.timestamp),
                        status=final.status, sha256=hashlib.sha256(final.body).hexdigest(),
                        sha1_base32=sha1, digest_check=check, warnings=warnings)


def _digest_check(ex: Exchange, digest: str | None) -> tuple[DigestCheck, str, list[str]]:
    """Our SHA-1 of the payload as received and decoded, against the index's."""
    warnings: list[str] = []
    forms = {"received": sha1_base32(ex.body)}
    try:
        forms["decoded"] = sha1_base32(decoded_body(ex, DEFAULT_MAX_DECODED))
    except FetchError as exc:
        warnings.append(f"the payload could not be decoded to check the digest: {exc}")
    wanted = (digest or "").strip().upper().removeprefix("SHA1:")
    if not wanted:
        return DigestCheck.UNCHECKED, forms.get("decoded", forms["received"]), warnings
    for value in forms.values():
        if value == wanted:
            return DigestCheck.AGREES, value, warnings
    return DigestCheck.DIFFERS, forms.get("decoded", forms["received"]), warnings


def sha1_base32(data: bytes) -> str:
    """The SHA-1 of ``data`` as CDX indexes write it (base32, upper case, 32 characters)."""
    return base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")
