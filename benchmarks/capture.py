"""Capturing loopback pages: ours (``archive -i``, text extraction, ledger, WARC) vs
``wget --warc-file -i`` of the same list, measured in one run on the same machine.

Goals (issue 16): 2,000 pages with ``--jobs 8`` in at most 3x wget's time (ratio >= 0.33);
with a server that answers after 100 ms (as a real one does), ``--jobs 32`` reaches at
least 8x wget's pages per second (wget fetches one page at a time). Both write gzipped
WARCs of every request and response; ours also extracts the text and appends a
hash-chained ledger record per page. ``--quick`` uses 200 and 60 pages.

Each row also gives the CPU time per page of both (user + system, of the command and its
worker processes, not of the loopback server): on a machine other work is loading, wall
times swing and CPU per page says what the capture itself costs. ``command_cpu_ms_per_page``
is the part of ours spent in the command's own process (the rest is its workers'): that one
process's GIL was the bottleneck before pages were captured in worker processes.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import row
from benchmarks.pages import serve_pages

# ``python -m provenance ARGS`` that also writes the CPU seconds of its own process (not of
# its workers) to the file named first.
_OURS = """
import resource, sys
from provenance.cli.main import main
try:
    code = main(sys.argv[2:])
finally:
    used = resource.getrusage(resource.RUSAGE_SELF)
    with open(sys.argv[1], "w") as out:
        out.write(repr(used.ru_utime + used.ru_stime))
sys.exit(code)
"""


class Timed:
    """Wall seconds and CPU seconds (of the child processes run meanwhile)."""

    def __init__(self) -> None:
        self.wall = self.cpu = self.own = 0.0

    def __enter__(self) -> Timed:
        self._start, self._cpu = time.perf_counter(), _children_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._start
        self.cpu = _children_cpu() - self._cpu


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _ours(folder: str, listing: Path, jobs: int) -> Timed:
    own = Path(folder) / "own-cpu"
    with Timed() as timed:
        done = subprocess.run(
            [sys.executable, "-c", _OURS, str(own), "--store", f"{folder}/store", "-q",
             "archive", "-i", str(listing), "--jobs", str(jobs), "--to", "none",
             "--tsa", "none"],
            capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"provenance archive failed: {done.stderr[-500:]}")
    timed.own = float(own.read_text())
    return timed


def _wget(wget: str, folder: str, listing: Path) -> Timed:
    with Timed() as timed:
        subprocess.run([wget, "-q", "--warc-file", f"{folder}/wget", "--no-warc-keep-log",
                        "-P", f"{folder}/wget-files", "-i", str(listing)],
                       capture_output=True, check=False)
    return timed


def _both(wget: str, count: int, jobs: int, delay: float) -> tuple[Timed, Timed]:
    with serve_pages(delay) as base, tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "urls.txt"
        listing.write_text("".join(f"{base}/page/{i}\n" for i in range(count)))
        return _ours(folder, listing, jobs), _wget(wget, folder, listing)


def _ms(seconds: float, count: int) -> float:
    return round(seconds / count * 1000, 2)


def run(quick: bool = False) -> list[dict[str, Any]]:
    count, slow_count = (200, 60) if quick else (2000, 300)
    wget = shutil.which("wget")
    if wget is None:
        return [row(f"capture {count} pages, --jobs 8", 0.0, float("nan"), "s",
                    "ratio >= 0.33", ok=None, note="wget not installed")]
    ours, baseline = _both(wget, count, 8, 0.0)
    rows = [row(f"capture {count} pages, --jobs 8 vs wget --warc-file", ours.wall,
                baseline.wall, "s", "ratio >= 0.33", ok=baseline.wall / ours.wall >= 1 / 3,
                ms_per_page=_ms(ours.wall, count), cpu_ms_per_page=_ms(ours.cpu, count),
                command_cpu_ms_per_page=_ms(ours.own, count),
                wget_cpu_ms_per_page=_ms(baseline.cpu, count))]
    ours, baseline = _both(wget, slow_count, 32, 0.1)
    rows.append(row(f"capture {slow_count} pages at 100 ms, --jobs 32, pages/s vs wget",
                    slow_count / ours.wall, slow_count / baseline.wall, "p/s", "ratio >= 8",
                    higher_is_better=True, ok=baseline.wall / ours.wall >= 8,
                    cpu_ms_per_page=_ms(ours.cpu, slow_count),
                    command_cpu_ms_per_page=_ms(ours.own, slow_count),
                    wget_cpu_ms_per_page=_ms(baseline.cpu, slow_count)))
    return rows


if __name__ == "__main__":
    for line in run():
        print(line)
