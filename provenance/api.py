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

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from archive.fetch import Fetcher
from archive.witness import WitnessConfig, WitnessSpec
from provenance.bundle.export import export_bundle
from provenance.capture.batch import already_captured, run_batch, validate_urls
from provenance.capture.capturer import CaptureOutcome, Capturer
from provenance.capture.witnessing import witness_step, witness_unsent
from provenance.changes.timeline import timeline
from provenance.check import CheckReport, check_store
from provenance.errors import StoreError
from provenance.screens.match import Verification, verify_text
from provenance.screens.ocr import OcrResult
from provenance.screens.screenshots import ocr_cached, record_verification
from provenance.stamps.stamping import (
    GRANTED,
    BatchStamps,
    StampQueue,
    stamp,
    stamp_missing,
    trust_roots_from_env,
)
from provenance.store.filestore import Store, resolve_store_path
from provenance.store.ledger import Ledger, Record

STAMP_BATCH = 1000
"""Captures per shared time-stamp request while archiving (one Merkle root per batch)."""


def open_store(path: str | os.PathLike[str] | None, *, create: bool = True,
               write: bool = True) -> tuple[Store, Ledger]:
    """Open the store at ``path`` (None: ``$PROVENANCE_STORE`` or ``./evidence``).

    ``write=False`` for reading only (check, log, history, export): nothing is created, a
    folder that is not a store is refused, and a write-protected store works. Only
    ``create=True`` makes a new store. A store whose ledger is gone but whose evidence is
    still there is never given a fresh, empty ledger.
    """
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
    """A screenshot checked against a claim: the verdict, what OCR read, the records made."""

    verification: Verification
    ocr: OcrResult
    record: Record
    ocr_record: Record
    timestamps: StampReport


class Evidence:
    """One evidence store, opened for the operations users have. Use it as a context
    manager (or call :meth:`close`): the ledger is a database connection."""

    def __init__(self, store_path: str | os.PathLike[str] | None = None, *,
                 writable: bool = True, create: bool = True) -> None:
        self.store, self.ledger = open_store(store_path, create=create, write=writable)

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Evidence:
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

    def archive(self, urls: Iterable[str], *, resume: bool = False,
                witnesses: Sequence[WitnessSpec] = (), tsas: Sequence[str] = (),
                timeout: float = 30.0, max_bytes: int = 50_000_000, jobs: int = 4,
                ignore: Sequence[re.Pattern[str]] = (),
                events: ArchiveEvents | None = None) -> ArchiveRun:
        """Capture ``urls`` now, send each capture to ``witnesses`` and time-stamp them in
        shared batches. With ``resume``, URLs captured before are not fetched again: they are
        sent to any witness that never got them and stamped if their stamp is missing.

        Each capture is reported (``events.captured``) as soon as it is recorded, also for
        those still running when Ctrl-C comes; the KeyboardInterrupt is then raised on."""
        events = events or ArchiveEvents()
        urls = validate_urls(urls)
        specs = list(witnesses)
        roots = trust_roots_from_env() if tsas else []
        run = ArchiveRun()
        todo = urls
        if resume:
            done = already_captured(self.ledger, urls)
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
        capturer = Capturer(self.store, self.ledger, fetcher, witness_step=step, ignore=ignore)
        queue = StampQueue(self.ledger, self.store, list(tsas), timeout=timeout, roots=roots,
                           batch=STAMP_BATCH)

        def on_done(outcome: CaptureOutcome) -> None:
            run.outcomes.append(outcome)
            if events.captured:
                events.captured(outcome)

        with closing(run_batch(capturer, todo, jobs=jobs, on_done=on_done)) as outcomes:
            shown = events.progress(outcomes, len(todo)) if events.progress else outcomes
            for outcome in shown:
                if outcome.record is not None:
                    self._stamped(run, events, queue.add(outcome.record))
        self._stamped(run, events, queue.flush())
        return run

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
                        fetcher=Fetcher(read_timeout=timeout), ignore=ignore)

    def export(self, ids: Sequence[str], out: str | os.PathLike[str], *,
               force: bool = False) -> dict[str, Any]:
        """Write the records ``ids`` and all they need into one self-contained zip."""
        return export_bundle(self.ledger, self.store, list(ids), str(out), force=force)

    # -- screenshots ---------------------------------------------------------------------------

    def verify(self, image: str | os.PathLike[str], claim: str, *, lang: str = "auto",
               tsas: Sequence[str] = (), timeout: float = 30.0,
               tesseract: str = "tesseract") -> ScreenshotCheck:
        """Does the screenshot show ``claim``? OCR (or the cached reading), the verdict, and
        a verification record in the ledger, time-stamped with ``tsas``."""
        ocr, ocr_record, cached = ocr_cached(self.store, self.ledger, os.fspath(image), lang,
                                             tesseract=tesseract)
        verification = verify_text(ocr, claim)
        record = record_verification(self.ledger, verification, ocr_record, against=None)
        new = ([] if cached else [ocr_record]) + [record]
        return ScreenshotCheck(verification, ocr, record, ocr_record,
                               self.timestamp(new, tsas, timeout=timeout))
