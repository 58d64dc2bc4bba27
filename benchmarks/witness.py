"""Witness overhead: 100 loopback pages (``--quick``: 20) archived with ``--jobs 4`` and
``--to pywb=BASE`` (a real local pywb in record mode, the one the tests start) against the
same captures with ``--to none``, both measured in this run. The ratio is the witness's
cost: with-witness time over capture-only time. Informational: never fails on noise.

A second row counts the captures whose pywb copy was confirmed and agrees (same SHA-256).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.pages import serve_pages

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def _archive(store: Path, listing: Path, to: str) -> tuple[float, list[dict[str, Any]]]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PROVENANCE_TO", "PROVENANCE_TSA", "PROVENANCE_STORE")}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "provenance", "--store", str(store), "--json", "-q", "archive",
         "-i", str(listing), "--jobs", "4", "--to", to, "--tsa", "none"],
        capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"provenance archive --to {to} failed: {done.stderr[-500:]}")
    return elapsed, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def run(quick: bool = False) -> list[dict[str, Any]]:
    count = 20 if quick else 100
    name = f"archive {count} pages --jobs 4: --to pywb vs --to none"
    if importlib.util.find_spec("pywb") is None:
        return [{"name": name, "ours": float("nan"), "baseline": float("nan"), "unit": "s",
                 "ratio": float("nan"), "goal": "informational", "ok": None,
                 "note": "pywb not installed (pip install -e '.[dev]')"}]
    from pywbserver import PywbServer

    with tempfile.TemporaryDirectory() as folder, serve_pages() as base, \
            PywbServer(Path(folder) / "pywb") as pywb:
        urls = [f"{base}/page/{i}" for i in range(count)]
        listing = Path(folder) / "urls.txt"
        listing.write_text("\n".join(urls) + "\n")
        baseline, _ = _archive(Path(folder) / "plain", listing, "none")
        ours, items = _archive(Path(folder) / "witnessed", listing, f"pywb={pywb.base}")
    agreeing = sum(1 for item in items for w in item.get("witnesses", [])
                   if w.get("status") == "archived" and w.get("agrees") is True)
    return [
        {"name": name, "ours": round(ours, 3), "baseline": round(baseline, 3), "unit": "s",
         "ratio": round(ours / baseline, 3) if baseline else float("inf"),
         "goal": "informational", "ok": None},
        {"name": f"pywb copies confirmed and agreeing, of {count}", "ours": agreeing,
         "baseline": count, "unit": "pages", "ratio": round(agreeing / count, 3),
         "goal": count, "ok": agreeing == count},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
