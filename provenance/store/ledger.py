"""The ledger: an append-only, hash-chained list of everything this store has recorded.

Each record's body is canonical JSON ``{"v", "seq", "kind", "time", "subject", "prev",
"data"}`` and its hash is ``sha256("provenance:record:v1\\n" + body)``. Because ``prev``
is the previous record's hash, changing, removing or reordering any record breaks every
link after it. Rows are never updated or deleted: SQLite triggers refuse both, and a later
state (a witness that answered, a stamp that arrived) is a new record that names the
earlier one by ``seq``.

Writes happen in ``BEGIN IMMEDIATE`` transactions, so two processes appending to one store
serialise, and a run killed mid-write leaves the ledger as it was before that record. A
write that fails (disk full) is a :class:`LedgerError` saying so, and records nothing.

``ledger.head`` names the last record (seq and hash), written after each commit. A ledger
that no longer holds the record its head names (rows cut from the end, the last record
rewritten) refuses further writes, so that a normal write never hides what ``check`` would
have shown. The head only catches accidents and careless tampering: whoever can rewrite the
ledger can rewrite the head too. Only a time-stamp anchors records outside the store.

Opened with ``writable=False`` the ledger is read through SQLite's read-only modes and
nothing is created beside it (``immutable=1`` when no writer has the ledger open), so a
write-protected copy of a store can be read and checked.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.errors import LedgerError, StoreError
from provenance.store.clock import utc_now
from provenance.store.filestore import HEAD_FILE, Store
from provenance.store.hashing import canonical_json, record_hash

SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR = 13, 8, 10
_log = logging.getLogger(__name__)  # -v: one line per record appended
_COLUMNS = "seq, kind, subject, time, body, prev_hash, record_hash"

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

CAPTURE_OF_WITNESS = ("(CASE WHEN json_valid(body) THEN "
                      "json_extract(body, '$.data.capture_seq') END)")
"""The capture a witness record names, as SQL (NULL for a body that is not JSON, so that a
damaged row can never make the index, and so the ledger, unwritable)."""
URL_OF_VERIFICATION = ("(CASE WHEN json_valid(body) THEN "
                       "json_extract(body, '$.data.against.url') END)")
"""The URL of the capture a screenshot check was made against, as SQL."""


SCHEMA_VERSION = 2
"""``PRAGMA user_version`` of a ledger with the ``covers`` table (0: one made before it)."""

COVER_LIMIT = 999_999_999_999_999_999
"""The largest record number (in absolute value) a ``covers`` row is made for: an integer
of at most 18 digits, the same rule in SQLite, PostgreSQL and :func:`covered_by`."""

_STAMP_COVERS = ("json_each(CASE WHEN json_valid({body}) THEN CASE WHEN json_type({body}, "
                 "'$.data.covers') = 'array' THEN {body} END END, '$.data.covers')")
_INTEGER_COVER = (f"{{c}}.type = 'integer' AND {{c}}.value BETWEEN -{COVER_LIMIT} "
                  f"AND {COVER_LIMIT}")

COVERS_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS covers (
    record_seq INTEGER NOT NULL,
    stamp_seq INTEGER NOT NULL,
    PRIMARY KEY (record_seq, stamp_seq)
) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS covers_by_stamp ON covers(stamp_seq, record_seq)",
    f"""CREATE TRIGGER IF NOT EXISTS stamps_fill_covers AFTER INSERT ON records
WHEN NEW.kind = 'timestamp'
BEGIN INSERT OR IGNORE INTO covers (record_seq, stamp_seq)
    SELECT c.value, NEW.seq FROM {_STAMP_COVERS.format(body="NEW.body")} c
    WHERE {_INTEGER_COVER.format(c="c")}; END""",
    """CREATE TRIGGER IF NOT EXISTS covers_are_never_updated BEFORE UPDATE ON covers
BEGIN SELECT RAISE(ABORT, 'the covers table is derived from the ledger: never updated'); END""",
    """CREATE TRIGGER IF NOT EXISTS covers_are_never_deleted BEFORE DELETE ON covers
