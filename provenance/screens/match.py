"""Does a screenshot show a claimed text? The verdict, and the evidence for it.

Two questions are answered separately, because they fail differently:

1. **Is the passage there?** Words are compared leniently, since OCR confuses look-alike
   letters: case, punctuation, ``ё``/``е``, ``й``/``и`` and Cyrillic/Latin twins
   (``а``/``a``, ``е``/``e``, ``о``/``o``, ``р``/``p``, ``с``/``c``, ``х``/``x``...) are folded
   before a fuzzy alignment (rapidfuzz) over windows of consecutive lines in Tesseract's
   reading order. Digits are never folded or approximated.
2. **Are the figures the same?** Each number of the claim must appear, by exact value
   (:mod:`provenance.figures`), at its own place in the aligned passage. "Its own place"
   comes from a word-level alignment (Levenshtein opcodes over tokens): a figure counts as
   found only when it aligns with an equal figure, or sits in the same differing stretch
   of words. So a screenshot where two figures were swapped is not a match either. Its
   sign, symbols (``%``, currency) and short unit (``km``, ``м``) must be the same too
   (:class:`~provenance.screens.figures.Marks`): ``-5`` is not ``5``.

3. **Are the words the same?** A forger changes names, places, colours and negations, not
   only digits. Every content word of the claim (three letters or more, and every negation:
   не, ни, нет, ні, not, no, never...) must be found at its place as that word, or as a
   reading OCR explains: look-alike glyphs (``и``/``н``, ``rn``/``m``, ``l``/``i``...) and at
   most one other letter per six (:func:`ocr_explains`). A claim word the screenshot shows
   as another word, or does not show at all, makes a ``mismatch``; so does a word the
   screenshot has inside the claimed passage and the claim does not ("killed or captured"
   for "killed"), and a negation of the same clause up to :data:`NEGATION_REACH` words
   before it ("не потеряли" quoted as "потеряли"). A negative prefix is never an OCR
   error (:data:`NEGATIVE_PREFIXES`: "illegal" is not "legal").
   Words of one or two letters (и, в, of, at) need not be found (OCR drops them), but one
   shown as another short word OCR cannot have misread it as is a mismatch ("by"/"on").

Verdicts (CONTRACT.md): ``match`` passage present, every claimed figure found exactly and
every content word found; ``mismatch`` passage present but a figure or a word differs or is
missing; ``absent`` no passage corresponds. A screenshot with one digit changed can be
``mismatch`` or, if OCR also damaged the words, ``absent``, but never ``match``: a match
needs every figure's digits.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from provenance.errors import UsageError
from provenance.screens.figures import Marks, extract_figures, figure_marks
from provenance.screens.ocr import OcrResult
from provenance.screens.pagetext import PageShown
from provenance.store.clock import utc_now

PRESENT_SCORE = 0.72
"""Lowest aligned similarity (0-1) for a passage to count as present. Measured on the full
evaluation set (tests/evalset.py, 162 images): genuine passages align at 0.98-1.0 and forged
ones at 0.96-0.99 even through JPEG q10 and downscaling; unrelated texts of the same
language at 0.35-0.44. Texts on the same topic with shared phrases would score higher:
the word-share rule below and the figure check are what keep those from a match."""

PRESENT_WORDS = 0.5
"""And at least this share of the claim's words must be found exactly (after folding)."""

MAX_WINDOW_LINES = 14

LOW_CONFIDENCE = 60.0
"""A figure Tesseract read with less confidence is flagged in the reasons: OCR can misread a
forged digit back into the genuine one, and only a human look at the image rules that out."""

LONG_FIGURE = 40
"""Digits of a figure beyond which the fuzzy alignment sees its first digits and a short
digest of its value instead of every digit: the alignment is quadratic in the text's length,
so a 10,000-digit figure would take seconds and a million-digit one hours. A differing digit
still gives a different token; whether a figure is found is always decided on full values."""

_FOLD = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "є": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s",
    "й": "и", "ґ": "г",
})
_WORD_RE = re.compile(r"[^\W\d_]+")


def _strip_latin_marks(word: str) -> str:
    """``für`` -> ``fur``, ``ﬁ`` -> ``fi``: accents on Latin letters dropped and ligatures
    spelled out. Tesseract's English model (no German, Spanish or French one is assumed)
    reads ``ü`` as ``u`` or ``ti`` and ``é`` as ``e``; ``й``, ``ё``, ``ї`` keep their marks
    here (the table below merges those)."""
    if word.isascii():
        return word
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", word):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def fold(word: str) -> str:
    """A word as compared: lower case, Latin accents dropped, look-alike letters merged.
    Digits untouched."""
    return _strip_latin_marks(word.lower()).translate(_FOLD)


NEGATIONS = frozenset(fold(w) for w in (
    "не", "ни", "нет", "никогда", "ні", "нема", "немає", "ніколи", "без",
    "not", "no", "never", "nor", "none", "nothing", "nobody", "without",
))
"""Folded, so Tesseract's Latin reading of a Cyrillic ``не`` (``he``) is one too. That makes
an English "he" count as a negation: only ever stricter, never a false match."""

MIN_CONTENT_LETTERS = 3
"""A claim word this long (or a negation) must be found as that word."""

# Glyphs Tesseract confuses at low resolution, after fold(): a substitution within a group
# costs half an edit. Letters, not meanings: "белых"/"серых" is two whole edits.
_CONFUSABLE_GROUPS = ("il!|j", "ec", "oa", "hиnпл", "шщц", "ьъbб", "зэ", "yv", "kx", "rг",
                      "fт", "gq", "dл")
_CONFUSABLE = {(a, b) for group in _CONFUSABLE_GROUPS for a in group for b in group if a != b}
_MULTI_GLYPH = (("rn", "m"), ("cl", "d"), ("vv", "w"), ("ьi", "ы"), ("bi", "ы"), ("bl", "ы"),
                ("ii", "u"), ("ti", "u"), ("fi", "n"), ("іо", "ю"), ("ls", "ß"))
"""("ti", "u"): an ``ü`` read by the English model, its dots taken for the i's; ("fi", "n"):
its reading of ``ñ`` (``señaló`` as ``sefialo``); ("ls", "ß"): ``Maßnahmen`` read as
``Malsnahmen``, by the German model too."""
_THIN = set("il!|.,'’`-")


def _glyphs(word: str) -> str:
    for many, one in _MULTI_GLYPH:
        word = word.replace(many, one)
    return word


