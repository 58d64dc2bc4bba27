"""Article text on a third set of real pages, with scripts and languages the others lack.

Mozilla's Readability (repository mozilla/readability, Apache-2.0) keeps its test pages in
``test/test-pages/<name>/``: the page (``source.html``) and the article Readability gives for
it (``expected.html``). About 130 pages: news and blogs in English, French, German, Czech,
Portuguese, Spanish, Chinese, Japanese, Arabic and Hebrew (``rtl-*``), and small pages made
to test one trap (hidden nodes, tables, lazy images, comments). Nobody tuned our rules on it.

The expected text is Readability's output, not a person's marking, so the figures say how
close we come to another good extractor, not to the truth; what they catch well is text lost
outright and text that comes out wrong (mojibake, words glued or split, characters dropped).

Scored by tokens, so that scripts written without spaces count: a token is a run of letters
and digits (with the combining accents and vowel points of Latin, Hebrew and Arabic), except
that every Han, kana, hangul or Thai character is a token of its own.
Per page, recall is the share of the expected tokens (as a multiset) found in the text and
precision the share of the text's tokens that are expected; each page weighs the same. A page
is *lost* when its expected text has at least :data:`SUBSTANTIAL` tokens and recall is under
:data:`LOST_RECALL`. The slowest page is timed too (one run, wall time).

Not vendored: point ``PROVENANCE_READABILITY`` at the ``test/test-pages`` folder (or put it
at ``../shared/realworld/readability-test-pages``); without it this benchmark prints nothing.
``python3 -m benchmarks.text_readability --pages`` lists every page's figures, worst first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from lxml import html as lxml_html  # noqa: E402

from archive.text import extract_text  # noqa: E402
from benchmarks.common import row  # noqa: E402
from benchmarks.text import trafilatura_text  # noqa: E402

SUBSTANTIAL = 50  # expected tokens from which a page's article is worth losing
LOST_RECALL = 0.2
_CJK = ("\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31f0-\u31ff"
        "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f")
_MARKS = "\u0300-\u036f\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_]|[{_MARKS}])+")


def tokens(text: str) -> Counter[str]:
    """The text's tokens, lower-cased (a CJK character is one token)."""
    return Counter(t.lower() for t in _TOKEN.findall(text or ""))


@dataclass(frozen=True)
class PageScore:
    """One page: how much of the expected text came out, and how much else did."""

    name: str
    recall: float
    precision: float
    expected: int  # tokens
    seconds: float

    @property
    def lost(self) -> bool:
        return self.expected >= SUBSTANTIAL and self.recall < LOST_RECALL


def page_score(name: str, expected: str, text: str, seconds: float) -> PageScore:
    want, got = tokens(expected), tokens(text)
    shared = sum((want & got).values())
    n_want, n_got = sum(want.values()), sum(got.values())
    recall = shared / n_want if n_want else 1.0
    precision = shared / n_got if n_got else (1.0 if not n_want else 0.0)
    return PageScore(name, recall, precision, n_want, seconds)


def _find_set() -> Path | None:
    named = os.environ.get("PROVENANCE_READABILITY")
    candidates = [Path(named)] if named else []
    candidates += [base / "shared" / "realworld" / "readability-test-pages"
                   for base in ROOT.parents]
    return next((c for c in candidates if c.is_dir() and any(c.glob("*/expected.html"))), None)


def expected_text(markup: bytes) -> str:
    """Readability's expected article as plain text (it is a UTF-8 fragment of HTML)."""
    root = lxml_html.fragment_fromstring(markup.decode("utf-8"), create_parent="div")
    return " ".join(root.itertext())


def _pages(folder: Path, quick: bool) -> list[Path]:
    pages = sorted(p for p in folder.iterdir()
                   if (p / "source.html").exists() and (p / "expected.html").exists())
    return pages[::5] if quick else pages


def score_set(pages: list[Path], extractor: Callable[[bytes, str], str]) -> list[PageScore]:
    results = []
    if pages:  # once untimed: the first call loads what every later one finds ready
        extractor((pages[0] / "source.html").read_bytes(), "http://fakehost/")
    for page in pages:
        body = (page / "source.html").read_bytes()
        expected = expected_text((page / "expected.html").read_bytes())
        url = f"http://fakehost/test/{page.name}/"  # the host Readability's own tests use
        start = time.perf_counter()
        text = extractor(body, url)
        results.append(page_score(page.name, expected, text, time.perf_counter() - start))
    return results


def ours(body: bytes, url: str) -> str:
    return extract_text(body, "text/html", url).text


def summary(scores: list[PageScore]) -> dict[str, float]:
    recall = statistics.mean(s.recall for s in scores)
    precision = statistics.mean(s.precision for s in scores)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall,
            "lost": sum(s.lost for s in scores), "slowest": max(s.seconds for s in scores)}


def run(quick: bool = False) -> list[dict[str, Any]]:
    found = _find_set()
    if found is None:
        return []
    pages = _pages(found, quick)
    mine = summary(score_set(pages, ours))
    base = summary(score_set(pages, trafilatura_text))
    n = f"{len(pages)} pages, readability set"
    rows = [row(f"text: {m} ({n})", round(mine[m] * 100, 2), round(base[m] * 100, 2),
                "%", ">= trafilatura", higher_is_better=True, ok=mine[m] >= base[m])
            for m in ("f1", "precision", "recall")]
    rows.append(row(f"text: pages lost ({n})", mine["lost"], base["lost"], "pages",
                    "<= trafilatura", ok=mine["lost"] <= base["lost"]))
    rows.append(row(f"text: slowest page ({n})", round(mine["slowest"], 3),
                    round(base["slowest"], 3), "s", "-"))
    return rows


def _list_pages(folder: Path) -> None:
    pages = _pages(folder, quick=False)
    mine = {s.name: s for s in score_set(pages, ours)}
    base = {s.name: s for s in score_set(pages, trafilatura_text)}
    for name in sorted(mine, key=lambda k: mine[k].recall * mine[k].precision):
        a, b = mine[name], base[name]
        print(f"{name:<40} ours R {a.recall:5.2f} P {a.precision:5.2f} {a.seconds:5.2f}s   "
              f"trafilatura R {b.recall:5.2f} P {b.precision:5.2f} {b.seconds:5.2f}s   "
              f"{a.expected} tokens")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", action="store_true", help="every page's figures, worst first")
    options = parser.parse_args()
    folder = _find_set()
    if folder is not None and options.pages:
        _list_pages(folder)
    else:
        for line in run():
            print(line)
