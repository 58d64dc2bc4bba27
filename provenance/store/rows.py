"""Ledger rows as stored, parsed and shape-checked once, and the :class:`Problem` a check
reports: what every ``check`` step reads and says.

Kept apart from :mod:`provenance.check` so that the steps living next to what they check
(:func:`provenance.stamps.stamping.check_timestamps`,
:func:`provenance.capture.witnessing.check_witnesses`) import this and not the whole check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

from provenance.store.filestore import Store
from provenance.store.hashing import is_sha256_hex
from provenance.store.kinds import TIMESTAMP
from provenance.store.ledger import Ledger


@dataclass(frozen=True)
class Problem:
    """One thing that is not as recorded; or, with ``unverified``, a time-stamp that could
    not be verified (something is missing): not damage, but it anchors nothing."""

    what: str
    seq: int | None = None
    path: str | None = None
    expected: str | None = None
    found: str | None = None
    unverified: bool = False

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"record {self.seq}")
        if self.path:
            where.append(self.path)
        text = (": ".join([", ".join(where), self.what]) if where else self.what)
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text

    def to_json(self) -> dict[str, Any]:
        key = "unverified" if self.unverified else "problem"
        return {key: self.what, "seq": self.seq, "path": self.path,
                "expected": self.expected, "found": self.found}


try:  # orjson parses 100k records ~10x faster than json; check must stay quick on big stores
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads  # type: ignore[assignment]


@dataclass
class Row:
    """One ledger row as stored, with its body parsed once.

    ``parsed`` is the body only if it has every shape a checker relies on (a JSON object
    whose ``data`` is an object, well-formed ``files`` entries, a ``timestamp`` record's
    numbers and hashes...); otherwise it is None, ``malformed`` says why, and the other
    checkers pass over the row, which ``check_chain`` reports. ``document`` is the body as
    parsed, whatever it is.
    """

    seq: int
    kind: str
    subject: str | None
    time: str
    body: str
    prev_hash: str
    record_hash: str
    parsed: dict[str, Any] | None
    document: Any = None
    malformed: str | None = None


class Visitor(Protocol):
    """One ``check`` step's state for one run: it sees every row once, in ledger order, and
    says what it found; :meth:`finish` says what only the whole ledger shows."""

    def visit(self, row: Row) -> Iterable[Problem]: ...

    def finish(self) -> Iterable[Problem]: ...


class Checker:
    """A ``check`` step: ``start(ctx)`` makes its :class:`Visitor` for one run.

    ``check`` streams the ledger once and feeds every row to every step's visitor, so memory
    does not grow with the ledger; called on its own (``step(ctx)``) a step streams the
    ledger by itself and yields its problems, in the same order.
    """

    def __init__(self, name: str, start: Callable[[CheckContext], Visitor]) -> None:
        self.__name__ = name
        self.start = start

    def __call__(self, ctx: CheckContext) -> Iterator[Problem]:
        visitor = self.start(ctx)
        for row in ctx.rows:
            yield from visitor.visit(row)
        yield from visitor.finish()

    def __repr__(self) -> str:
        return f"<check step {self.__name__}>"


class _Rows:
    """Every row of the ledger, parsed and shape-checked, read afresh on each iteration:
    never held in memory all at once."""

    def __init__(self, ledger: Ledger | None) -> None:
        self.ledger = ledger

    def __iter__(self) -> Iterator[Row]:
        if self.ledger is not None:
            for raw in self.ledger.raw_rows():
                yield _row(raw)


class CheckContext:
    """What every checker reads: the store, its ledger (None if it is missing), its head,
    every row streamed (``rows``, parsed and shape-checked once per pass), single rows
    looked up by seq, and a pool for the slow work on files (None: do it inline)."""

    def __init__(self, store: Store, ledger: Ledger | None,
                 pool: Executor | None = None) -> None:
        self.store = store
        self.ledger = ledger
        self.pool = pool
        self.rows: Iterable[Row] = _Rows(ledger)
        self.ledger_unreadable: str | None = None
        """Why the ledger file, which is there, could not be opened (then ``ledger`` is
        None): damage to report, not a missing ledger."""

    def row(self, seq: int) -> Row | None:
        """The row numbered ``seq``, or None (a lookup by primary key, not a scan)."""
        return self.rows_at([seq]).get(seq)

    def rows_at(self, seqs: Iterable[int]) -> dict[int, Row]:
        """The rows numbered ``seqs`` that the ledger holds, by seq."""
        if self.ledger is None:
            return {}
        return {row.seq: row for row in map(_row, self.ledger.raw_rows_at(seqs))}

    def named_files(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every (seq, file entry) that a well-formed record names."""
        for row in self.rows:
            yield from row_files(row)