def ocr_cost(claimed: str, shown: str) -> float:
    """Edits from a claimed word to the screenshot's reading of it (both folded), where a
    look-alike glyph or a thin mark costs half an edit and any other letter a whole one.
    Letters a multi-glyph reading would join (:data:`_MULTI_GLYPH`) are also compared as
    they are: "II" (a Roman two) read as "Il" is one look-alike, not "u" against "il"."""
    joined = _edit_cost(_glyphs(claimed), _glyphs(shown))
    return min(joined, _edit_cost(claimed, shown)) if joined else joined


def _fewest_edits(claimed: str, shown: str) -> float:
    """A lower bound of :func:`ocr_cost`: every letter one word has more than the other
    costs at least half an edit, as the words are or as multi-glyph readings join them."""
    return 0.5 * min(abs(len(claimed) - len(shown)),
                     abs(len(_glyphs(claimed)) - len(_glyphs(shown))))


def _edit_cost(a: str, b: str) -> float:
    previous = [0.0]
    for ch in b:
        previous.append(previous[-1] + (0.5 if ch in _THIN else 1.0))
    for ca in a:
        current = [previous[0] + (0.5 if ca in _THIN else 1.0)]
        for j, cb in enumerate(b, 1):
            sub = 0.0 if ca == cb else 0.5 if (ca, cb) in _CONFUSABLE else 1.0
            current.append(min(previous[j - 1] + sub,
                               previous[j] + (0.5 if ca in _THIN else 1.0),
                               current[j - 1] + (0.5 if cb in _THIN else 1.0)))
        previous = current
    return previous[-1]


NEGATIVE_PREFIXES = tuple(fold(p) for p in (
    "не", "ні", "ни", "без", "бес", "un", "in", "im", "il", "ir", "dis", "non",
))
"""Prefixes that turn a word into its opposite: "неподтверждённые" is not "подтверждённые",
nor "illegal" "legal", however few letters they differ by."""


def _negated(claimed: str, shown: str) -> bool:
    """Is one word the other with a negative prefix (as OCR may read the prefix)? Only when
    the prefix explains the difference better than a misreading does: "nactive" is still
    an OCR reading of "inactive" (a thin ``i`` lost), "active" is not."""
    longer, shorter = (claimed, shown) if len(claimed) > len(shown) else (shown, claimed)
    if len(shorter) < MIN_CONTENT_LETTERS:
        return False
    whole = ocr_cost(longer, shorter)
    return any(ocr_cost(prefix, longer[:len(prefix)]) <= 0.5
               and ocr_cost(longer[len(prefix):], shorter) < whole
               for prefix in NEGATIVE_PREFIXES if len(longer) - len(shorter) >= len(prefix) - 1)


MAGNITUDES = tuple(fold(stem) for stem in (
    "thousand", "million", "billion", "trillion", "тысяч", "миллион", "миллиард", "триллион",
    "тисяч", "мільйон", "мільярд", "трильйон", "tausend", "milliard", "billon", "billón",
    "millón", "millon", "mille", "milliers",
))
"""Words that scale a figure: one letter apart ("million"/"billion"), they differ by a
factor of a thousand, so one is never an OCR reading of the other."""


def _magnitude(word: str) -> int:
    return next((i for i, stem in enumerate(MAGNITUDES) if word.startswith(stem)), -1)


@functools.lru_cache(maxsize=1 << 18)
def ocr_explains(claimed: str, shown: str) -> bool:
    """Can OCR have read the folded word ``claimed`` as ``shown``? Look-alike glyphs and one
    other letter per six at most; a short word (three letters) only through look-alikes;
    never a negative prefix more or less (:data:`NEGATIVE_PREFIXES`), never another
    magnitude (:data:`MAGNITUDES`). Cached: a passage search asks the same pairs again
    and again (every window, the page's chrome), and each costs an edit-distance table."""
    if claimed == shown:
        return True
    budget = 0.5 if len(claimed) <= 3 else max(1.0, len(claimed) // 6)
    if _fewest_edits(claimed, shown) > budget:
        return False  # the lengths alone differ by more than the budget allows
    if ocr_cost(claimed, shown) > budget or _negated(claimed, shown):
        return False
    said, read = _magnitude(claimed), _magnitude(shown)
    return said < 0 or read < 0 or said == read


_O_UMLAUT_AS_SIX = re.compile(r"(?<=[^\W\d_])6(?=[a-zß-ÿ&])|(?<![^\W_])6(?=[a-zß-ÿ]{3})"
                              r"|(?<=[a-zß-ÿ]{3})6(?![^\W_])")
_SHARP_S_AS_AMPERSAND = re.compile(r"(?<=[a-zß-ÿ])&(?=[a-zß-ÿ])|(?<=[a-zß-ÿ]{2})&(?![^\W_])")


def ocr_word(text: str) -> str:
    """A word as Tesseract read it, with the English model's readings of German letters
    turned back into letters: ``ö`` read as ``6`` (``k6nnen``, ``6ffnen``, ``pers6nliche``:
    a 6 inside a word, starting one with three lower-case letters after it, or ending one
    after three, as Spanish ``pagó``, ``aseguró`` are read; ``6km``, ``6th``, ``A6``,
    ``mp6`` stay figures) and ``ß`` as ``&`` after lower-case letters
    (``Ma&nahmen``, ``verst6&t``, ``wei&``; ``R&D`` and ``Tom & Jerry`` stay). Same
    length, so character positions still name the OCR word. Only the screenshot's side
    is read so: it can lose a figure, never gain one."""
    if "6" in text:
        text = _O_UMLAUT_AS_SIX.sub("ö", text)
    if "&" in text:
        text = _SHARP_S_AS_AMPERSAND.sub("ß", text)
    return text


@functools.lru_cache(maxsize=1 << 16)
def is_negation(norm: str) -> bool:
    """A negation, or what OCR may have made of one (``не`` read as ``ие``). Cached: every
    word of every passage compared asks, and each answer costs many OCR comparisons."""
    return norm in NEGATIONS or any(ocr_explains(n, norm) for n in NEGATIONS
                                    if abs(len(n) - len(norm)) <= 1)


def is_content(token: Token) -> bool:
    return token.value is None and (len(token.norm) >= MIN_CONTENT_LETTERS
                                    or is_negation(token.norm))


@dataclass(frozen=True)
class Token:
    norm: str                 # folded word, or a figure's canonical value
    raw: str                  # as written
    value: str | None         # figure value, None for a word
    start: int                # span in the text it came from
    end: int
    words: tuple[int, ...] = ()   # OCR word indices it covers (screenshots only)
    marks: Marks = Marks()        # a figure's sign, symbols and unit


_NT = ("n'", "n’", "n`")
"""``didn't``, ``can’t``: tokens ``didn`` and ``t``, the ``t`` a "not"."""


def _written(token: Token) -> str:
    """A word as a reason quotes it: the "t" of "can't" as "n't"."""
    return "n't" if token.norm == "not" and token.raw.lower() == "t" else token.raw


def tokenize(text: str, word_at: Sequence[int] | None = None, *, claim: bool = False,
             after: str = "") -> list[Token]:
    """Figures and words of ``text`` in order; ``word_at[i]`` names the OCR word of char i.
    ``claim``: a figure at the text's end has no known unit; ``after``: the text that
    follows (the next line), where a figure's unit may be."""
    tokens: list[Token] = []
    marked = f"{text} {after}" if after else text
    taken = 0
    spans: list[tuple[int, int, str | None]] = []
    for figure in extract_figures(text):
        for m in _WORD_RE.finditer(text, taken, figure.start):
            spans.append((m.start(), m.end(), None))
        spans.append((figure.start, figure.end, figure.value))
        taken = figure.end
    for m in _WORD_RE.finditer(text, taken):
        spans.append((m.start(), m.end(), None))
    for start, end, value in spans:
        raw = text[start:end]
        words: tuple[int, ...] = ()
        if word_at is not None:
            words = tuple(sorted({word_at[i] for i in range(start, end) if word_at[i] >= 0}))
        norm = figure_norm(value) if value is not None else fold(raw)
        if norm == "t" and text[max(0, start - 2):start] in _NT:
            norm = "not"  # can't, didn't: "can" and "t", the "t" a negation to be checked
        marks = Marks() if value is None else figure_marks(marked, start, end, open_end=claim)
        tokens.append(Token(norm, raw, value, start, end, words, marks))
    return tokens


def figure_norm(value: str) -> str:
    """A figure's value as the alignment compares it (see :data:`LONG_FIGURE`)."""
    if len(value) <= LONG_FIGURE:
        return value
    return f"{value[:16]}#{hashlib.sha256(value.encode('utf-8')).hexdigest()[:8]}"


def _joined(tokens: Sequence[Token]) -> tuple[str, list[int]]:
    """Tokens as one comparison string, and where each token starts in it."""
    starts, parts, pos = [], [], 0
    for token in tokens:
        starts.append(pos)
        parts.append(token.norm)
        pos += len(token.norm) + 1
    return " ".join(parts), starts


@dataclass
class FigureCheck:
    value: str
    claim_text: str
    found_as: str | None
    status: str               # found | differs | missing
    boxes: list[list[int]] = field(default_factory=list)
    claim_index: int = field(default=-1, repr=False)   # token of the claim
    found_index: int = field(default=-1, repr=False)   # token of the passage, -1 if none

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "claim_text": self.claim_text, "found_as": self.found_as,
                "status": self.status}


