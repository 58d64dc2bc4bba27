"""Pull an archive's snapshots of a URL into the store: every copy kept once, resumable.

``provenance pull URL`` lists what a witness's index holds (CDX for the Wayback Machine and
pywb, the TimeMap for a ``memento=`` source), keeps the date range (given to the index as
CDX ``from``/``to`` where it takes one, and applied again here), and keeps each raw copy as
a ``snapshot`` record (:mod:`provenance.capture.snapshots`), so that ``verify`` and
``history`` read it from the store afterwards.

Resume is the ledger itself: a copy whose ``snapshot`` record exists (same archive, same
URL, same 14-digit timestamp) is not fetched again. A run cut short (Ctrl-C, a kill, a
crash) has recorded each copy it finished, whole (its files first, then one ledger
record); the same command again fetches only the rest.

Politeness: every request waits its turn at the witness's read rate
(:attr:`archive.witness.Witness.read_throttle`, one a second for the Internet Archive).
A copy the archive will not give (excluded, not archived, another snapshot served) is one
failed line and the pull goes on. An archive that throttles (429 without
``Memento-Datetime``), fails (5xx) or cannot be reached is asked again with the witness's
backoff; when the tries run out the pull of that archive stops there (the rest would cost
as much each): what was kept stays kept, and the rest is left for a later run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any

from archive.cdx import CdxRow, ts_to_rfc3339
from archive.errors import ArchiveError, WitnessError
from archive.witness import Witness
from provenance.capture.snapshots import (
    record_snapshot,
    snapshot_json,
    snapshot_keys,
    subject_of,
)
from provenance.errors import UsageError
from provenance.store.filestore import Store
from provenance.store.kinds import SNAPSHOT
from provenance.store.ledger import Ledger, Record

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DIGITS = re.compile(r"\d{4}(?:\d{2}){0,5}")  # a Wayback timestamp, 4 to 14 digits
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|\+00:00)")


class PullStatus(Enum):
    """What became of one snapshot in a pull."""

    KEPT = "kept"  # fetched now and recorded
    HAD = "had"  # recorded by an earlier run (or by verify/history): not fetched
    FAILED = "failed"  # the archive would not give this copy
    NOT_TRIED = "not tried"  # the archive stopped answering before its turn


@dataclass(frozen=True)
class PullRange:
    """Which snapshots: ``since``/``until`` as 14-digit UTC timestamps, both included;
    ``limit``: the oldest that many of them (None: all)."""

    since: str | None = None
    until: str | None = None
    limit: int | None = None

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None,
              limit: int | None = None) -> PullRange:
        """From what a user types: ``2022``, ``2022-03``, ``2022-03-20`` or an RFC 3339 UTC
        time; a date alone covers its whole day (or month, or year). UsageError if not."""
        low = snapshot_bound(since, end=False) if since else None
        high = snapshot_bound(until, end=True) if until else None
        if low and high and low > high:
            raise UsageError(f"--since {since} is after --until {until}")
        if limit is not None and limit < 1:
            raise UsageError("--limit must be at least 1")
        return cls(low, high, limit)

    def to_json(self) -> dict[str, Any]:
        return {"since": ts_to_rfc3339(self.since) if self.since else None,
                "until": ts_to_rfc3339(self.until) if self.until else None,
                "limit": self.limit}


def snapshot_bound(text: str, *, end: bool) -> str:
    """``2022-03-20`` → ``20220320000000`` (``end``: ``20220320235959``); the same for a
    year or a month; an RFC 3339 UTC time to the second; a Wayback timestamp (4 to 14
    digits) as CDX reads it. UsageError for anything else."""
    value = text.strip()
    timed = _TIME.fullmatch(value)
    if timed is not None:
        try:
            when = datetime.fromisoformat(f"{timed[1]}T{timed[2]}:{timed[3]}:{timed[4]}")
        except ValueError:
            raise UsageError(f"not a time: {text!r}") from None
        return when.replace(tzinfo=timezone.utc).strftime("%Y%m%d%H%M%S")
    if _DIGITS.fullmatch(value):
        return _digits_bound(value, end=end)
    dated = _DATE.fullmatch(value)
    if dated is None:
        raise UsageError(f"not a date: {text!r} (give YYYY, YYYY-MM, YYYY-MM-DD or an "
                         "RFC 3339 UTC time like 2022-03-20T16:12:45Z)")
    year, month, day = dated[1], dated[2], dated[3]
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise UsageError(f"not a date: {text!r}") from None
    return _digits_bound(year + (month or "") + (day or ""), end=end)


def _digits_bound(digits: str, *, end: bool) -> str:
    """A Wayback timestamp (``2022``, ``20220320``, ``2022032016``…) as a bound, as CDX
    reads ``from``/``to``: the first or the last second it covers."""
    start = digits + "0101000000"[len(digits) - 4:]
    try:
        datetime.strptime(start, "%Y%m%d%H%M%S")
    except ValueError:
        raise UsageError(f"not a Wayback timestamp: {digits!r}") from None
    if not end:
        return start
    return _end_of(digits) if len(digits) <= 8 else digits + "5959"[:14 - len(digits)]


def _end_of(digits: str) -> str:
    """The last second of the year, month or day ``digits`` names (as CDX pads ``to``)."""
    if len(digits) == 4:
        return digits + "1231235959"
    if len(digits) == 6:
        year, month = int(digits[:4]), int(digits[4:])
        following = date(year + month // 12, month % 12 + 1, 1)
        last = date.fromordinal(following.toordinal() - 1)
        return last.strftime("%Y%m%d") + "235959"
    return digits + "235959"


@dataclass
class Pulled:
    """One snapshot of the pull and what became of it."""

    source: str
    row: CdxRow
    status: PullStatus
    record: Record | None = None
    error: str | None = None

    @property
    def time(self) -> str:
        return self.row.captured_at

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"source": self.source, "status": self.status.value,
                                 "time": self.time, "timestamp": self.row.timestamp,
                                 "url": self.row.original, "error": self.error}
        if self.record is not None:
            found.update({k: v for k, v in snapshot_json(self.record).items()
                          if k not in ("source", "time")})
        return found


@dataclass
class PullRun:
    """One archive's pull of one URL: every snapshot listed, and its fate."""

    url: str
    source: str
    range: PullRange
    listed: int = 0  # in the index, within the date range (before --limit)
    items: list[Pulled] = field(default_factory=list)
    error: str | None = None  # the index could not be read, or the archive stopped answering

    def count(self, status: PullStatus) -> int:
        return sum(item.status is status for item in self.items)

    @property
    def complete(self) -> bool:
        """Every snapshot asked for is in the store now (and the index was read)."""
        return self.error is None and all(
            item.status in (PullStatus.KEPT, PullStatus.HAD) for item in self.items)

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "source": self.source, **self.range.to_json(),
                "listed": self.listed, "total": len(self.items),
                "kept": self.count(PullStatus.KEPT), "had": self.count(PullStatus.HAD),
                "failed": self.count(PullStatus.FAILED),
                "not_tried": self.count(PullStatus.NOT_TRIED),
                "complete": self.complete, "error": self.error}