BEGIN SELECT RAISE(ABORT, 'the covers table is derived from the ledger: never deleted'); END""",
]
"""Which record each ``timestamp`` record covers, one row per (record, stamp): what makes
"records without a stamp" an indexed anti-join instead of parsing every stamp's list.
Derived data, filled by the database itself (a trigger on every insert into ``records``,
however the insert is issued) and never trusted by ``check``, which recomputes it from the
time-stamp records and reports any difference (:mod:`provenance.stamps.covers`)."""

BACKFILL_COVERS = (
    "INSERT OR IGNORE INTO covers (record_seq, stamp_seq) SELECT c.value, t.seq FROM records t, "
    f"{_STAMP_COVERS.format(body='t.body')} c WHERE t.kind = 'timestamp' AND "
    f"{_INTEGER_COVER.format(c='c')}")


def covered_by(document: Any) -> set[int]:
    """The record numbers a time-stamp record's body (as parsed) puts in the ``covers``
    table: the integers of its ``data.covers`` list, by the triggers' rule."""
    data = document.get("data") if isinstance(document, dict) else None
    covers = data.get("covers") if isinstance(data, dict) else None
    if not isinstance(covers, list):
        return set()
    return {c for c in covers if type(c) is int and -COVER_LIMIT <= c <= COVER_LIMIT}


def json_field(path: str, table: str | None = None) -> str:
    """``$.data.<path>`` of a row's body (of ``table``'s, in a join) as SQL, NULL for a body
    that is not JSON; written exactly as the indexes below are, so SQLite answers by them."""
    body = f"{table}.body" if table else "body"
    return f"(CASE WHEN json_valid({body}) THEN json_extract({body}, '$.data.{path}') END)"


BATCH_OF_CAPTURE = json_field("batch")
STATUS_OF_WITNESS = json_field("status")
RESOLVES_OF_STAMP = json_field("resolves")

INDEXES = f"""
CREATE INDEX IF NOT EXISTS records_by_about ON records(subject);
CREATE INDEX IF NOT EXISTS records_by_time ON records(time);
CREATE INDEX IF NOT EXISTS records_by_kind ON records(kind, seq);
CREATE INDEX IF NOT EXISTS witnesses_by_capture ON records({CAPTURE_OF_WITNESS})
    WHERE kind = 'witness';
CREATE INDEX IF NOT EXISTS verifications_by_url ON records({URL_OF_VERIFICATION})
    WHERE kind = 'verification';
CREATE INDEX IF NOT EXISTS captures_by_batch ON records({BATCH_OF_CAPTURE})
    WHERE kind = 'capture';
CREATE INDEX IF NOT EXISTS witnesses_by_status ON records({STATUS_OF_WITNESS})
    WHERE kind = 'witness';
CREATE INDEX IF NOT EXISTS stamps_by_status ON records({STATUS_OF_WITNESS})
    WHERE kind = 'timestamp';
CREATE INDEX IF NOT EXISTS stamps_by_resolves ON records({RESOLVES_OF_STAMP})
    WHERE kind = 'timestamp';
"""
"""Indexes for every query that reads part of the ledger (``log URL``, ``log --kind``, a
time range, a capture's witnesses, a bundle's records). Created when the ledger is opened
for writing; a read-only ledger without them answers the same queries, only slower."""


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

    def file(self, role: str) -> dict[str, Any] | None:
        """The record's file entry with this role (``warc``, ``text``, ``ocr``...), or None."""
        return next((f for f in self.files if isinstance(f, dict) and f.get("role") == role),
                    None)

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


