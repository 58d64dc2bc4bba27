"""CPU cost of a page's text: ``archive.text.extract_text`` against plain ``trafilatura.extract``.

extract_text is the largest CPU cost of a capture: it decodes the page, bounds it, reads its
metadata, runs trafilatura and refines its text. Two rows, each with trafilatura's own
``extract`` (its defaults) on the same pages in the same run as the baseline:

* the benchmark page of :mod:`benchmarks.pages` (~10 KB), best of many runs;
* the real pages of ``benchmarks.text``'s set (990 pages, every 10th with ``--quick``), each
  page once, ours and trafilatura's timed one after the other so load on the machine hits
  both alike.

Times are CPU time of this process (``time.process_time``), not wall time: other work on the
machine then costs less. ``python3 -m benchmarks.extract_speed`` prints the rows.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import trafilatura  # noqa: E402

from archive.text import extract_text  # noqa: E402
from benchmarks.common import best_of, row  # noqa: E402
from benchmarks.pages import FILLER, PAGE  # noqa: E402
from benchmarks.text import SET, load_set  # noqa: E402

PAGE_GOAL_MS = 1.5  # the benchmark page
REAL_GOAL = 2.0  # at most this many times trafilatura's own time on real pages


def _cpu_ms(work: Callable[[], Any]) -> float:
    start = time.process_time()
    work()
    return (time.process_time() - start) * 1000


def page_row(repeats: int) -> dict[str, Any]:
    body = PAGE.format(n=5, filler=FILLER).encode("utf-8")
    url = "http://127.0.0.1/page/5"
    for _ in range(5):  # warm: imports, caches, first-call costs
        extract_text(body, "text/html; charset=utf-8", url)
        trafilatura.extract(body, url=url)
    ours = best_of(repeats, lambda: extract_text(body, "text/html; charset=utf-8", url),
                   clock=time.process_time) * 1000
    theirs = best_of(repeats, lambda: trafilatura.extract(body, url=url),
                     clock=time.process_time) * 1000
    return row("text: extract_text, benchmark page (CPU)", ours, theirs, "ms",
               f"<= {PAGE_GOAL_MS} ms", ok=ours <= PAGE_GOAL_MS)


def real_row(every: int) -> dict[str, Any] | None:
    if not SET.exists():
        return None
    pages = load_set()[::every]
    ours = theirs = 0.0
    for url, _, body in pages:
        ours += _cpu_ms(lambda: extract_text(body, "text/html", url))  # noqa: B023
        theirs += _cpu_ms(lambda: trafilatura.extract(body, url=url))  # noqa: B023
    n = len(pages)
    return row(f"text: extract_text, real pages (CPU, {n} pages)", ours / n, theirs / n,
               "ms", f"<= {REAL_GOAL:g}x trafilatura", ok=ours <= REAL_GOAL * theirs)


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows = [page_row(repeats=50 if quick else 300)]
    real = real_row(every=10 if quick else 1)
    return rows + ([real] if real else [])


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv[1:]):
        print(json.dumps(result, ensure_ascii=False))
