"""What each kind of ledger record holds, typed: the payloads written most, and the words
(verdicts, statuses) records and results use.

The ledger stores a record's payload as canonical JSON and hashes it, so ``to_json`` gives
back exactly the dict that is written (optional keys only when set) and ``from_json`` reads
one back, keeping any key it does not know in ``extra`` so nothing is lost on a round trip.
The enums are ``str``-valued: ``Verdict.MATCH == "match"`` and JSON output is unchanged.

- ``capture``: :class:`CapturePayload`, ``fetch_failed``: :class:`FetchFailedPayload`
  (written by :mod:`provenance.capture.capturer`); with ``--browser`` a capture's
  ``browser`` field is a :class:`BrowserPart` (:mod:`provenance.capture.rendered`)
- ``witness``: :class:`WitnessPayload` (:mod:`provenance.capture.witnessing`)
- ``changed``: :class:`ChangedPayload` (:mod:`provenance.changes.timeline`)
- ``ocr``: :class:`OcrPayload`, ``verification``: :class:`VerificationPayload`
  (:mod:`provenance.screens.screenshots`)
- ``snapshot``: :class:`SnapshotPayload` (:mod:`provenance.capture.snapshots`)
- ``timestamp``: :class:`TimestampPayload` to write
  (:mod:`provenance.stamps.stamping`), read back checked by ``StampData.parse`` there

Records written by earlier versions read back through ``from_json`` as they are: a key
they lack is filled with its default and is not added by ``to_json`` unless it was set
since, so ``from_json(old).to_json() == old``.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar, TypeVar, cast

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


P = TypeVar("P", bound="Payload")


class Payload:
    """What the typed payloads share: one rule for writing a dict and reading one back.

    A subclass lists its keys as dataclass fields (before ``extra``) and may set:
    ``OPTIONAL``, keys written only when their value is set (truthy); ``KEYS``, a field's
    JSON key where it is not a Python name (``from_`` is ``"from"``); ``ENUMS``, fields
    read into an enum; ``DEFAULTS``, what a key missing from an old record reads as
    (else None). ``extra`` keeps keys this version does not know; ``absent`` the known keys
    the record did not have, so they are not added when it is written out again.
    """

    OPTIONAL: ClassVar[frozenset[str]] = frozenset()
    KEYS: ClassVar[dict[str, str]] = {}
    ENUMS: ClassVar[dict[str, type[Enum]]] = {}
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    extra: dict[str, Any]  # each subclass declares these two last, with defaults
    absent: frozenset[str]

    def __post_init__(self) -> None:
        for name, enum in self.ENUMS.items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, enum):
                setattr(self, name, enum(value))  # a bare string becomes the enum, or fails

    @classmethod
    def _names(cls) -> list[str]:
        every: tuple[Field[Any], ...] = fields(cast(Any, cls))  # each subclass is a dataclass
        return [f.name for f in every if f.name not in ("extra", "absent")]

    @classmethod
    def _default(cls, name: str) -> Any:
        value = cls.DEFAULTS.get(name)
        return list(value) if isinstance(value, list) else value

    def to_json(self) -> dict[str, Any]:
        """The dict the ledger writes: canonical JSON of it is the record's payload."""
        data: dict[str, Any] = {}
        for name in self._names():
            value = getattr(self, name)
            if name in self.OPTIONAL and not value:
                continue
            if name in self.absent and value == self._default(name):
                continue
            data[self.KEYS.get(name, name)] = value.value if isinstance(value, Enum) else value
        return {**self.extra, **data}

    @classmethod
    def from_json(cls: type[P], data: dict[str, Any]) -> P:
        """Read a stored payload back; raises ValueError for a status or verdict it does
        not know (a record to report, never to act on)."""
        values: dict[str, Any] = {}
        absent: set[str] = set()
        extra = dict(data)
        for name in cls._names():
            key = cls.KEYS.get(name, name)
            if key not in extra:
                absent.add(name)
                values[name] = cls._default(name)
            elif name in cls.OPTIONAL and not extra[key]:
                values[name] = cls._default(name)  # present but empty: kept as it was, in extra
            else:
                values[name] = extra.pop(key)
        values.update(extra=extra, absent=frozenset(absent))
        return cls(**values)


