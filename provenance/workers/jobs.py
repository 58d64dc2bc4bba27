"""The team's capture jobs as procrastinate tasks (a PostgreSQL task queue in the store's
own database: no other server).

* ``provenance.schedule``, periodic (every ``tick``): turns due watches into capture jobs.
  It moves each due watch's ``scheduled_slot`` and defers the jobs in one transaction
  (:data:`provenance.workers.queue.SCHEDULE`), so a slot gets one job however many workers
  run it; procrastinate's periodic deferrer also makes one job per tick for the whole team.
* ``provenance.capture``: one watch's capture for one slot. Its procrastinate ``lock`` is the
  watch, so the slots of one watch are captured in order, one at a time.
* ``provenance.requeue``, periodic: procrastinate 3 notes each worker's heartbeat but does
  not take back the jobs of a worker that stopped beating (killed, crashed, cut off); this
  task lists them (``get_stalled_jobs``) and puts them back in the queue (``retry_job``).
* ``provenance.stamp``, periodic (every ``stamp_every``), only on workers given ``--tsa``
  (its own queue): stamps the records made since the last stamp, one Merkle root per batch.

Delivery is at-least-once; what a task does is made idempotent by the ledger's capture key
(:mod:`provenance.workers.queue`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Job as ProcrastinateJob

from provenance.errors import LedgerError
from provenance.workers.queue import SCHEDULE, capture_key, due_rows

CAPTURE_TASK = "provenance.capture"
SCHEDULE_TASK = "provenance.schedule"
REQUEUE_TASK = "provenance.requeue"
STAMP_TASK = "provenance.stamp"

WATCH_QUEUE = "provenance-watch"
BROWSER_QUEUE = "provenance-watch-browser"  # taken only by workers started with --browser
UPKEEP_QUEUE = "provenance-upkeep"
STAMP_QUEUE = "provenance-stamp"  # taken only by workers started with --tsa


class WatchBusy(Exception):
    """Another live worker holds this watch (a job taken back from a worker that had only
    stopped beating): try again later."""


@dataclass(frozen=True)
class Job:
    """One capture job: a watch's time slot."""

    id: int
    watch_id: int
    slot: int
    url: str
    attempts: int  # 1 the first time a worker takes it
    browser: bool = False

    @property
    def key(self) -> str:
        return capture_key(self.watch_id, self.slot)


class Handlers(Protocol):
    """What the tasks do, in the worker (:class:`provenance.workers.runner.Worker`)."""

    def capture(self, job: Job) -> None: ...

    def stamp(self) -> None: ...


@dataclass(frozen=True)
class Schedule:
    tick: int = 1  # seconds between schedulings (and requeues)
    lease: float = 60.0  # a worker this long without a heartbeat has its jobs taken back
    stamp_every: int = 10
    stamping: bool = False


CAPTURE_RETRY = RetryStrategy(max_attempts=8, exponential_wait=2,
                              retry_exceptions={LedgerError, WatchBusy})
"""A database or bucket that does not answer, or a watch another worker holds, is tried again
(2, 4, 8 … s later); a page that cannot be fetched is not: that is recorded, as evidence."""


def _every(seconds: int) -> str:
    """A cron line for "every ``seconds``" (croniter's sixth field is seconds), rounded down
    to a step cron can say: seconds under a minute, minutes under an hour, else hours."""
    seconds = max(1, seconds)
    if seconds < 60:
        return "* * * * * *" if seconds == 1 else f"* * * * * */{seconds}"
    if seconds < 3600:
        return f"*/{seconds // 60} * * * *"
    return f"0 */{min(23, seconds // 3600)} * * *"


def build_app(db_url: str, handlers: Handlers, schedule: Schedule, *, pool_size: int) -> App:
    """The procrastinate app of one worker process, its tasks bound to ``handlers``."""
    connector = PsycopgConnector(conninfo=db_url, kwargs={"application_name": "provenance-worker"},
                                 min_size=1, max_size=pool_size)
    app = App(connector=connector)

    @app.task(name=CAPTURE_TASK, queue=WATCH_QUEUE, pass_context=True, retry=CAPTURE_RETRY)
    def capture(context: JobContext, watch_id: int, slot: int, url: str,
                browser: bool = False) -> None:
        job = context.job
        handlers.capture(Job(int(job.id or 0), watch_id, slot, url, job.attempts + 1, browser))

    @app.periodic(cron=_every(schedule.tick), periodic_id="watches")
    @app.task(name=SCHEDULE_TASK, queue=UPKEEP_QUEUE)
    async def schedule_task(timestamp: int) -> int:
        return await schedule_due(app)

    @app.periodic(cron=_every(schedule.tick), periodic_id="stalled")
    @app.task(name=REQUEUE_TASK, queue=UPKEEP_QUEUE)
    async def requeue(timestamp: int) -> int:
        return await requeue_stalled(app, schedule.lease)

    if schedule.stamping:
        @app.periodic(cron=_every(schedule.stamp_every), periodic_id="stamps")
        @app.task(name=STAMP_TASK, queue=STAMP_QUEUE)
        def stamp(timestamp: int) -> None:
            handlers.stamp()

    return app


async def schedule_due(app: App) -> int:
    """A capture job for the current slot of every active watch that has none."""
    connector = cast(PsycopgConnector, app.connector)
    capture = app.tasks[CAPTURE_TASK]
    async with connector.pool.connection() as conn, conn.transaction():
        rows = await (await conn.execute(SCHEDULE)).fetchall()
        due = due_rows(cast(list[tuple[int, int, str, bool]], rows))
        if due:
            jobs: list[ProcrastinateJob] = [
                capture.configure(lock=f"watch:{d.watch_id}",
                                  queue=BROWSER_QUEUE if d.browser else WATCH_QUEUE)
                .make_new_job(watch_id=d.watch_id, slot=d.slot, url=d.url, browser=d.browser)
                for d in due]
            await app.job_manager.batch_defer_jobs_async(jobs, connection=conn)
    return len(due)


async def requeue_stalled(app: App, lease: float) -> int:
    """Put back in the queue the jobs of workers with no heartbeat for ``lease`` seconds."""
    count = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=lease):
        try:
            await app.job_manager.retry_job(job)
        except procrastinate_errors.ConnectorException:
            continue  # another worker took it back first, or it ended meanwhile
        count += 1
    return count

