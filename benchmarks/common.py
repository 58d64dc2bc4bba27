"""Shared helpers: timing, rows in the one shape every benchmark prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

PEAK_MB = ("float(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024")
"""A child's own peak memory in MB, as an expression for its code: Linux's ``ru_maxrss``
keeps the parent's peak across ``exec``, so it would count the benchmark's own memory."""


def in_fresh_process(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` (Python that prints one JSON object last) in a new interpreter with this
    one's import path: every measurement starts cold, its memory its own."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", code, *args], check=True,
                          capture_output=True, text=True, env=env, timeout=3600)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best_of(repeats: int, work: Callable[[], Any], *,
            clock: Callable[[], float] = time.perf_counter) -> float:
    """The fastest of ``repeats`` runs: the least disturbed by other work on the machine
    (in seconds of ``clock``: wall time, or ``time.process_time`` for this process's CPU)."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        work()
        best = min(best, clock() - start)
    return best


def row(name: str, ours: float, baseline: float, unit: str, goal: str, *,
        higher_is_better: bool = False, ok: bool | None = None,
        **extra: Any) -> dict[str, Any]:
    """``ratio`` is always 'how many times the baseline's speed we reach' for times
    (baseline / ours), or ours / baseline for counts where higher is better."""
    if higher_is_better:
        ratio = ours / baseline if baseline else float("inf")
    else:
        ratio = baseline / ours if ours else float("inf")
    result = {"name": name, "ours": round(ours, 4), "baseline": round(baseline, 4),
              "unit": unit, "ratio": round(ratio, 3), "goal": goal, "ok": ok}
    result.update(extra)
    return result
