"""The ledger: an append-only, hash-chained list of everything this store has recorded.

Each record's body is canonical JSON ``{"v", "seq", "kind", "time", "subject", "prev",
"data"}`` and its hash is ``sha256("provenance:record:v1\\n" + body)``. Because ``prev``
is the previous record's hash, changing, removing or reordering any record breaks every
link after it. Rows are never updated or deleted: SQLite triggers refuse both, and a later
state (a witness that answered, a stamp that arrived) is a new record that names the
earlier one by ``seq``.

Writes happen in ``BEGIN IMMEDIATE`` transactions, so two processes appending to one store
serialise, and a run killed mid-write leaves the ledger as it was before that record.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from provenance.clock import utc_now
from provenance.errors import LedgerError
from provenance.hashing import canonical_json, record_hash
from provenance.store import Store

GENESIS = "0" * 64
FORMAT_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT,
    time TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    record_hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS records_by_subject ON records(kind, subject);
CREATE TRIGGER IF NOT EXISTS records_are_never_updated BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_are_never_deleted BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""


@dataclass(frozen=True)
class Record:
    """One ledger record, exactly as hashed."""

    seq: int
    kind: str
    time: str
    subject: str | None
    data: dict[str, Any]
    prev_hash: str
    record_hash: str
    body: str = field(repr=False, default="")

    @property
    def id(self) -> str:
        """Short id for users: the first 12 hex digits of the record hash."""
        return self.record_hash[:12]

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.data.get("files", []))

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "kind": self.kind,
            "time": self.time,
            "subject": self.subject,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "record_hash": self.record_hash,
        }


def build_body(
    seq: int, kind: str, time: str, subject: str | None, prev: str, data: dict[str, Any]
) -> bytes:
    return canonical_json(
        {
            "v": FORMAT_VERSION,
            "seq": seq,
            "kind": kind,
            "time": time,
            "subject": subject,
            "prev": prev,
            "data": data,
        }
    )


class Ledger:
    """The ledger of one store. Safe to share between threads of one process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                store.ledger_path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"ledger {store.ledger_path} is damaged or not a provenance ledger ({exc})"
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def append(self, kind: str, data: dict[str, Any], *, subject: str | None = None) -> Record:
        """Append one record in its own transaction and return it."""
        return self.append_many([(kind, data, subject)])[0]

    def append_many(self, items: Iterable[tuple[str, dict[str, Any], str | None]]) -> list[Record]:
        """Append several records in one transaction: all of them or none."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    last = self._db.execute(
                        "SELECT seq, record_hash FROM records ORDER BY seq DESC LIMIT 1"
                    ).fetchone()
                    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
                    written = []
                    for kind, data, subject in items:
                        seq += 1
                        time = utc_now()
                        body = build_body(seq, kind, time, subject, prev, data)
                        digest = record_hash(body)
                        text = body.decode("utf-8")
                        self._db.execute(
                            "INSERT INTO records (seq, kind, subject, time, body, prev_hash,"
                            " record_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (seq, kind, subject, time, text, prev, digest),
                        )
                        written.append(Record(seq, kind, time, subject, data, prev, digest, text))
                        prev = digest
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise LedgerError(f"cannot write to the ledger: {exc}") from None
            if written:
                head = {"seq": written[-1].seq, "record_hash": written[-1].record_hash}
                self.store.write_atomic(self.store.head_path, canonical_json(head) + b"\n")
            return written

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Record]:
        with self._lock:
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise LedgerError(f"cannot read the ledger: {exc}") from None
        for row in rows:
            yield _record_from_row(row)

    _COLUMNS = "seq, kind, subject, time, body, prev_hash, record_hash"

    def records(self, kind: str | None = None, subject: str | None = None) -> Iterator[Record]:
        """Records in order, optionally only one kind and/or one subject."""
        clauses, params = [], []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if subject is not None:
            clauses.append("subject = ?")
            params.append(subject)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._query(
            f"SELECT {self._COLUMNS} FROM records{where} ORDER BY seq", tuple(params)
        )

    def get(self, seq: int) -> Record | None:
        return next(self._query(f"SELECT {self._COLUMNS} FROM records WHERE seq = ?", (seq,)), None)

    def find(self, ref: str) -> Record | None:
        """A record by seq number (``12``) or by a hash prefix of at least 6 digits."""
        ref = ref.strip().lower().lstrip("#")
        if ref.isdigit() and len(ref) < 6:
            return self.get(int(ref))
        if len(ref) < 6 or any(c not in "0123456789abcdef" for c in ref):
            return None
        found = list(
            self._query(
                f"SELECT {self._COLUMNS} FROM records WHERE record_hash >= ? AND record_hash < ?"
                " ORDER BY seq LIMIT 2",
                (ref, ref + "g"),
            )
        )
        if len(found) > 1:
            raise LedgerError(f"record id {ref} is ambiguous: give more digits")
        if not found and ref.isdigit():
            return self.get(int(ref))
        return found[0] if found else None

    def last(self) -> Record | None:
        return next(
            self._query(f"SELECT {self._COLUMNS} FROM records ORDER BY seq DESC LIMIT 1"), None
        )

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM records").fetchone()[0])

    def subjects(self, kind: str) -> set[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT subject FROM records WHERE kind = ?", (kind,)
            ).fetchall()
        return {row[0] for row in rows if row[0] is not None}

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every row as stored, for ``check``: nothing is trusted, everything is re-derived."""
        with self._lock:
            cursor = self._db.execute(f"SELECT {self._COLUMNS} FROM records ORDER BY rowid")
            while True:
                batch = cursor.fetchmany(4096)
                if not batch:
                    return
                yield from batch

    def read_head(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.store.head_path.read_text("utf-8")))
        except (OSError, ValueError, TypeError):
            return None


def _record_from_row(row: tuple[Any, ...]) -> Record:
    seq, kind, subject, time, body, prev_hash, digest = row
    data = json.loads(body)["data"]
    return Record(seq, kind, time, subject, data, prev_hash, digest, body)
