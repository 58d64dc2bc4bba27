"""Diffing long article pairs: our passage diff against plain ``difflib.unified_diff``.

Three rows on the same synthetic article pairs (hundreds of Russian paragraphs, each later
version with a clock, an ad, figures re-typeset and a few real edits):

* wall time of :func:`provenance.changes.diff.diff_texts` vs ``unified_diff``. Ours reads every
  figure of every paragraph (:mod:`provenance.screens.figures`), which ``unified_diff`` does not, so
  it is tens of times slower; the goal is absolute: under 0.15 s per 1,000 paragraphs, far
  below what one capture costs (a watch round diffs one article per URL);
* noise: lines reported for a pair whose only differences are clocks, ads, dates and how
  figures are written (goal: 0; ``unified_diff`` reports every one of them);
* planted edits found (goal: all of them, each figure change with its old and new value).
"""

from __future__ import annotations

import difflib
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from benchmarks.common import best_of, row  # noqa: E402

WORDS = ("министерство обороны сообщило данные потери военнослужащих операции ведомство "
         "уточняются раненые погибшие источник заявил журналистам регион фронт сутки "
         "подразделения командование сведения официально").split()


def _paragraph(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(18, 40))]
    words.insert(rng.randint(0, len(words)), f"{rng.randint(1, 99)} {rng.randint(100, 999)}")
    return f"{n}. " + " ".join(words).capitalize() + "."


def article_pair(paragraphs: int, edits: int, seed: int) -> tuple[str, str, list[str], list[str]]:
    """(old, new, passages really edited, their new versions); the rest is volatile noise."""
    rng = random.Random(seed)
    body = [_paragraph(rng, n) for n in range(paragraphs)]
    old_lines, new_lines = [], []
    for n, text in enumerate(body):
        old_lines.append(text)
        new_lines.append(text.replace(" ", "\u00a0", 0))
        if n % 25 == 0:
            old_lines += [f"Обновлено {n % 24:02d}:{n % 60:02d}", f"Реклама. Предложение {n}"]
            new_lines += [f"Обновлено {(n + 7) % 24:02d}:{n % 60:02d}",
                          f"Реклама. Другое предложение {n * 3}"]
    for n in range(len(new_lines)):  # re-typeset figures: "12 345" -> "12,345" (same value)
        new_lines[n] = _regroup(new_lines[n])
    edited_old, edited_new = [], []
    for n in rng.sample(range(len(body)), edits):
        i = new_lines.index(_regroup(body[n]))
        edited_old.append(body[n])
        new_lines[i] = new_lines[i].replace("потери", "сведения о потерях", 1) + " 9 881"
        edited_new.append(new_lines[i])
    return "\n".join(old_lines), "\n".join(new_lines), edited_old, edited_new


def _regroup(text: str) -> str:
    import re

    return re.sub(r"(\d{1,2}) (\d{3})", r"\1,\2", text)


def run(quick: bool) -> list[dict]:
    from provenance.changes.diff import _figures, diff_texts

    def ours() -> None:
        _figures.cache_clear()  # every run reads every figure afresh: no cached advantage
        diff_texts(old, new)

    paragraphs, repeats = (300, 3) if quick else (2000, 5)
    budget = round(paragraphs / 1000 * 0.15, 3)  # 0.15 s per 1,000 paragraphs with figures
    old, new, edited_old, edited_new = article_pair(paragraphs, edits=5, seed=2022)

    def baseline() -> list[str]:
        return list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm=""))

    ours_time = best_of(repeats, ours)
    base_time = best_of(repeats, baseline)

    noise_old, noise_new, _, _ = article_pair(paragraphs, edits=0, seed=7)
    ours_noise = diff_texts(noise_old, noise_new)
    ours_noise_lines = len(ours_noise.removed) + len(ours_noise.added)
    base_noise_lines = sum(1 for line in difflib.unified_diff(
        noise_old.splitlines(), noise_new.splitlines(), lineterm="")
        if line[:1] in "+-" and line[:3] not in ("+++", "---"))

    changes = diff_texts(old, new)
    found = sum(1 for p in edited_old if p in changes.removed)
    found_new = sum(1 for p in edited_new if p in changes.added)
    figure_changes = sum(1 for f in changes.figures if f.new == "9881")
    return [
        row(f"changes: diff {paragraphs}-paragraph article pair", ours_time, base_time, "s",
            f"< {budget} s", ok=ours_time < budget),
        row("changes: lines reported for clock/ad/typesetting only", ours_noise_lines,
            base_noise_lines, "lines", "0", ok=ours_noise_lines == 0),
        {"name": "changes: planted edits found (old, new, figure)",
         "ours": min(found, found_new, figure_changes), "baseline": len(edited_old),
         "unit": "edits", "ratio": round(min(found, found_new, figure_changes)
                                         / len(edited_old), 3),
         "goal": "all", "ok": found == found_new == figure_changes == len(edited_old)},
    ]


if __name__ == "__main__":
    import json

    for result in run(quick="--quick" in sys.argv):
        print(json.dumps(result, ensure_ascii=False))
