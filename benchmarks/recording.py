"""Recording one capture (its WARC and text files, then its ledger record): ours vs the bare
durable write of the same bytes, measured in one run on the same disk (issue 16).

Ours: ``Store.put_many`` of a 16 KB WARC and a 4 KB text, then ``Ledger.append`` of a
capture record naming them (hash chain, indexes, ``ledger.head``), as
:func:`provenance.capture.capturer.record_capture` does. The baseline is what any recorder
that survives a power loss must do at least, written plainly: per file ``open().write()``,
``fsync``, rename into place, ``fsync`` of the folder; then the record's JSON inserted into
a one-table SQLite database (WAL, ``synchronous=FULL``) and committed. No content
addressing, chain, head or indexes. The ratio is baseline / ours (1.0: no dearer than the
bare write); goal >= 0.8. Rows with 1 and 8 threads (``--jobs 8`` captures record from 8);
each gives wall and CPU milliseconds per capture (CPU: the whole process, user + system).
The best of 3 alternating runs counts, to damp other work on the machine. Both write under
``$BENCH_TMP`` (default: the system's temporary folder): every number here is fsync-bound,
so it depends on that disk and on what else writes to it; compare ratios, not times.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import row
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

Recorder = Callable[[int], None]


def _pages(count: int) -> list[tuple[bytes, bytes]]:
    return [(os.urandom(16_000), (f"page {n} " * 500).encode()) for n in range(count)]


def _data(n: int, files: list[dict[str, Any]]) -> dict[str, Any]:
    url = f"http://127.0.0.1:8000/page/{n}"
    return {"url": url, "final_url": url, "redirects": [], "http_status": 200,
            "content_type": "text/html; charset=utf-8", "fetched_at": "2026-01-01T00:00:00Z",
            "ip_address": "127.0.0.1", "sha256": files[0]["sha256"],
            "text_sha256": files[1]["sha256"], "title": f"Page {n}", "files": files,
            "batch": "bench"}


def _ours(folder: Path, pages: list[tuple[bytes, bytes]]) -> tuple[Recorder, Callable[[], None]]:
    store = Store(folder / "store")
    ledger = Ledger(store)

    def record(n: int) -> None:
        warc, text = store.put_many([(pages[n][0], "warc", ".warc.gz"),
                                     (pages[n][1], "text", ".txt")])
        data = _data(n, [warc.to_json(), text.to_json()])
        ledger.append("capture", data, subject=data["url"])

    return record, ledger.close


def _baseline(folder: Path, pages: list[tuple[bytes, bytes]]
              ) -> tuple[Recorder, Callable[[], None]]:
    files, temp = folder / "files", folder / "tmp"
    files.mkdir()
    temp.mkdir()
    db = sqlite3.connect(folder / "records.sqlite3", isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    lock = threading.Lock()

    def put(name: str, data: bytes) -> dict[str, Any]:
        partial = temp / f"{name}.partial"
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, files / name)
        fd = os.open(files, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return {"path": f"files/{name}", "size": len(data), "sha256": name}

    def record(n: int) -> None:
        got = [put(f"{n}.warc.gz", pages[n][0]), put(f"{n}.txt", pages[n][1])]
        body = json.dumps(_data(n, got), sort_keys=True)
        with lock:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO records (body) VALUES (?)", (body,))
            db.execute("COMMIT")

    return record, db.close


def _timed(make: Callable[[Path, list[tuple[bytes, bytes]]],
                          tuple[Recorder, Callable[[], None]]],
           pages: list[tuple[bytes, bytes]], threads: int) -> tuple[float, float]:
    """Wall and CPU seconds per capture for recording every page, from ``threads``."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        record, close = make(Path(folder), pages)
        numbers = iter(range(len(pages)))
        taken = threading.Lock()

        def work() -> None:
            while True:
                with taken:
                    n = next(numbers, None)
                if n is None:
                    return
                record(n)

        wall, cpu = time.perf_counter(), time.process_time()
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        close()
    return wall / len(pages), cpu / len(pages)


def run(quick: bool = False) -> list[dict[str, Any]]:
    pages = _pages(200 if quick else 1000)
    rows = []
    for threads in (1, 8):
        ours = base = (float("inf"), float("inf"))
        for _ in range(3):
            ours = min(ours, _timed(_ours, pages, threads))
            base = min(base, _timed(_baseline, pages, threads))
        result = row(f"recording a capture, {threads} thread{'s' * (threads > 1)} (ms)",
                     ours[0] * 1000, base[0] * 1000, "ms", "ratio >= 0.8",
                     cpu_ms=round(ours[1] * 1000, 3), baseline_cpu_ms=round(base[1] * 1000, 3))
        result["ok"] = result["ratio"] >= 0.8
        rows.append(result)
    return rows


if __name__ == "__main__":
    for line in run():
        print(line)
