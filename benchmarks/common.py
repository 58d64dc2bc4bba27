"""Shared helpers: timing, rows in the one shape every benchmark prints."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_of(repeats: int, work: Callable[[], Any]) -> float:
    """The fastest of ``repeats`` runs: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
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
