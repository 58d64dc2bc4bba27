"""Which single-byte code page an unlabelled page was written in: the reading whose letters
make sense as ONE language.

A statistical detector's first answer read short French as windows-1250 (è as č), Czech in
ISO-8859-2 as windows-1250 (š ž ť as ą ľ »), Turkish as windows-1250 (ş ı ğ as ţ ý đ): each
wrong reading is still "letters". What gives it away is that no language writes those letters
together. So each candidate code page reads the page's non-ASCII bytes, and the reading is
scored for the language it fits best: letters of that language count for it (its common
lower-case ones more), letters foreign to it, C1 controls, odd signs (¤ ¶ ± inside a word),
a capital after a lower-case letter in a word, and scripts mixed inside a word count against.
Readings that score the same (German ä ö ü ß read alike in windows-1250 and -1252) go to the
code page browsers and servers use most: windows-125x before ISO-8859-x, which wins only when
its reading is better (the bytes 0x80-0x9F, C1 controls in ISO, are letters in its text).

Bounded: only the words holding non-ASCII bytes of at most :data:`SAMPLE_WINDOWS` windows
spread over the page are read, at most :data:`SAMPLE_BYTES` of them, whatever the page's size.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections import Counter
from dataclasses import dataclass

from archive.charsets import decode_strict

# Preferred first when two readings are equally plausible (what browsers and servers use most).
CANDIDATES = ("cp1252", "cp1250", "cp1251", "cp1254", "cp1253", "cp1257", "cp1255", "cp1256",
              "cp1258", "cp874", "iso8859_2", "iso8859_15", "iso8859_7", "iso8859_13",
              "koi8_r", "koi8_u", "iso8859_5", "iso8859_8", "iso8859_6", "cp866",
              "mac_cyrillic")
SAMPLE_WINDOWS = 16
WINDOW_BYTES = 16384
SAMPLE_BYTES = 65536
FOREIGN = -3.0  # a letter no word of the language has
C1 = -6.0  # a C1 control or an undefined byte: never text
ODD = -2.0  # a sign text hardly uses (¤ ¦ ¨ ¸ ˇ ¶ box drawing)
IN_WORD = {"s": -4.0, "q": -2.0}  # an odd sign, a quote or dash, between two letters
CASE_FLIP = -3.0  # a capital right after a lower-case letter ("нИНИСТЕРСТВО")
SCRIPT_MIX = -3.0  # two scripts touching inside a word ("Rzбd")
LONE_LETTER = -1.5  # a one-letter word: few ("à", "è", "в"), and only common letters
LONE = -3.0  # a Hebrew or Thai letter standing alone ("©" read in windows-874): none


@dataclass(frozen=True)
class Language:
    """A language's letters beyond ASCII (lower case), and its most common ones."""

    name: str
    letters: frozenset[str]
    common: frozenset[str]


def _lang(name: str, letters: str, common: str = "") -> Language:
    return Language(name, frozenset(letters), frozenset(common or letters))


