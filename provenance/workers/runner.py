"""``provenance worker``: capture the team store's due watches, several machines at once.

The queue is procrastinate's (:mod:`provenance.workers.jobs`), in the team store's database.
One worker process runs two procrastinate workers on one asyncio loop in a thread of its
own: one takes capture jobs, ``jobs`` at once (each in a thread: the capture is synchronous
code), the other the periodic upkeep (scheduling due watches, taking back the jobs of dead
workers) and, with ``--tsa``, stamping. The main thread waits for Ctrl-C, ``--for`` or
(``--drain``) the moment no capture job it could take is open.

A job is done once: its capture carries the key ``watch:<id>:<slot>`` which the ledger
holds UNIQUE (:mod:`provenance.workers.queue`), so a job taken again after its worker died
finds the capture already recorded, writes the ``changed`` record its worker did not live
to write, and is done; a session lock per watch keeps a job taken back from a worker that
had only stopped beating from running twice at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from procrastinate import App
from procrastinate.app import WorkerOptions as WorkerOptionsDict

from archive.browser.pool import BrowserPool
from archive.fetch import Fetcher
from provenance.capture.capturer import CaptureOutcome, Capturer
from provenance.capture.rendered import open_pool
from provenance.changes.timeline import record_change
from provenance.errors import LedgerError
from provenance.stamps.stamping import BATCH, stamp, trust_roots_from_env
from provenance.store.filestore import Store
from provenance.store.kinds import CHANGED, STAMPED_KINDS
from provenance.store.ledger import Ledger, Record
from provenance.workers.jobs import (
    BROWSER_QUEUE,
    CAPTURE_TASK,
    STAMP_QUEUE,
    UPKEEP_QUEUE,
    WATCH_QUEUE,
    Job,
    Schedule,
    WatchBusy,
    build_app,
    schedule_due,
)
from provenance.workers.queue import CAPTURE_KEY_INDEX, WatchQueue

STAMPED = (*STAMPED_KINDS, CHANGED)  # what a watch stamps: captures and their changes

DEFAULT_LEASE = 60.0
"""Seconds a worker may go without a heartbeat before its jobs are taken back (it beats
every quarter of that, at most every 10 s)."""

HOLD_AFTER_CAPTURE = "PROVENANCE_TEST_HOLD_AFTER_CAPTURE"
"""Tests only: a file path; a worker that has recorded a capture writes the capture's
ledger number there and stops before its ``changed`` record, to be killed at that point."""

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
    browser: bool = False  # also take the watches added with --browser, rendered in Chromium
    drain: bool = False  # stop once no job is open (a round is done)
    duration: float | None = None


@dataclass(frozen=True)
class JobDone:
    """What became of one job: a new capture, one found already recorded, or a failure."""

    job: Job
    outcome: CaptureOutcome | None  # None: the slot's capture was already in the ledger
    seq: int | None
    late_change: dict[str, object] | None = None  # the change a dead worker left unwritten


@dataclass
class WorkerRun:
    captures: int = 0
    already: int = 0  # jobs redone whose capture was recorded before (at-least-once)
    failures: int = 0
    stamped: int = 0
    late_changes: int = 0
    errors: list[str] = field(default_factory=list)


# procrastinate logs each job; a worker says what matters itself, in one line (never a
# traceback through logging's last-resort handler)
logging.getLogger("procrastinate").addHandler(logging.NullHandler())


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """One worker process's procrastinate workers over the team queue at ``db_url``."""

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
        hold = os.environ.get(HOLD_AFTER_CAPTURE)
        after = _hold_after(Path(hold)) if hold else None
        self.capturer = Capturer(store, ledger, fetcher, ignore=options.ignore,
                                 after_record=after)
        self.pool: BrowserPool | None = open_pool(
            options.browser, jobs=options.jobs, timeout=options.timeout,
            max_bytes=options.max_bytes)
        self.rendering = (Capturer(store, ledger, fetcher, ignore=options.ignore,
                                   renderer=self.pool.render, after_record=after)
                          if self.pool is not None else None)
        self.run_info = WorkerRun()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._queues: list[WatchQueue] = []
        self.queues = [WATCH_QUEUE, *([BROWSER_QUEUE] if options.browser else [])]
        tick = max(1, round(options.tick))
        self.app: App = build_app(
            db_url, self, Schedule(tick=tick, lease=options.lease,
                                   stamp_every=max(1, int(options.stamp_every)),
                                   stamping=bool(options.tsas)),
            pool_size=4)

    def run(self, stop: threading.Event) -> WorkerRun:
        """Work until ``stop``, ``duration`` or (``drain``) no job is open. While it runs,
        the interpreter switches threads more often (:data:`SWITCH_INTERVAL`)."""
        previous = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            return self._run(stop)
        finally:
            sys.setswitchinterval(previous)
            for queue in self._queues:
                queue.close()
            if self.pool is not None:
                self.pool.close()

    def _run(self, stop: threading.Event) -> WorkerRun:
        deadline = (time.monotonic() + self.options.duration
                    if self.options.duration is not None else None)
        with WatchQueue(self.db_url) as queue:
            queue.create()
            legacy = queue.legacy_open_jobs()
            if legacy:
                self._error(f"{legacy} job(s) left open in the old queue table watch_jobs "
                            "(before procrastinate) are not carried over: their watches are "
                            "captured in their current slot")
            loop = _Loop(self)
            loop.start()
            try:
                loop.ready.wait()
                while not stop.is_set() and loop.alive():
                    if self.options.drain and self._open(queue) == 0:
                        break
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    stop.wait(min(self.options.tick, 0.5))
            finally:
                loop.stop()
            if loop.failure is not None:
                raise LedgerError(f"the worker's queue stopped: {loop.failure}")
            self._stamp(force=True)
        return self.run_info

    def _open(self, queue: WatchQueue) -> int:
        """Capture jobs this worker could take that are still to do or being done."""
        with queue._errors("cannot read the queue"):
            row = queue.conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s AND "
                "queue_name = ANY(%s) AND status IN ('todo', 'doing')",
                (CAPTURE_TASK, self.queues)).fetchone()
        return int(row[0]) if row else 0

    # -- the tasks (procrastinate runs them in its threads) --------------------------------------

    def _queue(self) -> WatchQueue:
        queue: WatchQueue | None = getattr(self._local, "queue", None)
        if queue is None or queue.conn.closed:
            queue = WatchQueue(self.db_url)
            self._local.queue = queue
            with self._lock:
                self._queues.append(queue)
        return queue

    def capture(self, job: Job) -> None:
        try:
            self._capture(job)
        except LedgerError as exc:
            self._error(f"{job.url}: {exc}; the job is tried again later")
            raise
        except psycopg.Error as exc:
            self._local.queue = None
            self._error(f"{job.url}: {exc}; the job is tried again later")
            raise LedgerError(str(exc)) from None

    def _capture(self, job: Job) -> None:
        queue = self._queue()
        if not queue.try_lock_watch(job.watch_id):
            raise WatchBusy(f"watch {job.watch_id} is being captured by another worker")
        try:
            seq = queue.recorded(job.key)
            outcome: CaptureOutcome | None = None
            late: dict[str, object] | None = None
            if seq is None:
                capturer = self.rendering if job.browser and self.rendering else self.capturer
                try:
                    outcome = capturer.capture_one(job.url, batch=job.key)
                except LedgerError as exc:
                    if CAPTURE_KEY_INDEX not in str(exc):
                        raise
                    seq = queue.recorded(job.key)  # another worker recorded this slot
                else:
                    if outcome.record is not None:
                        seq = outcome.record.seq
            if outcome is None and seq is not None:
                late = self._missing_change(queue, seq)
        finally:
            queue.unlock_watch(job.watch_id)
        failed = outcome is not None and not outcome.ok
        with self._lock:
            if outcome is None:
                self.run_info.already += 1
            elif failed:
                self.run_info.failures += 1
            else:
                self.run_info.captures += 1
            if late is not None:
                self.run_info.late_changes += 1
        if self.on_done is not None:
            self.on_done(JobDone(job, outcome, seq, late))

    def _missing_change(self, queue: WatchQueue, seq: int) -> dict[str, object] | None:
        """The ``changed`` record of a capture whose worker died before writing it (the
        comparison is made again, as the worker would have; nothing if one is there)."""
        record = self.ledger.get(seq)
        if record is None or record.subject is None or queue.change_recorded(record.subject, seq):
            return None
        return record_change(self.store, self.ledger, record, self.options.ignore)

    # -- stamping --------------------------------------------------------------------------------

    def stamp(self) -> None:
        self._stamp()

    def _stamp(self, *, force: bool = False) -> None:
        """Stamp what was recorded since the mark, one Merkle root per batch, if this worker
        gets the team's stamping lock (else another worker is stamping)."""
        if not self.options.tsas:
            return
        try:
            with WatchQueue(self.db_url) as queue:
                if not queue.try_stamp_lock():
                    return
                roots = trust_roots_from_env()
                while True:
                    seqs = queue.unstamped(STAMPED, BATCH)
                    records = [r for r in (self.ledger.get(s) for s in seqs) if r is not None]
                    if not records:
                        return
                    stamp(self.ledger, self.store, records, list(self.options.tsas),
                          timeout=self.options.timeout, roots=roots)
                    queue.mark_stamped(seqs[-1])
                    with self._lock:
                        self.run_info.stamped += len(records)
        except LedgerError as exc:
            self._error(f"stamping: {exc}")

    def _error(self, message: str) -> None:
        with self._lock:
            self.run_info.errors.append(message)
        if self.on_error is not None:
            self.on_error(message)


