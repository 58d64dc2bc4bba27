"""``check`` holds no more memory for a long ledger than for a short one: it streams rows.

Not a timed test: it compares peak memory (``ru_maxrss``) of ``check`` on 20,000 and on
200,000 records, each in a fresh process, and allows a small constant. Before streaming,
the longer ledger cost some 600 MB more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, resource, sys
from provenance.check import check_store
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger
store = Store(sys.argv[1], create=False, writable=False)
with Ledger(store, writable=False) as ledger:
    report = check_store(store, ledger)
print(json.dumps({"records": report.records, "files": report.files, "intact": report.intact,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _build(folder: Path, records: int) -> None:
    """Valid chained capture records, each naming one of a few stored files."""
    store = Store(folder)
    files = [store.put_bytes(f"text {i}".encode(), role="text", suffix=".txt").to_json()
             for i in range(50)]
    with Ledger(store) as ledger:
        for start in range(0, records, 50_000):
            ledger.append_many(
                ("capture", {"url": f"http://127.0.0.1/{i}", "files": [files[i % 50]]},
                 f"http://127.0.0.1/{i}")
                for i in range(start, min(start + 50_000, records)))


def _check(folder: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(folder)], capture_output=True,
                          text=True, env=env, timeout=600, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_check_memory_does_not_grow_with_the_ledger(tmp_path):
    _build(tmp_path / "small", 20_000)
    _build(tmp_path / "large", 200_000)
    small, large = _check(tmp_path / "small"), _check(tmp_path / "large")
    assert (small["records"], large["records"]) == (20_000, 200_000)
    assert small["intact"] and large["intact"] and large["files"] == 50
    assert large["peak_mb"] - small["peak_mb"] < 20, (small, large)