class WordStatus(Enum):
    DIFFERS = "differs"        # the screenshot shows another word in its place
    MISSING = "missing"        # nothing in its place
    ADDED = "added"            # a negation the screenshot has and the claim does not


@dataclass
class WordCheck:
    """A claimed word (or phrase) not found as itself; only problems are listed."""

    claim_text: str            # the claim's words ("" for an added negation)
    found_as: str | None       # what the screenshot shows there
    status: WordStatus
    boxes: list[list[int]] = field(default_factory=list)
    found_indices: tuple[int, ...] = field(default=(), repr=False)   # passage tokens
    claim_indices: tuple[int, ...] = field(default=(), repr=False)   # claim tokens
    shown: tuple[Token, ...] = field(default=(), repr=False)   # tokens before the passage

    def to_json(self) -> dict[str, Any]:
        return {"claim_text": self.claim_text, "found_as": self.found_as,
                "status": self.status.value}

    def reason(self, what: str) -> str:
        if self.status is WordStatus.DIFFERS:
            return f"the {what} shows '{self.found_as}' where the claim has '{self.claim_text}'"
        if self.status is WordStatus.MISSING:
            return f"'{self.claim_text}' is not in the {what}'s passage"
        return (f"the {what} has '{self.found_as}' in the passage, which the claim does not"
                + (f" (before '{self.claim_text}')" if self.claim_text else ""))


@dataclass
class Verification:
    verdict: str                       # match | mismatch | absent
    score: float
    claim: str
    found: str
    figures: list[FigureCheck]
    reasons: list[str]
    image: str
    image_sha256: str
    boxes: list[list[int]] = field(default_factory=list)   # passage words (green)
    checked_at: str = field(default_factory=utc_now)
    against: str = "text"              # text | page
    words: list[WordCheck] = field(default_factory=list)
    # Against a page: screenshot words read with low OCR confidence that differ from the
    # page and were not held against it (orange): what only an eye can settle.
    unsure: list[WordCheck] = field(default_factory=list)

    @property
    def differing_boxes(self) -> list[list[int]]:
        """Boxes of figures and words that differ from the claim (red)."""
        return ([box for f in self.figures if f.status == "differs" for box in f.boxes]
                + [box for w in self.words for box in w.boxes])

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "score": self.score,
            "claim": self.claim,
            "found": self.found,
            "figures": [f.to_json() for f in self.figures],
            "words": [w.to_json() for w in self.words],
            "unsure": [w.to_json() for w in self.unsure],
            "reasons": self.reasons,
            "image": self.image,
            "image_sha256": self.image_sha256,
            "against": self.against,
            "checked_at": self.checked_at,
        }


TIE_POINTS = 0.5
"""Windows whose alignment scores (0-100) are this close to the best's are as good."""
MAX_TIED_WINDOWS = 8
"""At most this many equally good windows are compared word by word (a bound on work)."""


@dataclass
class _Alignment:
    score: float
    word_share: float
    passage: list[Token]      # the aligned tokens, with a little context each side
    shown: list[Token]        # the part of it that corresponds to the claim
    figures: list[FigureCheck]
    found_text: str
    words: list[WordCheck] = field(default_factory=list)
    first: int = -1           # the passage's first token that is the claim's, -1 if none
    unsure: list[WordCheck] = field(default_factory=list)  # set aside by _sure_words


NEGATION_REACH = 3
"""Words before a quoted passage in which a negation of the same clause still negates it:
"were not officially confirmed" quoted as "officially confirmed" or as "confirmed"."""
_CLAUSE_END = re.compile(r"[.!?;:,()\[\]«»\"“”„—–]")


def _negation_before(head: str, owners: list[int]) -> Token | None:
    """A negation at most :data:`NEGATION_REACH` words before the end of ``head`` (the
    paragraph's text before a passage, :meth:`_Haystack.clause_head`), in the same clause:
    no punctuation between.
    Beyond the adjacent word, a Latin "he" before a Latin word is the English pronoun,
    not a Cyrillic "не" read in Latin letters ("he said the army confirmed")."""
    tokens = tokenize(head, owners)[-NEGATION_REACH:]
    end = len(head)
    following = ""
    for distance, token in enumerate(reversed(tokens), 1):
        if _CLAUSE_END.search(head[token.end:end]):
            return None
        pronoun = distance > 1 and token.raw.isascii() and token.norm == "he" \
            and following.isascii()
        prefix = distance > 1 and head[token.end:token.end + 1] in ("-", "‐")  # non-combatants
        if token.value is None and is_negation(token.norm) and not (pronoun or prefix):
            return token
        end, following = token.start, token.raw
    return None


