"""Article text on a second set of real pages no rule of ours was tuned on.

Zyte's article extraction benchmark (repository scrapinghub/article-extraction-benchmark,
MIT licence: 181 real article pages, ``html/*.html.gz``, and each page's article body as
people marked it, ``ground-truth.json``) scores an extractor by the word 4-grams its text
shares with the marked body: precision (how much of the text is article), recall (how much
of the article is in the text) and F1, each page weighing the same. The metric is
re-implemented here as that repository's ``evaluate.py`` defines it.

:mod:`benchmarks.text` measures on trafilatura's set, where our rules were tuned (on half
of it); this set is the check that they hold elsewhere. It is not vendored: point
``PROVENANCE_AEB`` at a checkout of that repository (or put one at
``../shared/realworld/article-extraction-benchmark``); without it this benchmark prints
nothing. Ours and trafilatura (its defaults) run on the same bytes in the same run.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from archive.text import extract_text  # noqa: E402
from benchmarks.common import row  # noqa: E402
from benchmarks.text import trafilatura_text  # noqa: E402

_TOKEN = re.compile(r"\w+", re.UNICODE)
NGRAM = 4


def _find_set() -> Path | None:
    named = os.environ.get("PROVENANCE_AEB")
    candidates = [Path(named)] if named else []
    candidates += [base / "shared" / "realworld" / "article-extraction-benchmark"
                   for base in ROOT.parents]
    return next((c for c in candidates if (c / "ground-truth.json").exists()), None)


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + NGRAM]) for i in range(max(1, len(tokens) - NGRAM + 1))
                   if tokens[i:i + NGRAM])


def _tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """Shared, extra and missing 4-grams of one page, as shares of their sum."""
    want, got = _shingles(true), _shingles(pred)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def scores(truth: dict[str, str], texts: dict[str, str]) -> dict[str, float]:
    counts = [_tp_fp_fn(truth[key], texts.get(key, "")) for key in truth]
    precision = statistics.mean(_precision(*c) for c in counts if c[0] + c[1] > 0)
    recall = statistics.mean(_recall(*c) for c in counts if c[0] + c[2] > 0)
    return {"precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall)}


def run(quick: bool = False) -> list[dict[str, Any]]:
    found = _find_set()
    if found is None:
        return []
    with open(found / "ground-truth.json", encoding="utf-8") as handle:
        truth_data: dict[str, dict[str, Any]] = json.load(handle)
    keys = sorted(truth_data)[::5] if quick else sorted(truth_data)
    truth = {k: str(truth_data[k].get("articleBody") or "") for k in keys}
    ours: dict[str, str] = {}
    theirs: dict[str, str] = {}
    for key in keys:
        body = gzip.decompress((found / "html" / f"{key}.html.gz").read_bytes())
        url = str(truth_data[key].get("url") or "http://example.org/")
        ours[key] = extract_text(body, "text/html", url).text
        theirs[key] = trafilatura_text(body, url)
    mine, base = scores(truth, ours), scores(truth, theirs)
    n = f"{len(keys)} pages, held out"
    return [row(f"text: article {m} ({n})", round(mine[m] * 100, 2), round(base[m] * 100, 2),
                "%", ">= trafilatura", higher_is_better=True, ok=mine[m] >= base[m])
            for m in ("f1", "precision", "recall")]


if __name__ == "__main__":
    for line in run():
        print(line)