class _Loop(threading.Thread):
    """The asyncio loop procrastinate's workers run on, in a thread of its own."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(name="procrastinate", daemon=True)
        self.worker = worker
        self.ready = threading.Event()
        self.failure: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def alive(self) -> bool:
        return self.is_alive() and self.failure is None

    def run(self) -> None:
        options = self.worker.options
        loop = asyncio.new_event_loop()
        # procrastinate runs a synchronous task in the loop's default executor
        loop.set_default_executor(ThreadPoolExecutor(max_workers=options.jobs + 2,
                                                     thread_name_prefix="capture"))
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - said by the main thread, one line
            self.failure = str(exc) or type(exc).__name__
        finally:
            self.ready.set()
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _serve(self) -> None:
        worker, options = self.worker, self.worker.options
        beat = min(10.0, options.lease / 4)

        def settings(queues: list[str], concurrency: int, role: str) -> WorkerOptionsDict:
            return {"queues": queues, "concurrency": concurrency, "name": f"{worker.name}/{role}",
                    "install_signal_handlers": False, "update_heartbeat_interval": beat,
                    "stalled_worker_timeout": options.lease, "delete_jobs": "successful",
                    "fetch_job_polling_interval": 1.0, "abort_job_polling_interval": 5.0}

        async with worker.app.open_async():
            await schedule_due(worker.app)  # the first round at once, before --drain looks
            self._task = asyncio.current_task()  # type: ignore[assignment]
            self.ready.set()
            upkeep = [UPKEEP_QUEUE, *([STAMP_QUEUE] if options.tsas else [])]
            try:
                await asyncio.gather(
                    worker.app.run_worker_async(**settings(worker.queues, options.jobs,
                                                           "capture")),
                    worker.app.run_worker_async(**settings(upkeep, 2, "upkeep")))
            except asyncio.CancelledError:
                pass  # stop(): procrastinate let the jobs in progress finish

    def stop(self) -> None:
        """Stop taking jobs, let those in progress finish, and wait for the loop to end."""
        if self._loop is not None and self._task is not None and self.is_alive():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self.join()


def _hold_after(path: Path) -> Callable[[Record], None]:
    def hold(record: Record) -> None:
        path.write_text(str(record.seq))
        while True:
            time.sleep(3600)
    return hold