@dataclass
class PullEvents:
    """Callbacks as a pull goes (all optional): ``listed(run)`` once the index is read,
    ``fetching(n, total, row)`` before a copy is fetched, ``pulled(item)`` after each."""

    listed: Callable[[PullRun], None] | None = None
    fetching: Callable[[int, int, CdxRow], None] | None = None
    pulled: Callable[[Pulled], None] | None = None


def kept_timestamps(ledger: Ledger, archive: str, subject: str,
                    rows: Sequence[CdxRow] = ()) -> dict[str, Record]:
    """The copies of ``subject`` this archive's snapshots were kept as, by timestamp: filed
    under ``subject``, or under the archive's own original URL of one of ``rows`` (the
    same lookup as :func:`provenance.capture.snapshots.kept_snapshot`)."""
    kept = {str(r.data.get("timestamp")): r
            for r in ledger.records(kind=SNAPSHOT, subject=subject)
            if r.data.get("archive") == archive}
    others: dict[str, set[str]] = {}  # the archive's key -> the timestamps listed under it
    for row in rows:
        for key in snapshot_keys(row.original, subject)[1:]:
            others.setdefault(key, set()).add(row.timestamp)
    for key, stamps in others.items():
        for record in ledger.records(kind=SNAPSHOT, subject=key):
            stamp = str(record.data.get("timestamp"))
            if record.data.get("archive") == archive and stamp in stamps:
                kept.setdefault(stamp, record)
    return kept


