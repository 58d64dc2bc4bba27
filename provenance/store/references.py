"""What each kind of ledger record refers to: the one place that knows it.

A record names other records by ``seq`` (and by hash, where it was written with one), and
files by path and SHA-256 in ``data.files``. An evidence bundle must carry everything its
records refer to, or a reader holds a verdict without the screenshot, a change without the
captures it compares. Export follows :func:`references` transitively; bundle verification
checks that each reference is present and is the record it names.

============  ======================================================================
kind          refers to
============  ======================================================================
capture       its files (WARC, text; with ``--browser`` also the browser's WARC, screenshot,
              DOM and text, each the one its ``browser`` part names by SHA-256)
ocr           its files (the screenshot, whose SHA-256 is ``image_sha256``; the OCR JSON)
verification  ``ocr_record`` (seq + hash, same ``image_sha256``); ``against.seq`` (the
              capture compared with: its id is ``against.capture``; or, when
              ``against.kind`` is ``snapshot``, the archive copy whose id is
              ``against.snapshot``; with every value ``against`` copied from it the same:
              text and body hashes, URL, fetch time, status); ``against.copies`` (every
              capture and snapshot the verdict and its timeline rest on: seq + hash + kind)
snapshot      its files (the archive copy's WARC, text)
changed       ``from`` and ``to`` (the two captures, seq + hash, same ``text_sha256``)
witness       ``capture_seq`` (+ ``capture_hash``); ``previous_seq`` (the earlier attempt)
timestamp     ``resolves`` (the pending stamp it answers); its files (token, certificates,
              Merkle proofs). ``covers`` is not a reference: a stamp proves the covered
              records a bundle holds, and needs none of the others.
============  ======================================================================

Records are read from attacker-controlled bundles too: a field of the wrong type is
reported (:attr:`Refs.malformed`), never raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provenance.store.hashing import is_sha256_hex

CAPTURE, OCR, VERIFICATION, CHANGED, WITNESS, TIMESTAMP, SNAPSHOT = (
    "capture", "ocr", "verification", "changed", "witness", "timestamp", "snapshot")


@dataclass(frozen=True)
class Ref:
    """One record named by another: it must be there, of ``kind``, with that hash (or id
    prefix) and with ``fields`` equal in its data."""

    seq: int
    what: str
    kind: str
    record_hash: str | None = None
    id_prefix: str | None = None
    fields: tuple[tuple[str, Any], ...] = ()

    def mismatch(self, kind: str, record_hash: str, data: dict[str, Any]) -> str | None:
        """Why the record found at :attr:`seq` is not the one named; None if it is."""
        if kind != self.kind:
            return f"is a {kind} record, not a {self.kind}"
        if self.record_hash is not None and record_hash != self.record_hash:
            return "has another hash than the one named"
        if self.id_prefix is not None and not record_hash.startswith(self.id_prefix):
            return f"is not record {self.id_prefix}"
        for key, value in self.fields:
            if data.get(key) != value:
                return f"has another {key}"
        return None


@dataclass
class Refs:
    """A record's references, and the fields that should name one but cannot be read."""

    records: list[Ref] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def references(kind: str, data: Any) -> Refs:
    """The records a record of ``kind`` with ``data`` refers to."""
    refs = Refs()
    if not isinstance(data, dict):
        refs.malformed.append("data is not an object")
        return refs
    if kind == VERIFICATION:
        _verification(data, refs)
    elif kind == CHANGED:
        for side in ("from", "to"):
            _named(data.get(side), f"capture '{side}'", CAPTURE, refs, ("text_sha256",))
    elif kind == WITNESS:
        _seq(data, "capture_seq", "the capture witnessed", CAPTURE, refs,
             record_hash=data.get("capture_hash"))
        if data.get("previous_seq") is not None:
            _seq(data, "previous_seq", "the earlier attempt", WITNESS, refs)
    elif kind == TIMESTAMP and data.get("resolves") is not None:
        _seq(data, "resolves", "the pending stamp it answers", TIMESTAMP, refs)
    return refs


def _verification(data: dict[str, Any], refs: Refs) -> None:
    image = data.get("image_sha256")
    _named(data.get("ocr_record"), "its OCR record", OCR, refs, (), (("image_sha256", image),))
    against = data.get("against")
    if not isinstance(against, dict):
        refs.malformed.append("'against' is not an object")
        return
    _copies(against.get("copies"), refs)
    snapshot = against.get("kind") == SNAPSHOT
    key, kind = ("snapshot", SNAPSHOT) if snapshot else ("capture", CAPTURE)
    if against.get("seq") is None and against.get(key) is None:
        return  # checked against a claim given as text: nothing else to carry
    prefix = against.get(key)
    if not (isinstance(prefix, str) and 6 <= len(prefix) <= 64
            and all(c in "0123456789abcdef" for c in prefix)):
        refs.malformed.append(f"'against.{key}' is not a record id")
        return
    copied = tuple((theirs, against[ours]) for ours, theirs in _COPIED[kind] if ours in against)
    _seq(against, "seq", f"the {kind} compared with", kind, refs, id_prefix=prefix,
         fields=(("text_sha256", against.get("text_sha256")), *copied))


