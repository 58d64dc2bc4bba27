"""Article text on real pages: our extractor against trafilatura on trafilatura's own set.

The set (``../shared/realworld/trafilatura-eval``) is 990 real pages, each with snippets that
must be in the article text (``with``) and snippets of chrome that must not (``without``).
Three rows, ours beside trafilatura's (``favor_recall`` off, its defaults) measured in the
same run:

* main-text recall: share of ``with`` snippets found in the text (goal >= 98 %);
* chrome leak: share of ``without`` snippets found in the text (goal <= 8 %);
* pages lost: pages where not one ``with`` snippet is found (the article is gone).

Snippets are matched as trafilatura's own evaluation does (a substring), after folding runs of
white space to one space on both sides, so a line break between two inline elements does not
count as a miss, and dropping soft hyphens (U+00AD) on both sides: they are invisible, both
extractors drop them, and 6 main-text snippets of 3 pages keep them (so no extractor could
find those).

Against tuning to this one set, its pages are split in two halves by a stable hash of the
file name (:func:`half`): rules are tuned on the ``tuning`` half and kept only when they do
not hurt the ``held-out`` half; each row carries both halves' figures beside the whole set's.

``python3 -m benchmarks.text --pages N --misses`` lists, page by page, what ours got wrong
(``--half tuning`` to look only where tuning is allowed).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from archive.text import extract_text  # noqa: E402
from benchmarks.common import row  # noqa: E402


def _find_set() -> Path:
    """``../shared/realworld`` beside the checkout (or beside a folder above it: worktrees)."""
    for base in ROOT.parents:
        candidate = base / "shared" / "realworld" / "trafilatura-eval"
        if candidate.exists():
            return candidate
    return ROOT.parent / "shared" / "realworld" / "trafilatura-eval"


SET = _find_set()
_WS = re.compile(r"\s+")


def _fold(text: str) -> str:
    """White space runs to one space, soft hyphens out (see the module docstring)."""
    return _WS.sub(" ", text.replace("\xad", ""))


@dataclass
class Score:
    """Snippet counts over a set of pages."""

    found: int = 0
    wanted: int = 0
    leaked: int = 0
    chrome: int = 0
    lost: list[str] = field(default_factory=list)
    misses: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.found / self.wanted if self.wanted else 1.0

    @property
    def leak(self) -> float:
        return self.leaked / self.chrome if self.chrome else 0.0


def load_set(folder: Path = SET) -> list[tuple[str, dict[str, list[str]], bytes]]:
    """(url, entry, raw page bytes) for every page of an evaluation folder."""
    data = json.loads((folder / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for url, entry in data.items():
        path = folder / "pages" / (entry["file"] + ".gz")
        if not path.exists():
            path = folder / "pages" / entry["file"]
            body = path.read_bytes()
        else:
            body = gzip.decompress(path.read_bytes())
        pages.append((url, entry, body))
    return pages


HALVES = ("tuning", "held-out")


def half(file: str) -> str:
    """The half of the set a page is in: the low bit of the first byte of its name's SHA-256."""
    return HALVES[hashlib.sha256(file.encode("utf-8")).digest()[0] % 2]


def score(pages: list[tuple[str, dict[str, list[str]], bytes]],
          extractor: Callable[[bytes, str], str]) -> Score:
    result = Score()
    for url, entry, body in pages:
        text = _fold(extractor(body, url))
        missing = [s for s in entry["with"] if _fold(s) not in text]
        leaking = [s for s in entry["without"] if _fold(s) in text]
        result.wanted += len(entry["with"])
        result.found += len(entry["with"]) - len(missing)
        result.chrome += len(entry["without"])
        result.leaked += len(leaking)
        if entry["with"] and len(missing) == len(entry["with"]):
            result.lost.append(entry["file"])
        if missing or leaking:
            result.misses[entry["file"]] = (missing, leaking)
    return result


def ours(body: bytes, url: str) -> str:
    return extract_text(body, "text/html", url).text


def trafilatura_text(body: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.extract(body, url=url) or ""


def run(quick: bool = False) -> list[dict[str, object]]:
    if not SET.exists():
        return []
    pages = load_set()
    if quick:
        pages = pages[::10]
    results: dict[tuple[str, str | None], Score] = {}
    for name, extractor in (("ours", ours), ("trafilatura", trafilatura_text)):
        texts = {url: extractor(body, url) for url, _, body in pages}  # each page once

        def made(_body: bytes, url: str, texts: dict[str, str] = texts) -> str:
            return texts[url]
        for part in (None, *HALVES):
            subset = [p for p in pages if part is None or half(str(p[1]["file"])) == part]
            results[(name, part)] = score(subset, made)
    mine, theirs = results[("ours", None)], results[("trafilatura", None)]

    def halves(measure: Callable[[Score], float]) -> dict[str, Any]:
        return {f"{part} half": {"ours": round(measure(results[("ours", part)]), 2),
                                 "trafilatura": round(measure(results[("trafilatura", part)]), 2)}
                for part in HALVES}

    n = f"{len(pages)} pages"
    return [
        row(f"text: main-text recall ({n})", mine.recall * 100, theirs.recall * 100, "%",
            ">= 98 %", higher_is_better=True, ok=mine.recall >= 0.98,
            **halves(lambda s: s.recall * 100)),
        row(f"text: chrome leak ({n})", mine.leak * 100, theirs.leak * 100, "%", "<= 8 %",
            ok=mine.leak <= 0.08, **halves(lambda s: s.leak * 100)),
        row(f"text: pages lost ({n})", len(mine.lost), len(theirs.lost), "page",
            "<= trafilatura", ok=len(mine.lost) <= len(theirs.lost),
            **halves(lambda s: len(s.lost))),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=0, help="only the first N pages")
    parser.add_argument("--every", type=int, default=1,
                        help="only every Nth page (a fixed subset while iterating)")
    parser.add_argument("--misses", action="store_true", help="list ours' misses")
    parser.add_argument("--trafilatura", action="store_true", help="score trafilatura too")
    parser.add_argument("--half", choices=HALVES, help="only this half of the set")
    options = parser.parse_args(argv)
    pages = load_set()
    if options.half:
        pages = [p for p in pages if half(str(p[1]["file"])) == options.half]
    if options.pages:
        pages = pages[:options.pages]
    pages = pages[::max(options.every, 1)]
    extractors = {"ours": ours}
    if options.trafilatura:
        extractors["trafilatura"] = trafilatura_text
    results = {}
    for name, extractor in extractors.items():
        start = time.perf_counter()
        results[name] = result = score(pages, extractor)
        per_page = (time.perf_counter() - start) / max(len(pages), 1)
        print(f"{name}: recall {result.recall:.2%} leak {result.leak:.2%} "
              f"lost {len(result.lost)} of {len(pages)} ({per_page * 1000:.0f} ms a page)")
    if options.misses:
        for file, (missing, leaking) in results["ours"].misses.items():
            print(f"{file}\n  missing: {missing}\n  leaking: {leaking}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
