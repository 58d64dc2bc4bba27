"""The questions ``retry`` and a resumed ``archive -i`` ask, on a ledger of 1,000,000 records:
ours (indexed SQL) vs reading the whole kind into Python (as they did before), in one run.

The ledger: captures, a witness record for every other one (0.1 % of them still pending),
time-stamps in batches of 1,000 that cover every capture but the last 10 (every 50th batch
first failed, a pending stamp, then resolved by a later one; the last two still pending),
and one run of a list of 2,000 URLs. ``--quick`` uses 50,000 records. Goal: each question
under 1 s.

The time-stamp questions (unstamped records, the stamps a resumed run still lacks, the
pending stamps to retry) are compared with the code before the ``covers`` table: a scan of
every time-stamp record's ``covers`` list in SQL (``unstamped``), or every time-stamp record
read into Python (the other two); each with its peak memory (Python's allocations, by
``tracemalloc``, in a second run).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import PEAK_MB, in_fresh_process, row
from provenance.capture.batch import already_captured
from provenance.capture.witnessing import open_witness_records
from provenance.stamps.stamping import (
    MalformedStamp,
    StampData,
    missing_stamps,
    open_pending,
    unstamped,
)
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

RUN = "list-benchmark"
TSA = "http://tsa"


def build(folder: str, records: int) -> tuple[Ledger, list[str]]:
    ledger = Ledger(Store(folder))
    captures = records * 2 // 3
    every = max(1, captures // 2000)
    batch: list[tuple[str, dict[str, Any], str | None]] = []
    listed = []
    for i in range(1, captures + 1):
        url = f"http://127.0.0.1/page/{i}"
        data: dict[str, Any] = {"url": url}
        if i % every == 0:
            data["batch"] = RUN
            listed.append(url)
        batch.append(("capture", data, url))
        if i % 2 == 0:
            batch.append(("witness", {"capture_seq": len(batch), "witness": "ia",
                                      "status": "pending" if i % 2000 == 0 else "archived"},
                          url))
        if len(batch) >= 10_000:
            _flush(ledger, batch)
    _flush(ledger, batch)
    stamped = [r.seq for r in ledger.scan(["capture"])][:-10]
    batches = [stamped[start:start + 1000] for start in range(0, len(stamped), 1000)]
    for number, seqs in enumerate(batches):
        stamp = {"covers": seqs, "leaves": ["0" * 64] * len(seqs), "tsa": TSA}
        if number % 50 == 0 or number >= len(batches) - 2:
            failed = ledger.append("timestamp", {**stamp, "status": "pending"})
            if number < len(batches) - 2:
                ledger.append("timestamp", {**stamp, "status": "granted",
                                            "resolves": failed.seq})
        else:
            ledger.append("timestamp", {**stamp, "status": "granted"})
    return ledger, listed


def _flush(ledger: Ledger, batch: list[tuple[str, dict[str, Any], str | None]]) -> None:
    """Append and fix each witness's capture_seq (the number its capture was given)."""
    base = (ledger.last().seq if ledger.last() else 0)
    for i, (kind, data, _) in enumerate(batch):
        if kind == "witness":
            data["capture_seq"] = base + i  # the capture appended just before it
    ledger.append_many(batch)
    batch.clear()


def before_unstamped(ledger: Ledger) -> list[Any]:
    """``unstamped`` as it was: every time-stamp record's ``covers`` list scanned in SQL."""
    ledger.has_covers = False
    try:
        return unstamped(ledger)
    finally:
        ledger.has_covers = True


def _all_stamps(ledger: Ledger) -> list[tuple[Any, StampData]]:
    parsed = []
    for record in ledger.records(kind="timestamp"):
        try:
            parsed.append((record, StampData.parse(record.data)))
        except MalformedStamp:
            continue
    return parsed


def before_missing(ledger: Ledger, records: list[Any]) -> list[Any]:
    """``stamp_missing``'s question as it was: every time-stamp record read and parsed."""
    covered: set[int] = set()
    for _, parsed in _all_stamps(ledger):
        if parsed.tsa == TSA:
            covered.update(parsed.covers)
    return [r for r in records if r.seq not in covered]


