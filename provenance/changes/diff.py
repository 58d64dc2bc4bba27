"""What changed between two texts of one page: passages removed, added, figures changed.

The texts are what :func:`archive.text.extract_text` keeps (the article, one passage a line),
so a diff points at passages, not at markup. Three things never count as a change:

* white space: passages are compared with every run of spaces (ordinary, no-break, thin)
  collapsed, and in Unicode NFC;
* how a figure is written: each figure is compared by its value
  (:mod:`provenance.screens.figures`), so ``9 861`` -> ``9,861`` is no change and
  ``9 861`` -> ``9 881`` always is;
* volatile lines that differ on every load (:func:`is_volatile`): a line made only of a
  clock or a date ("Обновлено 14:03", "20 марта 2022"), a view or comment counter, an ad
  label ("Реклама", "erid: 2Vtzq…", "Advertisement") or a "Read also" teaser.

Volatile lines are recognised by what they are made of, never by a guess about meaning: a
line with one real word more ("Потери составили 9 861 человек") is a passage and counts.

:func:`diff_texts` is pure: same inputs, same :class:`Changes`. Passages that were edited
(an old and a new version, aligned by their words) appear in both ``removed`` (the old
wording) and ``added`` (the new one), as ``-``/``+`` lines in a unified diff; their figures
are paired old -> new. A figure that only moved to another passage is not a change.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from provenance.errors import UsageError
from provenance.screens.figures import Figure, extract_figures

DIFFER = "provenance-changes/1"
"""Named in every ``changed`` record: bump when what counts as a change changes."""

EDIT_SIMILARITY = 0.5
"""Two passages are one edited passage when at least this share of their words agree."""

_WORD = re.compile(r"\w+", re.UNICODE)
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?")
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_DATE = re.compile(r"\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})(?!\d)")
MAX_VOLATILE_WORDS = 8
"""A clock, date, counter or ad label line is short; a longer line is always a passage."""

# Words a clock or date line is made of (ru, uk, en), matched by prefix after casefold.
_DATE_WORDS = (
    "янв", "фев", "мар", "апр", "мая", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
    "січ", "лют", "берез", "квіт", "трав", "черв", "лип", "серп", "вересн", "жовт", "листоп",
    "груд", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    "понедельн", "вторник", "сред", "четверг", "пятниц", "суббот", "воскресень",
    "mon", "tue", "wed", "thu", "fri", "sat", "sun",
)
_FILLER_WORDS = {
    "обновлено", "обновлен", "обновлена", "опубликовано", "опубликован", "сегодня", "вчера",
    "назад", "минуту", "минуты", "минут", "мин", "час", "часа", "часов", "ч", "г", "года", "год",
    "мск", "в", "во", "от", "оновлено", "опубліковано", "сьогодні", "вчора", "хвилин", "годин",
    "тому",
    "updated", "published", "posted", "today", "yesterday", "ago", "minute", "minutes", "min",
    "mins", "hour", "hours", "at", "on", "am", "pm", "utc", "gmt", "msk", "last", "edited",
}
_RELATIVE_WORDS = {"назад", "сегодня", "вчера", "тому", "сьогодні", "вчора", "ago", "today",
                   "yesterday"}
_COUNTER_WORDS = (
    "просмотр", "комментар", "коммент", "перегляд", "коментар", "view", "comment", "share",
    "like", "read",
)
_LABEL_END = r"\s*(?:\d{1,2}\+)?\s*(?:$|[.:·|•,—–-])"
"""A label stands alone or before punctuation: "Реклама 16+. ООО …", not "Реклама на ТВ …"."""
_AD_LINE = re.compile(
    r"^\W*(?:реклама|партн[её]рский материал|спонсорский материал|advertisement|advertising|"
    r"sponsored|sponsored content|promoted|ad|ads|promo)" + _LABEL_END, re.IGNORECASE)
_AD_ANYWHERE = re.compile(r"\berid\s*[:=]|на правах рекламы", re.IGNORECASE)
_TEASER = re.compile(
    r"^\W*(?:читайте также|смотрите также|по теме|популярное|самое читаемое|читайте також|"
    r"дивіться також|read also|read more|see also|also read|most read|related)" + _LABEL_END,
    re.IGNORECASE)


def normalize_space(passage: str) -> str:
    """One passage with white space collapsed and Unicode in NFC (what a reader sees)."""
    text = unicodedata.normalize("NFC", passage)
    if "\u200b" in text or "\ufeff" in text:
        text = text.replace("\u200b", " ").replace("\ufeff", " ")
    return " ".join(text.split())  # str.split() splits on every Unicode space, NBSP included


def passage_key(passage: str) -> str:
    """What two passages are compared by: white space collapsed, each figure by value."""
    return _key(normalize_space(passage))


def _key(text: str) -> str:
    out: list[str] = []
    last = 0
    for figure in _figures(text):
        out.append(text[last:figure.start])
        out.append(f"\u27e8{figure.value}\u27e9")  # ⟨value⟩: cannot collide with page digits
        last = figure.end
    out.append(text[last:])
    return "".join(out)


@lru_cache(maxsize=8192)
def _figures(text: str) -> tuple[Figure, ...]:
    """The figures of a passage (read once: a long article is diffed against many captures)."""
    return tuple(extract_figures(text)) if any(c.isdigit() for c in text) else ()


def is_volatile(passage: str) -> bool:
    """True for a line that changes on every load and says nothing: clock, date, counter, ad."""
    return _volatile(normalize_space(passage))


def _volatile(text: str) -> bool:
    if not text:
        return True
    if _AD_LINE.match(text) or _AD_ANYWHERE.search(text) or _TEASER.match(text):
        return True
    if not any(c.isdigit() for c in text):
        return False  # a line of words alone is a passage, however short
    if text.count(" ") > MAX_VOLATILE_WORDS * 2:
        return False
    rest = _ISO_TIME.sub(" ", text)
    had_time = rest != text or bool(_CLOCK.search(rest)) or bool(_DATE.search(rest))
    rest = _DATE.sub(" ", _CLOCK.sub(" ", rest))
    words = [w.casefold() for w in _WORD.findall(rest) if not w.isdigit()]
    if len(words) > MAX_VOLATILE_WORDS:
        return False
    dated = had_time or any(w.startswith(_DATE_WORDS) or w in _RELATIVE_WORDS for w in words)
    if dated and all(w in _FILLER_WORDS or w.startswith(_DATE_WORDS) for w in words):
        return True
    counted = [w for w in words if w.startswith(_COUNTER_WORDS)]
    return bool(counted) and len(words) <= 3 and len(words) == len(counted)


Ignore = Sequence[re.Pattern[str]]


def compile_ignore(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """``--ignore`` regular expressions: a passage any of them finds is not compared."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise UsageError(f"--ignore {pattern!r} is not a regular expression: {exc}"
                             ) from None
    return tuple(compiled)