class _Haystack:
    """Lines to search, each with the OCR word index of every character (or -1), and the
    paragraph each line is in (a page's text: every line is one)."""

    def __init__(self, lines: list[tuple[str, list[int]]],
                 paragraphs: list[object] | None = None) -> None:
        self.lines = lines
        self.paragraphs = paragraphs if paragraphs is not None else list(range(len(lines)))

    @classmethod
    def from_ocr(cls, ocr: OcrResult) -> _Haystack:
        lines = []
        paragraphs: list[object] = []
        for line in ocr.lines:
            paragraphs.append((line.block, line.column, line.par))
            text, owner = "", []
            for index in line.words:
                if text:
                    text += " "
                    owner.append(-1)
                word = ocr_word(ocr.words[index].text)
                text += word
                owner.extend([index] * len(word))
            lines.append((text, owner))
        return cls(lines, paragraphs)

    @classmethod
    def from_text(cls, text: str) -> _Haystack:
        lines = [ln.strip() for ln in text.splitlines()]
        return cls([(ln, [-1] * len(ln)) for ln in lines if ln])

    def head(self, line: int) -> str:
        """The start of line ``line`` when it goes on the paragraph of the line before
        (else ""): a figure's unit may wrap there."""
        if 0 < line < len(self.lines) and self.paragraphs[line] == self.paragraphs[line - 1]:
            return self.lines[line][0][:8]
        return ""

    def window(self, first: int, last: int) -> tuple[str, list[int]]:
        """Lines ``first..last`` joined; a word hyphenated at a line end is rejoined."""
        text, owner, _ = self.window_lines(first, last)
        return text, owner

    def window_lines(self, first: int, last: int) -> tuple[str, list[int], list[int]]:
        """:meth:`window`, and where each line starts in its text."""
        text = ""
        owner: list[int] = []
        starts: list[int] = []
        for i in range(first, last + 1):
            line, words = self.lines[i]
            if text and re.search(r"[^\W\d_]-$", text) and line[:1].islower():
                text, owner = text[:-1], owner[:-1]
            elif text:
                text += " "
                owner.append(-1)
            starts.append(len(text))
            text += line
            owner.extend(words)
        return text, owner, starts

    def clause_head(self, first: int, where: tuple[str, list[int], list[int]], start: int
                    ) -> tuple[str, list[int]]:
        """The text of the paragraph before ``start`` in a window that starts at line
        ``first`` (``where``: its text, owners and line starts), from at most two lines
        back: where a negation of the passage at ``start`` may be."""
        text, owner, starts = where
        n = max(i for i, at in enumerate(starts) if at <= start)
        head, owners = text[starts[n]:start], owner[starts[n]:start]
        line = first + n
        for back in (line - 1, line - 2):
            if back < 0 or self.paragraphs[back] != self.paragraphs[line]:
                break
            before, words = self.lines[back]
            head, owners = f"{before} {head}", [*words, -1, *owners]
        return head, owners


def _align(claim: list[Token], hay: _Haystack, claim_text: str) -> _Alignment | None:
    """The window of consecutive lines that best contains the claim, and its figures.

    Windows that contain it equally well (a headline the page shows twice, once cut short
    with "..."; a sentence a screenshot shows twice) are all compared word by word, and
    the one that shows it with the fewest differences is taken: the page does show it
    there. Never more than :data:`MAX_TIED_WINDOWS` of them."""
    claim_str, _ = _joined(claim)
    if not claim_str or not hay.lines:
        return None
    tied: list[tuple[float, int, list[Token], list[int], int, int,
                     tuple[int, tuple[str, list[int], list[int]]]]] = []
    top: tuple[float, int] | None = None  # score, -lines of the best window so far
    for first in range(len(hay.lines)):
        head = 0  # the first line's share of the window: a claim may start at its end
        for last in range(first, min(len(hay.lines), first + MAX_WINDOW_LINES)):
            text, owner, line_starts = hay.window_lines(first, last)
            tokens = tokenize(text, owner, after=hay.head(last + 1))
            window_str, starts = _joined(tokens)
            if last == first:
                head = len(window_str)
            if not window_str:
                continue
            if len(window_str) >= len(claim_str):
                hit = fuzz.partial_ratio_alignment(claim_str, window_str)
                if hit is None:  # only when a score_cutoff is given; kept for the type checker
                    continue
                score, start, end = hit.score, hit.dest_start, hit.dest_end
            else:
                score, start, end = fuzz.ratio(claim_str, window_str), 0, len(window_str)
            key = (score, first - last)
            window = (score, first - last, tokens, starts, start, end,
                      (first, (text, owner, line_starts)))
            if top is None or key > top:  # the best so far is always among those kept
                top = key
                tied = [c for c in tied if c[0] >= score - TIE_POINTS][:MAX_TIED_WINDOWS - 1]
                tied.append(window)
            elif score >= top[0] - TIE_POINTS and len(tied) < MAX_TIED_WINDOWS:
                tied.append(window)
            # Longer windows only help a claim that starts in the first line and runs on
            # past the lines after it: a wide column's sentence broken after its first words.
            if len(window_str) - head >= 1.3 * len(claim_str) + 10:
                break
    if top is None:
        return None
    # every window kept is within TIE_POINTS of the best (the list is cut when it rises)
    ranked = sorted(tied, key=lambda c: (c[0], c[1]), reverse=True)  # stable: first found first
    best: _Alignment | None = None
    for score, _, tokens, starts, start, end, where in ranked:
        inside = [i for i, s in enumerate(starts) if s < end and s + len(tokens[i].norm) > start]
        lo = max(0, inside[0] - 2) if inside else 0
        hi = min(len(tokens), inside[-1] + 3) if inside else len(tokens)
        found = _compare(claim, tokens[lo:hi], score / 100.0, claim_text)
        if found.first >= 0:
            at = tokens[lo + found.first]
            negation = _negation_before(*hay.clause_head(*where, at.start))
            if negation is not None:  # "не потеряли" quoted as "потеряли"
                found.words.append(WordCheck(at.raw, _written(negation), WordStatus.ADDED,
                                             shown=(negation,)))
        if best is None or _differences(found) < _differences(best):
            best = found
        if not _differences(best):
            break
    return best


