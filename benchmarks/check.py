"""``check`` on a store of 100,000 ledger records.

Goal: under 2 s on the 2-core reference machine. The baseline is the least any check
must do: read every row and hash its body once, with no verification logic at all.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
import time
from typing import Any

from benchmarks.common import row
from provenance.check import check_store
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger


def build(folder: str, records: int, files: int = 100) -> tuple[Store, Ledger]:
    store = Store(folder)
    ledger = Ledger(store)
    stored = [store.put_bytes(f"page {i} text".encode(), role="text", suffix=".txt")
              for i in range(files)]
    batch = []
    for i in range(records):
        data = {"url": f"http://127.0.0.1/page/{i}", "sha256": hashlib.sha256(
            str(i).encode()).hexdigest(), "files": [stored[i % files].to_json()]}
        batch.append(("capture", data, data["url"]))
        if len(batch) == 10_000:
            ledger.append_many(batch)
            batch = []
    if batch:
        ledger.append_many(batch)
    return store, ledger


def _baseline(store: Store) -> None:
    db = sqlite3.connect(store.ledger_path)
    for (body,) in db.execute("SELECT body FROM records ORDER BY seq"):
        hashlib.sha256(body.encode()).digest()
    db.close()


def run(quick: bool = False) -> list[dict[str, Any]]:
    records = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as folder:
        store, ledger = build(folder, records)
        start = time.perf_counter()
        _baseline(store)
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        report = check_store(store, ledger)
        ours = time.perf_counter() - start
        ledger.close()
    assert report.intact, report.problems[:3]
    goal_s = 2.0 * records / 100_000
    return [row(f"check on {records} ledger records", ours, baseline, "s",
                f"< {goal_s:g} s", ok=ours < goal_s)]


if __name__ == "__main__":
    for line in run():
        print(line)