@dataclass(eq=False)
class _Ticket:
    """One call's records waiting for a group commit, and what became of them."""

    items: list[tuple[str, dict[str, Any], str | None]]
    written: list[Record] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class Ledger:
    """The ledger of one store. Safe to share between threads of one process."""

    def __init__(self, store: Store, *, writable: bool | None = None) -> None:
        self.store = store
        self.writable = store.writable if writable is None else writable
        self._lock = threading.RLock()
        self._waiting_lock = threading.Lock()
        self._arrived = threading.Condition(self._waiting_lock)  # an append joined the queue
        self._waiting: list[_Ticket] = []
        self._window, self._group = 0.0, 1  # see grouped()
        path = store.ledger_path
        if not self.writable and not path.exists():
            raise LedgerError(f"the ledger {path} is missing")
        try:
            if self.writable:
                self._db = sqlite3.connect(path, isolation_level=None,
                                           check_same_thread=False, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(SCHEMA)
                _create_indexes(self._db)
                self.has_covers = _add_covers(self._db)
            else:
                self._db = _open_readonly(path)
                self.has_covers = _has_covers(self._db)
        except sqlite3.DatabaseError as exc:
            if _code(exc) in (SQLITE_FULL, SQLITE_IOERR) and disk_full(store.root):
                raise LedgerError(f"disk full: cannot open the ledger {path}") from None
            if _code(exc) == SQLITE_IOERR:
                raise LedgerError(f"cannot open the ledger {path}: {exc}") from None
            raise LedgerError(
                f"ledger {path} is damaged or not a provenance ledger ({exc})"
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def append(self, kind: str, data: dict[str, Any], *, subject: str | None = None) -> Record:
        """Append one record (committed, perhaps with other threads' records) and return it."""
        return self.append_many([(kind, data, subject)])[0]

    def append_many(self, items: Iterable[tuple[str, dict[str, Any], str | None]]) -> list[Record]:
        """Append several records in one transaction: all of them or none.

        Group commit: appends that other threads ask for while a commit is on disk wait
        for it, then go together in the next transaction (one commit, one ``ledger.head``
        for all). Each call returns only once its own records are committed, and a
        transaction that fails fails every call in it: nothing of theirs was recorded."""
        ticket = _Ticket(list(items))
        with self._arrived:
            self._waiting.append(ticket)
            self._arrived.notify()
        with self._lock:
            if not ticket.done:
                self._wait_for_company()
                self._commit_waiting()
        if ticket.error is not None:
            error = ticket.error  # each caller raises its own copy, from its own thread
            raise type(error)(*error.args) from None
        return ticket.written

    @contextmanager
    def grouped(self, window: float, size: int) -> Iterator[None]:
        """Within the block, an append waits up to ``window`` seconds for others (from other
        threads) to join its commit, until ``size`` appends wait in all: for a batch whose
        captures end one every few milliseconds, several records share one transaction,
        one flush and one ``ledger.head`` instead of one each (issue 16). Nothing changes
        but the grouping: each append still returns only once its own records are
        committed, so a capture is never reported before its record is on disk."""
        previous = self._window, self._group
        self._window, self._group = max(0.0, window), max(1, size)
        try:
            yield
        finally:
            self._window, self._group = previous

    def _wait_for_company(self) -> None:
        """Hold the commit (under the write lock) while :meth:`grouped` says to."""
        if self._window <= 0:
            return
        deadline = time.monotonic() + self._window
        with self._arrived:
            while len(self._waiting) < self._group:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._arrived.wait(left)

    def _commit_waiting(self) -> None:
        """Commit every waiting append in one transaction (under the write lock). A call
        whose records are committed is given them, whatever happens after."""
        with self._waiting_lock:
            group, self._waiting = self._waiting, []
        committed = False
        try:
            if not self.writable:
                raise LedgerError(f"the ledger {self.store.ledger_path} is open read-only")
            try:
                written = self._transaction(
                    lambda: self._insert([item for t in group for item in t.items]))
            except sqlite3.DatabaseError as exc:
                raise LedgerError(_write_failure(exc, "cannot write to the ledger",
                                                 self.store.root)
                                  + "; nothing was recorded") from None
            committed = True
            start = 0
            for t in group:
                t.written, start = written[start:start + len(t.items)], start + len(t.items)
            if written and not self._next_commit_writes_head():
                self._write_head()
            for record in written:
                _log.info("recorded #%d %s %s", record.seq, record.kind, record.id)
        except (LedgerError, StoreError) as exc:
            for t in group:
                t.error = exc
        except BaseException:  # an interrupt in the thread that commits: it raises it
            if not committed:
                for t in group:
                    t.error = LedgerError("the ledger write was interrupted; nothing was "
                                          "recorded")
            raise
        finally:
            for t in group:
                t.done = True

    def _next_commit_writes_head(self) -> bool:
        """Whether another call is already waiting with records: it commits as soon as this
        one lets go of the lock and then writes the head, naming its records and these,
        so this head would be replaced at once (the handoff saves a head write per group
        under load). If that commit fails, or the run is killed first, the head lags by
        this group: the state a kill between commit and head leaves, brought up to date
        by the next append and accepted by ``check``; it never names a record the ledger
        does not hold."""
        with self._waiting_lock:
            return any(t.items for t in self._waiting)

    def _transaction(self, work: Callable[[], list[Record]]) -> list[Record]:
        """``work`` in one ``BEGIN IMMEDIATE`` transaction; rolled back if anything fails
        (SQLite may already have rolled back itself, e.g. when the disk is full)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.DatabaseError:
                    pass
            raise
        return result

    def _insert(self, items: list[tuple[str, dict[str, Any], str | None]]) -> list[Record]:
        last = self._db.execute(
            "SELECT seq, record_hash FROM records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, prev = (last[0], last[1]) if last else (0, GENESIS)
        self._refuse_if_head_disagrees(seq, prev)
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
        return written

    def _refuse_if_head_disagrees(self, last_seq: int, last_hash: str | None = None) -> None:
        """A head that names a record this ledger does not hold means records were cut or
        rewritten: appending would hide it, so nothing is written until a person looks.
        A head that lags (a run killed between commit and head) is brought up to date.

        The head is read anew for every transaction: an in-place edit can leave its size,
        inode and times as they were (times move in clock ticks), so no cached copy of it
        could be trusted. A head naming the last row, ``last_hash`` (the usual case), needs
        no second look-up of that row."""
        if not self.store.head_path.exists():
            return
        head = self.read_head() or {}
        seq = head.get("seq")
        if last_hash is not None and type(seq) is int and 0 < seq == last_seq and \
                head.get("record_hash") == last_hash:
            return
        if isinstance(seq, int) and not isinstance(seq, bool) and 0 < seq <= last_seq:
            row = self._db.execute("SELECT record_hash FROM records WHERE seq = ?",
                                   (seq,)).fetchone()
            if row is not None and row[0] == head.get("record_hash"):
                return
        raise LedgerError(f"the ledger does not hold the record {self.store.head_path.name} "
                          "names (records removed or rewritten?): nothing was recorded; "
                          "run 'provenance check'")

    def _write_head(self) -> None:
        """Write ``ledger.head`` from the last row, under the write lock, so two processes
        appending at once never leave it naming the earlier of their records.

        Written only once the records' commit is on disk (``synchronous=FULL``), so the
        head never names a record the ledger could lose. Its bytes are flushed before the
        rename; the rename itself is left to the file system's next commit (no flush of the
        store folder: one disk commit fewer per append). After a power loss the head thus
        holds this record or an earlier one, whole either way, never one the ledger lacks.
        An earlier one is a lagging head, as a run killed between commit and head leaves:
        the next append brings it up to date and ``check`` accepts it, as it always has.
        The first head is flushed with its folder: a missing head is a problem to ``check``."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute(
                    "SELECT seq, record_hash FROM records ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                head = {"seq": last[0], "record_hash": last[1]}
                path = self.store.head_path
                self.store.write_atomic(path, canonical_json(head) + b"\n",
                                        sync_folder=not path.exists())
            finally:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
        except sqlite3.DatabaseError as exc:
            raise LedgerError(_write_failure(exc, "cannot update ledger.head",
                                                 self.store.root)
                              + "; the records are in the ledger") from None
        except StoreError as exc:
            raise StoreError(f"{exc}; the records are in the ledger, but ledger.head lags "
                             "until the next write") from None

    def import_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Add rows copied from another ledger exactly as they are (``provenance migrate``):
        seq, time and hashes kept, not re-appended. Each row must extend this ledger's
        chain (the next seq, ``prev_hash`` the last record's hash, its hash its body's,
        its columns its body's), or nothing of the batch is written."""
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            if not self.writable:
                raise LedgerError(f"the ledger {self.store.ledger_path} is open read-only")

            def insert() -> list[Record]:
                last = self._db.execute(
                    "SELECT seq, record_hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0], last[1]) if last else (0, GENESIS)
                self._refuse_if_head_disagrees(seq)
                for row in rows:
                    why = import_problem(row, seq, prev)
                    if why is not None:
                        raise LedgerError(f"{why}: nothing of this batch was written")
                    self._db.execute(
                        "INSERT INTO records (seq, kind, subject, time, body, prev_hash,"
                        " record_hash) VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(row))
                    seq, prev = row[0], row[6]
                return []

            try:
                self._transaction(insert)
            except sqlite3.DatabaseError as exc:
                raise LedgerError(_write_failure(exc, "cannot write to the ledger",
                                                 self.store.root)
                                  + "; nothing of this batch was written") from None
            self._write_head()

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Record]:
        with self._lock:
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise LedgerError(f"cannot read the ledger: {exc}") from None
        for row in rows:
            yield _record_from_row(row)

    _COLUMNS = _COLUMNS
    _URL_OF_VERIFICATION = URL_OF_VERIFICATION
    rewritable_by: str | None = None
    """Who can rewrite this ledger so that it still agrees with itself, when that is not
    plainly whoever can write the store's folder (``check`` says it: a team ledger)."""

    def records(self, kind: str | None = None, subject: str | None = None, *,
                kinds: Sequence[str] | None = None, since: str | None = None,
                until: str | None = None, first: int | None = None,
                last: int | None = None) -> Iterator[Record]:
        """Records in order, optionally only one kind (or ``kinds``), one subject, a time
        range (``since <= time < until``, RFC 3339 UTC as recorded) and/or a seq range
        (``first <= seq <= last``); every filter is answered by an index."""
        where, params = _filters(kind=kind, kinds=kinds, subject=subject, since=since,
                                 until=until, first=first, last=last)
        return self._query(
            f"SELECT {self._COLUMNS} FROM records{where} ORDER BY seq", tuple(params)
        )

    def scan(self, kinds: Sequence[str] | None = None, *, batch: int = 2048,
             about: str | None = None, since: str | None = None,
             until: str | None = None) -> Iterator[Record]:
        """Like :meth:`records`, read a batch at a time so that listing a million records
        never holds them all; it sees the ledger as it was when called (appended records
        come after ``last``). With ``about``: the records whose subject it is, and the
        screenshot checks made against a capture of that URL (both by index); ``since`` and
        ``until`` bound the record time as in :meth:`records`."""
        top = self.last()
        if top is None:
            return
        after = 0
        while after < top.seq:
            kinds_sql, params = _filters(kinds=kinds, first=after + 1, last=top.seq,
                                         since=since, until=until)
            if about is None:
                sql = f"SELECT {self._COLUMNS} FROM records{kinds_sql} ORDER BY seq LIMIT ?"
                args: tuple[Any, ...] = (*params, batch)
            else:
                sql = (f"SELECT {self._COLUMNS} FROM records{kinds_sql} AND subject = ? "
                       f"UNION SELECT {self._COLUMNS} FROM records{kinds_sql} AND "
                       f"kind = 'verification' AND {self._URL_OF_VERIFICATION} = ? "
                       "ORDER BY seq LIMIT ?")
                args = (*params, about, *params, about, batch)
            found = list(self._query(sql, args))
            if not found:
                return
            yield from found
            after = found[-1].seq

    def select(self, where: str, params: Sequence[Any] = (), *, newest_first: bool = False,
               limit: int | None = None) -> list[Record]:
        """The records matching the SQL condition ``where`` (this package's own, never a
        user's text: values go in ``params``), in seq order, at most ``limit``."""
        order = "DESC" if newest_first else "ASC"
        tail = "" if limit is None else f" LIMIT {int(limit)}"
        return list(self._query(f"SELECT {self._COLUMNS} FROM records WHERE {where} "
                                f"ORDER BY seq {order}{tail}", tuple(params)))

    def count_where(self, where: str, params: Sequence[Any] = ()) -> int:
        """How many records match ``where`` (as :meth:`select`)."""
        with self._lock:
            try:
                row = self._db.execute(f"SELECT count(*) FROM records WHERE {where}",
                                       tuple(params)).fetchone()
            except sqlite3.DatabaseError as exc:
                raise LedgerError(f"cannot read the ledger: {exc}") from None
        return int(row[0])

    def plan(self, where: str, params: Sequence[Any] = ()) -> list[str]:
        """SQLite's query plan for :meth:`select` (tests check that an index answers)."""
        with self._lock:
            rows = self._db.execute(f"EXPLAIN QUERY PLAN SELECT {self._COLUMNS} FROM records "
                                    f"WHERE {where} ORDER BY seq DESC LIMIT 1",
                                    tuple(params)).fetchall()
        return [str(row[-1]) for row in rows]

    def witnesses_of(self, capture_seq: int) -> Iterator[Record]:
        """The witness records that name capture ``capture_seq``, in order (by index)."""
        return self._query(
            f"SELECT {self._COLUMNS} FROM records WHERE kind = 'witness' AND "
            f"{CAPTURE_OF_WITNESS} = ? ORDER BY seq", (capture_seq,))

    has_covers = False
    """Whether this ledger has the ``covers`` table (see :data:`COVERS_SCHEMA`): a ledger
    without it (an older one opened read-only, or one that could not take it) answers the
    same questions from the time-stamp records' bodies, only slower."""

    def stamps_covering(self, seq: int) -> Iterator[Record]:
        """The ``timestamp`` records whose ``covers`` lists record ``seq``, in order."""
        return self.stamps_covering_any([seq])

    def stamps_covering_any(self, seqs: Iterable[int]) -> Iterator[Record]:
        """The ``timestamp`` records that cover any of ``seqs``, each once, in order: found
        by the ``covers`` table, then each checked against its own body, so that a covers
        row (derived data) never makes a record count as stamped by itself."""
        wanted = sorted({s for s in seqs if type(s) is int and abs(s) <= COVER_LIMIT})
        if self.has_covers:  # the stamps' numbers first, so that each body is read once
            stamps: set[int] = set()
            for part in _parts(wanted):
                stamps.update(row[0] for row in self._plain(
                    "SELECT stamp_seq FROM covers WHERE record_seq IN "
                    f"({','.join('?' * len(part))})", tuple(part)))
            candidates = (record for part in _parts(sorted(stamps)) for record in self._query(
                f"SELECT {self._COLUMNS} FROM records WHERE kind = 'timestamp' AND seq IN "
                f"({','.join('?' * len(part))})", tuple(part)))
        else:
            source, value, integer = self._cover_source("records.body")
            candidates = (record for part in _parts(wanted) for record in self._query(
                f"SELECT {self._COLUMNS} FROM records WHERE kind = 'timestamp' AND EXISTS "
                f"(SELECT 1 FROM {source} WHERE {integer} AND {value} IN "
                f"({','.join('?' * len(part))}))", tuple(part)))
        asked = set(wanted)
        found = {record.seq: record for record in candidates
                 if not covered_by({"data": record.data}).isdisjoint(asked)}
        return iter([found[seq] for seq in sorted(found)])

    def _plain(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of any query, as tuples (``?`` placeholders)."""
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise LedgerError(f"cannot read the ledger: {exc}") from None

    def _field(self, path: str, table: str | None = None) -> str:
        """``$.data.<path>`` of ``table``'s body, as this backend's SQL (as its indexes)."""
        return json_field(path, table)

    def _cover_source(self, body: str) -> tuple[str, str, str]:
        """The integers of ``body``'s ``data.covers`` list as SQL, by the ``covers`` table's
        rule: a table ``c`` (empty for a damaged body), its value, and the condition that
        keeps only record numbers. Read only by a ledger without the ``covers`` table."""
        return (f"{_STAMP_COVERS.format(body=body)} c", "c.value",
                _INTEGER_COVER.format(c="c"))

    def stamp_events(self) -> Iterator[Record]:
        """The ``timestamp`` records that are ``pending`` or that resolve another, in order:
        all that :func:`provenance.stamps.stamping.open_pending` needs (by the status and
        ``resolves`` indexes: a granted stamp is never read)."""
        status, resolves = self._field("status"), self._field("resolves")
        return self._query(
            f"SELECT {self._COLUMNS} FROM records WHERE kind = 'timestamp' AND {status} = "
            f"'pending' UNION SELECT {self._COLUMNS} FROM records WHERE kind = 'timestamp' "
            f"AND {resolves} IS NOT NULL ORDER BY seq")

    def covers_rows(self, after: tuple[int, int] = (-(1 << 63), -(1 << 63)),
                    batch: int = 4096) -> Iterator[tuple[int, int]]:
        """Every ``covers`` row as stored, (stamp seq, record seq) in that order, after
        ``after``, a batch at a time (``check`` compares them with the stamps' bodies)."""
        if not self.has_covers:
            return
        while True:
            rows = self._plain("SELECT stamp_seq, record_seq FROM covers WHERE (stamp_seq, "
                               "record_seq) > (?, ?) ORDER BY stamp_seq, record_seq LIMIT ?",
                               (*after, batch))
            if not rows:
                return
            yield from ((int(row[0]), int(row[1])) for row in rows)
            after = (rows[-1][0], rows[-1][1])

    def latest_by_subject(self, kind: str, subjects: Iterable[str]) -> dict[str, Record]:
        """The newest record of ``kind`` about each of ``subjects`` that has one (by the
        kind-and-subject index; a few hundred subjects per query)."""
        wanted = sorted(set(subjects))
        latest: dict[str, Record] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            marks = ",".join("?" * len(part))
            for record in self._query(
                    f"SELECT {self._COLUMNS} FROM records WHERE seq IN (SELECT max(seq) FROM "
                    f"records WHERE kind = ? AND subject IN ({marks}) GROUP BY subject) "
                    "ORDER BY seq", (kind, *part)):
                if record.subject is not None:
                    latest[record.subject] = record
        return latest

    def captures_in_batch(self, batch: str) -> Iterator[Record]:
        """The capture records made by the run of a list named ``batch``, in order (by
        index: a run's own captures are read, no others)."""
        found = self._query(
            f"SELECT {self._COLUMNS} FROM records WHERE kind = 'capture' AND "
            f"{self._field('batch')} = ? ORDER BY seq", (batch,))
        return (r for r in found if r.data.get("batch") == batch)  # a string, not a look-alike

    def latest_witnesses(self, statuses: Sequence[str]) -> Iterator[Record]:
        """Each witness record with one of ``statuses`` that no later witness record of the
        same capture and witness follows: the submissions whose last word is one of them.
        Read by the status index (one query per status: an ``IN`` list would lead SQLite
        to the kind index instead), each checked against later ones by the capture index."""
        found: dict[int, Record] = {}
        for status in dict.fromkeys(statuses):
            for record in self._query(self._latest_witness_sql(), (status,)):
                found[record.seq] = record
        return iter([found[seq] for seq in sorted(found)])

    def _latest_witness_sql(self) -> str:
        return (f"SELECT {self._COLUMNS} FROM records w WHERE w.kind = 'witness' AND "
                f"{self._field('status', 'w')} = ? AND NOT EXISTS (SELECT 1 FROM records n "
                f"WHERE n.kind = 'witness' AND {self._field('capture_seq', 'n')} = "
                f"{self._field('capture_seq', 'w')} AND {self._field('witness', 'n')} = "
                f"{self._field('witness', 'w')} AND n.seq > w.seq)")

    def uncovered(self, kinds: Sequence[str]) -> Iterator[Record]:
        """Records of ``kinds`` that no ``timestamp`` record covers, in order: an anti-join
        of the kind index with the ``covers`` table, counting only covers rows whose stamp
        is a ``timestamp`` record (``check`` shows a covers row its stamp does not hold).
        Only the uncovered records' bodies reach Python."""
        if not kinds:
            return iter(())
        marks = ",".join("?" * len(kinds))
        if self.has_covers:
            missing = self._not_covered()
        else:
            source, value, integer = self._cover_source("t.body")
            missing = (f"seq NOT IN (SELECT {value} FROM records t, {source} WHERE "
                       f"t.kind = 'timestamp' AND {integer})")
        return self._query(
            f"SELECT {self._COLUMNS} FROM records WHERE kind IN ({marks}) AND {missing} "
            "ORDER BY seq", tuple(kinds))

    _COVERED_BY_A_STAMP = ("NOT EXISTS (SELECT 1 FROM covers c JOIN records t ON t.seq = "
                           "c.stamp_seq WHERE c.record_seq = records.seq AND "
                           "t.kind = 'timestamp')")

    def _not_covered(self) -> str:
        """The condition "no covers row whose stamp is a ``timestamp`` record names this
        record", as quick as SQLite can: when every stamp number in the table is a
        time-stamp record (the stamps are few: read by skipping along their index), the
        table's own primary key answers (twice as quick as looking up each stamp)."""
        stray = self._plain(
            "WITH RECURSIVE stamps(seq) AS (SELECT min(stamp_seq) FROM covers UNION ALL "
            "SELECT (SELECT min(stamp_seq) FROM covers WHERE stamp_seq > stamps.seq) FROM "
            "stamps WHERE stamps.seq IS NOT NULL) SELECT seq FROM stamps WHERE seq IS NOT "
            "NULL AND NOT EXISTS (SELECT 1 FROM records t WHERE t.seq = stamps.seq AND "
            "t.kind = 'timestamp') LIMIT 1")
        return self._COVERED_BY_A_STAMP if stray else "seq NOT IN (SELECT record_seq FROM covers)"

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

    def raw_rows_at(self, seqs: Iterable[int]) -> Iterator[tuple[Any, ...]]:
        """The rows numbered ``seqs`` as stored (by primary key, a few hundred per query)."""
        wanted = sorted({s for s in seqs if isinstance(s, int) and -(1 << 63) <= s < 1 << 63})
        with self._lock:
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                marks = ",".join("?" * len(part))
                yield from self._db.execute(
                    f"SELECT {self._COLUMNS} FROM records WHERE seq IN ({marks})", part)

    def integrity_problems(self, limit: int = 10) -> list[str]:
        """What SQLite's own ``integrity_check`` finds, at most ``limit`` lines (none: the
        file agrees with itself). ``check`` reads the records table row by row, but ``log``,
        ``export``, ``retry`` and the ``covers`` queries read through indexes: an index
        edited apart from its table (a page of the file replaced) would show them other
        records than ``check`` verified. Read on a connection of its own, so that it can
        run beside the row scan."""
        db = _open_readonly(self.store.ledger_path)
        try:
            found = [str(row[0]) for row in
                     db.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()]
        except sqlite3.DatabaseError as exc:
            found = [f"unreadable ({exc})"]
        finally:
            db.close()
        return [] if found == ["ok"] else found

    head_name = HEAD_FILE
    """Where the head is kept, as ``check`` names it."""

    def head_bytes(self) -> bytes | None:
        """The head as stored (None: there is none; ``b""``: it cannot be read)."""
        try:
            return self.store.head_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return b""

    def read_head(self) -> dict[str, Any] | None:
        try:
            head = json.loads(self.store.head_path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return head if isinstance(head, dict) else None


def import_problem(row: Sequence[Any], last_seq: int, last_hash: str) -> str | None:
    """Why ``row`` (seq, kind, subject, time, body, prev_hash, record_hash, as stored) cannot
    follow the record ``last_seq`` whose hash is ``last_hash``, or None: the one rule of
    every copy of a record from one ledger to another."""
    if len(row) != 7:
        return "a row without the ledger's seven columns"
    seq, kind, subject, time, body, prev_hash, digest = row
    if (type(seq) is not int or not all(type(v) is str for v in (kind, time, body, prev_hash,
                                                                   digest))
            or not (subject is None or type(subject) is str)):
        return f"record {seq!r} has a column of the wrong type"
    if seq != last_seq + 1:
        return f"record {seq} does not follow record {last_seq}"
    if prev_hash != last_hash:
        return f"record {seq} does not link to record {last_seq} (chain broken)"
    if record_hash(body.encode("utf-8")) != digest:
        return f"record {seq} was altered: its hash does not match its content"
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        return f"record {seq} is malformed"
    said = (document.get("v"), document.get("seq"), document.get("kind"),
            document.get("subject"), document.get("time"), document.get("prev"))
    if said != (FORMAT_VERSION, seq, kind, subject, time, prev_hash) or \
            type(document.get("seq")) is not int or type(document.get("v")) is not int:
        return f"record {seq}: its columns differ from its body"
    return None


def _create_indexes(db: sqlite3.Connection) -> None:
    """Indexes only make queries quicker: a ledger that cannot take them (a full disk) is
    still opened, and read without them."""
    try:
        db.executescript(INDEXES)
    except sqlite3.DatabaseError:
        if db.in_transaction:
            db.execute("ROLLBACK")


def _parts(values: list[int], size: int = 500) -> Iterator[list[int]]:
    """``values`` a few hundred at a time (one ``IN`` list each)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _has_covers(db: sqlite3.Connection) -> bool:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    table = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'covers'"
                       ).fetchone()
    return int(version) >= SCHEMA_VERSION and table is not None


def _add_covers(db: sqlite3.Connection) -> bool:
    """Give a ledger made before the ``covers`` table its table, trigger and rows, and its
    schema version, in one transaction: all of it or none (two processes opening it at once
    do it once). A ledger that cannot take it (a full disk) is opened without, and read the
    slower way; whether it has the table is returned."""
    if _has_covers(db):
        return True
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                for statement in COVERS_SCHEMA:
                    db.execute(statement)
                db.execute(BACKFILL_COVERS)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError:
        return False
    return _has_covers(db)


def _filters(*, kind: str | None = None, kinds: Sequence[str] | None = None,
             subject: str | None = None, since: str | None = None, until: str | None = None,
             first: int | None = None, last: int | None = None) -> tuple[str, list[Any]]:
    """A ``WHERE`` clause (always one, ``TRUE`` if nothing filters) and its parameters."""
    clauses: list[str] = ["TRUE"]
    params: list[Any] = []
    for column, op, value in (("kind", "=", kind), ("subject", "=", subject),
                              ("time", ">=", since), ("time", "<", until),
                              ("seq", ">=", first), ("seq", "<=", last)):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(value)
    if kinds is not None:
        clauses.append(f"kind IN ({','.join('?' * len(kinds))})" if kinds else "FALSE")
        params.extend(kinds)
    return " WHERE " + " AND ".join(clauses), params


def _open_readonly(path: Path) -> sqlite3.Connection:
    """Read without creating anything. With no ``-wal`` file no writer has the ledger open
    (the last one to close checkpoints and removes it), so the file is read as immutable;
    otherwise ``mode=ro`` shares the writer's log and sees its latest records. If that log
    cannot be used (a read-only disk, a writer that died on a full disk) the file is read
    as it is: records only in the log then show as missing against ``ledger.head``."""
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    modes = (["mode=ro"] if wal.exists() and shm.exists() else []) + ["immutable=1"]
    for mode in modes:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True,
                             isolation_level=None, check_same_thread=False, timeout=30)
        try:
            db.execute(f"SELECT {_COLUMNS} FROM records LIMIT 1").fetchall()
            return db
        except sqlite3.DatabaseError:
            db.close()
            if mode == modes[-1]:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def disk_full(folder: Path, *, margin: int = 1 << 20) -> bool:
    """Whether the disk holding ``folder`` has (almost) no room left: SQLite reports a full
    disk as SQLITE_FULL, or as an I/O error when it cannot grow its shared-memory file."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < margin


def _code(exc: sqlite3.DatabaseError) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _write_failure(exc: sqlite3.DatabaseError, what: str, folder: Path) -> str:
    code = _code(exc)
    if code == SQLITE_FULL or (code == SQLITE_IOERR and disk_full(folder)):
        return f"disk full: {what} ({exc})"
    if code == SQLITE_READONLY:
        return f"{what}: the store is read-only ({exc})"
    return f"{what}: {exc}"


def _record_from_row(row: tuple[Any, ...]) -> Record:
    seq, kind, subject, time, body, prev_hash, digest = row
    try:
        data = json.loads(body)["data"]
    except (TypeError, ValueError, KeyError):
        data = None
    if not isinstance(data, dict):
        raise LedgerError(f"ledger record {seq!r} is malformed; 'provenance check' says more")
    return Record(seq, kind, time, subject, data, prev_hash, digest, body)