def row_files(row: Row) -> list[tuple[int, dict[str, Any]]]:
    """Every (seq, file entry) that one well-formed record names (:func:`shape_problem`
    has made sure that its data is an object, its files a list of objects)."""
    if row.parsed is None:
        return []
    files = row.parsed["data"].get("files")
    return [(row.seq, entry) for entry in files] if files else []


def _row(raw: tuple[Any, ...]) -> Row:
    seq, kind, subject, time, body, prev_hash, digest = raw
    if (type(seq) is int and type(kind) is str and type(time) is str and type(body) is str
            and type(prev_hash) is str and type(digest) is str
            and (subject is None or type(subject) is str)):  # every column of its type
        parsed: Any
        try:
            parsed = _loads(body)
        except (TypeError, ValueError):
            parsed = None
        why = shape_problem(kind, parsed)
        return Row(seq, kind, subject, time, body, prev_hash, digest,
                   parsed if why is None else None, parsed, why)
    texts = {"kind": kind, "time": time, "body": body, "prev_hash": prev_hash,
             "record_hash": digest}
    wrong = [name for name, value in texts.items() if not isinstance(value, str)]
    if subject is not None and not isinstance(subject, str):
        wrong.append("subject")
    if not isinstance(seq, int):
        wrong.append("seq")
    document: Any = None
    if isinstance(body, str):
        try:
            document = _loads(body)
        except (TypeError, ValueError):
            document = None
    reason = (f"column {', '.join(wrong)} is not of its type" if wrong
              else shape_problem(str(kind), document))
    return Row(seq if isinstance(seq, int) else -1, _text(kind), _text(subject) if subject
               is not None else None, _text(time), _text(body), _text(prev_hash), _text(digest),
               document if reason is None else None, document, reason)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hex_list(value: Any) -> bool:
    return isinstance(value, list) and all(is_sha256_hex(v) for v in value)


def shape_problem(kind: str, document: Any) -> str | None:
    """Why a record body cannot be read as its kind, or None: the one place where shapes
    are checked, so a crafted but hash-consistent record is a problem, never a crash."""
    if not isinstance(document, dict):
        return "record body is not a JSON object"
    data = document.get("data")
    if not isinstance(data, dict):
        return "record data is not a JSON object"
    files = data.get("files", [])
    if not isinstance(files, list):
        return "record's files are not a list"
    for entry in files:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and entry["path"] and "\x00" not in entry["path"]
                and is_sha256_hex(entry.get("sha256"))
                and isinstance(entry.get("role", ""), str)
                and _is_int(entry.get("size", 0))):
            return "a file entry is not {role, path, sha256 (hex), size}"
    if kind == TIMESTAMP:
        return _timestamp_shape(data)
    return None


def _timestamp_shape(data: dict[str, Any]) -> str | None:
    covers, leaves = data.get("covers"), data.get("leaves")
    if not (isinstance(covers, list) and all(_is_int(c) for c in covers)):
        return "time-stamp 'covers' is not a list of record numbers"
    if not _is_hex_list(leaves):
        return "time-stamp 'leaves' is not a list of SHA-256 hashes"
    root = data.get("merkle_root")
    if root is not None and not is_sha256_hex(root):
        return "time-stamp 'merkle_root' is not a SHA-256 hash"
    for key in ("status", "tsa"):
        if not isinstance(data.get(key), str):
            return f"time-stamp {key!r} is not text"
    for key in ("gen_time", "algorithm", "error"):
        if data.get(key) is not None and not isinstance(data.get(key), str):
            return f"time-stamp {key!r} is not text"
    if data.get("resolves") is not None and not _is_int(data.get("resolves")):
        return "time-stamp 'resolves' is not a record number"
    return None


