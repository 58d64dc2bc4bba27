"""Screenshot verification over the evaluation set: ours vs bare Tesseract + substring.

Ours: what ``verify --text`` does for every image: ``ocr_many`` (preprocessing, languages
from the claim's letters, one process per core) then ``verify_text``. Baseline: what one
would write without this tool, one ``tesseract IMAGE stdout -l rus+ukr+eng`` subprocess per
image, then "the claim is a substring of the text (whitespace and case normalised)". The
baseline can only say match or absent, so a forged or swapped screenshot counts as correct
for it only if it is called mismatch, which it never is: that is the point of comparing
figures and words.

Both are measured in the same run on the same images. Goals: more accurate; at most 0.6x
the time of the baseline run one image at a time in its default environment (ratio >=
1.67); and at most 0.7x the time of the strongest plain baseline, Tesseract with
``OMP_THREAD_LIMIT=1`` run one process per core (ratio >= 1.43, issue 12).

``python -m benchmarks.ocr_verify [--quick]`` prints the rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.common import row
from provenance.screens.match import verify_text
from provenance.screens.ocr import claim_lang, ocr_many

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tests"))
from evalset import Sample, generate  # noqa: E402

QUICK_VARIANTS = ("clean", "dark", "columns")
REPEATS = 2


def _naive(path: str, claim: str, env: dict[str, str] | None) -> str:
    done = subprocess.run(["tesseract", path, "stdout", "-l", "rus+ukr+eng"],
                          capture_output=True, text=True, env=env, check=False)
    text = " ".join(done.stdout.split()).lower()
    return "match" if " ".join(claim.split()).lower() in text else "absent"


def _baseline(samples: list[Sample], env: dict[str, str] | None,
              jobs: int = 1) -> tuple[float, list[str]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # threads only wait on processes
        verdicts = list(pool.map(lambda s: _naive(s.path, s.claim, env), samples))
    return time.perf_counter() - start, verdicts


def _ours(samples: list[Sample]) -> tuple[float, list[str]]:
    """Each screenshot is verified as soon as its reading arrives (in order), while the
    pool reads the next ones."""
    start = time.perf_counter()
    readings = ocr_many([s.path for s in samples], jobs=os.cpu_count(),
                        langs=[claim_lang(s.claim) for s in samples])
    verdicts = []
    for s, (_, result) in zip(samples, readings, strict=True):
        verdicts.append(verify_text(result, s.claim).verdict
                        if not isinstance(result, Exception) else "error")
    return time.perf_counter() - start, verdicts


def _accuracy(samples: list[Sample], verdicts: list[str]) -> float:
    return sum(v == s.expected for s, v in zip(samples, verdicts, strict=True)) / len(samples)


def run(quick: bool = False) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        samples = generate(folder, full=not quick)
        if quick:
            samples = [s for s in samples if s.variant in QUICK_VARIANTS]
        # Ours and the per-core baseline alternate, REPEATS times each, and the fastest run
        # of each counts (as benchmarks.common.best_of): on a shared machine the load
        # drifts over minutes, and the least disturbed run is the one to compare.
        single_env = dict(os.environ, OMP_THREAD_LIMIT="1")
        ours_times, per_core_times = [], []
        for _ in range(REPEATS):
            per_core_times.append(_baseline(samples, single_env, jobs=os.cpu_count() or 1)[0])
            took, ours = _ours(samples)
            ours_times.append(took)
        ours_time, per_core_time = min(ours_times), min(per_core_times)
        base_time, base = _baseline(samples, None)
    n = len(samples)

    def false_matches(verdicts: list[str], kind: str) -> int:
        return sum(1 for s, v in zip(samples, verdicts, strict=True)
                   if s.kind == kind and v == "match")

    time_row = row(f"verify {n} screenshots (wall time)", ours_time, base_time, "s",
                   "ratio >= 1.67")
    time_row["ok"] = time_row["ratio"] >= 1.67
    per_core_row = row(f"verify {n} vs OMP_THREAD_LIMIT=1 tesseract per core", ours_time,
                       per_core_time, "s", "ratio >= 1.43")
    per_core_row["ok"] = per_core_row["ratio"] >= 1 / 0.7
    ours_acc, base_acc = _accuracy(samples, ours), _accuracy(samples, base)
    acc_row = row(f"verdict accuracy on {n} screenshots", ours_acc, base_acc, "frac",
                  "ours > baseline", higher_is_better=True, ok=ours_acc > base_acc)
    rows = [time_row, per_core_row, acc_row]
    for kind in ("forged", "swapped"):
        ours_false = false_matches(ours, kind)
        rows.append(row(f"{kind} screenshots called match", ours_false,
                        false_matches(base, kind), "count", "ours == 0", ok=ours_false == 0))
    genuine = sum(1 for s in samples if s.kind == "genuine")
    ours_genuine = sum(1 for s, v in zip(samples, ours, strict=True)
                       if s.kind == "genuine" and v == "match")
    rows.append(row("genuine screenshots called match", ours_genuine, genuine, "count",
                    "all", higher_is_better=True, ok=ours_genuine == genuine))
    return rows

if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
