"""The questions ``retry`` and a resumed ``archive -i`` ask, on a ledger of 1,000,000 records:
ours (indexed SQL) vs reading the whole kind into Python (as they did before), in one run.

The ledger: captures, a witness record for every other one (0.1 % of them still pending),
time-stamps in batches of 1,000 that cover every capture but the last 10, and one run of a
list of 2,000 URLs. ``--quick`` uses 50,000 records. Goal: each question under 1 s.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import row
from provenance.capture.batch import already_captured
from provenance.capture.witnessing import open_witness_records
from provenance.stamps.stamping import StampData, unstamped
from provenance.store.filestore import Store
from provenance.store.kinds import STAMPED_KINDS
from provenance.store.ledger import Ledger

RUN = "list-benchmark"


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
    stamped = [r.seq for r in ledger.records(kind="capture")][:-10]
    for start in range(0, len(stamped), 1000):
        seqs = stamped[start:start + 1000]
        ledger.append("timestamp", {"covers": seqs, "leaves": ["0" * 64] * len(seqs),
                                    "status": "granted", "tsa": "http://tsa"})
    return ledger, listed


def _flush(ledger: Ledger, batch: list[tuple[str, dict[str, Any], str | None]]) -> None:
    """Append and fix each witness's capture_seq (the number its capture was given)."""
    base = (ledger.last().seq if ledger.last() else 0)
    for i, (kind, data, _) in enumerate(batch):
        if kind == "witness":
            data["capture_seq"] = base + i  # the capture appended just before it
    ledger.append_many(batch)
    batch.clear()


def old_unstamped(ledger: Ledger) -> list[Any]:
    covered: set[int] = set()
    for record in ledger.records(kind="timestamp"):
        covered.update(StampData.parse(record.data).covers)
    return [r for r in ledger.records() if r.kind in STAMPED_KINDS and r.seq not in covered]


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
            (f"unstamped records ({label}, 10 unstamped)", lambda: unstamped(ledger),
             lambda: old_unstamped(ledger)),
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
    return rows


if __name__ == "__main__":
    for line in run():
        print(line)