def _differences(alignment: _Alignment) -> int:
    """Figures not found as they are, and words shown otherwise."""
    return sum(1 for f in alignment.figures if f.status != "found") + len(alignment.words)


def _compare(claim: list[Token], passage: list[Token], score: float,
             claim_text: str) -> _Alignment:
    """Word-level alignment of claim and passage: figure checks and the shown passage."""
    ops = Levenshtein.opcodes([t.norm for t in claim], [t.norm for t in passage])
    equal_words = 0
    claim_words = sum(1 for t in claim if t.value is None)
    used: set[int] = set()
    checks: dict[int, FigureCheck] = {}
    matched: list[int] = []

    def check(ci: int, pj: int, status: str) -> None:
        found_as = passage[pj].raw if pj >= 0 else None
        claim_text = claim[ci].raw
        claimed = claim[ci].marks
        if status == "found" and not same_marks(claimed, passage[pj].marks):
            # the same value with another sign, symbol or unit: "-5" for "5", "12" for "12%"
            shown = passage[pj].marks
            units = _same_signs(claimed, shown)
            status = "differs"
            claim_text = claimed.with_unit if units else claimed.text
            found_as = shown.with_unit if units else shown.text
        checks[ci] = FigureCheck(claim[ci].value or "", claim_text, found_as, status,
                                 claim_index=ci, found_index=pj)
        if pj >= 0:
            used.add(pj)

    for op in ops:
        if op.tag == "equal":
            for k in range(op.src_end - op.src_start):
                ci, pj = op.src_start + k, op.dest_start + k
                matched.append(pj)
                if claim[ci].value is None:
                    equal_words += 1
                else:  # equal tokens; the full values decide (a long figure's token is short)
                    check(ci, pj, "found" if claim[ci].value == passage[pj].value else "differs")
    for op in ops:
        if op.tag == "equal":
            continue
        block = range(op.dest_start, op.dest_end)
        for ci in range(op.src_start, op.src_end):
            value = claim[ci].value
            if value is None:
                continue
            same = [pj for pj in block if passage[pj].value == value and pj not in used]
            other = [pj for pj in block if passage[pj].value is not None and pj not in used]
            if same:
                matched.append(same[0])
                check(ci, same[0], "found")
            elif other:
                check(ci, other[0], "differs")
            else:
                check(ci, -1, "missing")
    taken = set(matched)
    words = _word_checks(claim, passage, ops, claim_text, taken)  # adds the words it found
    lo, hi = (min(matched), max(matched) + 1) if matched else (0, len(passage))
    found_text = " ".join(t.raw for t in passage[lo:hi])
    figures = [checks[i] for i in sorted(checks)]
    share = equal_words / claim_words if claim_words else 1.0
    return _Alignment(round(score, 3), share, passage, passage[lo:hi], figures, found_text,
                      words, min(taken, default=-1))


_SYMBOL_LOOKALIKES = str.maketrans({"§": "$"})
"""Symbols Tesseract reads as one another: ``§ 55`` comes out ``$ 55``."""


def _symbols(marks: Marks) -> str:
    return marks.symbols.translate(_SYMBOL_LOOKALIKES)


def _same_signs(claimed: Marks, shown: Marks) -> bool:
    return claimed.sign == shown.sign and _symbols(claimed) == _symbols(shown)


def same_marks(claimed: Marks, shown: Marks) -> bool:
    """Do two figures of equal value say the same thing? The same sign and symbols, and the
    same unit as OCR may read it; a unit the claim does not state (it stops at the
    figure) is not compared."""
    if not _same_signs(claimed, shown):
        return False
    if claimed.unit is None or shown.unit is None:
        return True
    return ocr_explains(fold(claimed.unit), fold(shown.unit))


def _regions(ops: Any) -> list[tuple[int, int, int, int, bool, bool]]:
    """Runs of non-equal opcodes merged: (claim lo, hi, passage lo, hi, leading, trailing).
    Leading/trailing regions also hold the passage's context words around the claim."""
    regions: list[list[int]] = []
    last_equal = -1
    for n, op in enumerate(ops):
        if op.tag == "equal":
            last_equal = n
            continue
        if regions and regions[-1][4] == n - 1:
            regions[-1][1], regions[-1][3], regions[-1][4] = op.src_end, op.dest_end, n
        else:
            regions.append([op.src_start, op.src_end, op.dest_start, op.dest_end, n,
                            int(last_equal < 0)])
    trailing_from = max((n for n, op in enumerate(ops) if op.tag == "equal"), default=-1)
    return [(r[0], r[1], r[2], r[3], bool(r[5]), r[4] > trailing_from) for r in regions]


def _find_word(claim: list[Token], ci: int, passage: list[Token], block: range,
               used: set[int]) -> tuple[range, tuple[int, ...]] | None:
    """Passage tokens in ``block`` that OCR explains as claim word ``ci`` (split or merged
    with a neighbour in either text): the claim words and passage tokens matched, or None."""
    words = [pj for pj in block if passage[pj].value is None and pj not in used]
    claim_spans = [(ci, ci + 1)]
    for lo, hi in ((ci - 1, ci + 1), (ci, ci + 2)):
        if 0 <= lo and hi <= len(claim) and all(claim[k].value is None for k in range(lo, hi)):
            claim_spans.append((lo, hi))
    for lo, hi in claim_spans:
        wanted = "".join(claim[k].norm for k in range(lo, hi))
        for n in range(len(words)):
            for size in (1, 2, 3):
                span = words[n:n + size]
                if len(span) < size or span[-1] - span[0] != size - 1:
                    break
                shown = "".join(passage[pj].norm for pj in span)
                if _joins_negation(claim, range(lo, hi), passage, span):
                    # a negation run into its neighbour must be there letter for letter
                    # ("can not" / "cannot"): else the OCR budget of a long word would
                    # swallow it ("no identificados" read as "identificados")
                    if wanted == shown:
                        return range(lo, hi), tuple(span)
                elif ocr_explains(wanted, shown):
                    return range(lo, hi), tuple(span)
    return None


def _joins_negation(claim: list[Token], claimed: range, passage: list[Token],
                    span: Sequence[int]) -> bool:
    """Whether a match joins several words, one of them a negation (either side)."""
    if len(claimed) == 1 and len(span) == 1:
        return False
    return (any(is_negation(claim[k].norm) for k in claimed)
            or any(is_negation(passage[pj].norm) for pj in span))


