"""The library API: one :class:`Evidence` object opened on a store, with what users do.

The command line (:mod:`provenance.cli`) parses arguments, calls this and prints; a web page
or a worker calls the same methods. Nothing here prints: results are dataclasses, progress
is reported through callbacks (so a capture can be shown the moment it is recorded), and
failures are the project's errors (:mod:`provenance.errors`, :mod:`archive.errors`).

>>> with Evidence("evidence") as ev:                          # doctest: +SKIP
...     run = ev.archive(["https://example.org/"], witnesses=[], tsas=[])
...     report = ev.check()
"""

from __future__ import annotations

import functools
import io
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from warcio.exceptions import ArchiveLoadFailed

from archive.blockpage import BlockPage
from archive.browser.render import LoadingPolicy
from archive.errors import ArchiveError
from archive.fetch import Fetcher, new_session
from archive.textpool import TextPool
from archive.urls import normalize_url
from archive.waits import listen
from archive.warc import read_response_payload
from archive.witness import WitnessConfig, WitnessSpec, shared_witness
from provenance.bundle.export import export_bundle
from provenance.bundle.verify import BundleReport, verify_bundle
from provenance.capture import procpool
from provenance.capture.batch import already_captured, run_batch, validate_urls
from provenance.capture.capturer import CaptureOutcome, Capturer, Renderer
from provenance.capture.procpool import CapturePool
from provenance.capture.pull import PullEvents, PullRange, PullRun, pull_all
from provenance.capture.rendered import BROWSER_SCREENSHOT, open_pool, text_role
from provenance.capture.runs import ListRun
from provenance.capture.witnessing import (
    record_witnesses,
    retry_pending,
    stored_payload_sha256,
    witness_step,
    witness_unsent,
)
from provenance.changes.timeline import blocked, capture_text, record_skipped, timeline
from provenance.changes.watch import Overrun, watch
from provenance.check import CheckReport, check_store
from provenance.errors import (
    LedgerError,
    ProvenanceError,
    ReadOnlyStore,
    StoreError,
    TimestampError,
    UsageError,
)
from provenance.screens.across import Across, capture_ref, check_across, page_chrome
from provenance.screens.match import Verification, verify_against_text, verify_text
from provenance.screens.ocr import OcrResult, check_tesseract
from provenance.screens.screenshots import (
    ocr_cached,
    ocr_for_claim,
    ocr_many_cached,
    record_verification,
)
from provenance.stamps.stamping import (
    GRANTED,
    TSA_CA_ENV,
    BatchStamps,
    StampQueue,
    retry_pending_stamps,
    stamp,
    stamp_missing,
    stamp_unstamped,
    trust_roots_from_env,
)
from provenance.stamps.timestamp import load_certificates
from provenance.store.backends import objects_location, open_team, team_location
from provenance.store.catalogue import (
    CataloguePage,
    CatalogueQuery,
    CatalogueRow,
    annotated,
    catalogue_page,
)
from provenance.store.clock import format_time
from provenance.store.filestore import Store, resolve_store_path
from provenance.store.kinds import CAPTURE
from provenance.store.ledger import Ledger, Record
from provenance.store.records import StampStatus, WitnessStatus

STAMP_BATCH = 1000
TEXT_POOL_MIN_URLS = 16
"""A list at least this long (with ``jobs`` > 1) is captured in worker processes
(:mod:`provenance.capture.procpool`: whole captures, their files included) or, where those
cannot serve (witnesses, a browser, a team store, other threads running), has its texts
extracted in worker processes (:mod:`archive.textpool`): worth their start-up either way.
One worker per core, at most ``jobs``."""
GROUP_WINDOW = 0.02
"""Seconds a capture's record waits for others to share its commit, when pages are captured
in worker processes (:meth:`provenance.store.ledger.Ledger.grouped`): its capture thread
has given its worker back already, so the wait costs no throughput, and a commit (a flush
of the ledger and a head) is made for several records instead of one or two."""
# The most of a stored file ``show --text`` or ``--raw`` reads into memory.
MAX_SHOWN_BYTES = 64 * 1024 * 1024
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339_UTC = re.compile(
    r"(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:[Zz]|\+00:00)")
"""Captures per shared time-stamp request while archiving (one Merkle root per batch)."""


def open_store(path: str | os.PathLike[str] | None, *, create: bool = True,
               write: bool = True) -> tuple[Store, Ledger]:
    """Open the store at ``path`` (None: ``$PROVENANCE_STORE`` or ``./evidence``).

    ``write=False`` for reading only (check, log, history, export): nothing is created, a
    folder that is not a store is refused, and a write-protected store works. Only
    ``create=True`` makes a new store. A store whose ledger is gone but whose evidence is
    still there is never given a fresh, empty ledger. A ``postgresql://`` location opens a
    team store (:mod:`provenance.store.backends`).
    """
    team = team_location(path)
    if team is not None:
        return open_team(team, objects_location(path), write=write, create=create)
    if getattr(path, "objects", None):
        raise UsageError("--objects is for a team store: give --store postgresql://… too "
                         "(a folder store keeps its objects inside it)")
    store = Store(resolve_store_path(None if path is None else str(path)),
                  create=create and write, writable=write)
    if not write:
        return store, Ledger(store, writable=False)
    if not store.ledger_path.exists() and store.holds_evidence():
        raise StoreError(f"the ledger of store {store.root} is missing but its evidence is "
                         "there: nothing was written (restore ledger.sqlite3 from a copy; "
                         "'provenance check' says more)")
    store.clean_temp()
    return store, Ledger(store)


