"""Which Tesseract model should read a Latin-script screenshot: its language, from its words.

The English model reads German, French or Spanish letters as the English ones it knows:
``Gefühle`` comes out ``Gefihle``, ``Maßnahmen`` ``Malsnanmen``, and the word check of
``verify`` then reports a word the page does not have. The language's own model (Debian's
``tesseract-ocr-deu`` and the like) reads them. Which language a text is in is told by its
common words: each language's stop list (jusText's, already installed with trafilatura)
is matched against the words read, letters folded to plain ASCII because the English
model drops the accents. English prose stays English; languages that tie (Spanish and
Galician share most common words) are all candidates, and the installed ones read it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import justext

STOPLISTS = {
    "eng": "English", "deu": "German", "fra": "French", "spa": "Spanish",
    "por": "Portuguese", "ita": "Italian", "nld": "Dutch", "pol": "Polish", "ces": "Czech",
    "slk": "Slovak", "slv": "Slovenian", "hrv": "Croatian", "ron": "Romanian",
    "hun": "Hungarian", "tur": "Turkish", "swe": "Swedish", "dan": "Danish",
    "nor": "Norwegian_Bokmal", "fin": "Finnish", "est": "Estonian", "lav": "Latvian",
    "lit": "Lithuanian", "cat": "Catalan", "glg": "Galician", "vie": "Vietnamese",
    "ind": "Indonesian",
}
"""Tesseract's code of each Latin-script language told apart, and jusText's stop list."""

MIN_SHARE = 0.25
"""The share of a text's words that must be the language's common words (news prose
scores 0.4-0.8 in its own language, under 0.35 in any other)."""

MARGIN = 0.08
"""Languages this close to the best are as likely (Spanish news prose scores 0.53 as
Spanish, 0.40 as Catalan; a short Spanish text can tie with Galician)."""

_WORD = re.compile(r"[^\W\d_]+")


def fold(word: str) -> str:
    """Lower case without accents: ``Für`` and the English model's ``fur`` are one word."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


@functools.cache
def _stopwords(code: str) -> frozenset[str]:
    """The language's common words, folded. jusText's lists come from Wikipedia and carry
    English words (German's has "the" and "of", Finnish's a hundred): those are taken out
    of every list but English's, or English prose scores as Finnish."""
    words = frozenset(fold(w) for w in justext.get_stoplist(STOPLISTS[code]))
    return words if code == "eng" else words - _stopwords("eng")


def shares(text: str) -> dict[str, float]:
    """Each language's share of the text's Latin-script words that are its common words."""
    words = [fold(w) for w in _latin_words(text)]
    if not words:
        return dict.fromkeys(STOPLISTS, 0.0)
    return {code: sum(1 for w in words if w in _stopwords(code)) / len(words)
            for code in STOPLISTS}


def latin_languages(text: str, *, min_words: int = 8) -> tuple[str, ...]:
    """Tesseract's codes of the languages ``text`` may be written in, best first: the best
    and those within :data:`MARGIN` of it (Spanish and Galician prose can tie); ``("eng",)``
    when English is among them (English text is read as English); ``()`` for fewer than
    ``min_words`` Latin-script words or no language's common words (keep what you had)."""
    if len(_latin_words(text)) < min_words:
        return ()
    ranked = sorted(shares(text).items(), key=lambda item: item[1], reverse=True)
    top = ranked[0][1]
    if top < MIN_SHARE:
        return ()
    close = tuple(code for code, share in ranked if share >= max(top - MARGIN, MIN_SHARE))
    return ("eng",) if "eng" in close else close


def language_name(code: str) -> str:
    """The language's English name, for a note (``deu``: German)."""
    return STOPLISTS.get(code, code).replace("_", " ")


def _latin_words(text: str) -> list[str]:
    """The words in Latin letters, accented ones included (not Cyrillic, Greek, ...)."""
    return [w for w in _WORD.findall(text)
            if w.isascii() or all("LATIN" in unicodedata.name(c, "") for c in w)]
