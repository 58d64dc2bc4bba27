"""``archive --browser`` on 50 loopback pages: pages per minute and peak memory, vs plain
``chromium --headless --screenshot`` (one process per page) measured in the same run.

Ours does much more per page (the server fetch and its WARC, a recording proxy and a second
WARC, scrolling for lazy content, waiting for the network to go quiet, the full page, the
DOM and its text, a ledger record); the baseline only loads the page and writes a
first-screen PNG. Goal: at least half the baseline's rate, and memory that stays bounded:
the peak is the proportional set size (PSS) of the whole process tree (Python, Playwright's
driver, every Chromium process), sampled from /proc, and a 100-page run must not need much
more than a 50-page one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from archive.browser.chromium import BASE_FLAGS, chromium_binary
from benchmarks.common import row
from benchmarks.pages import serve_pages

JOBS = 2


def _tree_memory(root: int) -> int:
    """Proportional set size (PSS: shared pages split among their sharers, so Chromium's
    processes are not counted many times over) of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss(pid)
        stack.extend(children.get(pid, []))
    return total


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _measured(args: list[str]) -> tuple[float, int, subprocess.CompletedProcess[bytes]]:
    """Wall time and peak tree memory of one command."""
    peak = 0
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_memory(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - start
    return elapsed, peak, subprocess.CompletedProcess(args, process.returncode, b"", err)


def _ours(urls: list[str], folder: Path) -> tuple[float, int]:
    listing = folder / f"urls-{len(urls)}.txt"
    listing.write_text("\n".join(urls) + "\n")
    elapsed, peak, done = _measured(
        [sys.executable, "-m", "provenance", "--store", str(folder / f"store-{len(urls)}"),
         "-q", "archive", "-i", str(listing), "--jobs", str(JOBS), "--to", "none",
         "--tsa", "none", "--browser"])
    if done.returncode != 0:
        raise RuntimeError(f"provenance archive --browser failed: {done.stderr[-500:]!r}")
    return elapsed, peak


def _baseline(urls: list[str], folder: Path) -> tuple[float, int]:
    binary = chromium_binary()
    total, peak = 0.0, 0
    for n, url in enumerate(urls):
        profile = tempfile.mkdtemp(dir=folder)
        elapsed, used, _ = _measured(
            [binary, "--headless", f"--user-data-dir={profile}", *BASE_FLAGS,
             f"--screenshot={folder / f'shot-{n}.png'}", "--window-size=1280,900", url])
        total += elapsed
        peak = max(peak, used)
    return total, peak


def run(quick: bool = False) -> list[dict[str, Any]]:
    with serve_pages() as base, tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        urls = [f"{base}/page/{i}" for i in range(50)]
        ours, ours_peak = _ours(urls, folder)
        baseline, baseline_peak = _baseline(urls, folder)
        rows = [
            row(f"--browser on 50 pages (--jobs {JOBS}) vs chromium --screenshot per page",
                len(urls) / ours * 60, len(urls) / baseline * 60, "pages/min",
                "ratio >= 0.5", higher_is_better=True),
            row("--browser peak memory (PSS), 50 pages, whole tree", ours_peak / 2**20,
                baseline_peak / 2**20, "MiB", "bounded", ok=None),
        ]
        rows[0]["ok"] = rows[0]["ratio"] >= 0.5
        if not quick:
            more = [f"{base}/page/{i}" for i in range(50, 150)]
            _, peak_100 = _ours(more, folder)
            rows.append(row("--browser peak memory (PSS), 100 pages, whole tree",
                            peak_100 / 2**20, ours_peak / 2**20, "MiB",
                            "<= 1.5x 50 pages", ok=peak_100 <= ours_peak * 1.5))
    return rows


if __name__ == "__main__":
    for line in run():
        print(line)
