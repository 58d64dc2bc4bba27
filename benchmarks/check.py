"""``check`` on stores of 100,000 and 1,000,000 ledger records: time and peak memory.

Goals (2-core reference machine): 1,000,000 records in under 10 s, and peak memory that
does not grow with the ledger (< 300 MB whatever its size). The baseline is the least any
check must do: read every row and hash its body once, with no verification logic at all,
measured in the same run. Each measurement runs in a fresh process so that its peak
memory (``ru_maxrss``) is its own; both import the same modules first, so the
difference in memory is what each holds while it works. ``--quick`` uses 20,000 records.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from typing import Any

from benchmarks.common import PEAK_MB, in_fresh_process, row
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


_CHILD = """
import json, sqlite3, hashlib, sys, time
folder, what = sys.argv[1], sys.argv[2]
from provenance.check import check_store
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger
start = time.perf_counter()
if what == "baseline":
    db = sqlite3.connect(Store(folder, create=False).ledger_path)
    for (body,) in db.execute("SELECT body FROM records ORDER BY seq"):
        hashlib.sha256(body.encode()).digest()
    ok = True
else:
    store = Store(folder, create=False, writable=False)
    with Ledger(store, writable=False) as ledger:
        report = check_store(store, ledger)
    ok = report.intact
seconds = time.perf_counter() - start
peak = {PEAK_MB}
print(json.dumps({"seconds": seconds, "peak_mb": peak, "ok": ok}))
""".replace("{PEAK_MB}", PEAK_MB)


def measure(folder: str, what: str) -> dict[str, Any]:
    """Run ``check`` (or the baseline) on the store in ``folder`` in a fresh process."""
    return in_fresh_process(_CHILD, folder, what)


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows = []
    for records in ([20_000] if quick else [100_000, 1_000_000]):
        with tempfile.TemporaryDirectory() as folder:
            build(folder, records)[1].close()
            baseline = measure(folder, "baseline")
            ours = measure(folder, "check")
        assert ours["ok"], "check found problems in the synthetic store"
        goal_s = 10.0 * records / 1_000_000
        rows.append(row(f"check on {records} ledger records", ours["seconds"],
                        baseline["seconds"], "s", f"< {goal_s:g} s",
                        ok=ours["seconds"] < goal_s))
        rows.append(row(f"check on {records} records: peak memory", ours["peak_mb"],
                        baseline["peak_mb"], "MB", "< 300 MB", ok=ours["peak_mb"] < 300))
    return rows


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
