"""Screenshot verification over the evaluation set: ours vs bare Tesseract + substring.

Ours: ``ocr_many`` (preprocessing, language choice, one process per core) then
``verify_text`` for every image. Baseline: what one would write without this tool, one
``tesseract IMAGE stdout -l rus+ukr+eng`` subprocess per image in its default environment,
then "the claim is a substring of the text (whitespace and case normalised)". The baseline
can only say match or absent, so a forged screenshot counts as correct for it only if it is
called mismatch, which it never is: that is the point of comparing figures.

Both are measured in the same run on the same images. Goals (issue 4): more accurate, and
at most 0.6x the baseline's wall time on a 2-core machine (ratio = baseline/ours >= 1.67).
A second baseline row runs Tesseract with ``OMP_THREAD_LIMIT=1`` (sequential): it shows how
much of the gain is only Tesseract's OpenMP threads fighting on two cores.

``python -m benchmarks.ocr_verify [--quick]`` prints the rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks.common import row
from provenance.screens.match import verify_text
from provenance.screens.ocr import ocr_many

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tests"))
from evalset import Sample, generate  # noqa: E402

QUICK_VARIANTS = ("clean", "dark", "columns")


def _naive(path: str, claim: str, env: dict[str, str] | None) -> str:
    done = subprocess.run(["tesseract", path, "stdout", "-l", "rus+ukr+eng"],
                          capture_output=True, text=True, env=env, check=False)
    text = " ".join(done.stdout.split()).lower()
    return "match" if " ".join(claim.split()).lower() in text else "absent"


def _baseline(samples: list[Sample], env: dict[str, str] | None) -> tuple[float, list[str]]:
    start = time.perf_counter()
    verdicts = [_naive(s.path, s.claim, env) for s in samples]
    return time.perf_counter() - start, verdicts


def _ours(samples: list[Sample]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    results = dict(ocr_many([s.path for s in samples], "auto", jobs=2))
    verdicts = []
    for s in samples:
        result = results[s.path]
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
        ours_time, ours = _ours(samples)
        base_time, base = _baseline(samples, None)
        single_env = dict(os.environ, OMP_THREAD_LIMIT="1")
        single_time, _ = _baseline(samples, single_env)
    n = len(samples)
    forged_match = sum(1 for s, v in zip(samples, ours, strict=True)
                       if s.kind == "forged" and v == "match")
    base_forged_match = sum(1 for s, v in zip(samples, base, strict=True)
                            if s.kind == "forged" and v == "match")
    time_row = row(f"verify {n} screenshots (wall time)", ours_time, base_time, "s",
                   "ratio >= 1.67")
    time_row["ok"] = time_row["ratio"] >= 1.67
    single_row = row(f"verify {n} screenshots vs OMP_THREAD_LIMIT=1 tesseract", ours_time,
                     single_time, "s", "ratio >= 1.0")
    single_row["ok"] = single_row["ratio"] >= 1.0
    ours_acc, base_acc = _accuracy(samples, ours), _accuracy(samples, base)
    acc_row = row(f"verdict accuracy on {n} screenshots", ours_acc, base_acc, "frac",
                  "ours > baseline", higher_is_better=True, ok=ours_acc > base_acc)
    forged_row = row("forged screenshots called match", forged_match, base_forged_match,
                     "count", "ours == 0", ok=forged_match == 0)
    return [time_row, single_row, acc_row, forged_row]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