def _extra() -> Any:
    return field(default_factory=dict, repr=False)


def _absent() -> Any:
    return field(default=frozenset(), repr=False, compare=False)


@dataclass
class CapturePayload(Payload):
    """A ``capture`` record: one page fetched, its WARC and its extracted text."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"text_note", "batch", "browser", "blocked"})
    DEFAULTS: ClassVar[dict[str, Any]] = {"url": "", "redirects": [], "files": []}

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
    # the bot check, captcha or "access denied" page served instead of the page
    # (archive.blockpage.BlockPage.to_json: {by, kind, evidence}); only written when set
    blocked: dict[str, str] | None = None
    extra: dict[str, Any] = _extra()  # keys of other versions (and the extractor)
    absent: frozenset[str] = _absent()

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.browser is not None:
            data["browser"] = self.browser.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CapturePayload:
        made = super().from_json(data)
        part: Any = made.browser
        if isinstance(part, dict):
            made.browser = BrowserPart.from_json(part)
        elif part is not None:  # not a render this version can read: kept as it was
            made.browser = None
            made.extra["browser"] = part
        return made


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
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        try:
            status = BrowserStatus(known.pop("status", None))
        except ValueError:
            status = BrowserStatus.FAILED  # a status this version does not know: not trusted
        known["prefer_text"] = known.get("prefer_text") is True
        if not isinstance(known.get("render"), dict):
            known["render"] = {}
        return cls(status=status, **known, extra=extra)


@dataclass
class WitnessPayload(Payload):
    """A ``witness`` record: what one witness archive answered for one capture."""

    ENUMS: ClassVar[dict[str, type[Enum]]] = {"status": WitnessStatus}
    DEFAULTS: ClassVar[dict[str, Any]] = {"retryable": False, "attempt": 1}

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
    extra: dict[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@dataclass
class FetchFailedPayload(Payload):
    """A ``fetch_failed`` record: a URL could not be captured at that time (itself evidence)."""

    url: str
    error: str
    reason: str  # archive.errors reasons: timeout, refused, too_large, ...
    extra: dict[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@dataclass
class ChangedPayload(Payload):
    """A ``changed`` record: what differs between two captures of a URL (none: no record)."""

    KEYS: ClassVar[dict[str, str]] = {"from_": "from"}
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"http_status", "final_url", "ignore",
                                                     "text_notes", "hidden", "shown",
                                                     "style_sheets_unread"})
    DEFAULTS: ClassVar[dict[str, Any]] = {"removed": [], "added": [], "figures": []}

    url: str | None  # the subject of both captures
    from_: dict[str, Any]  # the earlier capture: seq, record_hash, id, fetched_at, ...
    to: dict[str, Any]  # the later one, named the same way
    removed: list[str]
    added: list[str]
    figures: list[dict[str, Any]]  # provenance.changes.diff.FigureChange.to_json()
    differ: str  # which comparison said so (provenance.changes.diff.DIFFER)
    http_status: dict[str, Any] | None = None  # {from, to}; only written when it changed
    final_url: dict[str, Any] | None = None  # {from, to}; only written when it changed
    ignore: list[str] | None = None  # patterns disregarded; only written when given
    # [{copy: earlier|this, note}]: a text compared was a fallback or partial extraction, so
    # the change may be the extraction's ("compare with care"); only written when there is one
    text_notes: list[dict[str, str]] | None = None
    # passages still in the later page that its own styles hide, and passages hidden in the
    # earlier page shown in the later (provenance.changes.hiding); only written when some are
    hidden: list[str] | None = None
    shown: list[str] | None = None
    style_sheets_unread: int | None = None  # the later page's sheets not read; only when some
    extra: dict[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@dataclass
class OcrPayload(Payload):
    """An ``ocr`` record: one image read once; its bytes and full reading are its files."""

    DEFAULTS: ClassVar[dict[str, Any]] = {"files": []}

    image_sha256: str
    image_name: str
    phash: str
    width: int
    height: int
    lang_requested: str  # the cache key, with image_sha256 and pipeline
    lang: str
    engine: str | None  # the Tesseract version, recorded, not required
    pipeline: str
    confidence: str  # a decimal string: records hold no floats
    words: int
    files: list[dict[str, Any]]  # the screenshot and the stored OCR JSON
    extra: dict[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@dataclass
class VerificationPayload(Payload):
    """A ``verification`` record: does this image show the claim, and by which OCR record."""

    ENUMS: ClassVar[dict[str, type[Enum]]] = {"verdict": Verdict}
    DEFAULTS: ClassVar[dict[str, Any]] = {"figures": [], "reasons": []}

    verdict: Verdict
    score: str  # a decimal string: records hold no floats
    claim: str
    found: str
    figures: list[dict[str, Any]]
    reasons: list[str]
    image_sha256: str
    ocr_record: dict[str, Any]  # {seq, record_hash}
    against: dict[str, Any]  # {kind: text} or the capture or snapshot compared with
    checked_at: str
    extra: dict[str, Any] = _extra()
    absent: frozenset[str] = _absent()


@dataclass
class SnapshotPayload(Payload):
    """A ``snapshot`` record: an archive's copy of a page, kept as a capture is."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"text_note", "warnings", "blocked"})
    DEFAULTS: ClassVar[dict[str, Any]] = {"files": []}

    archive: str  # the witness's name
    url: str  # the original URL the archive's index gives
    memento_url: str | None
    raw_url: str | None
    timestamp: str  # the archive's 14-digit time of the copy
    memento_datetime: str | None
    http_status: int | None
    content_type: str | None
    fetched_at: str | None
    cdx_digest: str | None  # "sha1:..." as the index gives it
    payload_sha1: str | None
    digest_check: str | None
    digest_agrees: bool | None
    sha256: str | None
    text_sha256: str | None
    title: str | None
    extractor: dict[str, Any] | None
    files: list[dict[str, Any]]  # warc, text
    text_note: str | None = None  # only written when set
    warnings: list[str] | None = None  # only written when set
    blocked: dict[str, str] | None = None  # an archived bot check (CapturePayload.blocked)
    extra: dict[str, Any] = _extra()
    absent: frozenset[str] = _absent()