def _word_checks(claim: list[Token], passage: list[Token], ops: Any,
                 claim_text: str, used: set[int]) -> list[WordCheck]:
    """The claim's content words that the passage does not show as themselves (see the
    module docstring, point 3). ``used`` holds passage tokens already matched."""
    checks: list[WordCheck] = []
    for c_lo, c_hi, p_lo, p_hi, leading, trailing in _regions(ops):
        block = range(p_lo, p_hi)
        lost: list[int] = []
        found: set[int] = set()
        for ci in range(c_lo, c_hi):
            if not is_content(claim[ci]) or ci in found:
                continue
            hit = _find_word(claim, ci, passage, block, used)
            if hit is None:
                lost.append(ci)
            else:
                found.update(hit[0])
                used.update(hit[1])
        free = [pj for pj in block if pj not in used and passage[pj].value is None]
        if lost:
            shown = _counterpart(claim, lost, passage, free, leading, trailing)
            text = claim_text[claim[lost[0]].start:claim[lost[-1]].end]
            if shown:
                used.update(shown)
                checks.append(WordCheck(text, " ".join(passage[pj].raw for pj in shown),
                                        WordStatus.DIFFERS, found_indices=tuple(shown),
                                        claim_indices=tuple(lost)))
            else:
                checks.append(WordCheck(text, None, WordStatus.MISSING,
                                        claim_indices=tuple(lost)))
        if not (leading or trailing):
            for pj in free:
                if pj not in used and is_content(passage[pj]):  # "killed or captured"
                    checks.append(WordCheck("", _written(passage[pj]), WordStatus.ADDED,
                                            found_indices=(pj,)))
            checks.extend(_short_swaps(claim, range(c_lo, c_hi), passage,
                                       [pj for pj in free if pj not in used], claim_text))
    return checks


def _short_swaps(claim: list[Token], region: range, passage: list[Token], free: list[int],
                 claim_text: str) -> list[WordCheck]:
    """Short words (one or two letters) that the passage has in place of the claim's, one
    for one: "attacks on Ukraine" quoted as "attacks by Ukraine", "выросли на 12%" as
    "выросли до 12%". A short word OCR lost is not missing, but one it shows as another
    word it cannot have misread is another word."""
    said = [ci for ci in region if claim[ci].value is None and not is_content(claim[ci])]
    shown = [pj for pj in free if not is_content(passage[pj])]
    if not said or len(said) != len(shown) or len(said) != len(region):
        return []
    return [WordCheck(claim_text[claim[ci].start:claim[ci].end], passage[pj].raw,
                      WordStatus.DIFFERS, found_indices=(pj,), claim_indices=(ci,))
            for ci, pj in zip(said, shown, strict=True)
            if not ocr_explains(claim[ci].norm, passage[pj].norm)
            and not _short_alike(claim[ci].norm, passage[pj].norm)]


_SHORT_ALIKE = str.maketrans("c", "s")


def _short_alike(said: str, shown: str) -> bool:
    """A short word Tesseract reads with "c" for "s" (Spanish "se" as "ce" on real
    screenshots of laprensagrafica.com): no two words of one or two letters that differ
    only so say different things worth forging ("se"/"ce", "si"/"ci", "as"/"ac"), so the
    pair counts as the same short word. Longer words keep the general rule."""
    return said != shown and said.translate(_SHORT_ALIKE) == shown.translate(_SHORT_ALIKE)


def _counterpart(claim: list[Token], lost: list[int], passage: list[Token], free: list[int],
                 leading: bool, trailing: bool) -> list[int]:
    """The passage words standing where the lost claim words were. A leading (trailing)
    region also holds context before (after) the claim: only the words next to the
    aligned part are taken, about as many letters as the claim's lost words have."""
    if not (leading or trailing) or not free:
        return free
    letters = sum(len(claim[ci].norm) for ci in lost)
    order = free[::-1] if leading and not trailing else free
    taken: list[int] = []
    for pj in order:
        taken.append(pj)
        if sum(len(passage[k].norm) for k in taken) >= 0.6 * letters:
            break
    return sorted(taken)


def _word_boxes(ocr: OcrResult, tokens: Sequence[Token]) -> list[list[int]]:
    indices = sorted({w for t in tokens for w in t.words})
    return [list(ocr.words[i].box) for i in indices]


def _boxed(ocr: OcrResult, tokens: Sequence[Token], alignment: _Alignment,
           words: list[WordCheck], figures: list[FigureCheck]) -> None:
    """Add a screenshot paragraph's word and figure checks, each boxed on the screenshot's
    own words (there the "claim" is the screenshot: its figures, the page's writing)."""
    for word in alignment.words:
        word.boxes = _word_boxes(ocr, [tokens[ci] for ci in word.claim_indices])
        words.append(word)
    for check in alignment.figures:
        if check.status != "found":
            check.boxes = [list(ocr.words[w].box) for w in tokens[check.claim_index].words]
        figures.append(check)


@dataclass
class _Decision:
    """A verdict on one passage and why: how it aligned, what differs, why a match is one."""

    verdict: str
    measure: str  # how the best passage aligned
    problems: list[str]  # each thing that differs or is missing
    summary: str | None = None  # why a match is a match

    @property
    def reasons(self) -> list[str]:
        return [self.measure, *self.problems, *([self.summary] if self.summary else [])]


def _decide(alignment: _Alignment | None, what: str) -> _Decision:
    if alignment is None:
        return _Decision("absent", f"no text to compare ({what} is empty)", [])
    present = alignment.score >= PRESENT_SCORE and alignment.word_share >= PRESENT_WORDS
    measure = (f"best passage aligns at {alignment.score:.2f} "
               f"(present from {PRESENT_SCORE}), {alignment.word_share:.0%} of the words "
               f"exactly (present from {PRESENT_WORDS:.0%})")
    if not present:
        return _Decision("absent", measure, [f"no passage of the {what} corresponds to the claim"])
    problems = []
    bad = [f for f in alignment.figures if f.status != "found"]
    for f in alignment.figures:
        if f.status == "differs":
            problems.append(f"figure {f.claim_text} differs: the {what} shows {f.found_as}")
        elif f.status == "missing":
            problems.append(f"figure {f.claim_text} is not in the {what}'s passage")
    problems.extend(w.reason(what) for w in alignment.words)
    if bad or alignment.words:
        return _Decision("mismatch", measure, problems)
    if alignment.figures:
        summary = (f"all {len(alignment.figures)} figures found exactly, and every "
                   "word of the claim")
    else:
        summary = "the claim has no figures; every word of it was found"
    return _Decision("match", measure, problems, summary)


