"""The watch queue of a team store: watched URLs and their capture jobs, in PostgreSQL.

Why not procrastinate (the task queue issue 17 names): its stalled-job recovery is not
automatic (a periodic task of ours would have to list stalled jobs by heartbeat and retry
them), the exactly-once capture per time slot needs a table of ours anyway, and it brings
its own schema, an asyncio worker and six more packages into the ``team`` extra. Two
tables and ``SELECT … FOR UPDATE SKIP LOCKED`` give the same guarantees in a page of SQL
that ``provenance check``'s readers can audit.

* ``watches``: one row per URL, with its interval. ``schedule`` turns every due watch into
  a job for the current time slot (``floor(database time / every)``): an
  ``INSERT … ON CONFLICT DO NOTHING`` on ``UNIQUE (watch_id, slot)``, so any number of
  workers may run it at once and a slot gets one job.
* ``watch_jobs``: ``claim`` takes jobs that are to do, or whose lease ran out (their
  worker died or hung), with ``FOR UPDATE SKIP LOCKED``: two workers never take the same
  job at once. A worker renews the leases of its jobs while it works; a job whose worker
  was killed (``kill -9``) is taken again once its lease has run out.
* Delivery is therefore at-least-once; the capture is made once per (watch, slot) by the
  ledger itself: its record carries ``batch = "watch:<id>:<slot>"`` and a UNIQUE index on
  that key refuses a second one (:data:`CAPTURE_KEY_INDEX`), in the same transaction as the
  append. A redone job first looks for that record and only marks the job done.

Times are the database's clock, never a worker's.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from provenance.errors import LedgerError
from provenance.store.backends.postgres import CONNECT_TIMEOUT, shown

CAPTURE_KEY_INDEX = "records_one_capture_per_watch_slot"
_SCHEMA_LOCK = 0x70727771  # pg_advisory_xact_lock key: one process creates the schema
STAMP_LOCK = 0x70727773  # pg_try_advisory_lock key: one worker stamps at a time

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS watches (
    id BIGSERIAL PRIMARY KEY,
    url TEXT COLLATE "C" NOT NULL UNIQUE,
    every_s DOUBLE PRECISION NOT NULL CHECK (every_s > 0),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    added TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS watch_jobs (
    id BIGSERIAL PRIMARY KEY,
    watch_id BIGINT NOT NULL REFERENCES watches(id),
    slot BIGINT NOT NULL,
    url TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL DEFAULT 'todo' CHECK (state IN ('todo', 'doing', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until TIMESTAMPTZ,
    record_seq BIGINT,
    UNIQUE (watch_id, slot)
);
CREATE INDEX IF NOT EXISTS watch_jobs_open ON watch_jobs (slot, id)
    WHERE state IN ('todo', 'doing');
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


@dataclass(frozen=True)
class Job:
    id: int
    watch_id: int
    slot: int
    url: str
    attempts: int

    @property
    def key(self) -> str:
        return capture_key(self.watch_id, self.slot)


@dataclass(frozen=True)
class QueueState:
    """How many jobs are in each state (``worker --drain`` stops when none is open)."""

    todo: int = 0
    doing: int = 0
    done: int = 0
    failed: int = 0

    @property
    def open(self) -> int:
        return self.todo + self.doing


class WatchQueue:
    """One connection to the queue (not shared between threads: open one per thread)."""

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
        """The queue's tables and the ledger's capture key (after the ledger's own tables)."""
        with self._errors("cannot create the watch queue"), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self.conn.execute(SCHEMA)

    # -- watches -------------------------------------------------------------------------------

    def add(self, urls: list[str], every: float) -> int:
        """Watch ``urls`` every ``every`` seconds (a URL watched already takes the new
        interval and is watched again if it was removed). Returns how many rows changed."""
        with self._errors("cannot add the watches"), self.conn.transaction():
            with self.conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO watches (url, every_s) VALUES (%s, %s) ON CONFLICT (url) "
                    "DO UPDATE SET every_s = EXCLUDED.every_s, active = TRUE",
                    [(url, every) for url in urls])
        return len(urls)

    def remove(self, urls: list[str]) -> int:
        """Stop watching ``urls`` (their jobs already made still run); how many were watched."""
        with self._errors("cannot remove the watches"):
            found = self.conn.execute("UPDATE watches SET active = FALSE WHERE url = ANY(%s) "
                                      "AND active", (urls,))
        return found.rowcount

    # -- jobs ----------------------------------------------------------------------------------

    def schedule(self) -> int:
        """A job for the current slot of every active watch that has none (idempotent)."""
        with self._errors("cannot schedule the watches"):
            made = self.conn.execute(
                "INSERT INTO watch_jobs (watch_id, slot, url) SELECT id, "
                "floor(extract(epoch FROM clock_timestamp()) / every_s)::bigint, url "
                "FROM watches WHERE active ON CONFLICT (watch_id, slot) DO NOTHING")
        return made.rowcount

    def claim(self, worker: str, lease: float, limit: int = 1) -> list[Job]:
        """Up to ``limit`` jobs to do (oldest slot first), or whose lease ran out."""
        with self._errors("cannot take a job"):
            rows = self.conn.execute(
                "UPDATE watch_jobs SET state = 'doing', worker = %s, attempts = attempts + 1, "
                "lease_until = clock_timestamp() + make_interval(secs => %s) "
                "WHERE id IN (SELECT id FROM watch_jobs WHERE state = 'todo' OR "
                "(state = 'doing' AND lease_until < clock_timestamp()) "
                "ORDER BY slot, id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING id, watch_id, slot, url, attempts",
                (worker, lease, limit)).fetchall()
        return [Job(*row) for row in rows]

    def renew(self, worker: str, ids: list[int], lease: float) -> None:
        """Extend the leases of the jobs ``worker`` is still doing."""
        if not ids:
            return
        with self._errors("cannot renew the jobs' leases"):
            self.conn.execute(
                "UPDATE watch_jobs SET lease_until = clock_timestamp() + "
                "make_interval(secs => %s) WHERE id = ANY(%s) AND worker = %s "
                "AND state = 'doing'", (lease, ids, worker))

    def finish(self, job: Job, worker: str, *, record_seq: int | None, failed: bool) -> None:
        """Mark ``job`` done (or failed: the page could not be fetched, which is recorded)."""
        with self._errors("cannot mark the job done"):
            self.conn.execute(
                "UPDATE watch_jobs SET state = %s, record_seq = %s, lease_until = NULL "
                "WHERE id = %s AND worker = %s AND state = 'doing'",
                ("failed" if failed else "done", record_seq, job.id, worker))

    def recorded(self, job: Job) -> int | None:
        """The ledger number of the capture this job's slot already has, if any."""
        with self._errors("cannot read the ledger"):
            row = self.conn.execute(
                "SELECT seq FROM records WHERE kind = 'capture' AND "
                f"{_CAPTURE_KEY} LIKE 'watch:%%' AND {_CAPTURE_KEY} = %s",
                (job.key,)).fetchone()
        return int(row[0]) if row else None

    def state(self) -> QueueState:
        with self._errors("cannot read the queue"):
            rows = self.conn.execute(
                "SELECT state, count(*) FROM watch_jobs GROUP BY state").fetchall()
        return QueueState(**{state: int(n) for state, n in rows})

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