_CYR_RU = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
LANGUAGES = (  # for Latin scripts, every accented letter is common but the rarest few
    _lang("fr", "àâæçéèêëîïôœùûüÿ", "àâçéèêëîïôœùû"), _lang("de", "äöüß"),
    _lang("es", "áéíóúñü", "áéíóúñ"), _lang("pt", "áâãàçéêíóôõú"), _lang("it", "àèéìíòóù"),
    _lang("nl", "ëïéèöü", "ëïéè"), _lang("da", "æøåé", "æøå"), _lang("sv", "åäöé", "åäö"),
    _lang("fi", "äöå", "äö"), _lang("is", "áðéíóúýþæö"), _lang("ca", "àçèéíïòóúü·"),
    _lang("pl", "ąćęłńóśźż"), _lang("cs", "áčďéěíňóřšťúůýž"), _lang("sk", "áäčďéíĺľňóôŕšťúýž"),
    _lang("sl", "čšž"), _lang("hr", "čćđšž"), _lang("hu", "áéíóöőúüű"), _lang("ro", "ăâîşţșț"),
    _lang("sq", "çë"), _lang("tr", "çğıöşüâîİ", "çğıöşüİ"), _lang("lt", "ąčęėįšųūž"),
    _lang("lv", "āčēģīķļņšūž"), _lang("et", "äöõüšž", "äõöü"),
    _lang("el", "αβγδεζηθικλμνξοπρστυφχψωςάέήίόύώϊϋΐΰ", "αεηιοντσρκμλπάέίόύ"),
    _lang("ru", _CYR_RU, "оеаинтсрвлкмдпуяы"),
    _lang("uk", "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя’", "оаніивтерсклудмп"),
    _lang("be", "абвгдеёжзійклмнопрстуўфхцчшыьэюя", "аоеніыртсвлк"),
    _lang("bg", "абвгдежзийклмнопрстуфхцчшщъьюя", "аоеинтрсвлкдпмзъ"),
    _lang("sr", "абвгдђежзијклљмнњопрстћуфхцчџш", "аиоенрстјвлк"),
    _lang("mk", "абвгдѓежзѕијклљмнњопрстќуфхцчџш", "аоеинтрсвлкдп"),
    _lang("he", "".join(map(chr, range(0x5B0, 0x5F5))), "ויהלרמתאבנשעדכ"),
    _lang("ar", "".join(map(chr, range(0x621, 0x656))) + "پچژگکیی٠١٢٣٤٥٦٧٨٩",
          "الميونهرتبعدسفكقحجش"),
    _lang("vi", "àáâãèéêìíòóôõùúýăđĩũơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
          "\u0300\u0301\u0303\u0309\u0323", "ươđâêôă\u0300\u0301\u0303\u0309\u0323"),
    _lang("th", "".join(map(chr, range(0xE01, 0xE5C))), "านรอกเงมยลวดทสะไั่้ีิ"),
)
_WEST = ("fr", "de", "es", "pt", "it", "nl", "da", "sv", "fi", "is", "ca", "sq", "et")
_CENTRAL = ("pl", "cs", "sk", "sl", "hr", "hu", "ro", "sq", "de")
_BALTIC = ("lt", "lv", "et", "de")
_CYRILLIC = ("ru", "uk", "be", "bg", "sr", "mk")
# The languages each code page was made for: a reading is scored only as one of them
# (Lithuanian is never written in windows-1250, so "ą" there is no Lithuanian letter).
WRITTEN_IN = {
    "cp1252": _WEST, "iso8859_15": _WEST, "cp1250": _CENTRAL, "iso8859_2": _CENTRAL,
    "cp1257": _BALTIC, "iso8859_13": _BALTIC, "cp1254": ("tr",), "cp1253": ("el",),
    "iso8859_7": ("el",), "cp1255": ("he",), "iso8859_8": ("he",), "cp1256": ("ar",),
    "iso8859_6": ("ar",), "cp1258": ("vi",), "cp874": ("th",),
    **dict.fromkeys(("cp1251", "koi8_r", "koi8_u", "iso8859_5", "cp866", "mac_cyrillic"),
                    _CYRILLIC),
}
# Marks text uses next to letters (an apostrophe, a soft hyphen), and ones it uses around words.
_JOINERS = "’‘'·\u00ad"
_MARKS = "«»„“”‚‹›–—…€•©®™°§¡¿£¥¢×²³½¼¾±µ‰†‡′″\u00a0"
_SCRIPT_MARKS = ((0x591, 0x5C8, "h"), (0x64B, 0x660, "r"), (0xE31, 0xE4F, "t"))


def guess_single_byte(body: bytes) -> str:
    """The code page (Python's codec name) of the most plausible reading of ``body``."""
    grams, high = _evidence(body)
    return codecs.lookup(_best(grams, high)).name


MIN_EVIDENCE = 24
"""Non-ASCII bytes a page needs before its letters may overrule its label."""
IMPLAUSIBLE = 0.5
"""A labelled reading scoring below this a non-ASCII byte is no language (right readings of
chardet's real pages in 21 code pages score 1.35-2.0; Cyrillic read as windows-1252 -0.4 to
-1.8, Czech or Polish as windows-1252 -1.2 to 0.3; Hungarian, mostly the same letters, 1.0+)."""
CLEARLY_BETTER = 1.0
"""By how much a byte another code page's reading must beat the label's to overrule it."""
PLAUSIBLE = 1.2
"""What a byte the other reading must score itself: it must read as a language, not merely
less oddly ("Home ¦ News" in windows-1252 is signs, in ISO-8859-2 "Home Ś News")."""


