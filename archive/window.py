"""When a witness's snapshot counts as a copy of our capture: a window around our capture time.

A witness may answer a save with a snapshot it already had: SavePageNow deduplicates ("the
same snapshot had been made 20 minutes ago"), and a broken or hostile service can name any
snapshot at all. A snapshot from 1999 is evidence of what the page said in 1999, not a copy
of what we captured today. So a snapshot counts (status ``archived``) only if its time lies
from ``before`` seconds before to ``after`` seconds after our capture's ``fetched_at``:

* earlier: ``stale``, another, older snapshot. Asking again later may give a fresh one, so
  it stays retryable;
* later: ``late``, a copy made long after ours (a retry run days later). Asking again cannot
  make it earlier, so it is final;
* later than the present (beyond ``skew``): the witness named a time that has not happened;
  that is ``unknown`` and retryable, never a copy.

The defaults: 30 minutes before (clock differences, and a witness that deduplicates against
a copy made just before ours) to 2 hours after (rate limits, queued jobs and backoff on a big
batch). ``PROVENANCE_WITNESS_WINDOW`` changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

WINDOW_ENV = "PROVENANCE_WITNESS_WINDOW"


class Timing(Enum):
    """Where a snapshot's time falls relative to our capture."""

    WITHIN = "within"
    BEFORE = "before"
    AFTER = "after"
    FUTURE = "future"


class BadWindow(ValueError):
    """A ``PROVENANCE_WITNESS_WINDOW`` value that is not ``SECONDS`` or ``BEFORE,AFTER``."""


@dataclass(frozen=True)
class SnapshotWindow:
    """A snapshot counts for a capture from ``before`` s before it to ``after`` s after it."""

    before: float = 1800.0
    after: float = 7200.0
    skew: float = 300.0  # how far past our own clock a witness's clock may run

    def place(self, snapshot: datetime, captured: datetime, now: datetime) -> Timing:
        if (snapshot - now).total_seconds() > self.skew:
            return Timing.FUTURE
        offset = (snapshot - captured).total_seconds()
        if offset < -self.before:
            return Timing.BEFORE
        if offset > self.after:
            return Timing.AFTER
        return Timing.WITHIN

    def to_json(self) -> dict[str, float]:
        return {"before": self.before, "after": self.after}

    @classmethod
    def parse(cls, text: str) -> SnapshotWindow:
        """``SECONDS`` (both sides) or ``BEFORE,AFTER``, whole or decimal seconds, >= 0."""
        parts = [part.strip() for part in text.split(",")]
        try:
            values = [float(part) for part in parts]
        except ValueError:
            values = []
        if len(values) not in (1, 2) or not all(0 <= v < float("inf") for v in values):
            raise BadWindow(f"{WINDOW_ENV}={text!r}: give seconds, e.g. 1800,7200 "
                            "(before,after our capture) or 3600")
        return cls(values[0], values[-1])


def describe(offset_seconds: float) -> str:
    """``3 years before`` / ``5 hours after`` / ``40 s after``: a human distance in time."""
    span = abs(offset_seconds)
    side = "before" if offset_seconds < 0 else "after"
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600),
                       ("minutes", 60)):
        if span >= 2 * size:
            return f"{round(span / size)} {unit} {side}"
    return f"{round(span)} s {side}"


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time (``…Z`` or with an offset) as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
