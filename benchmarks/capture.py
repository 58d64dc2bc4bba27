"""Capturing 200 loopback pages with ``--jobs 8``: ours vs ``wget --warc-file`` in one run.

Goal: ours at least as fast (ratio >= 1). Both write gzipped WARCs of every request and
response; ours also extracts text and appends a hash-chained ledger record per page.
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


def run(quick: bool = False) -> list[dict[str, Any]]:
    count = 50 if quick else 200
    if shutil.which("wget") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wget"], check=False,
                       capture_output=True)
    wget = shutil.which("wget")
    with serve_pages() as base, tempfile.TemporaryDirectory() as folder:
        urls = [f"{base}/page/{i}" for i in range(count)]
        listing = Path(folder) / "urls.txt"
        listing.write_text("\n".join(urls) + "\n")
        start = time.perf_counter()
        ours_run = subprocess.run(
            [sys.executable, "-m", "provenance", "--store", f"{folder}/store", "-q", "archive",
             "-i", str(listing), "--jobs", "8", "--to", "none", "--tsa", "none"],
            capture_output=True, text=True)
        ours = time.perf_counter() - start
        if ours_run.returncode != 0:
            raise RuntimeError(f"provenance archive failed: {ours_run.stderr[-500:]}")
        if wget is None:
            return [row(f"capture {count} pages, --jobs 8", ours, float("nan"), "s",
                        "ratio >= 1", ok=None, note="wget not installed")]
        start = time.perf_counter()
        subprocess.run([wget, "-q", "--warc-file", f"{folder}/wget", "--no-warc-keep-log",
                        "-P", f"{folder}/wget-files", "-i", str(listing)],
                       capture_output=True, check=False)
        baseline = time.perf_counter() - start
    result = row(f"capture {count} pages, --jobs 8 vs wget --warc-file", ours, baseline, "s",
                 "ratio >= 1")
    result["ok"] = result["ratio"] >= 1.0
    return [result]


if __name__ == "__main__":
    for line in run():
        print(line)