def verify_text(ocr: OcrResult, claim: str) -> Verification:
    """Does the screenshot read as ``ocr`` show ``claim``? See the module docstring."""
    claim_tokens = tokenize(claim, claim=True)
    if not claim_tokens:
        raise UsageError("the claim has no words or figures to look for")
    alignment = _align(claim_tokens, _Haystack.from_ocr(ocr), claim)
    decision = _decide(alignment, "screenshot")
    verdict, reasons = decision.verdict, decision.reasons
    if alignment is None:
        return Verification(verdict, 0.0, claim, "", [
            FigureCheck(t.value or "", t.raw, None, "missing") for t in claim_tokens if t.value
        ], reasons, ocr.image, ocr.sha256)
    figures = alignment.figures
    for check in figures:
        if check.status == "differs":
            words = alignment.passage[check.found_index].words
            check.boxes = [list(ocr.words[w].box) for w in words]
        elif check.status == "found" and verdict != "absent":
            words = alignment.passage[check.found_index].words
            conf = min((ocr.words[w].conf for w in words), default=100.0)
            if conf < LOW_CONFIDENCE:
                reasons.append(f"figure {check.found_as} was read with low OCR confidence "
                               f"({conf:.0f}): compare it with the image by eye")
    word_checks = alignment.words if verdict != "absent" else []
    for word in word_checks:
        word.boxes = _word_boxes(ocr, [*(alignment.passage[pj] for pj in word.found_indices),
                                       *word.shown])
    if verdict == "absent":
        for check in figures:  # nothing was found, so no figure was found either
            check.found_as, check.status, check.boxes = None, "missing", []
    boxes = _word_boxes(ocr, alignment.shown) if verdict != "absent" else []
    return Verification(verdict, alignment.score, claim,
                        alignment.found_text if verdict != "absent" else "",
                        figures, reasons, ocr.image, ocr.sha256, boxes, words=word_checks)


def _sure_words(ocr: OcrResult, tokens: list[Token], alignment: _Alignment) -> None:
    """Against a page the "claim" is the screenshot's own reading: a word Tesseract read
    with low confidence (an icon, a smudge) is not held against it; a negation the page
    has and the screenshot lacks always is. The words set aside go to ``unsure``: never
    silently dropped, since a forger can blur the word he changed; the verdict names them
    and ``--annotate`` boxes them for an eye to settle."""
    def sure(check: WordCheck) -> bool:
        confs = [ocr.words[w].conf for ci in check.claim_indices for w in tokens[ci].words]
        return not confs or min(confs) >= LOW_CONFIDENCE
    def negation(check: WordCheck) -> bool:
        return is_negation(fold(check.found_as or ""))

    # A page may hold words inside a paragraph that a screenshot of it leaves out (a link
    # text, an inline caption): only an added negation counts against the screenshot.
    kept = [c for c in alignment.words
            if (negation(c) if c.status is WordStatus.ADDED else sure(c))]
    alignment.unsure = [c for c in alignment.words
                        if c.status is not WordStatus.ADDED and not sure(c)]
    alignment.words = kept
    icons = [f for f in alignment.figures if _icon_digit(ocr, tokens, f)]
    alignment.figures = [f for f in alignment.figures if f not in icons]
    alignment.unsure.extend(
        WordCheck(ocr.words[tokens[f.claim_index].words[0]].text, None, WordStatus.MISSING,
                  claim_indices=(f.claim_index,)) for f in icons)


def _icon_digit(ocr: OcrResult, tokens: list[Token], check: FigureCheck) -> bool:
    """An icon Tesseract read as one digit glued to the word beside it ("1»:Corona-Virus",
    "L2Tridents", read with confidence 8 and 0): a screenshot figure the page lacks, of one
    digit, inside one OCR word that also has letters, read with low confidence. Only such
    a figure is set aside; any other figure the page lacks or has otherwise is held."""
    if check.status != "missing" or not 0 <= check.claim_index < len(tokens):
        return False
    token = tokens[check.claim_index]
    if len(token.words) != 1 or len(token.value or "") != 1:
        return False
    word = ocr.words[token.words[0]]
    digits = sum(c.isdigit() for c in word.text)
    return (word.conf < LOW_CONFIDENCE and digits == 1
            and any(c.isalpha() for c in word.text))


def _unsure_reason(unsure: Sequence[WordCheck]) -> str:
    """One line naming the screenshot words set aside for low OCR confidence."""
    shown = [f"'{excerpt(w.claim_text, 40)}'" + (f" where the page has "
                                                 f"'{excerpt(w.found_as, 40)}'"
                                                 if w.found_as else " (not on the page)")
             for w in unsure[:3]]
    more = f" and {len(unsure) - 3} more" if len(unsure) > 3 else ""
    return (f"{len(unsure)} screenshot word(s) read with low OCR confidence were not "
            f"compared: {'; '.join(shown)}{more}; compare them with the image by eye "
            "(--annotate boxes them in orange)")


MIN_PARAGRAPH_WORDS = 4
"""Screenshot paragraphs with fewer words are UI chrome ("Reply  Repost"), not evidence."""
# A missing screenshot paragraph with figures turns match into mismatch only when it is a
# sentence: social-media counters ("Репост 2,4 тыс. Нравится 5,1 тыс.") are chrome.
MIN_FIGURE_PARAGRAPH_WORDS = 6


