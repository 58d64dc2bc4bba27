"""What each kind of ledger record holds, typed: the payloads written most, and the words
(verdicts, statuses) records and results use.

The ledger stores a record's payload as canonical JSON and hashes it, so ``to_json`` gives
back exactly the dict that is written (optional keys only when set) and ``from_json`` reads
one back, keeping any key it does not know in ``extra`` so nothing is lost on a round trip.
The enums are ``str``-valued: ``Verdict.MATCH == "match"`` and JSON output is unchanged.

- ``capture``: :class:`CapturePayload` (written by :mod:`provenance.capture.capturer`)
- ``witness``: :class:`WitnessPayload` (:mod:`provenance.capture.witnessing`)
- ``timestamp``: :class:`provenance.stamps.stamping.StampData` (``StampData.parse``)
- ``ocr``, ``verification``, ``changed``, ``fetch_failed``: plain dicts for now
  (:mod:`provenance.screens.screenshots`, :mod:`provenance.changes.timeline`)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from archive.memento import ARCHIVED, FAILED, LATE, PENDING, STALE, UNKNOWN


class Verdict(str, Enum):
    """Does a screenshot show the claim (or the captured page)?"""

    MATCH = "match"
    MISMATCH = "mismatch"  # the passage is there but a figure differs or is missing
    ABSENT = "absent"  # no corresponding passage


class WitnessStatus(str, Enum):
    """What a witness archive said about our capture (:mod:`archive.memento`)."""

    ARCHIVED = ARCHIVED
    PENDING = PENDING
    FAILED = FAILED
    UNKNOWN = UNKNOWN
    STALE = STALE
    LATE = LATE


class StampStatus(str, Enum):
    """A time-stamp record's status (:mod:`provenance.stamps.stamping`)."""

    GRANTED = "granted"
    PENDING = "pending"
    UNTRUSTED = "untrusted"


def _split(cls: type, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in fields(cls)} - {"extra"}
    return ({k: v for k, v in data.items() if k in names},
            {k: v for k, v in data.items() if k not in names})


@dataclass
class CapturePayload:
    """A ``capture`` record: one page fetched, its WARC and its extracted text."""

    url: str
    final_url: str | None
    redirects: list[Any]
    http_status: int | None
    content_type: str | None
    fetched_at: str | None
    ip_address: str | None
    sha256: str | None  # of the final response's payload
    text_sha256: str | None
    title: str | None
    canonical_url: str | None
    published: str | None
    modified: str | None
    charset: str | None
    files: list[dict[str, Any]]
    text_note: str | None = None  # partial or flat text; only written when set
    batch: Any = None  # only written when set
    extra: dict[str, Any] = field(default_factory=dict)  # keys of other versions

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("text_note", "batch", "extra")}
        if self.text_note:
            data["text_note"] = self.text_note
        if self.batch:
            data["batch"] = self.batch
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CapturePayload:
        known, extra = _split(cls, data)
        defaults: dict[str, Any] = {f.name: None for f in fields(cls) if f.name != "extra"}
        defaults.update(redirects=[], files=[])
        return cls(**{**defaults, **known, "url": str(known.get("url") or "")}, extra=extra)


@dataclass
class WitnessPayload:
    """A ``witness`` record: what one witness archive answered for one capture."""

    capture_seq: int
    capture_hash: str
    witness: str  # the witness spec: ia, pywb=BASE
    status: WitnessStatus
    url: str | None  # where the witness holds its copy
    archived_at: str | None
    error: str | None
    retryable: bool
    job_id: str | None
    agrees: bool | None  # its copy's payload hash equals ours (None: not compared)
    witness_sha256: str | None
    payload_sha256: str | None
    attempt: int
    previous_seq: int | None
    window_seconds: Any
    offset_seconds: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        data["status"] = self.status.value
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WitnessPayload:
        known, extra = _split(cls, data)
        defaults: dict[str, Any] = {f.name: None for f in fields(cls) if f.name != "extra"}
        defaults.update(retryable=False, attempt=1)
        values = {**defaults, **known}
        values["status"] = WitnessStatus(values["status"])
        return cls(**values, extra=extra)