def pull_snapshots(store: Store, ledger: Ledger, witness: Witness, url: str,
                   span: PullRange | None = None, *,
                   events: PullEvents | None = None) -> PullRun:
    """Keep every snapshot of ``url`` that ``witness`` lists in ``span`` (each fetched only
    if never kept before). Never raises for the archive: its failures are in the run."""
    span = span or PullRange()
    events = events or PullEvents()
    subject = subject_of(url)
    run = PullRun(url=subject, source=witness.name, range=span)
    try:
        rows = witness.snapshots(subject, since=span.since, until=span.until)
    except ArchiveError as exc:
        run.error = str(exc)
        return run
    run.listed = len(rows)
    rows = rows[:span.limit] if span.limit is not None else rows
    kept = kept_timestamps(ledger, witness.name, subject, rows)
    run.items = [Pulled(witness.name, row, PullStatus.HAD, kept[row.timestamp])
                 if row.timestamp in kept else Pulled(witness.name, row, PullStatus.NOT_TRIED)
                 for row in rows]
    if events.listed:
        events.listed(run)
    for n, item in enumerate(run.items, 1):
        if item.status is PullStatus.NOT_TRIED and item.row.timestamp in kept:
            # the index lists one snapshot twice (two digests): its copy is the one kept
            item.status, item.record = PullStatus.HAD, kept[item.row.timestamp]
        if item.status is PullStatus.NOT_TRIED:
            if run.error is not None:
                continue  # the archive stopped answering: left for the next run
            if events.fetching:
                events.fetching(n, len(run.items), item.row)
            _pull_one(store, ledger, witness, item, subject, run)
            if item.record is not None:
                kept[item.row.timestamp] = item.record
        if events.pulled and item.status is not PullStatus.NOT_TRIED:
            events.pulled(item)
    return run


def _pull_one(store: Store, ledger: Ledger, witness: Witness, item: Pulled, subject: str,
              run: PullRun) -> None:
    """Fetch and keep one copy, asking again with the witness's backoff while the archive
    throttles or fails; sets ``item``'s status (and ``run.error`` when it gives up)."""
    throttle = witness.read_throttle
    tries = max(1, throttle.backoff.tries)
    for attempt in range(1, tries + 1):
        try:
            copy = witness.fetch_snapshot(item.row)
        except WitnessError as exc:
            if not exc.retryable:  # excluded, not archived, another snapshot: this copy only
                item.status, item.error = PullStatus.FAILED, str(exc)
                return
            delay = throttle.backoff.delay(attempt, exc.retry_after, throttle.rng)
            if attempt == tries or delay is None:
                item.status, item.error = PullStatus.FAILED, str(exc)
                run.error = f"{witness.name} stopped answering: {exc}"
                return
            throttle.limiter.defer(delay)
            continue
        except ArchiveError as exc:
            item.status, item.error = PullStatus.FAILED, str(exc)
            return
        item.record = record_snapshot(store, ledger, copy, subject=subject)
        item.status = PullStatus.KEPT
        return


def pull_all(store: Store, ledger: Ledger, witnesses: Sequence[Witness], url: str,
             span: PullRange | None = None, *,
             events: PullEvents | None = None) -> list[PullRun]:
    """:func:`pull_snapshots` from each witness in turn."""
    return [pull_snapshots(store, ledger, witness, url, span, events=events)
            for witness in witnesses]
