"""Recapturing URLs on a schedule until told to stop, with nothing left half-written.

:func:`watch` captures every URL once per round, sleeps ``every`` seconds (give or take
``jitter``, so a watcher does not hit a site at the same second of every minute) from the
start of one round to the start of the next, and stops when ``duration`` has passed or
``stop`` is set. ``stop`` is checked between captures only: a capture in progress finishes
(its files, its ledger record and its ``changed`` record are written) before the loop ends.
A round that takes longer than ``every`` is followed by the next one at once.

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
) -> int:
    """Capture ``urls`` every ``every`` seconds until ``duration`` or ``stop``; rounds run."""
    stop = stop or threading.Event()
    start = clock()
    deadline = start + duration if duration is not None else None
    rounds = 0
    while not stop.is_set():
        round_start = clock()
        rounds += 1
        for url in urls:
            if stop.is_set():
                break
            outcome = capturer.capture_one(url)
            if on_outcome is not None:
                on_outcome(outcome, rounds)
        next_start = max(round_start + next_delay(every, jitter, rng), clock())
        if stop.is_set() or (deadline is not None and next_start >= deadline):
            break
        stop.wait(next_start - clock())
    return rounds