def passages(text: str, ignore: Ignore = ()) -> list[str]:
    """The passages of an extracted text that a diff compares: non-empty, not volatile, and
    not matched by any of the user's ``ignore`` patterns (a site's own ticker, say)."""
    normalized = (normalize_space(line) for line in text.splitlines())
    return [line for line in normalized
            if not _volatile(line) and not any(p.search(line) for p in ignore)]


@dataclass(frozen=True)
class FigureChange:
    """A figure whose value changed (``old`` -> ``new``), appeared (old None) or went (new None)."""

    old: str | None
    new: str | None
    old_text: str | None = None
    new_text: str | None = None
    passage: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "old_text": self.old_text,
                "new_text": self.new_text, "passage": self.passage}


@dataclass(frozen=True)
class Changes:
    """The difference between two texts; empty when only white space or volatile lines differ."""

    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    figures: list[FigureChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.removed or self.added or self.figures)

    def to_json(self) -> dict[str, Any]:
        return {"removed": list(self.removed), "added": list(self.added),
                "figures": [f.to_json() for f in self.figures]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Changes:
        return cls(list(data.get("removed") or []), list(data.get("added") or []),
                   [FigureChange(f.get("old"), f.get("new"), f.get("old_text"),
                                 f.get("new_text"), f.get("passage") or "")
                    for f in data.get("figures") or []])


def diff_texts(old: str, new: str, ignore: Ignore = ()) -> Changes:
    """Passages removed and added from ``old`` to ``new``, and figures changed by value."""
    a, b = passages(old, ignore), passages(new, ignore)
    ka, kb = [_key(p) for p in a], [_key(p) for p in b]
    matcher = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
    removed: list[str] = []
    added: list[str] = []
    figures: list[FigureChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed.extend(a[i1:i2])
        added.extend(b[j1:j2])
        figures.extend(_block_figures(a[i1:i2], b[j1:j2]))
    # Passages left equal hold the same figures on both sides, so counting the figures of
    # what was removed and added is counting what left and came to the page.
    return Changes(removed, added, _drop_moved(figures, old_values=_values(removed),
                                               new_values=_values(added)))


def _values(texts: Iterable[str]) -> list[str]:
    return [f.value for text in texts for f in _figures(text)]


def _words(passage: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(passage) if not w.isdigit()]


def _pair_edits(old: Sequence[str], new: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Old and new passages of one changed block, paired in order when their words agree."""
    pairs: list[tuple[int | None, int | None]] = []
    j = 0
    for i, passage in enumerate(old):
        words = _words(passage)
        best, best_ratio = None, EDIT_SIMILARITY
        for k in range(j, len(new)):
            ratio = difflib.SequenceMatcher(None, words, _words(new[k]), autojunk=False).ratio()
            if ratio >= best_ratio and (best is None or ratio > best_ratio):
                best, best_ratio = k, ratio
        if best is None:
            pairs.append((i, None))
            continue
        pairs.extend((None, k) for k in range(j, best))
        pairs.append((i, best))
        j = best + 1
    pairs.extend((None, k) for k in range(j, len(new)))
    return pairs


def _block_figures(old: Sequence[str], new: Sequence[str]) -> list[FigureChange]:
    changes: list[FigureChange] = []
    for i, k in _pair_edits(old, new):
        before = _figures(old[i]) if i is not None else ()
        after = _figures(new[k]) if k is not None else ()
        context = new[k] if k is not None else old[i] if i is not None else ""
        changes.extend(_align_figures(before, after, context))
    return changes


def _align_figures(before: Sequence[Figure], after: Sequence[Figure],
                   passage: str) -> list[FigureChange]:
    matcher = difflib.SequenceMatcher(None, [f.value for f in before],
                                      [f.value for f in after], autojunk=False)
    out: list[FigureChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        olds, news = list(before[i1:i2]), list(after[j1:j2])
        for n in range(max(len(olds), len(news))):
            o = olds[n] if n < len(olds) else None
            w = news[n] if n < len(news) else None
            out.append(FigureChange(o.value if o else None, w.value if w else None,
                                    o.text if o else None, w.text if w else None, passage))
    return out


def _drop_moved(changes: list[FigureChange], *, old_values: list[str],
                new_values: list[str]) -> list[FigureChange]:
    """A figure that went from one passage and is still on the page elsewhere (or the other
    way round) moved; it did not change. Counted by value, so a second 9861 still counts."""
    gone = Counter(old_values) - Counter(new_values)
    came = Counter(new_values) - Counter(old_values)
    kept: list[FigureChange] = []
    for change in changes:
        if change.old is not None and change.new is not None:
            if gone[change.old] > 0 or came[change.new] > 0:
                gone[change.old] -= 1
                came[change.new] -= 1
                kept.append(change)
            continue
        if change.old is not None and gone[change.old] > 0:
            gone[change.old] -= 1
            kept.append(change)
        elif change.new is not None and came[change.new] > 0:
            came[change.new] -= 1
            kept.append(change)
    return kept


def unified_lines(changes: Changes) -> list[str]:
    """The change as ``- `` / ``+ `` lines and ``figure`` lines, for a person to read."""
    lines = [f"- {p}" for p in changes.removed] + [f"+ {p}" for p in changes.added]
    for f in changes.figures:
        old = f.old_text if f.old_text is not None else "(new)"
        new = f.new_text if f.new_text is not None else "(gone)"
        lines.append(f"  figure {old} -> {new}")
    return lines
