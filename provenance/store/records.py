"""What each kind of ledger record holds, typed: the payloads written most, and the words
(verdicts, statuses) records and results use.

The ledger stores a record's payload as canonical JSON and hashes it, so ``to_json`` gives
back exactly the dict that is written (optional keys only when set) and ``from_json`` reads
one back, keeping any key it does not know in ``extra`` so nothing is lost on a round trip.
The enums are ``str``-valued: ``Verdict.MATCH == "match"`` and JSON output is unchanged.

- ``capture``: :class:`CapturePayload` (written by :mod:`provenance.capture.capturer`); with
  ``--browser`` its ``browser`` field is a :class:`BrowserPart` (:mod:`provenance.capture.rendered`)
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
    browser: BrowserPart | None = None  # a --browser capture's render; only written when set
    extra: dict[str, Any] = field(default_factory=dict)  # keys of other versions

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("text_note", "batch", "browser", "extra")}
        if self.text_note:
            data["text_note"] = self.text_note
        if self.batch:
            data["batch"] = self.batch
        if self.browser is not None:
            data["browser"] = self.browser.to_json()
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CapturePayload:
        known, extra = _split(cls, data)
        defaults: dict[str, Any] = {f.name: None for f in fields(cls) if f.name != "extra"}
        defaults.update(redirects=[], files=[])
        browser = known.get("browser")
        known["browser"] = BrowserPart.from_json(browser) if isinstance(browser, dict) else None
        return cls(**{**defaults, **known, "url": str(known.get("url") or "")}, extra=extra)


class BrowserStatus(str, Enum):
    """How a capture's render in the browser went (the server capture is kept either way)."""

    OK = "ok"
    FAILED = "failed"


@dataclass
class BrowserPart:
    """What a ``--browser`` capture adds: the render's outcome and the hashes of its files
    (each also named in the capture's ``files``: roles ``browser-warc``,
    ``browser-screenshot``, ``browser-dom``, ``browser-text``)."""

    status: BrowserStatus
    reason: str | None = None  # a machine word when failed: timeout, renderer-crashed, ...
    error: str | None = None  # one line for people
    warc_sha256: str | None = None  # every request and response the browser made
    screenshot_sha256: str | None = None  # PNG of the whole page (up to policy.max_height)
    dom_sha256: str | None = None  # the HTML after scripts ran
    text_sha256: str | None = None  # the text extracted from that HTML
    prefer_text: bool = False  # the server's HTML had no article text: compare with ours
    render: dict[str, Any] = field(default_factory=dict)  # policy, limits hit, sizes, timing
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        data["status"] = self.status.value
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BrowserPart:
        known, extra = _split(cls, data)
        try:
            status = BrowserStatus(known.pop("status", None))
        except ValueError:
            status = BrowserStatus.FAILED  # a status this version does not know: not trusted
        known["prefer_text"] = known.get("prefer_text") is True
        if not isinstance(known.get("render"), dict):
            known["render"] = {}
        return cls(status=status, **known, extra=extra)


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