def before_open_pending(ledger: Ledger) -> list[Any]:
    """``retry``'s question as it was: every time-stamp record read and parsed."""
    pending: dict[int, Any] = {}
    for record, parsed in _all_stamps(ledger):
        if parsed.resolves is not None:
            pending.pop(parsed.resolves, None)
        if parsed.status == "pending":
            pending[record.seq] = record
    return list(pending.values())


def last_captures(ledger: Ledger, count: int = 2000) -> list[Any]:
    """A resumed run's captures: the last ``count`` (a run records them in one stretch)."""
    return ledger.select("kind = 'capture'", newest_first=True, limit=count)[::-1]


STAMP_WORK: dict[str, Callable[[Ledger], list[Any]]] = {
    "unstamped": unstamped,
    "unstamped-before": before_unstamped,
    "missing": lambda lg: missing_stamps(lg, last_captures(lg), [TSA])[TSA],
    "missing-before": lambda lg: before_missing(lg, last_captures(lg)),
    "pending": open_pending,
    "pending-before": before_open_pending,
}
"""The time-stamp questions, ours and as before, each run in a fresh process."""

_CHILD = """
import hashlib, json, sys, time
from benchmarks.queries import STAMP_WORK
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger
folder, what = sys.argv[1], sys.argv[2]
with Ledger(Store(folder, create=False, writable=False), writable=False) as ledger:
    start = time.perf_counter()
    found = STAMP_WORK[what](ledger)
    seconds = time.perf_counter() - start
peak = {PEAK_MB}
seqs = ",".join(str(r.seq) for r in found).encode()
print(json.dumps({"seconds": seconds, "peak_mb": peak, "found": len(found),
                  "seqs": hashlib.sha256(seqs).hexdigest()}))
""".replace("{PEAK_MB}", PEAK_MB)


def measure(folder: str, what: str) -> dict[str, Any]:
    """Time and peak memory (the child's own, imports included) of one question."""
    return in_fresh_process(_CHILD, folder, what)


def old_open_witnesses(ledger: Ledger) -> dict[tuple[int, str], Any]:
    latest = {}
    for record in ledger.records(kind="witness"):
        latest[(int(record.data.get("capture_seq", 0)), str(record.data.get("witness")))] = record
    return {k: r for k, r in latest.items() if r.data.get("status") == "pending"}


def old_already_captured(ledger: Ledger, urls: list[str]) -> dict[str, Any]:
    wanted, latest = set(urls), {}
    for record in ledger.records(kind="capture"):
        if record.subject in wanted and record.data.get("batch") == RUN:
            latest[record.subject] = record
    return latest


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def run(quick: bool = False) -> list[dict[str, Any]]:
    records = 50_000 if quick else 1_000_000
    label = f"{records:,}"
    with tempfile.TemporaryDirectory() as folder:
        ledger, listed = build(folder, records)
        rows = []
        questions = [
            (f"witness submissions to retry ({label})", lambda: open_witness_records(ledger),
             lambda: old_open_witnesses(ledger)),
            (f"resume a 2,000-URL list run ({label})",
             lambda: already_captured(ledger, listed, batch=RUN),
             lambda: old_already_captured(ledger, listed)),
        ]
        for name, ours, old in questions:
            old_s, expected = timed(old)  # first: it warms the page cache for both
            ours_s, found = timed(ours)
            if len(found) != len(expected):
                raise RuntimeError(f"{name}: {len(found)} found, the old way {len(expected)}")
            rows.append(row(name, ours_s, old_s, "s", "< 1 s", ok=ours_s < 1.0,
                            found=len(found)))
        ledger.close()
        for what, name in (("unstamped", f"unstamped records ({label}, 10 unstamped)"),
                           ("missing", f"stamps the last 2,000 captures lack ({label})"),
                           ("pending", f"pending stamps to retry ({label})")):
            before = measure(folder, f"{what}-before")  # first: it warms the page cache
            ours = measure(folder, what)
            if ours["seqs"] != before["seqs"]:
                raise RuntimeError(f"{name}: not the records the code before found")
            rows.append(row(name, ours["seconds"], before["seconds"], "s", "< 1 s",
                            ok=ours["seconds"] < 1.0, found=ours["found"],
                            peak_mb=round(ours["peak_mb"], 1),
                            baseline_peak_mb=round(before["peak_mb"], 1)))
    return rows


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
