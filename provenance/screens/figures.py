"""Numbers in text, compared by value and never approximately.

A figure is what a forger changes, so this module is deliberately strict: two figures are
equal only when their values are equal. ``9861``, ``9 861`` (with an ordinary, no-break
U+00A0, thin U+2009 or narrow no-break U+202F space), ``9,861`` and ``9.861`` are all the
value 9861; ``9881`` is a different figure, however close it looks.

Grouping rules (what one figure is):

* Digit groups join into one number only through one kind of separator used throughout,
  and only when every group after the first has exactly three digits and the first has one
  to three digits: ``16 153`` and ``1,234,567`` are single numbers.
* A run of four or more digits never starts a grouped number, so ``2022 9 861`` reads as
  ``2022`` and ``9861`` (a year before a count), and ``9 861 16 153`` as ``9861`` and
  ``16153``: a two-digit group cannot continue a thousands group.
* The known ambiguity: ``12 345`` is read as twelve thousand three hundred and forty-five,
  never as ``12`` and ``345``. Newspapers write counts this way; a text that puts two
  separate numbers side by side with a single space is rare and is read greedily.
* A single ``.`` or ``,`` followed by exactly three digits is a thousands separator
  (``9.861`` = ``9,861`` = 9861, as Russian and English typography write it); followed by
  any other number of digits it is a decimal point (``3,5`` = ``3.5``). With both kinds
  present, the last one is the decimal point (``1 234,5``, ``1,234.5``).
* Dates ``24.02.2022`` and times ``14:03`` are single figures compared digit for digit.
* Signs and units are not part of a figure's value: ``-5 %`` is the figure 5. They are
  its :class:`Marks` (sign, ``%``/currency/degree symbols, a one- or two-letter unit such
  as ``km``/``м``), compared separately: ``-5`` is not ``5``, nor ``12 %`` ``12``, nor
  ``40 км`` ``40 м``, nor ``$3.5`` ``€3.5``.

Digits are never "corrected": an OCR misreading of a digit is a different figure, which
makes a screenshot a mismatch rather than a match, the safe direction for evidence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Unicode decimal digits that are not ASCII (Arabic-Indic, full-width...) are not figures
# here: Tesseract's eng/rus/ukr models only ever emit ASCII digits.
SPACES = " \u00a0\u2009\u202f"
"""Spaces that group thousands: ordinary, no-break, thin, narrow no-break."""

_DATE = r"(?P<date>\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2}))(?![0-9])"
_TIME = r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?![0-9])"
_GROUPED = (
    r"(?P<grouped>\d{1,3}(?P<sep>[" + SPACES + r",.])\d{3}(?:(?P=sep)\d{3})*)"
    r"(?P<gdec>(?!(?P=sep))[.,]\d+)?(?![0-9])"
)
_PLAIN = r"(?P<plain>\d+)(?P<pdec>[.,]\d+)?(?![0-9])"
_FIGURE_RE = re.compile(
    r"(?<![0-9])(?:" + "|".join((_DATE, _TIME, _GROUPED, _PLAIN)) + ")"
)


SIGNS = {"-": "−", "−": "−", "–": "−", "—": "−", "+": "+", "±": "±",
         "<": "<", ">": ">", "≤": "≤", "≥": "≥", "~": "~", "≈": "≈"}
"""Signs a figure may carry, as compared: Tesseract reads a minus as ``-``, ``–`` or ``—``;
``<5`` and ``~5`` are not ``5`` either."""
CURRENCIES = "§$€£¥₽₴₸₹¢₩₺₪"
SYMBOLS = "%‰‱°" + CURRENCIES
"""Percent, per mille, degree and currency signs (currencies and ``§`` also before the figure):
written beside a figure, they change what it says as much as a digit does."""
UNITS = frozenset((
    # metric and imperial symbols, time, area, energy, data; magnitude suffixes (5K, $3B)
    "km m cm mm nm kg g mg t l ml dl cl ha h min mi ft yd lb oz kw w mw gw kwh "
    "mb gb tb kb hz c f k bn mn mln "
    # Cyrillic: км, м, см, мм, кг, г (also "year"), мг, т, л, мл, га, ч, мин, тыс, млн, млрд
    "км м см мм кг г мг т л мл га ч мин тыс млн млрд").split())
"""The words right after a figure that are its unit (``40 km``, ``40 м``, ``5K``), compared
with it: a short word is not otherwise compared (OCR drops them elsewhere). Only these: a
short word that merely follows a figure ("2018 Le Monde" on one OCR line, "9861 и") is
not its unit, or a line Tesseract joins would read as another unit."""
_BEFORE = re.compile(r"(?P<sign>[" + re.escape("".join(SIGNS)) + r"])?"
                     r"(?P<cur>[" + CURRENCIES + r"]+[" + SPACES + r"]?)?$")
_AFTER = re.compile(r"(?P<sym>[" + SPACES + r"]?[" + SYMBOLS + r"]+)?"
                    r"(?P<unit>[" + SPACES + r"]?[^\W\d_]+)?")


@dataclass(frozen=True)
class Marks:
    """What is written around a figure and changes its meaning: its sign, its symbols, and
    a short unit word after it. ``unit`` is None when the text ends right after the figure
    (a claim that stops there says nothing about a unit)."""

    sign: str = ""
    symbols: str = ""
    unit: str | None = ""
    text: str = ""
    """The figure as written with its sign and symbols (``-5``, ``12%``, ``$3.5``)."""
    with_unit: str = ""
    """And with its unit (``40 km``, ``5K``)."""


def figure_marks(text: str, start: int, end: int, *, open_end: bool = False) -> Marks:
    """The :class:`Marks` of the figure at ``text[start:end]``. A sign counts only when
    nothing but a space or punctuation comes before it (``5-10`` and ``COVID-19`` have
    none). ``open_end``: the text is a claim, so a figure at its very end has an unknown
    unit rather than none."""
    before = _BEFORE.search(text, max(0, start - 4), start)
    lo = start
    sign = currency = ""
    if before is not None:
        cur = before.group("cur") or ""
        currency = cur.strip(SPACES)
        lo = start - len(cur)
        mark = before.group("sign")
        if mark and (lo - 1 == 0 or not text[lo - 2].isalnum()):
            sign, lo = SIGNS[mark], lo - 1
    after = _AFTER.match(text, end)  # every group optional: it always matches
    assert after is not None
    sym = after.group("sym") or ""
    symbols = currency + sym.strip(SPACES)
    hi = end + len(sym)
    marked = " ".join(text[lo:hi].split())
    unit: str | None = ""
    word = after.group("unit") or ""
    if sym and word[:1] in SPACES:
        word = ""  # "12% to": a symbol is the figure's unit; "5 °C" keeps its C
    word = word.strip(SPACES)
    if word and word.lower() in UNITS:
        unit, hi = word.lower(), after.end()
    if unit == "" and open_end and not text[hi:].strip(SPACES + "\t\n"):
        unit = None
    return Marks(sign, symbols, unit, marked, " ".join(text[lo:hi].split()))


@dataclass(frozen=True)
class Figure:
    """One number found in a text: its exact value and where it was written."""

    value: str
    """Canonical value: ``"9861"``, ``"3.5"``, ``"24.02.2022"``, ``"14:03"``."""
    text: str
    """The figure as written in the text, separators included."""
    start: int
    end: int

    def to_json(self) -> dict[str, object]:
        return {"value": self.value, "text": self.text, "start": self.start, "end": self.end}


def _canonical_number(integer_digits: str, fraction: str | None) -> str:
    """Exact decimal string with no leading/trailing zeros: ``"009,50"`` -> ``"9.5"``.

    Done on the digit strings, not with :class:`decimal.Decimal`: its default context keeps
    28 digits, so a longer figure either raised or would be rounded, and two figures that
    differ in their 40th digit must still differ. Every Unicode decimal digit the regex
    lets through is written as its ASCII digit, as ``Decimal`` did.
    """
    integer = _ascii_digits(integer_digits).lstrip("0") or "0"
    rest = _ascii_digits(fraction or "").rstrip("0")
    return f"{integer}.{rest}" if rest else integer


def _ascii_digits(digits: str) -> str:
    if digits.isascii():
        return digits
    return "".join(str(unicodedata.decimal(c)) for c in digits)


def _value(match: re.Match[str]) -> str:
    if match.group("date"):
        return re.sub(r"[/]", ".", match.group("date"))
    if match.group("time"):
        return match.group("time")
    if match.group("grouped"):
        sep = match.group("sep")
        digits = match.group("grouped").replace(sep, "")
        decimal = match.group("gdec")  # never the grouping separator again (regex)
        return _canonical_number(digits, decimal[1:] if decimal else None)
    # Plain digits with "[.,]ddd" and a short lead were taken as grouped above, so what is
    # left here ("1234.567", "3,5") is a decimal fraction.
    decimal = match.group("pdec")
    plain = match.group("plain")
    return _canonical_number(plain, decimal[1:] if decimal else None)


def extract_figures(text: str) -> list[Figure]:
    """Every figure in ``text``, left to right, by the rules in the module docstring."""
    figures = []
    for match in _FIGURE_RE.finditer(text):
        raw = match.group(0)
        figures.append(Figure(_value(match), raw, match.start(), match.end()))
    return figures


def figure_value(text: str) -> str | None:
    """The value of ``text`` when it is exactly one figure (surrounding spaces allowed)."""
    stripped = text.strip(SPACES + "\t\n")
    found = extract_figures(stripped)
    if len(found) == 1 and found[0].text == stripped:
        return found[0].value
    return None


def same_figure(a: str, b: str) -> bool:
    """True when two written figures have the same value (``"9 861"`` and ``"9,861"``)."""
    va, vb = figure_value(a), figure_value(b)
    return va is not None and va == vb
