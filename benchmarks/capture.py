"""Capturing loopback pages: ours (``archive -i``, text extraction, ledger, WARC) vs
``wget --warc-file -i`` of the same list, measured in one run on the same machine.

Goals (issue 16): 2,000 pages with ``--jobs 8`` in at most 3x wget's time (ratio >= 0.33);
with a server that answers after 100 ms (as a real one does), ``--jobs 32`` reaches at
least 8x wget's pages per second (wget fetches one page at a time). Both write gzipped
WARCs of every request and response; ours also extracts the text and appends a
hash-chained ledger record per page. ``--quick`` uses 200 and 60 pages.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import row
from benchmarks.pages import serve_pages


def _ours(folder: str, listing: Path, jobs: int) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "provenance", "--store", f"{folder}/store", "-q", "archive",
         "-i", str(listing), "--jobs", str(jobs), "--to", "none", "--tsa", "none"],
        capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"provenance archive failed: {done.stderr[-500:]}")
    return seconds


def _wget(wget: str, folder: str, listing: Path) -> float:
    start = time.perf_counter()
    subprocess.run([wget, "-q", "--warc-file", f"{folder}/wget", "--no-warc-keep-log",
                    "-P", f"{folder}/wget-files", "-i", str(listing)],
                   capture_output=True, check=False)
    return time.perf_counter() - start


def _both(wget: str, count: int, jobs: int, delay: float) -> tuple[float, float]:
    with serve_pages(delay) as base, tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "urls.txt"
        listing.write_text("".join(f"{base}/page/{i}\n" for i in range(count)))
        return _ours(folder, listing, jobs), _wget(wget, folder, listing)


def run(quick: bool = False) -> list[dict[str, Any]]:
    count, slow_count = (200, 60) if quick else (2000, 300)
    wget = shutil.which("wget")
    if wget is None:
        return [row(f"capture {count} pages, --jobs 8", 0.0, float("nan"), "s",
                    "ratio >= 0.33", ok=None, note="wget not installed")]
    ours, baseline = _both(wget, count, 8, 0.0)
    rows = [row(f"capture {count} pages, --jobs 8 vs wget --warc-file", ours, baseline, "s",
                "ratio >= 0.33", ok=baseline / ours >= 1 / 3,
                ms_per_page=round(ours / count * 1000, 2))]
    ours, baseline = _both(wget, slow_count, 32, 0.1)
    rows.append(row(f"capture {slow_count} pages at 100 ms, --jobs 32, pages/s vs wget",
                    slow_count / ours, slow_count / baseline, "p/s", "ratio >= 8",
                    higher_is_better=True, ok=baseline / ours >= 8))
    return rows


if __name__ == "__main__":
    for line in run():
        print(line)