def witness_config(timeout: float) -> WitnessConfig:
    """The environment's witness settings, each request bounded by ``timeout`` in all."""
    return WitnessConfig.from_env().with_request_timeout(timeout)


@dataclass
class StampReport:
    """The time-stamps asked for a set of new records: one line per TSA."""

    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] != GRANTED]

    def summaries(self) -> list[dict[str, Any]]:
        """What a capture, OCR or verification line shows of its stamps."""
        return [{"tsa": r["tsa"], "status": r["status"], "token": r["token"],
                 "gen_time": r["gen_time"]} for r in self.results]


def timestamp_records(ledger: Ledger, store: Store, records: Sequence[Record],
                      tsas: Sequence[str], *, timeout: float = 30.0) -> StampReport:
    """The one "time-stamp these new records" step of ``ocr``, ``verify`` and ``watch``:
    one request per TSA for all of them; a TSA that fails leaves a pending stamp."""
    if not records or not tsas:
        return StampReport()
    return StampReport(stamp(ledger, store, records, tsas, timeout=timeout,
                             roots=trust_roots_from_env()))


@dataclass
class ArchiveEvents:
    """Callbacks :meth:`Evidence.archive` calls as things happen (all optional)."""

    resumed: Callable[[CaptureOutcome], None] | None = None  # an earlier capture, re-sent
    resuming: Callable[[int, int, int], None] | None = None  # done, total, to go
    missing: Callable[[int], None] | None = None  # earlier captures still not stamped
    captured: Callable[[CaptureOutcome], None] | None = None  # the moment it is recorded
    stamped: Callable[[BatchStamps], None] | None = None  # after the captures it covers
    progress: Callable[[Iterator[CaptureOutcome], int], Iterable[CaptureOutcome]] | None = None


@dataclass
class ArchiveRun:
    """What one :meth:`Evidence.archive` call did."""

    outcomes: list[CaptureOutcome] = field(default_factory=list)
    resumed: list[CaptureOutcome] = field(default_factory=list)
    stamps: list[BatchStamps] = field(default_factory=list)
    missing_stamps: int = 0  # resumed captures still without a time-stamp

    @property
    def failures(self) -> list[CaptureOutcome]:
        return [o for o in self.outcomes if not o.ok]


@dataclass
class ScreenshotCheck:
    """A screenshot checked against a claim or a capture: the verdict, what OCR read, the
    records made; against a URL also the same check on every capture of it (``timeline``)."""

    verification: Verification
    ocr: OcrResult
    record: Record
    ocr_record: Record
    timestamps: StampReport
    capture: Record | None = None  # the capture compared with, if any
    ocr_cached: bool = False  # the reading came from the store, made before
    timeline: dict[str, Any] | None = None
    blocked_capture: BlockPage | None = None  # ``capture`` is a bot check, not the page


@dataclass
class VerifyEvents:
    """Callbacks :meth:`Evidence.verify` calls (all optional)."""

    note: Callable[[str], None] | None = None  # which capture is compared with, or being made
    captured: Callable[[CaptureOutcome], None] | None = None  # a capture made for the check
    error: Callable[[str], None] | None = None  # a source that could not be checked


@dataclass
class OcrRead:
    """One image read by :meth:`Evidence.ocr`: its reading and record, or why it could not."""

    image: str
    result: OcrResult | None
    error: ProvenanceError | None
    record: Record | None
    cached: bool

    @property
    def ok(self) -> bool:
        return self.result is not None and self.record is not None


@dataclass
class OcrRun:
    """What one :meth:`Evidence.ocr` call read, and the time-stamps of its new records."""

    reads: list[OcrRead] = field(default_factory=list)
    timestamps: StampReport = field(default_factory=lambda: StampReport())

    @property
    def failures(self) -> list[OcrRead]:
        return [r for r in self.reads if not r.ok]


@dataclass
class RetryRun:
    """What :meth:`Evidence.retry` asked again: witness answers, then time-stamp results."""

    witnesses: list[dict[str, Any]] = field(default_factory=list)
    stamps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unconfirmed(self) -> int:
        """Witness submissions still not confirmed."""
        return sum(w["status"] != WitnessStatus.ARCHIVED for w in self.witnesses)

    @property
    def still_pending(self) -> bool:
        granted = all(s["status"] == StampStatus.GRANTED for s in self.stamps)
        return bool(self.unconfirmed) or not granted


@dataclass
class WatchedCapture:
    """One capture of :meth:`Evidence.watch`, after its witnesses and time-stamps."""

    outcome: CaptureOutcome
    round: int
    first: bool  # the URL's first capture ever (none in the store before)
    pending_stamps: list[dict[str, Any]] = field(default_factory=list)
    since: Record | None = None  # the capture it was compared with: the last before it whose
    # server gave the page (made before the watch, or in it; never an outage, 5xx or 429,
    # nor a bot check or captcha)
    not_compared: str | None = None  # why it was compared with nothing (its server failed,
    # or it is a bot check)


@dataclass
class WatchRun:
    rounds: int = 0
    captures: int = 0
    changes: int = 0
    failures: int = 0
    overruns: int = 0  # rounds cut short at the next round's start (the overrun rule)


