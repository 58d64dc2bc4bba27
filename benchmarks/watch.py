"""A long ``watch --jobs`` over 1,000 loopback URLs: time per round and peak memory,
against ``archive -i`` of the same list measured in the same run.

Goals: memory stays flat over a long watch (peak RSS of 20 rounds at most 1.5x that of
``archive -i`` of the list once, and at most 1.2x that of a 2-round watch), and a watched
capture costs about what an archived one does (CPU seconds per capture; ratio >= 0.5: a
watch also compares each capture with the one before). Each command runs in a process of
its own, whose peak resident memory and CPU time the kernel reports (``getrusage`` of the
waited child).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import row
from benchmarks.pages import serve_pages

_MEASURE = ("import resource, subprocess, sys\n"
            "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.PIPE, text=True)\n"
            "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(use.ru_maxrss, use.ru_utime + use.ru_stime, done.returncode)\n"
            "sys.stderr.write(done.stderr[-2000:])\n")


def measured(argv: list[str]) -> tuple[float, float, str]:
    """CPU seconds, peak RSS in MB, stderr of ``argv`` run in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True,
                          text=True, env={**os.environ, "PROVENANCE_TO": "none",
                                          "PROVENANCE_TSA": "none"})
    rss_kb, cpu, code = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{argv[3:6]} failed: {done.stderr[-500:]}")
    return float(cpu), int(rss_kb) / 1024, done.stderr


def run(quick: bool = False) -> list[dict[str, Any]]:
    count, rounds, jobs = (200, 4, 8) if quick else (1000, 20, 8)
    with serve_pages() as base, tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "urls.txt"
        listing.write_text("".join(f"{base}/page/{i}\n" for i in range(count)))
        cli = [sys.executable, "-m", "provenance", "-q"]
        start = time.perf_counter()
        archive_cpu, archive_mb, _ = measured(
            [*cli, "--store", f"{folder}/a", "archive", "-i", str(listing), "--jobs", str(jobs)])
        archive_s = time.perf_counter() - start
        # --every a little longer than a whole round takes (an overrun would skip URLs: it
        # is said on stderr and counted below).
        every = archive_s * 1.5
        watch_cpu, watch_mb, err = measured(
            [*cli, "--store", f"{folder}/w", "watch", "-i", str(listing), "--jobs", str(jobs),
             "--every", f"{every:.2f}s", "--for", f"{every * (rounds - 0.5):.2f}s"])
        overruns = err.count("overran")
        _, short_mb, _ = measured(
            [*cli, "--store", f"{folder}/s", "watch", "-i", str(listing), "--jobs", str(jobs),
             "--every", f"{every:.2f}s", "--for", f"{every * 1.5:.2f}s"])
    captures = count * rounds - overruns  # an overrun skips at least one URL
    memory = row(f"watch {count} URLs x {rounds} rounds --jobs {jobs}: peak RSS vs archive -i "
                 "once", watch_mb, archive_mb, "MB", "ours <= 1.5x baseline (flat memory)",
                 overruns=overruns)
    memory["ok"] = watch_mb <= 1.5 * archive_mb
    flat = row(f"watch {count} URLs --jobs {jobs}: peak RSS of {rounds} rounds vs 2 rounds",
               watch_mb, short_mb, "MB", "ours <= 1.2x baseline (no growth per round)")
    flat["ok"] = watch_mb <= 1.2 * short_mb
    speed = row(f"watch {count} URLs --jobs {jobs}: CPU per capture vs archive -i",
                watch_cpu / captures * 1000, archive_cpu / count * 1000, "ms",
                "ratio >= 0.5 (a watched capture costs about an archived one)")
    speed["ok"] = speed["ratio"] >= 0.5
    return [memory, flat, speed]