def better_than_label(body: bytes, declared: str) -> str | None:
    """The code page (Python's name) whose reading of ``body`` is clearly a language when the
    declared single-byte one's is not (windows-1251 served as ISO-8859-1, ISO-8859-2 as
    windows-1252, by a server's default); else None. A reading about as good as the label's
    (ő read as õ: what browsers show) keeps the label."""
    label = _candidate(declared)
    if label is None:
        return None
    grams, high = _evidence(body)
    count = sum(high.values())
    if count < MIN_EVIDENCE:
        return None
    best = _best(grams, high)
    if best == label:
        return None
    if _clearly_better(grams, high, label, best):
        return codecs.lookup(best).name
    # Two code pages that read most bytes alike (windows-1250 and ISO-8859-2, windows-1251
    # and Mac Cyrillic): judged by the bytes they read differently ("š" or "ą"?).
    differ = _differing(label, best)
    grams = Counter({gram: n for gram, n in grams.items() if gram[1] in differ})
    high = Counter({byte: n for byte, n in high.items() if byte in differ})
    if sum(high.values()) >= MIN_DIFFERING and _clearly_better(grams, high, label, best):
        return codecs.lookup(best).name
    return None


MIN_DIFFERING = 8
"""Bytes two code pages read differently a page needs for them alone to overrule its label."""


def _clearly_better(grams: Counter[bytes], high: Counter[int], label: str, best: str) -> bool:
    count = sum(high.values())
    ours, theirs = _score(grams, high, label) / count, _score(grams, high, best) / count
    return ours < IMPLAUSIBLE and theirs >= PLAUSIBLE and theirs - ours >= CLEARLY_BETTER


@functools.lru_cache(maxsize=256)
def _differing(one: str, other: str) -> frozenset[int]:
    first, second = _reading(one), _reading(other)
    return frozenset(byte for byte in range(256) if first[byte] != second[byte])


def _candidate(codec: str) -> str | None:
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return None
    return next((c for c in CANDIDATES if codecs.lookup(c).name == name), None)


def _evidence(body: bytes) -> tuple[Counter[bytes], Counter[int]]:
    """Each sampled non-ASCII byte with its two neighbours, and the bytes' counts."""
    grams = Counter(_TRIGRAM.findall(_sample(body)))
    high: Counter[int] = Counter()
    for gram, n in grams.items():
        high[gram[1]] += n
    return grams, high


def _best(grams: Counter[bytes], high: Counter[int]) -> str:
    return max(CANDIDATES, key=lambda codec: (_score(grams, high, codec),
                                              -CANDIDATES.index(codec)))


_WORD = re.compile(rb"[^\s<>\"=]{0,40}[\x80-\xff][^\s<>\"=]{0,40}")
_TRIGRAM = re.compile(rb"(?=([\s\S][\x80-\xff][\s\S]))")


def _sample(body: bytes) -> bytes:
    """The words with non-ASCII bytes in up to SAMPLE_WINDOWS windows spread over the page,
    at most SAMPLE_BYTES of them."""
    if len(body) <= SAMPLE_WINDOWS * WINDOW_BYTES:
        windows = [body]
    else:
        step = (len(body) - WINDOW_BYTES) // (SAMPLE_WINDOWS - 1)
        windows = [body[i * step:i * step + WINDOW_BYTES] for i in range(SAMPLE_WINDOWS)]
    words: list[bytes] = []
    share = SAMPLE_BYTES // len(windows)
    for window in windows:
        taken = 0
        for match in _WORD.finditer(window):
            words.append(match.group())
            taken += match.end() - match.start() + 1
            if taken >= share:
                break
    return b" " + b" ".join(words) + b" "