class Evidence:
    """One evidence store, opened for the operations users have. Use it as a context
    manager (or call :meth:`close`): the ledger is a database connection."""

    def __init__(self, store_path: str | os.PathLike[str] | None = None, *,
                 writable: bool = True, create: bool = True,
                 waiting: Callable[[str], None] | None = None) -> None:
        """``waiting`` hears, while the store is open as a context manager, of every wait
        longer than two seconds (a witness's rate limit or backoff, a job polled, pywb's
        index): one sentence each (:mod:`archive.waits`)."""
        self.store, self.ledger = open_store(store_path, create=create, write=writable)
        self._waits = ExitStack()
        self._waiting = waiting

    @classmethod
    def open_keeping(cls, store_path: str | os.PathLike[str] | None = None, *,
                     waiting: Callable[[str], None] | None = None) -> Evidence:
        """The store opened to add to it, or read only if it cannot be written (a read-only
        disk handed over as evidence): reading commands that would also keep what they read
        (``history --fetch-witnesses``) then read without keeping. See :attr:`writable`."""
        try:
            return cls(store_path, waiting=waiting)
        except ReadOnlyStore:
            return cls(store_path, writable=False, create=False, waiting=waiting)

    @property
    def writable(self) -> bool:
        return self.ledger.writable

    def close(self) -> None:
        self._waits.close()
        self.ledger.close()
        self.store.close()

    def __enter__(self) -> Evidence:
        self._waits.enter_context(listen(self._waiting))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time-stamps ---------------------------------------------------------------------------

    def timestamp(self, records: Sequence[Record], tsas: Sequence[str], *,
                  timeout: float = 30.0) -> StampReport:
        """Time-stamp new records together (one request per TSA). A TSA that fails leaves a
        pending stamp that :func:`provenance.stamps.stamping.retry_pending_stamps` asks again."""
        return timestamp_records(self.ledger, self.store, records, tsas, timeout=timeout)

    # -- archive -------------------------------------------------------------------------------

    def archive(self, urls: Iterable[str], *, resume: bool = False, again: bool = False,
                witnesses: Sequence[WitnessSpec] = (), tsas: Sequence[str] = (),
                timeout: float = 30.0, max_bytes: int = 50_000_000, jobs: int = 4,
                ignore: Sequence[re.Pattern[str]] = (),
                events: ArchiveEvents | None = None,
                browser: bool | LoadingPolicy = False) -> ArchiveRun:
        """Capture ``urls`` now, send each capture to ``witnesses`` and time-stamp them in
        shared batches. With ``resume`` (a list: ``archive -i``), an interrupted run of the
        same list goes on: URLs it captured are not fetched again, but sent to any witness
        that never got them and stamped if their stamp is missing. A list whose last run
        finished is captured anew (:mod:`provenance.capture.runs`), and so is one run
        with ``again`` (an interrupted run of it is then forgotten).

        Each capture is reported (``events.captured``) as soon as it is recorded, also for
        those still running when Ctrl-C comes; the KeyboardInterrupt is then raised on.

        ``browser`` (True, or a :class:`LoadingPolicy`): each page is also rendered in
        headless Chromium (:mod:`provenance.capture.rendered`); no Chromium is a UsageError."""
        events = events or ArchiveEvents()
        urls = validate_urls(urls)
        pool = open_pool(browser, jobs=jobs, timeout=timeout, max_bytes=max_bytes)
        try:
            return self._archive(urls, resume, again, witnesses, tsas, timeout, max_bytes, jobs,
                                 ignore, events, pool.render if pool is not None else None)
        finally:
            if pool is not None:
                pool.close()

    def _archive(self, urls: list[str], resume: bool, again: bool,
                 witnesses: Sequence[WitnessSpec],
                 tsas: Sequence[str], timeout: float, max_bytes: int, jobs: int,
                 ignore: Sequence[re.Pattern[str]], events: ArchiveEvents,
                 renderer: Renderer | None) -> ArchiveRun:
        specs = list(witnesses)
        roots = trust_roots_from_env() if tsas else []
        run = ArchiveRun()
        todo = urls
        listed = ListRun.begin(self.store, urls, again=again) if resume else None
        if listed is not None and listed.resumed:
            done = already_captured(self.ledger, urls, batch=listed.name)
            unsent = (witness_unsent(self.ledger, self.store,
                                     [o.record for o in done.values() if o.record is not None],
                                     specs, config=witness_config(timeout)) if specs else {})
            for url in urls:
                if url in done:
                    outcome = done[url]
                    seq = outcome.record.seq if outcome.record is not None else -1
                    outcome.witnesses = unsent.get(seq, [])
                    run.resumed.append(outcome)
                    if events.resumed:
                        events.resumed(outcome)
            todo = [url for url in urls if url not in done]
            if done and events.resuming:
                events.resuming(len(done), len(urls), len(todo))
            # A run killed between recording captures and stamping their batch: stamp now.
            records = [o.record for o in done.values() if o.record is not None]
            for stamped in stamp_missing(self.ledger, self.store, records, list(tsas),
                                         timeout=timeout, roots=roots):
                run.missing_stamps += stamped.unstamped
                self._stamped(run, events, stamped)
            if run.missing_stamps and events.missing:
                events.missing(run.missing_stamps)
        fetcher = Fetcher(read_timeout=timeout, total_timeout=timeout, max_bytes=max_bytes)
        step = witness_step(specs, witness_config(timeout)) if specs else None
        queue = StampQueue(self.ledger, self.store, list(tsas), timeout=timeout, roots=roots,
                           batch=STAMP_BATCH)
        with ExitStack() as stack:
            texts, workers = None, None
            if jobs > 1 and len(todo) >= TEXT_POOL_MIN_URLS:
                if step is None and renderer is None and procpool.usable(self.store):
                    workers = stack.enter_context(CapturePool(self.store, fetcher, jobs))
                else:
                    texts = stack.enter_context(TextPool(min(jobs, os.cpu_count() or 1)))
            capturer = Capturer(self.store, self.ledger, fetcher, witness_step=step,
                                ignore=ignore, renderer=renderer, texts=texts,
                                workers=workers)
            if workers is not None:  # pages end one every few ms: several to a commit
                stack.enter_context(self.ledger.grouped(GROUP_WINDOW, jobs))
            self._capture_all(capturer, todo, jobs, listed, run, events, queue)
        if listed is not None:
            listed.finish()  # gone through: the next run of this list captures it anew
        return run

    def _capture_all(self, capturer: Capturer, todo: list[str], jobs: int,
                     listed: ListRun | None, run: ArchiveRun, events: ArchiveEvents,
                     queue: StampQueue) -> None:
        def on_done(outcome: CaptureOutcome) -> None:
            run.outcomes.append(outcome)
            if events.captured:
                events.captured(outcome)

        # With worker processes, --jobs pages are fetched at once (their threads); twice as
        # many threads here keep them fed while others wait for their record's commit.
        threads = jobs * 2 if capturer.workers is not None else jobs
        with closing(run_batch(capturer, todo, jobs=threads, on_done=on_done,
                               batch=listed.name if listed else None,
                               cut=capturer.cut)) as outcomes:
            shown = events.progress(outcomes, len(todo)) if events.progress else outcomes
            for outcome in shown:
                if outcome.record is not None:
                    self._stamped(run, events, queue.add(outcome.record))
        self._stamped(run, events, queue.flush())

    @staticmethod
    def _stamped(run: ArchiveRun, events: ArchiveEvents, stamped: BatchStamps | None) -> None:
        if stamped is None:
            return
        run.stamps.append(stamped)
        if events.stamped:
            events.stamped(stamped)

    # -- reading -------------------------------------------------------------------------------

    def check(self) -> CheckReport:
        """Every file, WARC digest, ledger link and time-stamp of the store (writes nothing)."""
        return check_store(self.store, self.ledger)

    def history(self, url: str, *, witnesses: Sequence[WitnessSpec] = (),
                fetch_witnesses: bool = False, timeout: float = 30.0,
                ignore: Sequence[re.Pattern[str]] = ()) -> list[dict[str, Any]]:
        """Every capture of ``url``, local and in witness archives, oldest first, each with
        what changed since the one before."""
        (url,) = validate_urls([url])
        return timeline(self.ledger, self.store, url, list(witnesses),
                        fetch_witnesses=fetch_witnesses,
                        fetcher=Fetcher(read_timeout=timeout, total_timeout=timeout),
                        ignore=ignore)

    def pull(self, url: str, *, witnesses: Sequence[WitnessSpec],
             span: PullRange | None = None, timeout: float = 30.0,
             events: PullEvents | None = None) -> list[PullRun]:
        """Keep every snapshot of ``url`` each witness's index lists in ``span`` (date range,
        limit) as a ``snapshot`` record, fetching only the copies never kept before (so a
        run cut short resumes), at each witness's read rate. One :class:`PullRun` per
        witness; an archive that fails is said in its run, never raised."""
        (url,) = validate_urls([url])
        if not witnesses:
            raise UsageError("pull needs an archive to pull from: --to ia, pywb=BASE or "
                             "memento=BASE")
        config = witness_config(timeout)
        chosen = [shared_witness(spec, config) for spec in witnesses]
        return pull_all(self.store, self.ledger, chosen, url, span, events=events)

    def export(self, ids: Sequence[str], out: str | os.PathLike[str], *,
               force: bool = False) -> dict[str, Any]:
        """Write the records ``ids`` and all they need into one self-contained zip."""
        return export_bundle(self.ledger, self.store, list(ids), str(out), force=force)

    # -- retry ---------------------------------------------------------------------------------

    def retry(self, *, tsas: Sequence[str] = (), timeout: float = 30.0,
              witnessed: Callable[[dict[str, Any]], None] | None = None) -> RetryRun:
        """Ask again what is still open: every witness submission that is pending, unknown
        or failed in a way that may pass, then every pending time-stamp; with ``tsas``, also
        time-stamp every record that has none yet. ``witnessed`` hears each witness answer
        as it comes (they can be slow)."""
        run = RetryRun()
        for result in retry_pending(self.ledger, self.store, config=witness_config(timeout)):
            run.witnesses.append(result)
            if witnessed:
                witnessed(result)
        roots = trust_roots_from_env()
        run.stamps = retry_pending_stamps(self.ledger, self.store, timeout=timeout, roots=roots)
        run.stamps += stamp_unstamped(self.ledger, self.store, list(tsas), timeout=timeout,
                                      roots=roots)
        return run

    # -- watch ---------------------------------------------------------------------------------

    def watch(self, urls: Iterable[str], *, every: float, duration: float | None = None,
              stop: threading.Event | None = None, witnesses: Sequence[WitnessSpec] = (),
              tsas: Sequence[str] = (), timeout: float = 30.0, max_bytes: int = 50_000_000,
              ignore: Sequence[re.Pattern[str]] = (),
              on_capture: Callable[[WatchedCapture], None] | None = None,
              browser: bool | LoadingPolicy = False,
              jobs: int = 1, on_overrun: Callable[[Overrun], None] | None = None) -> WatchRun:
        """Capture ``urls`` now and every ``every`` seconds until ``duration`` has passed or
        ``stop`` is set. Each capture is recorded as by :meth:`archive`, each change as a
        ``changed`` record; witnesses get the first capture of each URL and every capture
        that changed; each capture (and its change) is time-stamped at once. ``browser``: as
        for :meth:`archive`. ``jobs`` URLs are fetched at once; a round still running when
        the next is due stops starting captures, tells ``on_overrun``, and the next round
        begins with the URLs it left (:func:`provenance.changes.watch.watch`)."""
        urls = validate_urls(urls)
        pool = open_pool(browser, jobs=jobs, timeout=timeout, max_bytes=max_bytes)
        try:
            return self._watch(urls, every, duration, stop, witnesses, tsas, timeout,
                               max_bytes, ignore, on_capture,
                               pool.render if pool is not None else None, jobs, on_overrun)
        finally:
            if pool is not None:
                pool.close()

    def _watch(self, urls: list[str], every: float, duration: float | None,
               stop: threading.Event | None, witnesses: Sequence[WitnessSpec],
               tsas: Sequence[str], timeout: float, max_bytes: int,
               ignore: Sequence[re.Pattern[str]],
               on_capture: Callable[[WatchedCapture], None] | None,
               renderer: Renderer | None, jobs: int = 1,
               on_overrun: Callable[[Overrun], None] | None = None) -> WatchRun:
        fetcher = Fetcher(read_timeout=timeout, total_timeout=timeout, max_bytes=max_bytes)
        capturer = Capturer(self.store, self.ledger, fetcher, ignore=ignore, renderer=renderer)
        run = WatchRun()
        # A watch goes on from the latest capture the store has of each URL: an unchanged
        # page is "no change since #N", and is not sent to the witnesses again.
        latest: dict[str, Record] = {}
        compared: dict[str, Record] = {}  # the last capture whose server gave the page
        for url in urls:
            records = list(self.ledger.records(kind=CAPTURE, subject=url))
            if records:
                latest[url] = records[-1]
            for record in reversed(records):  # the newest first: one text read, most often
                if not record_skipped(self.store, record):  # neither an outage nor a bot check
                    compared[url] = record
                    break
        specs = list(witnesses)

        def step(outcome: CaptureOutcome, round_no: int) -> None:
            since = compared.get(outcome.url)  # what this capture was compared with
            first = latest.get(outcome.url) is None
            pending: list[dict[str, Any]] = []
            skipped = (record_skipped(self.store, outcome.record)
                       if outcome.record is not None else None)
            if not outcome.ok or outcome.record is None:
                run.failures += 1
            else:
                run.captures += 1
                latest[outcome.url] = outcome.record
                if not skipped:
                    compared[outcome.url] = outcome.record
                run.changes += bool(outcome.changed)
                if specs and (first or outcome.changed):
                    outcome.witnesses = record_witnesses(
                        self.ledger, outcome.record, specs,
                        capture_sha256=stored_payload_sha256(self.store, outcome.record))
                if tsas:
                    records = [outcome.record]
                    if outcome.changed:
                        found = self.ledger.get(int(outcome.changed["ledger_seq"]))
                        records += [found] if found is not None else []
                    report = self.timestamp(records, tsas, timeout=timeout)
                    pending = report.pending
                    outcome.timestamps = report.summaries()
            if on_capture:
                on_capture(WatchedCapture(outcome, round_no, first, pending, since, skipped))

        def overran(overrun: Overrun) -> None:
            run.overruns += 1
            if on_overrun:
                on_overrun(overrun)

        run.rounds = watch(capturer, urls, every=every, duration=duration, stop=stop,
                           on_outcome=step, jobs=jobs, on_overrun=overran)
        return run

    # -- log -----------------------------------------------------------------------------------

    def log(self, subject: str | None = None, kinds: Sequence[str] = (), *,
            since: str | None = None, until: str | None = None,
            limit: int | None = None) -> Iterator[Record]:
        """The ledger's records, oldest first: only ``kinds`` if given, and only those about
        ``subject`` (a URL or an image SHA-256) if given, screenshot checks made against a
        capture of that URL included. ``since``/``until`` bound the ledger record time
        (``since <= time < until``; see :func:`log_bound`); ``limit`` keeps only the newest
        ``limit`` of the records that pass, still printed oldest first."""
        if limit is not None and limit < 1:
            raise UsageError(f"-n must be a positive number, not {limit}")
        about = log_subject(subject) if subject else None
        found = self.ledger.scan(list(kinds) or None, about=about, since=since,
                                 until=until)  # by index, batched
        matching = (record for record in found
                    if (not kinds or record.kind in kinds)
                    and (not about or _about(record, about)))
        if limit is None:
            yield from matching
        else:
            yield from deque(matching, maxlen=limit)  # at most ``limit`` records held

    def catalogue(self, query: CatalogueQuery) -> CataloguePage:
        """One page of records, newest first, with their witnesses, time-stamps and
        changes: what a person browsing the store sees (every query by index)."""
        return catalogue_page(self.ledger, query)

    def details(self, record: Record) -> CatalogueRow:
        """A record with its witnesses, time-stamps and the change that ends at it."""
        return annotated(self.ledger, [record])[0]

    # -- show ----------------------------------------------------------------------------------

    def show(self, ref: str) -> Record:
        """The record ``ref`` names: a ledger number or a record hash prefix, as export takes."""
        record = self.ledger.find(ref)
        if record is None:
            raise UsageError(f"no record {ref} in the ledger (give a ledger number or a "
                             "record hash prefix of 6 or more digits)")
        return record

    def text_of(self, record: Record) -> str:
        """The extracted text a record carries (a capture's), re-hashed first: an edited
        file is refused (:class:`ProvenanceError`, exit 1: damaged evidence), never shown."""
        raw = self._read_part(record, "text", "text", error=ProvenanceError,
                              missing=f"record #{record.seq} ({record.kind}) has no extracted "
                              "text", limit=MAX_SHOWN_BYTES)
        return raw.decode("utf-8", errors="replace")

    def raw_body(self, record: Record) -> bytes:
        """The body of the final response as captured (after redirects), from the record's
        WARC, which is re-hashed first; at most :data:`MAX_SHOWN_BYTES` of WARC is read."""
        warc = self._read_part(record, "warc", "WARC", error=ProvenanceError,
                               missing=f"record #{record.seq} ({record.kind}) has no WARC",
                               limit=MAX_SHOWN_BYTES)
        try:
            return read_response_payload(io.BytesIO(warc))
        except (KeyError, ArchiveLoadFailed, OSError, ValueError) as exc:
            raise ProvenanceError(f"record #{record.seq}: its WARC holds no readable response "
                             f"({str(exc).strip() or type(exc).__name__})") from None

    # -- screenshots ---------------------------------------------------------------------------

    def ocr(self, images: Sequence[str | os.PathLike[str]], *, lang: str = "auto",
            jobs: int | None = None, tsas: Sequence[str] = (), timeout: float = 30.0,
            tesseract: str = "tesseract", on_read: Callable[[OcrRead], None] | None = None,
            progress: Callable[[Iterator[OcrRead], int], Iterable[OcrRead]] | None = None,
            ) -> OcrRun:
        """Read each image (an image read before is taken from the store), keep it and its
        reading in the store with an ``ocr`` record each, and time-stamp the new records
        together. ``on_read`` hears each image as it is done, in the order given."""
        run = OcrRun()
        rows = (OcrRead(os.fspath(name), None if isinstance(result, ProvenanceError) else result,
                        result if isinstance(result, ProvenanceError) else None, record, cached)
                for name, result, record, cached in ocr_many_cached(
                    self.store, self.ledger, images, lang, jobs, tesseract=tesseract))
        for read in (progress(rows, len(images)) if progress else rows):
            run.reads.append(read)
            if on_read:
                on_read(read)
        new = [r.record for r in run.reads if r.record is not None and not r.cached]
        run.timestamps = self.timestamp(new, tsas, timeout=timeout)
        return run

    def verify(self, image: str | os.PathLike[str], claim: str | None = None, *,
               against: str | None = None, lang: str = "auto", tsas: Sequence[str] = (),
               timeout: float = 30.0, tesseract: str = "tesseract",
               witnesses: Sequence[WitnessSpec] = (),
               events: VerifyEvents | None = None) -> ScreenshotCheck:
        """Does the screenshot show ``claim``, or the text of a captured page (``against``: a
        capture's ledger number or record hash prefix, or a URL: its latest capture, captured
        now, sent to ``witnesses``, if there is none)? OCR (or the cached reading), the
        verdict, a verification record, all new records time-stamped with ``tsas``; against
        a URL also the same screenshot checked against every capture of it."""
        if (claim is None) == (against is None):
            raise UsageError("give either a claim or a capture to verify against")
        events = events or VerifyEvents()
        url = against_url(against)
        capture = self.capture_record(against) if against is not None and url is None else None
        if claim is not None:  # the claim's scripts tell the languages: one pass
            ocr, ocr_record, cached = ocr_for_claim(self.store, self.ledger, os.fspath(image),
                                                    claim, lang, tesseract=tesseract)
        else:
            ocr, ocr_record, cached = ocr_cached(self.store, self.ledger, os.fspath(image),
                                                 lang, tesseract=tesseract)
        new = [] if cached else [ocr_record]
        across = None
        if url is not None:  # every copy there is: ours and the archives' (screens.across)
            capture, across = self._across(ocr, url, witnesses, timeout, events, new)
            best = across.best
            assert best is not None and best.verification is not None  # _across made sure
            verification = best.verification
            ref: dict[str, Any] | None = {
                **best.against(),
                "copies": [c.ref() for c in across.copies if c.verification is not None]}
        elif capture is None:
            verification = verify_text(ocr, claim or "")
            ref = None
        else:
            verification = verify_against_text(ocr, self._capture_text(capture),
                                               page_chrome(self.store, capture))
            ref = capture_ref(capture)  # says which text it was compared by
        record = record_verification(self.ledger, verification, ocr_record, against=ref)
        new.append(record)
        timestamps = self.timestamp(new, tsas, timeout=timeout)
        return ScreenshotCheck(verification, ocr, record, ocr_record, timestamps,
                               capture=capture, ocr_cached=cached,
                               timeline=across.timeline() if across is not None else None,
                               blocked_capture=None if capture is None else blocked(
                                   capture.data, capture_text(self.store, capture)))

    def _across(self, ocr: OcrResult, url: str, witnesses: Sequence[WitnessSpec],
                timeout: float, events: VerifyEvents, new: list[Record]
                ) -> tuple[Record | None, Across]:
        """Our latest capture (made now if there is none) and every archive copy, checked.
        A capture that fails is said; it is fatal only when no copy at all can be checked."""
        capture: Record | None = None
        failed: UsageError | None = None
        try:
            capture, made = self._capture_for(
                url, [s for s in witnesses if s.kind != "memento"], timeout, events)
            if made:
                new.append(capture)
        except UsageError as exc:
            failed = exc
        across = check_across(self.store, self.ledger, functools.partial(verify_against_text, ocr),
                              url, list(witnesses), config=witness_config(timeout))
        for line in across.errors:
            if events.error:
                events.error(line)
        if across.best is None:
            raise failed or UsageError(f"no copy of {url} could be checked")
        if failed is not None and events.error:
            events.error(str(failed))
        return capture, across

    def capture_record(self, ref: str) -> Record:
        """The capture record ``ref`` names (ledger number or record hash prefix)."""
        record = self.ledger.find(ref)
        if record is None:
            raise UsageError(f"no record {ref} in the ledger (give a capture's ledger number, "
                             "a record hash prefix of 6 or more digits, or a URL)")
        if record.kind != CAPTURE:
            raise UsageError(f"record #{record.seq} is a {record.kind} record, not a capture")
        return record

    def _capture_for(self, url: str, witnesses: Sequence[WitnessSpec], timeout: float,
                     events: VerifyEvents) -> tuple[Record, bool]:
        """The latest capture of ``url``, or a new one (``True``) made as ``archive`` does."""
        known = already_captured(self.ledger, [url]).get(url)
        if known is not None and known.record is not None:
            if events.note:
                events.note(f"comparing with capture #{known.record.seq} of {url} "
                            f"({known.record.data.get('fetched_at')})")
            return known.record, False
        if events.note:
            events.note(f"capturing {url}")
        step = witness_step(list(witnesses), witness_config(timeout)) if witnesses else None
        with new_session() as session:  # one page: its connection is closed when done
            capturer = Capturer(self.store, self.ledger,
                                Fetcher(session=session, read_timeout=timeout,
                                        total_timeout=timeout),
                                witness_step=step)
            outcome = capturer.capture_one(url)
        if outcome.record is None:
            raise UsageError(f"could not capture the page to compare with: {outcome.error}")
        if events.captured:
            events.captured(outcome)
        return outcome.record, True

    def our_screenshot(self, capture: Record) -> bytes | None:
        """The full-page screenshot of a ``--browser`` capture, re-hashed first; None if it
        has none. An altered one is a :class:`StoreError` (never shown as ours)."""
        if capture.file(BROWSER_SCREENSHOT) is None:
            return None
        return self._read_part(capture, BROWSER_SCREENSHOT, "screenshot", noun="capture",
                               missing="")

    def screenshots(self, items: Iterable[dict[str, Any]]) -> dict[int, bytes]:
        """Our screenshots of the local captures among history ``items``, by ledger number;
        one whose file is altered is left out (``check`` says which)."""
        found: dict[int, bytes] = {}
        for item in items:
            seq = item.get("ledger_seq") if item.get("source") == "local" else None
            record = self.ledger.get(int(seq)) if isinstance(seq, int) else None
            if record is None:
                continue
            try:
                shot = self.our_screenshot(record)
            except StoreError:
                continue
            if shot is not None:
                found[record.seq] = shot
        return found

    def _capture_text(self, capture: Record) -> str:
        """The capture's extracted text, re-hashed first: an edited file is never compared.
        A ``--browser`` capture of a page whose server HTML had no article text gives the
        text of its render (:func:`provenance.capture.rendered.text_role`)."""
        raw = self._read_part(capture, text_role(capture.data), "text", noun="capture",
                              missing=f"capture #{capture.seq} has no extracted text to "
                              "compare with")
        return raw.decode("utf-8")

    def _read_part(self, record: Record, role: str, what: str, *, missing: str,
                   noun: str = "record", error: type[ProvenanceError] = StoreError,
                   limit: int | None = None) -> bytes:
        """The file of ``role`` a record names, re-hashed first (:meth:`Store.read_verified`):
        none is a usage error (``missing``), an altered or unreadable one ``error``."""
        entry = record.file(role)
        if entry is None:
            raise UsageError(missing)
        try:
            return self.store.read_verified(entry, limit=limit)
        except StoreError as exc:
            raise error(f"{noun} #{record.seq}: its {what}: {exc}; "
                        "run 'provenance check'") from None

    # -- checking without a writable store --------------------------------------------------------

    @staticmethod
    def check_at(store_path: str | os.PathLike[str] | None = None, *,
                 progress: Any = None) -> CheckReport:
        """:meth:`check` of the store at ``store_path``, even one whose ledger is gone (that
        is said as damage, not refused). Opens nothing for writing. ``progress`` wraps the
        stream of rows (see :func:`provenance.check.check_store`)."""
        if team_location(store_path) is not None:
            with Evidence(store_path, writable=False, create=False) as evidence:
                return check_store(evidence.store, evidence.ledger, progress=progress)
        store = Store(resolve_store_path(None if store_path is None else str(store_path)),
                      create=False, writable=False)
        if not store.ledger_path.exists():
            return check_store(store, None)
        try:
            ledger = Ledger(store, writable=False)
        except LedgerError as exc:  # a damaged ledger file is damage (exit 1), not bad input
            return check_store(store, None, ledger_unreadable=str(exc))
        with ledger:
            return check_store(store, ledger, progress=progress)

    @staticmethod
    def check_bundle(path: str | os.PathLike[str],
                     tsa_ca: str | os.PathLike[str] | None = None) -> BundleReport:
        """Check an exported bundle; a time-stamp is trusted only if its chain ends in one of
        the roots in the PEM file ``tsa_ca`` (default ``$PROVENANCE_TSA_CA``)."""
        if not os.path.isfile(path):
            raise UsageError(f"no bundle file {os.fspath(path)}")
        if not _looks_like_zip(path):  # a wrong file named, not a damaged bundle
            raise UsageError(f"{os.fspath(path)} is not a zip file: a bundle is the .zip "
                             "'provenance export' writes")
        return verify_bundle(path, trusted_roots(tsa_ca))