def excerpt(text: str, limit: int = 80) -> str:
    """``text`` cut to about ``limit`` characters at a word boundary, "…" where cut: a
    quote never ends in half a word (or half a figure)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit + 1].rsplit(" ", 1)[0] if " " in text[limit // 2:limit + 1] else text[:limit]
    return cut.rstrip(" ,;:") + "…"


def _hidden_reason(hidden: Sequence[str], page: PageShown) -> str:
    """One line: which screenshot paragraphs the page hides, by which of its rules."""
    rules = "; ".join(page.hiding[:3]) + (f" and {len(page.hiding) - 3} more"
                                          if len(page.hiding) > 3 else "")
    unread = (f"; {page.unread} of its style sheets in other files were not read"
              if page.unread else "")
    quoted = "; ".join(f'"{excerpt(text)}"' for text in hidden[:3])
    return (f"{len(hidden)} screenshot paragraph(s) are in the page's HTML but its own "
            f"style sheet hides them ({rules}{unread}): {quoted}; a reader did not see "
            "them unless a script showed them")


def verify_against_text(ocr: OcrResult, page_text: str,
                        chrome: str | PageShown = "") -> Verification:
    """Which passage of a captured page does the screenshot show, and is it really there?

    Every paragraph of the screenshot (Tesseract's block/paragraph structure) is looked
    for in the page. ``claim`` in the result is the screenshot's text that was looked for,
    ``found`` the page's corresponding passage, and ``figures`` the screenshot's figures
    with how the page writes them. ``match``: the screenshot's paragraphs are on the page
    with the same figures; ``mismatch``: a paragraph is there but a figure differs, or a
    paragraph with figures is missing while others are there (an edited page);
    ``absent``: none of the screenshot's text is on the page.

    ``chrome`` is every text the page shows (:mod:`provenance.screens.pagetext`): a
    screenshot paragraph the article text lacks, or has otherwise, but the page shows as it
    is (a menu, a date, a caption, a numbered list) is the page's; one the page shows only
    with another figure or word is a mismatch. Such paragraphs alone never make a match.

    A paragraph the page's HTML has but its own style sheet hides (a :class:`PageShown`
    whose texts with and without the style sheets differ: only the latter shows it) was
    not shown to readers: it is never a match, and makes the verdict a mismatch.
    """
    shown_page = chrome if isinstance(chrome, PageShown) else PageShown(chrome)
    hay = _Haystack.from_text(page_text)
    chrome_hay = _Haystack.from_text(shown_page.visible) if shown_page.visible else None
    unstyled_hay = _Haystack.from_text(shown_page.unstyled) if shown_page.styled else None

    def shown_only_unstyled(tokens: list[Token], text: str,
                            styled: _Alignment | None = None) -> bool:
        """Shown as it is only when the page's style sheets are left out."""
        if unstyled_hay is None:
            return False
        if styled is None and chrome_hay is not None:
            styled = _align(tokens, chrome_hay, text)
        if styled is not None and _decide(styled, "page").verdict == "match":
            return False
        return _decide(_align(tokens, unstyled_hay, text), "page").verdict == "match"

    paragraphs: dict[tuple[int, int, int], list[int]] = {}
    for line in ocr.lines:
        paragraphs.setdefault((line.block, line.column, line.par), []).extend(line.words)
    shown: list[str] = []
    found: list[str] = []
    figures: list[FigureCheck] = []
    words: list[WordCheck] = []
    unsure: list[WordCheck] = []
    reasons: list[str] = []
    boxes: list[list[int]] = []
    scores: list[float] = []
    looked: list[str] = []  # paragraphs looked for and not found
    hidden: list[str] = []  # paragraphs the page has but its style sheet hides
    verdict = "absent"
    skipped = missing_figures = on_page = 0
    chrome_mismatch = False
    for word_indices in paragraphs.values():
        text = " ".join(ocr_word(ocr.words[i].text) for i in word_indices)
        owner: list[int] = []
        for n, i in enumerate(word_indices):
            if n:
                owner.append(-1)
            owner.extend([i] * len(ocr.words[i].text))
        tokens = tokenize(text, owner, claim=True)  # a screenshot may be cut anywhere
        sentence = sum(1 for t in tokens if t.value is None and len(t.norm) > 1)
        short = sentence < MIN_PARAGRAPH_WORDS
        if short and not (sentence and any(t.value is not None for t in tokens)):
            skipped += 1
            continue
        alignment = _align(tokens, hay, text)
        if alignment is not None:
            _sure_words(ocr, tokens, alignment)
        decision = _decide(alignment, "page")
        part = decision.verdict
        if short and part != "mismatch":
            # A short paragraph is UI chrome, unless the article has it with another
            # figure or word: a headline "9881 погибших" for the page's "9861 погибших".
            skipped += 1
            continue
        if part == "match" and shown_only_unstyled(tokens, text):
            hidden.append(text)
            continue
        elsewhere: _Alignment | None = None
        if (alignment is None or part != "match") and chrome_hay is not None:
            # Not in the article text as shown: the page may still show it as it is (a
            # menu, a byline, a numbered list's numbers, a headline beside the article's).
            elsewhere = _align(tokens, chrome_hay, text)
            if elsewhere is not None:
                _sure_words(ocr, tokens, elsewhere)
                outside = _decide(elsewhere, "page")
                if outside.verdict == "match" and part == "mismatch":
                    # the article's own passage, which the page shows exactly as the
                    # screenshot does (its text lost a list number or a heading word)
                    alignment, decision, part = elsewhere, outside, "match"
                elif outside.verdict == "match":
                    on_page += 1
                    continue
                elif outside.verdict == "mismatch" and part != "mismatch":
                    # the page's own chrome, shown with another figure or word: edited
                    reasons.append(f"outside the article: \"{excerpt(text)}\"")
                    reasons.extend(outside.problems)
                    _boxed(ocr, tokens, elsewhere, words, figures)
                    chrome_mismatch = True
                    continue
        if (alignment is None or part == "absent") and shown_only_unstyled(tokens, text, elsewhere):
            hidden.append(text)  # not in the article text, and only hidden on the page
            continue
        if alignment is None or part == "absent":
            looked.append(text)
            reasons.append(f"not on the page: \"{excerpt(text)}\"")
            if sentence >= MIN_FIGURE_PARAGRAPH_WORDS and any(t.value is not None for t in tokens):
                missing_figures += 1  # a sentence with figures; not "Likes 5.1K Reposts 2.4K"
            continue
        scores.append(alignment.score)
        shown.append(text)
        found.append(alignment.found_text)
        _boxed(ocr, tokens, alignment, words, figures)
        for check in alignment.unsure:
            check.boxes = _word_boxes(ocr, [tokens[ci] for ci in check.claim_indices])
            unsure.append(check)
        boxes.extend(list(ocr.words[i].box) for i in word_indices)
        reasons.extend(decision.problems)  # each paragraph's own summary would contradict
        if part == "mismatch":
            verdict = "mismatch"
        elif verdict == "absent":
            verdict = "match"
    if verdict != "absent" and chrome_mismatch:
        verdict = "mismatch"
    if hidden:
        # A page that withdrew the passage by hiding it, not by deleting it.
        verdict = "mismatch"
        reasons.insert(0, _hidden_reason(hidden, shown_page))
    if verdict == "match" and missing_figures:
        # The withdrawal case: the page still has the headline and the filler, but not the
        # paragraph with the figures. That is not the page the screenshot shows.
        verdict = "mismatch"
        reasons.insert(0, f"{missing_figures} screenshot paragraph(s) with figures are not "
                       "on the page")
    if unsure and verdict != "absent":
        reasons.append(_unsure_reason(unsure))
    if skipped:
        reasons.append(f"{skipped} short screenshot paragraphs (UI chrome) not looked for")
    if on_page:
        reasons.append(f"{on_page} screenshot paragraphs are on the page outside its article "
                       "text (menus, dates, captions)")
    if verdict == "absent":
        reasons.insert(0, "no paragraph of the screenshot is on the page")
    score = round(sum(scores) / len(scores), 3) if scores else 0.0
    # What was looked for: the paragraphs found; when none was, every one looked for (an
    # "absent" must still say what the screenshot reads).
    claim = "\n".join(shown or hidden or looked)
    return Verification(verdict, score, claim, "\n".join(found), figures, reasons,
                        ocr.image, ocr.sha256, boxes if verdict != "absent" else [],
                        against="page", words=words if verdict != "absent" else [],
                        unsure=unsure if verdict != "absent" else [])
