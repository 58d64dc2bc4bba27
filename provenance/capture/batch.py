"""Batches of URLs: reading lists, resuming a killed run, fetching several at once.

Resume: a run of a list names itself in each capture's record (``batch``) and leaves a
marker until it ends (:mod:`provenance.capture.runs`), so a rerun of an interrupted list
after ``kill -9`` fetches only what is missing, and a finished list run again is captured
anew (a new capture record; nothing is overwritten).
"""

from __future__ import annotations

import re
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TextIO

from archive.deadline import abort_all
from archive.urls import normalize_url
from archive.waits import carried
from provenance.capture.capturer import CAPTURE, CaptureOutcome, Capturer, capture_json
from provenance.errors import UsageError
from provenance.store.ledger import Ledger

POLL = 0.2  # seconds: the longest a Ctrl-C waits while the batch waits for its captures


def read_url_list(source: str, stdin: TextIO | None = None) -> list[str]:
    """URLs from a file (one per line, ``#`` comments, blank lines ignored) or ``-``."""
    try:
        if source == "-":
            lines = (stdin or sys.stdin).read().splitlines()
        else:
            with open(source, encoding="utf-8-sig") as handle:
                lines = handle.read().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read URL list {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"URL list {source} is not UTF-8 text") from None
    urls = []
    for line in lines:
        # A '#' starts a comment at the start of a line or after white space; inside a
        # URL it is a fragment and stays.
        line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if line:
            urls.append(line)
    return urls


def validate_urls(raw: Iterable[str]) -> list[str]:
    """Normalise every URL before anything is fetched, so bad input changes nothing."""
    urls: list[str] = []
    seen: set[str] = set()
    for item in raw:
        url = normalize_url(item)
        if url not in seen:
            seen.add(url)
            urls.append(url)
    return urls


def already_captured(ledger: Ledger, urls: Iterable[str], *, batch: str | None = None
                     ) -> dict[str, CaptureOutcome]:
    """The latest capture of each URL that has one; with ``batch``, only the captures made
    by that run of a list (:mod:`provenance.capture.runs`), for resuming it. Indexed: the
    URLs' own captures (or the run's) are read, never every capture."""
    wanted = set(urls)
    if batch is None:
        found = ledger.latest_by_subject(CAPTURE, wanted)
    else:
        found = {}
        for record in ledger.captures_in_batch(batch):  # in order: the last one wins
            if record.subject in wanted and record.data.get("batch") == batch:
                found[record.subject] = record
    return {url: CaptureOutcome(url, record=record, skipped=True)
            for url, record in found.items()}


def run_batch(capturer: Capturer, urls: list[str], *, jobs: int = 4,
              on_done: Callable[[CaptureOutcome], None] | None = None,
              batch: str | None = None, cut: Callable[[], object] = abort_all,
              ) -> Generator[CaptureOutcome, None, None]:
    """Capture URLs with ``jobs`` at once; yields outcomes as they complete.

    At most ``jobs * 2`` URLs are in flight, so a list of a million URLs costs no memory
    and a kill loses at most the captures in flight (which the next run redoes).

    ``on_done`` sees every outcome as soon as it is known, before it is yielded. If the
    run stops early (Ctrl-C, or the caller closes the generator), URLs not yet started are
    dropped, the captures already running are finished, and ``on_done`` still sees each
    of them: a capture that is recorded is always reported. ``cut`` then cuts the fetches
    in flight (:meth:`Capturer.cut` also cuts its worker processes'). Close the generator
    (``contextlib.closing``) so that this happens at once, not when it is collected.
    """
    jobs = max(1, jobs)
    pending: set[Future[CaptureOutcome]] = set()  # submitted, not yet seen by on_done
    todo = iter(urls)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="capture") as pool:
        try:
            while True:
                # Ctrl-C is held back wherever this thread holds a lock of the executor's or
                # of a future's: one left held by a KeyboardInterrupt hangs every thread
                with _interrupts_deferred():
                    while len(pending) < jobs * 2:
                        url = next(todo, None)
                        if url is None:
                            break
                        # a worker hears the run's wait listeners (archive.waits)
                        pending.add(pool.submit(carried(capturer.capture_one), url,
                                                batch=batch))
                if not pending:
                    return
                for future in _first_done(pending):
                    with _interrupts_deferred():  # reported once: never half, never twice
                        outcome = future.result()
                        if on_done is not None:
                            on_done(outcome)
                        pending.discard(future)
                    yield outcome
        except BaseException:  # KeyboardInterrupt, GeneratorExit: report what gets recorded
            # Start nothing new and cut the fetches in flight (a fetch cut short is not
            # recorded), so leaving never waits on a dripping server; a capture already past
            # its fetch is finished, recorded and reported.
            _finish_in_flight(pending, on_done, cut=cut)
            raise


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done (main thread only: signal handlers run
    there). A SIGINT that comes meanwhile is handled right after, by the handler it would
    have met (``watch``'s own: the first one stops the rounds; Python's: KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append((signum,
                                                                                 frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    for signum, frame in caught:
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.raise_signal(signum)


def _first_done(pending: set[Future[CaptureOutcome]]) -> set[Future[CaptureOutcome]]:
    """Wait for the first of ``pending`` to end. Ctrl-C is held back while
    :func:`concurrent.futures.wait` holds the futures' locks (a KeyboardInterrupt raised in
    it can leave one held, and every thread ending a capture then waits on it for ever)
    and let through between its turns, at most :data:`POLL` seconds apart."""
    while True:
        with _interrupts_deferred():
            done, _ = wait(pending, timeout=POLL, return_when=FIRST_COMPLETED)
        if done:
            return done


def _finish_in_flight(pending: set[Future[CaptureOutcome]],
                      on_done: Callable[[CaptureOutcome], None] | None,
                      cut: Callable[[], object]) -> None:
    """Drop what has not started, ``cut`` the network of what runs, report each that ends."""
    with _interrupts_deferred():  # cancel() takes each future's lock, cut() the fetches'
        running = {future for future in pending if not future.cancel()}
        cut()
    while running:
        done = _first_done(running)
        running -= done
        for future in done:
            with _interrupts_deferred():
                if future.exception() is None and on_done is not None:
                    on_done(future.result())


__all__ = ["already_captured", "capture_json", "read_url_list", "run_batch", "validate_urls"]