def _looks_like_zip(path: str | os.PathLike[str]) -> bool:
    """The file starts as every zip does ("PK" and a record signature). One that does and is
    still unreadable is a damaged bundle (said as damage), not the wrong file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return True  # unreadable: verify_bundle says why
    return head in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def open_for_images(store_path: str | os.PathLike[str] | None, lang: str,
                    tesseract: str = "tesseract", *,
                    waiting: Callable[[str], None] | None = None) -> Evidence:
    """Open (or create) the store for ``ocr``/``verify``. With no store yet nothing can be
    cached, so a missing Tesseract or language is said before the store is created."""
    if not (resolve_store_path(None if store_path is None else str(store_path))
            / "ledger.sqlite3").exists():
        check_tesseract(lang, tesseract)
    return Evidence(store_path, waiting=waiting)


def against_url(ref: str | None) -> str | None:
    """The normalised URL if ``ref`` names one (checked now: BadUrl), else None (a ledger
    reference, or nothing)."""
    if ref is None or ("://" not in ref and not ref.lower().startswith(("http:", "https:"))):
        return None
    (url,) = validate_urls([ref])
    return url


def log_subject(subject: str) -> str:
    """A URL as the ledger records it (normalised); anything else as it is."""
    if "://" in subject:
        try:
            return normalize_url(subject)
        except ArchiveError:
            pass  # not a URL we could capture, but maybe one recorded as it is
    return subject


def log_bound(text: str, *, end: bool = False) -> str:
    """A ``--since``/``--until`` bound as the ledger writes times (RFC 3339 UTC, whole
    seconds), so that comparing strings compares times. A date alone is the start of that
    day for ``since``, and the start of the next day for ``until`` (``end``): the day is
    included. Anything else is a :class:`UsageError`."""
    value = text.strip()
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"not a date: {text!r} (give YYYY-MM-DD)") from None
        if end:
            day += timedelta(days=1)
        return format_time(datetime(day.year, day.month, day.day, tzinfo=timezone.utc))
    match = _RFC3339_UTC.fullmatch(value)
    if match is None:
        raise UsageError(f"not a time: {text!r} (give RFC 3339 UTC like "
                         "2026-03-21T14:03:07Z, or a date YYYY-MM-DD)")
    try:
        moment = datetime.fromisoformat(match[1].upper()).replace(tzinfo=timezone.utc)
    except ValueError:
        raise UsageError(f"not a time: {text!r}") from None
    # The ledger keeps whole seconds: a fraction moves an end bound up to the next second.
    if end and match[2] and int(match[2]):
        moment += timedelta(seconds=1)
    return format_time(moment)


def _about(record: Record, subject: str) -> bool:
    """The record's own subject, or a screenshot check made against a capture of that URL."""
    if record.subject == subject:
        return True
    against = record.data.get("against") if record.kind == "verification" else None
    return isinstance(against, dict) and against.get("url") == subject


def trusted_roots(path: str | os.PathLike[str] | None = None) -> list[bytes]:
    """The TSA roots the user trusts: the PEM file ``path`` or ``$PROVENANCE_TSA_CA``."""
    path = path or os.environ.get(TSA_CA_ENV)
    if not path:
        return []
    try:
        with open(path, "rb") as handle:
            roots = load_certificates(handle.read(1 << 22))
    except OSError as exc:
        raise UsageError(f"cannot read TSA trust roots {os.fspath(path)}: "
                         f"{exc.strerror}") from None
    except TimestampError as exc:
        raise UsageError(f"TSA trust roots {os.fspath(path)}: {exc}") from None
    if not roots or not all(_is_certificate(der) for der in roots):
        raise UsageError(f"TSA trust roots {os.fspath(path)}: not PEM certificates")
    return roots


def _is_certificate(der: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    return True
