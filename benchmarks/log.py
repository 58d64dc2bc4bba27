"""``provenance log URL`` on a ledger of 1,000,000 records (20,000 with ``--quick``).

Goal: under 100 ms. The baseline is one indexed SQLite lookup of that subject's bodies,
the least any answer must read, measured in the same run. Both are timed warm (the ledger
file in the page cache), best of five; ``log`` includes opening the store and printing.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import tempfile
from typing import Any

from benchmarks.check import build
from benchmarks.common import best_of, row
from provenance.cli.main import main


def run(quick: bool = False) -> list[dict[str, Any]]:
    records = 20_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        store, ledger = build(folder, records)
        ledger.close()
        url = f"http://127.0.0.1/page/{records // 2}"

        def ours() -> None:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                code = main(["--store", folder, "--json", "log", url])
            assert code == 0 and url in out.getvalue()

        def baseline() -> None:
            db = sqlite3.connect(store.ledger_path)
            assert db.execute("SELECT body FROM records WHERE subject = ?", (url,)).fetchall()
            db.close()

        ours_s, base_s = best_of(5, ours), best_of(5, baseline)
    return [row(f"log URL on {records} ledger records", ours_s, base_s, "s", "< 0.1 s",
                ok=ours_s < 0.1)]


if __name__ == "__main__":
    for line in run():
        print(line)