_COPIED = {
    CAPTURE: (("url", "url"), ("fetched_at", "fetched_at"), ("http_status", "http_status"),
              ("sha256", "sha256")),
    SNAPSHOT: (("url", "url"), ("source", "archive"), ("memento_url", "memento_url"),
               ("memento_datetime", "memento_datetime"), ("http_status", "http_status"),
               ("sha256", "sha256"), ("cdx_digest", "cdx_digest"),
               ("digest_agrees", "digest_agrees")),
}
"""What a verification's ``against`` copies from the record it names (its key, the record's
key): each must still be that record's. The record is named by a 12-digit id, only 48 bits
of its hash: a forger who grinds a record with those digits (and stamps it today) must
still give it every one of these values, or the bundle says which differs."""


def _copies(value: Any, refs: Refs) -> None:
    """A verification's ``copies``: every capture and archive copy it was checked against."""
    if value is None:
        return
    if not isinstance(value, list):
        refs.malformed.append("'copies' is not a list")
        return
    for n, copy in enumerate(value):
        kind = copy.get("kind") if isinstance(copy, dict) else None
        if kind not in (CAPTURE, SNAPSHOT):
            refs.malformed.append(f"copy {n} is not a capture or snapshot")
            continue
        _named(copy, f"copy {n} checked", kind, refs, ("text_sha256",))


def _named(value: Any, what: str, kind: str, refs: Refs, same: tuple[str, ...],
           fields: tuple[tuple[str, Any], ...] = ()) -> None:
    """A ``{seq, record_hash, ...}`` object naming a record."""
    if not isinstance(value, dict):
        refs.malformed.append(f"{what} is not named by an object")
        return
    fields = fields + tuple((key, value.get(key)) for key in same)
    _seq(value, "seq", what, kind, refs, record_hash=value.get("record_hash"), required=True,
         fields=fields)


def _seq(holder: dict[str, Any], key: str, what: str, kind: str, refs: Refs, *,
         record_hash: Any = None, id_prefix: str | None = None, required: bool = False,
         fields: tuple[tuple[str, Any], ...] = ()) -> None:
    seq = holder.get(key)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        refs.malformed.append(f"{what}: '{key}' is not a record number")
        return
    if record_hash is not None and not is_sha256_hex(record_hash):
        refs.malformed.append(f"{what}: its hash is not a SHA-256")
        return
    if required and record_hash is None:
        refs.malformed.append(f"{what}: no record hash")
        return
    refs.records.append(Ref(seq, what, kind, record_hash, id_prefix, fields))


def named_files(data: Any) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """``(path, sha256, role)`` of every file a record names, and what is malformed."""
    if not isinstance(data, dict):
        return [], []
    files = data.get("files", [])
    if not isinstance(files, list):
        return [], ["'files' is not a list"]
    found, malformed = [], []
    for n, entry in enumerate(files):
        if (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and is_sha256_hex(entry.get("sha256"))):
            role = entry.get("role")
            found.append((entry["path"], entry["sha256"], role if isinstance(role, str)
                          else None))
        else:
            malformed.append(f"file entry {n} is malformed")
    return found, malformed


BROWSER_FILES = (("warc_sha256", "browser-warc"), ("screenshot_sha256", "browser-screenshot"),
                 ("dom_sha256", "browser-dom"), ("text_sha256", "browser-text"))


def own_problems(kind: str, data: Any) -> list[str]:
    """What a record says about its own files that must hold (an OCR record's screenshot
    is the image it names; a ``--browser`` capture's render files are the ones its
    ``browser`` part names)."""
    if kind == CAPTURE and isinstance(data, dict) and "browser" in data:
        return _browser_problems(data)
    if kind != OCR or not isinstance(data, dict):
        return []
    files, _ = named_files(data)
    if not any(role == "screenshot" and sha == data.get("image_sha256")
               for _, sha, role in files):
        return ["names no screenshot file with its image_sha256"]
    return []


def _browser_problems(data: dict[str, Any]) -> list[str]:
    browser = data.get("browser")
    if not isinstance(browser, dict):
        return ["'browser' is not an object"]
    files, _ = named_files(data)
    problems = []
    for key, role in BROWSER_FILES:
        sha = browser.get(key)
        if sha is not None and not any(r == role and s == sha for _, s, r in files):
            problems.append(f"names no {role} file with the browser's {key}")
    return problems