def _score(grams: Counter[bytes], high: Counter[int], codec: str) -> float:
    """The reading's letters, scored for the language they fit best, and its oddities."""
    letters = max(sum(n * weights[byte] for byte, n in high.items())
                  for weights in _weights(codec))
    classes = _classes(codec)
    odd = 0.0
    for (before, byte, after), n in grams.items():
        odd += n * _oddity(classes[before], classes[byte], classes[after], after < 0x80)
    return letters + odd


_LETTERS = frozenset(b"aAbBgGhrtom")
_LOWER = frozenset(b"abg")
_UPPER = frozenset(b"ABG")
_NEVER_ALONE = frozenset(b"ht")  # Hebrew and Thai write no one-letter words
_SCRIPT = {ord(k): v for k, v in zip("aAbBgGhrt", "LLCCGGHRT", strict=True)}


@functools.lru_cache(maxsize=8192)
def _oddity(before: int, mid: int, after: int, after_ascii: bool) -> float:
    """What a non-ASCII character costs among its neighbours (all by class): a capital
    after a lower-case letter, letters of two scripts touching, a sign inside a word. The
    pair it makes with a non-ASCII ``after`` is that one's to count."""
    score = _pair(before, mid) + (_pair(mid, after) if after_ascii else 0.0)
    if before in _LETTERS and after in _LETTERS and chr(mid) in IN_WORD:
        score += IN_WORD[chr(mid)]
    if mid in _LETTERS and before not in _LETTERS and after not in _LETTERS:
        score += LONE if mid in _NEVER_ALONE else LONE_LETTER
    return score


def _pair(left: int, right: int) -> float:
    score = CASE_FLIP if left in _LOWER and right in _UPPER else 0.0
    if left in _SCRIPT and right in _SCRIPT and _SCRIPT[left] != _SCRIPT[right]:
        score += SCRIPT_MIX
    return score


@functools.lru_cache(maxsize=64)
def _weights(codec: str) -> list[list[float]]:
    """For each language, what each byte's character in ``codec`` counts for it."""
    reading = _reading(codec)
    return [[_weight(ch, lang) for ch in reading] for lang in LANGUAGES
            if lang.name in WRITTEN_IN[codec]]


def _weight(char: str, lang: Language) -> float:
    kind = _class(char)
    if kind == "c":
        return C1
    if kind == "s":
        return ODD
    if kind not in "aAbBgGhrtom":
        return 0.0
    lower = char.lower() if len(char.lower()) == 1 else char
    if lower not in lang.letters and char not in lang.letters:
        return FOREIGN
    return 2.0 if char in lang.common else 1.0


@functools.lru_cache(maxsize=64)
def _reading(codec: str) -> str:
    """The codec's 256 characters, as browsers read them."""
    return decode_strict(bytes(range(256)), codec)


@functools.lru_cache(maxsize=64)
def _classes(codec: str) -> bytes:
    """The class (see :func:`_class`) of each byte's character in ``codec``."""
    return bytes(ord(_class(ch)) for ch in _reading(codec))


def _class(char: str) -> str:
    """a/A Latin lower/upper, b/B Cyrillic, g/G Greek, h Hebrew, r Arabic, t Thai, o other
    letters, m a combining mark, c a C1 control or undefined, s an odd sign, q a mark text
    puts around words, k one it puts inside them, . anything else (spaces, ASCII signs)."""
    code = ord(char)
    if 0x80 <= code <= 0x9F or char == "\ufffd":
        return "c"
    if char.isalpha():
        upper = char.isupper()
        if code < 0x250:
            return "A" if upper else "a"
        if 0x370 <= code < 0x400:
            return "G" if upper else "g"
        if 0x400 <= code < 0x530:
            return "B" if upper else "b"
        if 0x590 <= code < 0x600:
            return "h"
        if 0x600 <= code < 0x700:
            return "r"
        if 0xE00 <= code < 0xE80:
            return "t"
        return "o"
    if code < 0x80:
        return "."
    if char in _JOINERS:
        return "k"
    if char in _MARKS:
        return "q"
    if 0x300 <= code < 0x370:
        return "m"
    for start, end, kind in _SCRIPT_MARKS:  # vowel points and tone marks go with their script
        if start <= code < end:
            return kind
    return "s"
