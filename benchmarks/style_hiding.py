"""What real pages' own style sheets hide, read for ``verify --against`` (``archive.css_hidden``).

On trafilatura's 990 real pages (``../shared/realworld/trafilatura-eval``, see
:mod:`benchmarks.text`), each page's shown text is read with its ``<style>`` rules
(:func:`provenance.screens.pagetext.page_shown`) and, as the baseline in the same run,
without them (:func:`provenance.screens.pagetext._shown_text` alone, what was read before).
Rows:

* time a page, ours against the baseline's (the style sheets' cost);
* article snippets read as hidden (``with`` snippets the unstyled text shows and the styled
  one does not): each is a genuine screenshot of that passage that would be a mismatch.
  Goal: at most 0.2 % of the snippets;
* pages whose style sheets hide some of their text, against those that hide a chrome
  snippet the set names (``without``): what the reading is for.

``python3 -m benchmarks.style_hiding`` prints the rows and the article snippets read as hidden.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from archive.article_refine import parse  # noqa: E402
from benchmarks.common import row  # noqa: E402
from benchmarks.text import SET, _fold, load_set  # noqa: E402
from provenance.screens.pagetext import _shown_text, page_shown  # noqa: E402


def run(quick: bool = False, show: bool = False) -> list[dict[str, Any]]:
    if not SET.exists():
        return []
    pages = load_set()
    if quick:
        pages = pages[::10]
    ours = baseline = 0.0
    styled = chrome_hidden = snippets = 0
    hidden: list[tuple[str, str]] = []
    for _, entry, body in pages:
        markup = body.decode("utf-8", "replace")
        started = time.perf_counter()
        root = parse(markup)
        if root is not None:
            _shown_text(root, None)
        baseline += time.perf_counter() - started
        started = time.perf_counter()
        shown = page_shown(markup)
        ours += time.perf_counter() - started
        snippets += len(entry.get("with") or [])
        if not shown.styled:
            continue
        styled += 1
        visible, unstyled = _fold(shown.visible), _fold(shown.unstyled)
        for snippet in entry.get("with") or []:
            folded = _fold(snippet)
            if folded in unstyled and folded not in visible:
                hidden.append((str(entry["file"]), folded))
        chrome_hidden += any(_fold(s) in unstyled and _fold(s) not in visible
                             for s in entry.get("without") or [])
    if show:
        for file, snippet in hidden:
            print(f"{file}: {snippet[:100]}")
    n = len(pages)
    share = len(hidden) / snippets * 100 if snippets else 0.0
    return [
        row(f"style hiding: ms a page ({n} real pages)", ours / n * 1000, baseline / n * 1000,
            "ms", "-", ok=None),
        row(f"style hiding: article snippets read as hidden ({snippets})", share, 0.0, "%",
            "<= 0.2 %", ok=share <= 0.2, snippets=len(hidden),
            pages=len({file for file, _ in hidden})),
        row(f"style hiding: pages hiding text / hiding a chrome snippet ({n})", styled,
            chrome_hidden, "page", "-", higher_is_better=True, ok=None),
    ]


if __name__ == "__main__":
    for item in run(quick="--quick" in sys.argv, show=True):
        print(item)
