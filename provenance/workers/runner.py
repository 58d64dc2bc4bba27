"""``provenance worker``: capture the team store's due watches, several machines at once.

Each worker runs ``jobs`` capture threads, each with its own queue connection, and one
main thread that every ``tick``: turns due watches into jobs (:meth:`WatchQueue.schedule`,
idempotent, so every worker may do it), renews the leases of the jobs its threads are
doing, and, if time-stamp authorities are given, stamps the records made since the last
stamp under one Merkle root per batch (one TSA request per batch, as ``archive`` does).
Only one worker of the team stamps at a time (a PostgreSQL advisory lock); a mark in the
database says up to which record the stamps went.

A job is done once: its capture carries the key ``watch:<id>:<slot>`` which the ledger
holds UNIQUE (:mod:`provenance.workers.queue`), so a job taken again after its worker died
finds the capture already recorded and is only marked done, and a job taken twice at once
(a lease that ran out under a worker that still ran) records one capture, not two.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from archive.fetch import Fetcher
from provenance.capture.capturer import CaptureOutcome, Capturer
from provenance.errors import LedgerError
from provenance.stamps.stamping import BATCH, stamp, trust_roots_from_env
from provenance.store.filestore import Store
from provenance.store.kinds import CHANGED, STAMPED_KINDS
from provenance.store.ledger import Ledger
from provenance.workers.queue import CAPTURE_KEY_INDEX, Job, WatchQueue

STAMPED = (*STAMPED_KINDS, CHANGED)  # what a watch stamps: captures and their changes

DEFAULT_LEASE = 60.0
"""Seconds a job stays taken without a sign of life from its worker (renewed every tick)."""


SWITCH_INTERVAL = 0.0005
"""Seconds a thread may hold the GIL before another gets it (Python's default is 0.005).
An append to the team ledger held the head's row lock across round trips (before schema
version 2, and still on a ledger its owner has not upgraded); with the default, the thread
that held it waited behind the capture threads parsing pages before it could send its
COMMIT, and every other worker waited on the lock. Measured on a 200-URL round: 1 worker
7.7 s -> 5.3 s, 2 workers 15.4 s -> 6.6 s. An append is now one statement, so the lock no
longer waits on a client; a thread still gets the answer sooner."""


@dataclass(frozen=True)
class WorkerOptions:
    jobs: int = 4
    lease: float = DEFAULT_LEASE
    tick: float = 1.0
    tsas: Sequence[str] = ()
    stamp_every: float = 10.0
    timeout: float = 30.0
    max_bytes: int = 50_000_000
    ignore: Sequence[re.Pattern[str]] = ()
    drain: bool = False  # stop once no job is open (a round is done)
    duration: float | None = None


@dataclass(frozen=True)
class JobDone:
    """What became of one job: a new capture, one found already recorded, or a failure."""

    job: Job
    outcome: CaptureOutcome | None  # None: the slot's capture was already in the ledger
    seq: int | None


@dataclass
class WorkerRun:
    captures: int = 0
    already: int = 0  # jobs redone whose capture was recorded before (at-least-once)
    failures: int = 0
    stamped: int = 0
    errors: list[str] = field(default_factory=list)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """One worker process's loop over the team queue at ``db_url``."""

    def __init__(self, store: Store, ledger: Ledger, db_url: str, options: WorkerOptions, *,
                 on_done: Callable[[JobDone], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.store, self.ledger, self.db_url = store, ledger, db_url
        self.options = options
        self.name = worker_name()
        self.on_done = on_done
        self.on_error = on_error
        fetcher = Fetcher(read_timeout=options.timeout, total_timeout=options.timeout,
                          max_bytes=options.max_bytes)
        self.capturer = Capturer(store, ledger, fetcher, ignore=options.ignore)
        self.run_info = WorkerRun()
        self._lock = threading.Lock()
        self._active: set[int] = set()
        self._last_stamp = 0.0

    def run(self, stop: threading.Event) -> WorkerRun:
        """Work until ``stop``, ``duration`` or (``drain``) no job is open. While it runs,
        the interpreter switches threads more often (:data:`SWITCH_INTERVAL`)."""
        previous = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            return self._run(stop)
        finally:
            sys.setswitchinterval(previous)

    def _run(self, stop: threading.Event) -> WorkerRun:
        deadline = (time.monotonic() + self.options.duration
                    if self.options.duration is not None else None)
        with WatchQueue(self.db_url) as queue:
            queue.create()
            queue.schedule()
            threads = [threading.Thread(target=self._capture_loop, args=(stop,),
                                        name=f"worker-{n}", daemon=True)
                       for n in range(self.options.jobs)]
            for thread in threads:
                thread.start()
            try:
                while not stop.is_set():
                    queue.schedule()
                    self._renew(queue)
                    self._maybe_stamp(queue)
                    if self.options.drain and queue.state().open == 0:
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    stop.wait(self.options.tick)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
            self._maybe_stamp(queue, force=True)
        return self.run_info

    def _renew(self, queue: WatchQueue) -> None:
        with self._lock:
            active = sorted(self._active)
        queue.renew(self.name, active, self.options.lease)

    # -- capturing -----------------------------------------------------------------------------

    def _capture_loop(self, stop: threading.Event) -> None:
        try:
            queue = WatchQueue(self.db_url)
        except LedgerError as exc:
            self._error(str(exc))
            return
        with queue:
            while not stop.is_set():
                try:
                    jobs = queue.claim(self.name, self.options.lease)
                except LedgerError as exc:
                    self._error(str(exc))
                    stop.wait(self.options.tick)
                    continue
                if not jobs:
                    stop.wait(min(self.options.tick, 0.5))
                    continue
                for job in jobs:
                    with self._lock:
                        self._active.add(job.id)
                    try:
                        self._do(queue, job)
                    except LedgerError as exc:  # the job stays taken; its lease runs out
                        self._error(f"{job.url}: {exc}; the job is taken again later")
                    finally:
                        with self._lock:
                            self._active.discard(job.id)

    def _do(self, queue: WatchQueue, job: Job) -> None:
        seq = queue.recorded(job)
        outcome: CaptureOutcome | None = None
        if seq is None:
            try:
                outcome = self.capturer.capture_one(job.url, batch=job.key)
            except LedgerError as exc:
                if CAPTURE_KEY_INDEX not in str(exc):
                    raise
                seq = queue.recorded(job)  # another worker recorded this slot meanwhile
            else:
                if outcome.record is not None:
                    seq = outcome.record.seq
        failed = outcome is not None and not outcome.ok
        queue.finish(job, self.name, record_seq=seq, failed=failed)
        with self._lock:
            if outcome is None:
                self.run_info.already += 1
            elif failed:
                self.run_info.failures += 1
            else:
                self.run_info.captures += 1
        if self.on_done is not None:
            self.on_done(JobDone(job, outcome, seq))

    # -- stamping ------------------------------------------------------------------------------

    def _maybe_stamp(self, queue: WatchQueue, *, force: bool = False) -> None:
        """Stamp what was recorded since the mark, one Merkle root per batch, if this worker
        holds the team's stamping lock (else another worker is stamping)."""
        if not self.options.tsas:
            return
        now = time.monotonic()
        if not force and now - self._last_stamp < self.options.stamp_every:
            return
        self._last_stamp = now
        if not queue.try_stamp_lock():
            return
        try:
            roots = trust_roots_from_env()
            while True:
                seqs = queue.unstamped(STAMPED, BATCH)
                records = [r for r in (self.ledger.get(s) for s in seqs) if r is not None]
                if not records:
                    return
                stamp(self.ledger, self.store, records, list(self.options.tsas),
                      timeout=self.options.timeout, roots=roots)
                self._renew(queue)  # a slow TSA must not let the capture jobs' leases run out
                queue.mark_stamped(seqs[-1])
                self.run_info.stamped += len(records)
        except LedgerError as exc:
            self._error(f"stamping: {exc}")
        finally:
            queue.stamp_unlock()

    def _error(self, message: str) -> None:
        with self._lock:
            self.run_info.errors.append(message)
        if self.on_error is not None:
            self.on_error(message)