TOKEN_KEYS = frozenset({"trust", "imprint", "gen_time", "serial", "tsa_name", "verifier"})
"""What a ``timestamp`` record says about the TSA's reply: absent when there is none."""


@dataclass
class TimestampPayload(Payload):
    """A ``timestamp`` record, as written: one TSA's answer for a batch of records.

    A ``pending`` stamp (the TSA failed) has no reply, so none of :data:`TOKEN_KEYS`:
    build it with :meth:`pending`. Read a stored one with ``StampData.parse``
    (:mod:`provenance.stamps.stamping`), which checks every field's type.
    """

    ENUMS: ClassVar[dict[str, type[Enum]]] = {"status": StampStatus}
    DEFAULTS: ClassVar[dict[str, Any]] = {"files": []}

    covers: list[int]  # the seqs of the records stamped
    leaves: list[str]  # their record hashes, in that order
    method: str  # record (one record's body) | merkle (a tree's root)
    merkle_root: str | None
    tree_size: int
    algorithm: str
    tsa: str
    resolves: int | None  # the seq of the pending stamp this one replaces
    status: StampStatus
    error: str | None
    files: list[dict[str, Any]]  # the reply (.tsr), its certificates, the Merkle proofs
    trust: str | None = None
    imprint: str | None = None
    gen_time: str | None = None
    serial: int | None = None
    tsa_name: str | None = None
    verifier: str | None = None
    extra: dict[str, Any] = _extra()
    absent: frozenset[str] = _absent()

    @classmethod
    def pending(cls, base: dict[str, Any], error: str) -> TimestampPayload:
        """The record of a TSA that gave no reply: kept pending, retried later."""
        return cls(**base, status=StampStatus.PENDING, error=error, files=[],
                   absent=TOKEN_KEYS)
