"""Appends per second to a team ledger on PostgreSQL with 1, 4 and 8 writer processes.

Goal: one chain, intact, at least 500 appends/s with 8 writers. The baseline is the same
number of processes inserting the same rows into an unchained table (no head-row lock, no
hashing): what the database gives without one chain. Each run uses a throwaway cluster
(``tests/pgserver.py``) on loopback; skipped without PostgreSQL or psycopg.
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import row

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def _writer(url: str, folder: str, count: int, start: Any, chained: bool) -> None:
    import psycopg

    from provenance.store.backends.postgres import PostgresLedger
    from provenance.store.filestore import Store

    if chained:
        ledger = PostgresLedger(url, Store(folder))
        start.wait()
        for n in range(count):
            ledger.append("note", {"n": n})
        ledger.close()
        return
    with psycopg.connect(url, autocommit=True) as conn:
        start.wait()
        for n in range(count):
            conn.execute("INSERT INTO bare (kind, body) VALUES ('note', %s)", (f'{{"n":{n}}}',))


def _rate(url: str, folder: str, writers: int, each: int, chained: bool) -> float:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(writers + 1)
    procs = [ctx.Process(target=_writer, args=(url, folder, each, start, chained))
             for _ in range(writers)]
    for proc in procs:
        proc.start()
    start.wait()
    began = time.perf_counter()
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - began
    assert all(p.exitcode == 0 for p in procs)
    return writers * each / elapsed


def run(quick: bool = False) -> list[dict[str, Any]]:
    import pgserver

    reason = pgserver.missing()
    if reason is not None:
        print(f"team benchmark skipped: {reason}", file=sys.stderr)
        return []
    import psycopg

    from provenance.check import check_store
    from provenance.store.backends.postgres import PostgresLedger
    from provenance.store.filestore import Store

    each = 100 if quick else 500
    cluster = pgserver.PgCluster().start()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for writers in (1, 4, 8):
                url = cluster.create_database(f"bench{writers}")
                PostgresLedger(url, Store(folder)).close()  # the schema, before the clock
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("CREATE TABLE bare (seq BIGSERIAL PRIMARY KEY, kind TEXT, "
                                 "body TEXT)")
                ours = _rate(url, folder, writers, each, chained=True)
                baseline = _rate(url, folder, writers, each, chained=False)
                with PostgresLedger(url, Store(folder), writable=False) as ledger:
                    intact = check_store(Store(folder), ledger).intact
                rows.append(row(f"team ledger appends, {writers} writer(s)", ours, baseline,
                                "/s", ">= 500/s, intact" if writers == 8 else "intact",
                                higher_is_better=True,
                                ok=intact and (writers != 8 or ours >= 500)))
    finally:
        cluster.stop()
    return rows


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
