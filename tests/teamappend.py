"""One writer process of test_team_store's concurrency tests, in a module light enough to
spawn: a spawned child imports the module of its target, and test_team_store's imports
(moto's server, boto3, the whole API) cost 1.4 s a process, paid by every one of 8."""

from __future__ import annotations

import os

from provenance.store.backends import open_team


def appender(db_url: str, objects: str, env: dict[str, str], worker: int, count: int,
             ready: object, grouped: bool) -> None:
    """One writer process: ``count`` appends, each of 1 to 4 records if ``grouped``."""
    os.environ.update(env)
    store, ledger = open_team(db_url, objects, write=True)
    ready.wait()  # type: ignore[attr-defined]
    try:
        for n in range(count):
            if grouped:
                ledger.append_many([("note", {"worker": worker, "n": n, "i": i},
                                     f"w{worker}") for i in range(1 + n % 4)])
            else:
                ledger.append("note", {"worker": worker, "n": n}, subject=f"w{worker}")
    finally:
        ledger.close()
        store.close()
