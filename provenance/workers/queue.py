"""The watch list of a team store, and what the procrastinate jobs that capture it need.

The jobs themselves live in procrastinate's tables (a PostgreSQL task queue, in the same
database: :mod:`provenance.workers.tasks`); this module keeps what is ours:

* ``watches``: one row per URL, with its interval, whether it is rendered in Chromium
  (``--browser``) and ``scheduled_slot``, the last time slot (``floor(database time /
  every)``) a capture job was made for. The scheduling task moves that mark and defers the
  jobs in one transaction, so a slot gets one job however many workers schedule at once.
* The capture key: a capture's record carries ``batch = "watch:<id>:<slot>"`` and a UNIQUE
  index on that key refuses a second one (:data:`CAPTURE_KEY_INDEX`), in the same
  transaction as the append. Delivery is at-least-once (a job whose worker died is run
  again), the capture is made once: a job run again first looks for its capture.
* ``watch_stamp_mark``: up to which ledger record the stamps went.
* :meth:`WatchQueue.create` also applies procrastinate's own schema (its
  :class:`~procrastinate.schema.SchemaManager` SQL) in the same locked transaction.

Stores made before procrastinate kept their jobs in ``watch_jobs``; that table is left as it
was and no longer read (:meth:`WatchQueue.legacy_open_jobs` says what it still held open).

Times are the database's clock, never a worker's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from procrastinate.schema import SchemaManager

from provenance.errors import LedgerError
from provenance.store.backends.postgres import CONNECT_TIMEOUT, shown

CAPTURE_KEY_INDEX = "records_one_capture_per_watch_slot"
_SCHEMA_LOCK = 0x70727771  # pg_advisory_xact_lock key: one process creates the schema
STAMP_LOCK = 0x70727773  # pg_try_advisory_lock key: one worker stamps at a time
WATCH_LOCKS = 0x7077  # pg_try_advisory_lock(WATCH_LOCKS, watch id): one worker per watch

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS watches (
    id BIGSERIAL PRIMARY KEY,
    url TEXT COLLATE "C" NOT NULL UNIQUE,
    every_s DOUBLE PRECISION NOT NULL CHECK (every_s > 0),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    added TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
ALTER TABLE watches ADD COLUMN IF NOT EXISTS browser BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE watches ADD COLUMN IF NOT EXISTS scheduled_slot BIGINT NOT NULL DEFAULT -1;
CREATE TABLE IF NOT EXISTS watch_stamp_mark (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    seq BIGINT NOT NULL
);
INSERT INTO watch_stamp_mark (one, seq) VALUES (TRUE, 0) ON CONFLICT DO NOTHING;
CREATE UNIQUE INDEX IF NOT EXISTS {CAPTURE_KEY_INDEX}
    ON records ((provenance_json(body) #>> '{{data,batch}}'))
    WHERE kind = 'capture' AND (provenance_json(body) #>> '{{data,batch}}') LIKE 'watch:%';
"""


_CAPTURE_KEY = "(provenance_json(body) #>> '{data,batch}')"
"""The expression :data:`CAPTURE_KEY_INDEX` holds UNIQUE; a query names the index's
condition word for word so that the planner uses it (else: a scan of every capture)."""


def capture_key(watch_id: int, slot: int) -> str:
    """The ``batch`` of the one capture of a watch's time slot."""
    return f"watch:{watch_id}:{slot}"


def procrastinate_functions() -> list[str]:
    """The versioned SQL functions the installed procrastinate calls (``…_v2``): a schema
    applied by an older procrastinate lacks some, and its workers would fail on every job."""
    queries = (resources.files("procrastinate.sql") / "queries.sql").read_text("utf-8")
    return sorted(set(re.findall(r"\b(procrastinate_\w+_v\d+)\(", queries)))


@dataclass(frozen=True)
class Due:
    """A watch whose current slot has just been given a capture job."""

    watch_id: int
    slot: int
    url: str
    browser: bool


