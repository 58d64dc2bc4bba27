"""Recapturing URLs on a schedule until told to stop, with nothing left half-written.

:func:`watch` captures every URL once per round, sleeps ``every`` seconds (give or take
``jitter``, so a watcher does not hit a site at the same second of every minute) from the
start of one round to the start of the next, and stops when ``duration`` has passed or
``stop`` is set. ``stop`` is checked between captures only: a capture in progress finishes
(its files, its ledger record and its ``changed`` record are written) before the loop ends.

With ``jobs`` > 1 a round fetches that many URLs at once (the batch machinery of ``archive
--jobs``, :func:`provenance.capture.batch.run_batch`). The overrun rule: a round may not run
past the start of the next one. When that time comes, no further capture of the round is
started (those running finish and are recorded), ``on_overrun`` hears how many URLs were
left, and the next round starts at once with the URLs left over first, so a list too long
for its interval is still captured in turn and rounds never pile up. Nothing is kept from
round to round but the order of the URLs, so memory stays flat over a long watch.

The caller decides what happens to each outcome (print it, stamp it, send it to witnesses)
through ``on_outcome``; the clock, the random source and the stop event are arguments so the
schedule can be reasoned about in tests with the real clock.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass

from provenance.capture.batch import run_batch
from provenance.capture.capturer import CaptureOutcome, Capturer
from provenance.errors import UsageError

DEFAULT_JITTER = 0.1
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str, *, what: str = "duration") -> float:
    """``10m``, ``0.2s``, ``1h30m``, ``6h``, ``90`` (seconds) -> seconds; UsageError otherwise."""
    value = text.strip().lower().replace(" ", "")
    try:
        seconds = float(value)
    except ValueError:
        pos, seconds = 0, 0.0
        for match in _PART.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if not value or pos != len(value):
            raise UsageError(f"{what} {text!r} is not a duration: write e.g. 30s, 10m, 1h30m"
                             ) from None
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise UsageError(f"{what} {text!r} must be more than 0")
    return seconds


def next_delay(every: float, jitter: float, rng: random.Random | None = None) -> float:
    """``every`` give or take ``jitter`` (a fraction, at most 0.5) of it."""
    jitter = min(max(jitter, 0.0), 0.5)
    return every * (1.0 + (rng or random).uniform(-jitter, jitter))


NOT_STARTED = "not-started"
"""The reason of a URL whose round ended before its capture began (never recorded)."""


@dataclass(frozen=True)
class Overrun:
    """A round that reached the start of the next one before every URL was captured."""

    round: int
    done: int  # captures started (and finished) in the round
    left: int  # URLs not started: they go first in the next round
    elapsed: float  # seconds from the round's start to its end
    every: float


class _Gate:
    """A capturer that begins no capture once the round is over (``closed``): a URL queued
    for a free thread then comes back as :data:`NOT_STARTED`, unfetched and unrecorded.
    The first capture of a round always begins, so that every round makes progress even on
    a machine so busy that its threads start after the round is over."""

    def __init__(self, capturer: Capturer, closed: Callable[[], bool]) -> None:
        self.capturer = capturer
        self.closed = closed
        self._lock = threading.Lock()
        self._began = False

    def capture_one(self, url: str, *, batch: str | None = None) -> CaptureOutcome:
        with self._lock:
            if self._began and self.closed():
                return CaptureOutcome(url, reason=NOT_STARTED)
            self._began = True
        return self.capturer.capture_one(url, batch=batch)


def watch(
    capturer: Capturer,
    urls: Sequence[str],
    *,
    every: float,
    duration: float | None = None,
    stop: threading.Event | None = None,
    on_outcome: Callable[[CaptureOutcome, int], None] | None = None,
    jitter: float = DEFAULT_JITTER,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    jobs: int = 1,
    on_overrun: Callable[[Overrun], None] | None = None,
) -> int:
    """Capture ``urls`` every ``every`` seconds until ``duration`` or ``stop``; a round that
    reaches the next one's start stops there (:class:`Overrun`) and the next one begins."""
    stop = stop or threading.Event()
    start = clock()
    deadline = start + duration if duration is not None else None
    rounds = 0
    order = list(urls)
    while not stop.is_set():
        round_start = clock()
        rounds += 1
        next_start = round_start + next_delay(every, jitter, rng)

        def closed(until: float = next_start) -> bool:
            return stop.is_set() or clock() >= until

        gate = _Gate(capturer, closed)
        started: set[str] = set()
        done = 0
        with closing(run_batch(gate, order, jobs=jobs)) as outcomes:  # type: ignore[arg-type]
            for outcome in outcomes:
                if outcome.reason == NOT_STARTED:
                    continue
                started.add(outcome.url)
                done += 1
                if on_outcome is not None:
                    on_outcome(outcome, rounds)
        if len(started) < len(order):
            left = [url for url in order if url not in started]
            if not stop.is_set() and on_overrun is not None:
                on_overrun(Overrun(rounds, done, len(left), clock() - round_start, every))
            order = left + [url for url in order if url in started]
        next_start = max(next_start, clock())
        if stop.is_set() or (deadline is not None and next_start >= deadline):
            break
        stop.wait(next_start - clock())
    return rounds