class WatchQueue:
    """One connection to the watch tables (not shared between threads: one per thread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                        application_name="provenance-worker")
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to the team store {shown(url)}: "
                              f"{_reason(exc)}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> WatchQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(self) -> None:
        """The watch tables, the ledger's capture key (after the ledger's own tables) and
        procrastinate's schema, once, under one lock (several workers may start at once)."""
        with self._errors("cannot create the watch queue"), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self.conn.execute(SCHEMA)
            row = self.conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is None or row[0] is None:
                self.conn.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
            wanted = procrastinate_functions()
            found = {name for (name,) in self.conn.execute(
                "SELECT proname FROM pg_proc WHERE proname = ANY(%s)", (wanted,))}
        missing = [name for name in wanted if name not in found]
        if missing:
            raise LedgerError(
                "the team store's procrastinate schema is older than the installed "
                f"procrastinate (it lacks {', '.join(missing)}): apply procrastinate's "
                "migrations to it (procrastinate schema --migrations), as the database's owner")

    # -- watches -------------------------------------------------------------------------------

    def add(self, urls: list[str], every: float, *, browser: bool = False) -> int:
        """Watch ``urls`` every ``every`` seconds (a URL watched already takes the new
        interval and rendering, and is watched again if it was removed)."""
        with self._errors("cannot add the watches"), self.conn.transaction():
            with self.conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO watches (url, every_s, browser) VALUES (%s, %s, %s) "
                    "ON CONFLICT (url) DO UPDATE SET every_s = EXCLUDED.every_s, "
                    "browser = EXCLUDED.browser, active = TRUE, scheduled_slot = CASE "
                    # a new interval numbers the slots anew: the current one is due
                    "WHEN watches.every_s = EXCLUDED.every_s THEN watches.scheduled_slot "
                    "ELSE -1 END",
                    [(url, every, browser) for url in urls])
        return len(urls)

    def remove(self, urls: list[str]) -> int:
        """Stop watching ``urls`` (their jobs already made still run); how many were watched."""
        with self._errors("cannot remove the watches"):
            found = self.conn.execute("UPDATE watches SET active = FALSE WHERE url = ANY(%s) "
                                      "AND active", (urls,))
        return found.rowcount

    def legacy_open_jobs(self) -> int:
        """Jobs a store made before procrastinate left open in its old ``watch_jobs`` table
        (not carried over: each of their watches gets a job for its current slot)."""
        with self._errors("cannot read the old queue table"):
            row = self.conn.execute("SELECT to_regclass('watch_jobs')").fetchone()
            if row is None or row[0] is None:
                return 0
            count = self.conn.execute(
                "SELECT count(*) FROM watch_jobs WHERE state IN ('todo', 'doing')").fetchone()
        return int(count[0]) if count else 0

    # -- one capture ---------------------------------------------------------------------------

    def try_lock_watch(self, watch_id: int) -> bool:
        """The session lock that makes one worker at a time capture a watch, even when a job
        was taken again from a worker that is still alive but stopped beating (released by
        :meth:`unlock_watch`, or by the database when the worker's connection dies)."""
        with self._errors("cannot lock the watch"):
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                    (WATCH_LOCKS, watch_id)).fetchone()
        return bool(row and row[0])

    def unlock_watch(self, watch_id: int) -> None:
        with self._errors("cannot unlock the watch"):
            self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", (WATCH_LOCKS, watch_id))

    def recorded(self, key: str) -> int | None:
        """The ledger number of the capture with this slot key, if any."""
        with self._errors("cannot read the ledger"):
            row = self.conn.execute(
                "SELECT seq FROM records WHERE kind = 'capture' AND "
                f"{_CAPTURE_KEY} LIKE 'watch:%%' AND {_CAPTURE_KEY} = %s",
                (key,)).fetchone()
        return int(row[0]) if row else None

    def change_recorded(self, url: str, capture_seq: int) -> bool:
        """Whether a ``changed`` record names this capture as its new side."""
        with self._errors("cannot read the ledger"):
            row = self.conn.execute(
                "SELECT 1 FROM records WHERE kind = 'changed' AND subject = %s AND seq > %s "
                "AND (provenance_json(body) #>> '{data,to,seq}') = %s LIMIT 1",
                (url, capture_seq, str(capture_seq))).fetchone()
        return row is not None

    # -- stamping ------------------------------------------------------------------------------

    def try_stamp_lock(self) -> bool:
        """The session lock that makes one worker at a time the stamper (released by
        :meth:`stamp_unlock`, or when its connection ends)."""
        with self._errors("cannot take the stamping lock"):
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (STAMP_LOCK,)).fetchone()
        return bool(row and row[0])

    def stamp_unlock(self) -> None:
        with self._errors("cannot release the stamping lock"):
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (STAMP_LOCK,))

    def unstamped(self, kinds: tuple[str, ...], limit: int) -> list[int]:
        """Ledger numbers after the stamping mark, of ``kinds``, oldest first."""
        with self._errors("cannot read the ledger"):
            rows = self.conn.execute(
                "SELECT seq FROM records WHERE seq > (SELECT seq FROM watch_stamp_mark) "
                "AND kind = ANY(%s) ORDER BY seq LIMIT %s", (list(kinds), limit)).fetchall()
        return [int(row[0]) for row in rows]

    def mark_stamped(self, seq: int) -> None:
        with self._errors("cannot move the stamping mark"):
            self.conn.execute("UPDATE watch_stamp_mark SET seq = greatest(seq, %s)", (seq,))

    def _errors(self, what: str) -> _Errors:
        return _Errors(what)


SCHEDULE = ("UPDATE watches SET scheduled_slot = "
            "floor(extract(epoch FROM clock_timestamp()) / every_s)::bigint "
            "WHERE active AND scheduled_slot < "
            "floor(extract(epoch FROM clock_timestamp()) / every_s)::bigint "
            "RETURNING id, scheduled_slot, url, browser")
"""Moves each due watch's mark to its current slot and names it (the caller defers the
jobs in the same transaction). Row locks make concurrent schedulers take turns, and the
second finds the mark moved: one job per slot."""


def due_rows(rows: list[tuple[int, int, str, bool]]) -> list[Due]:
    return [Due(int(i), int(slot), str(url), bool(browser)) for i, slot, url, browser in rows]


class _Errors:
    """psycopg's errors as the one-line :class:`LedgerError` the CLI prints."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if isinstance(exc, psycopg.Error):
            raise LedgerError(f"{self.what}: {_reason(exc)}") from None


def _reason(exc: psycopg.Error) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    lines = str(exc).strip().splitlines()
    return str(primary) if primary else (lines[0] if lines else type(exc).__name__)
