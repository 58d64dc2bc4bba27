"""Reading the text of a screenshot with Tesseract: words, boxes, lines and blocks.

``ocr_image(path)`` loads the image safely (:mod:`provenance.images`), prepares it
(:mod:`provenance.preprocess`), runs Tesseract once or twice, and returns an
:class:`OcrResult` whose word boxes are in the ORIGINAL image's pixels (orientation
applied), so an annotation drawn on the screenshot lands on the words.

Tesseract keeps a page's structure: blocks (a column, a banner), paragraphs and lines in
reading order. We keep it too (:attr:`OcrResult.lines`), so a passage that runs down the
left column is read down the left column, not across into the right one.

Language ``auto`` reads once with ``rus+ukr+eng`` and looks at the letters it found:
Ukrainian-only letters (і ї є ґ) choose ``ukr+rus``, Russian-only letters (ы э ъ ё)
choose ``rus``, and Latin words (not Latin twins of Cyrillic letters) add (or are) ``eng``:
a band name in a Russian article ("Panic! At The Disco") read without ``eng`` comes out as
Cyrillic noise. When that choice differs from the first pass, the image is read again with
it, and :attr:`OcrResult.lang` says what was used.

With a claim to look for (``verify --text``), the claim's own letters tell the languages
(:func:`claim_lang`) and the image is read once: half the work, and a lighter model.

Tesseract is driven through ``pytesseract`` (the command, ``--psm``, a timeout per run),
with ``OMP_THREAD_LIMIT=1`` in its environment unless the caller's environment sets it:
on a 2-core machine its OpenMP threads spin against each other and one image took 7 times
longer. Parallelism comes from :func:`ocr_many` instead, one process per core, each
handing one Tesseract a batch of images (a list file) rather than starting one per image:
starting Tesseract is a third of the work on a typical screenshot (see :func:`_read`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import pytesseract
from PIL import Image

from provenance.errors import ImageError, OcrUnavailable, ProvenanceError, UsageError
from provenance.screens.images import LoadedImage, load_image
from provenance.screens.languages import language_name, latin_languages
from provenance.screens.preprocess import Prepared, jpeg_is_coarse, prepare

AUTO_FIRST_PASS = "rus+ukr+eng"
KNOWN_LANGS = ("eng", "rus", "ukr")
TESSERACT_TIMEOUT = 180.0
"""Seconds one Tesseract run may take; a 30 Mpx page takes about 20 s on one core."""

MODEL_ADVICE = "the text looks "
"""How a note that a better language model could be installed begins (:func:`advice`)."""

CLAIM_MIN_WORDS = 5
"""A claim's language is told from five words or more (a user's own words, not OCR)."""

DEBIAN_PACKAGE = {"eng": "tesseract-ocr-eng", "rus": "tesseract-ocr-rus",
                  "ukr": "tesseract-ocr-ukr"}

_UKR_ONLY = set("іїєґІЇЄҐ")
_RUS_ONLY = set("ыэъёЫЭЪЁ")


@dataclass
class Word:
    text: str
    conf: float           # Tesseract's confidence 0-100
    box: list[int]        # [x, y, w, h] in the original image
    block: int
    par: int
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "conf": self.conf, "box": self.box}


@dataclass
class Line:
    """One text line in reading order; ``words`` index :attr:`OcrResult.words`."""

    text: str
    words: list[int]
    block: int
    par: int
    box: list[int]
    column: int = 0       # 0, or 1 for the right column of a block we split at a gutter


@dataclass
class OcrResult:
    image: str
    sha256: str
    phash: str
    width: int
    height: int
    lang: str
    text: str
    confidence: float
    words: list[Word]
    lines: list[Line]
    preprocessing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exif: dict[str, str] = field(default_factory=dict)
    engine: str = ""

    def to_json(self) -> dict[str, Any]:
        """The contract's keys (``image`` ... ``words``) plus structure and provenance."""
        return {
            "image": self.image,
            "sha256": self.sha256,
            "phash": self.phash,
            "width": self.width,
            "height": self.height,
            "lang": self.lang,
            "text": self.text,
            "confidence": self.confidence,
            "words": [w.to_json() for w in self.words],
            "lines": [{"text": ln.text, "words": ln.words, "block": ln.block, "par": ln.par,
                       "column": ln.column, "box": ln.box} for ln in self.lines],
            "preprocessing": self.preprocessing,
            "notes": self.notes,
            "exif": self.exif,
            "engine": self.engine,
        }

    def cache_json(self) -> dict[str, Any]:
        """Everything needed to rebuild this result without Tesseract (see from_json)."""
        data = self.to_json()
        data["words"] = [asdict(w) for w in self.words]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OcrResult:
        words = [Word(w["text"], w["conf"], list(w["box"]), w.get("block", 0), w.get("par", 0),
                      w.get("line", 0)) for w in data["words"]]
        lines = [Line(ln["text"], list(ln["words"]), ln["block"], ln["par"], list(ln["box"]),
                      ln.get("column", 0)) for ln in data["lines"]]
        return cls(data["image"], data["sha256"], data["phash"], data["width"], data["height"],
                   data["lang"], data["text"], data["confidence"], words, lines,
                   list(data.get("preprocessing", [])), list(data.get("notes", [])),
                   dict(data.get("exif", {})), data.get("engine", ""))


# -- Tesseract itself -------------------------------------------------------------------------


def _tesseract_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    return env


@functools.lru_cache(maxsize=8)
def _installed(tesseract: str) -> tuple[str, frozenset[str]]:
    """(version line, installed languages) of a Tesseract binary; cached per process."""
    if shutil.which(tesseract) is None:
        raise OcrUnavailable(f"Tesseract is not installed ({tesseract} not found): "
                             f"apt-get install tesseract-ocr")
    try:
        version = subprocess.run([tesseract, "--version"], capture_output=True, text=True,
                                 timeout=30, env=_tesseract_env())
        langs = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True,
                               timeout=30, env=_tesseract_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OcrUnavailable(f"Tesseract ({tesseract}) does not run: {exc}") from None
    first = (version.stdout or version.stderr).strip().splitlines()
    names = {line.strip() for line in langs.stdout.splitlines()[1:] if line.strip()}
    return (first[0] if first else "tesseract"), frozenset(names)


def installed_languages(tesseract: str = "tesseract") -> frozenset[str]:
    """The languages ``tesseract`` has models for (OcrUnavailable if it does not run)."""
    return _installed(tesseract)[1]


def check_tesseract(lang: str = "auto", tesseract: str = "tesseract") -> str:
    """Raise :class:`OcrUnavailable` unless Tesseract and every language of ``lang`` are
    installed; return Tesseract's version line. Called up front, before any image."""
    version, installed = _installed(tesseract)
    wanted = KNOWN_LANGS if lang == "auto" else tuple(parse_lang(lang).split("+"))
    for name in wanted:
        if name not in installed:
            package = DEBIAN_PACKAGE.get(name, f"tesseract-ocr-{name}")
            raise OcrUnavailable(f"Tesseract has no '{name}' language data: "
                                 f"apt-get install {package}")
    return version


def parse_lang(lang: str) -> str:
    """Validate ``auto`` or ``rus+eng``-style language lists (Tesseract's own syntax)."""
    lang = lang.strip()
    if lang == "auto":
        return lang
    parts = lang.split("+")
    if not all(re.fullmatch(r"[a-z]{3}(_[a-z]+)?", p) for p in parts):
        raise UsageError(f"--lang must be 'auto' or names like 'rus+eng', not {lang!r}")
    return "+".join(parts)


@contextlib.contextmanager
def _single_threaded() -> Iterator[None]:
    """``OMP_THREAD_LIMIT=1`` for the Tesseract that pytesseract starts (it passes this
    process's environment on), unless the caller set it; restored afterwards."""
    if "OMP_THREAD_LIMIT" in os.environ:
        yield
        return
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        os.environ.pop("OMP_THREAD_LIMIT", None)


def _tesseract(source: str, lang: str, tesseract: str, name: str,
               timeout: float) -> str:
    """Tesseract's TSV for ``source`` (one image file, or a list of image files), through
    pytesseract, which hands the path on as it is."""
    pytesseract.pytesseract.tesseract_cmd = tesseract
    try:
        with _single_threaded():
            return str(pytesseract.image_to_data(source, lang=lang, config="--psm 3",
                                                 timeout=timeout))
    except pytesseract.TesseractNotFoundError:
        raise OcrUnavailable(f"Tesseract ({tesseract}) does not run") from None
    except pytesseract.TesseractError as exc:  # a RuntimeError too: caught first
        reason = str(exc.message).strip() or f"exit status {exc.status}"
        raise ImageError(f"{name}: Tesseract failed ({reason[-200:]})") from None
    except RuntimeError:  # pytesseract's timeout; it has killed the process
        raise ImageError(f"{name}: Tesseract gave up after {timeout:.0f} s") from None
    except SystemExit:  # pytesseract's answer to a version line it cannot parse
        raise OcrUnavailable(f"Tesseract ({tesseract}) does not say its version") from None


@dataclass
class _RawWord:
    text: str
    conf: float
    box: tuple[int, int, int, int]
    block: int
    par: int
    line: int


def _parse_tsv(tsv: str) -> list[_RawWord]:
    words = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        if not text:
            continue
        conf = float(cols[10])
        words.append(_RawWord(text, max(0.0, round(conf, 2)),
                              (int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9])),
                              int(cols[2]), int(cols[3]), int(cols[4])))
    return words


_LATIN_WORD = re.compile(r"(?<![^\W\d_])[A-Za-z]{3,}(?![^\W\d_])")  # a whole word
_CYRILLIC_TWINS = set("aceopxyiABCEHKMOPTXYI")
"""Latin letters that look like Cyrillic ones: a word of only these is likely a Cyrillic
word read with the English model, not English."""


def latin_words(text: str) -> int:
    """Words of three or more Latin letters, at least one of them unlike any Cyrillic one."""
    return sum(1 for m in _LATIN_WORD.finditer(text)
               if not set(m.group()) <= _CYRILLIC_TWINS)


def choose_lang(words: Iterable[_RawWord] | str) -> str:
    """The language list for a text, from its letters (see the module docstring)."""
    text = words if isinstance(words, str) else " ".join(w.text for w in words)
    letters = [c for c in text if c.isalpha()]
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    latin = sum(1 for c in letters if c.isascii())
    ukr = sum(1 for c in letters if c in _UKR_ONLY)
    rus = sum(1 for c in letters if c in _RUS_ONLY)
    if cyrillic <= 0.15 * (cyrillic + latin):
        return "eng"  # a few Cyrillic letters in English text are OCR noise
    if ukr and rus:
        langs = ["ukr", "rus"] if ukr >= rus else ["rus", "ukr"]
    elif ukr:
        langs = ["ukr", "rus"]
    elif rus:
        langs = ["rus"]
    else:
        langs = ["rus", "ukr"]
    # Latin twins inside Cyrillic text are OCR confusions (a/а, o/о); a Latin word with
    # letters no Cyrillic one resembles is a name or a quote, and needs the English model.
    if latin_words(text) or latin >= max(8, 0.15 * len(letters)):
        langs.append("eng")
    return "+".join(langs)


def claim_lang(claim: str, installed: frozenset[str] = frozenset()) -> str:
    """The languages to read a screenshot with when looking for ``claim``: the claim's
    scripts tell them. Any Latin letter the user typed is meant, so it adds ``eng``;
    Russian-only letters narrow Cyrillic to the Russian model. A Latin-script claim whose
    words say its language is read with that language's model too, if ``installed``."""
    letters = [c for c in claim if c.isalpha()]
    cyrillic = any("\u0400" <= c <= "\u04ff" for c in letters)
    latin = any(c.isascii() for c in letters)
    if not cyrillic:
        return _with_english(latin_languages(claim, min_words=CLAIM_MIN_WORDS), installed)[0]
    ukr = any(c in _UKR_ONLY for c in letters)
    rus = any(c in _RUS_ONLY for c in letters)
    # Ukrainian keeps the Russian model second: with ``ukr`` alone "і 14" was read "114".
    langs = ["ukr", "rus"] if ukr and not rus else ["rus"] if rus and not ukr else ["rus", "ukr"]
    if latin:
        langs.append("eng")
    return "+".join(langs)


def _reading_order(raw: list[_RawWord], words: list[Word]) -> list[Line]:
    """Tesseract's lines in reading order, with two-column blocks read column by column.

    Tesseract's layout analysis sometimes keeps two columns with a narrow gutter in one
    block and reads each row straight across both. Within a block, a gap between words
    wider than 1.5 line heights is a gutter; when one is found, every line of the block is
    cut there and the left column is read before the right one.
    """
    keyed: dict[tuple[int, int, int], list[int]] = {}
    for index, rw in enumerate(raw):
        keyed.setdefault((rw.block, rw.par, rw.line), []).append(index)
    segments: list[tuple[int, int, list[int]]] = []  # block, par, word indices
    gutters: dict[int, int] = {}
    for (block, par, _), indices in keyed.items():
        height = sorted(raw[i].box[3] for i in indices)[len(indices) // 2]
        current = [indices[0]]
        for prev, nxt in zip(indices, indices[1:], strict=False):
            gap = raw[nxt].box[0] - (raw[prev].box[0] + raw[prev].box[2])
            if gap > max(1.5 * height, 12):
                segments.append((block, par, current))
                current = []
                x = raw[nxt].box[0] - gap // 2
                gutters[block] = min(gutters.get(block, x), x)
            current.append(nxt)
        segments.append((block, par, current))
    ordered: list[tuple[int, int, int, int, list[int]]] = []
    for order, (block, par, indices) in enumerate(segments):
        gutter = gutters.get(block)
        column = int(gutter is not None and raw[indices[0]].box[0] >= gutter)
        ordered.append((block, column, order, par, indices))
    ordered.sort(key=lambda item: item[:3])
    lines = []
    for block, column, _, par, indices in ordered:
        boxes = [words[i].box for i in indices]
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1 = max(b[0] + b[2] for b in boxes)
        y1 = max(b[1] + b[3] for b in boxes)
        lines.append(Line(" ".join(words[i].text for i in indices), indices, block, par,
                          [x0, y0, x1 - x0, y1 - y0], column))
    return lines


# -- pages: images prepared and read together -----------------------------------------------


@dataclass
class _Page:
    """One image, decoded and prepared, and the uncompressed file Tesseract reads."""

    name: str
    loaded: LoadedImage
    prepared: Prepared
    file: str = ""


def _open(name: str) -> _Page:
    loaded = load_image(name)
    with open(name, "rb") as handle:  # JPEG quality needs the undecoded header
        try:
            coarse = jpeg_is_coarse(Image.open(handle))
        except Exception:  # noqa: BLE001 - already decoded once; this is only a hint
            coarse = False
    return _Page(name, loaded, prepare(loaded.image, coarse_jpeg=coarse))


def _split_pages(tsv: str, pages: Sequence[_Page]) -> list[str] | None:
    """One TSV per page of a multi-image run, or None unless every page is there once, in
    order, with its own size: a word must never land on another image."""
    rows = tsv.splitlines()
    if not rows:
        return None
    parts: list[list[str]] = [[rows[0]] for _ in pages]
    seen = 0
    for row in rows[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or not cols[1].isdigit():
            continue
        number = int(cols[1])
        if not 1 <= number <= len(pages):
            return None
        if cols[0] == "1":  # the page itself: its size must be the prepared image's
            image = pages[number - 1].prepared.image
            if number != seen + 1 or (int(cols[8]), int(cols[9])) != image.size:
                return None
            seen = number
        elif number != seen:
            return None
        parts[number - 1].append(row)
    if seen != len(pages):
        return None
    return ["\n".join(part) for part in parts]


def _read(pages: Sequence[_Page], lang: str, tesseract: str,
          folder: str) -> list[list[_RawWord] | ImageError]:
    """The words of each page in ``lang``: one Tesseract run for all of them.

    Starting Tesseract and loading its models costs 0.04 s (``rus``) to 0.12 s (``eng``,
    whose start builds a table of Latin look-alikes) of CPU per run: a third of the work on
    a typical screenshot. Handed a file listing several images, one Tesseract reads them
    all with the same words and boxes as separate runs; its TSV numbers the pages. If that
    run fails, each page is read alone, so one bad image costs only itself.
    """
    if len(pages) > 1:
        listing = os.path.join(folder, f"pages-{lang}.txt")
        with open(listing, "w", encoding="utf-8") as handle:
            handle.write("".join(f"{page.file}\n" for page in pages))
        try:
            tsv = _tesseract(listing, lang, tesseract, pages[0].name,
                             TESSERACT_TIMEOUT * len(pages))
        except ImageError:
            tsv = ""
        split = _split_pages(tsv, pages) if tsv else None
        if split is not None:
            return [_parse_tsv(part) for part in split]
    results: list[list[_RawWord] | ImageError] = []
    for page in pages:
        try:
            results.append(_parse_tsv(_tesseract(page.file, lang, tesseract, page.name,
                                                 TESSERACT_TIMEOUT)))
        except ImageError as exc:
            results.append(exc)
    return results


def _result(page: _Page, raw: list[_RawWord], used: str, notes: list[str],
            version: str) -> OcrResult:
    loaded, prepared = page.loaded, page.prepared
    words = [Word(rw.text, rw.conf, prepared.geometry.to_original(rw.box), rw.block, rw.par,
                  rw.line) for rw in raw]
    lines = _reading_order(raw, words)

    parts: list[str] = []
    previous: tuple[int, int, int] | None = None
    for ln in lines:
        if previous is not None and (ln.block, ln.column, ln.par) != previous:
            parts.append("")
        parts.append(ln.text)
        previous = (ln.block, ln.column, ln.par)
    total = sum(len(w.text) for w in words)
    confidence = (round(sum(w.conf * len(w.text) for w in words) / total, 2) if total else 0.0)
    notes = list(loaded.notes) + notes
    if not words:
        notes.append("no text found in the image")

    return OcrResult(
        image=page.name, sha256=loaded.sha256, phash=loaded.phash, width=loaded.width,
        height=loaded.height, lang=used, text="\n".join(parts), confidence=confidence,
        words=words, lines=lines, preprocessing=prepared.steps, notes=notes,
        exif=loaded.exif, engine=version,
    )


def _read_pages(names: Sequence[str], lang: str,
                tesseract: str) -> list[OcrResult | ImageError]:
    """Read several images in one language setting, one result or ImageError each.

    With ``auto``, all are read once with ``rus+ukr+eng``; those whose letters choose
    another list are read again, together, grouped by the list chosen.
    """
    version = check_tesseract(lang, tesseract)
    out: list[OcrResult | ImageError | None] = [None] * len(names)
    pages: dict[int, _Page] = {}
    for index, name in enumerate(names):
        try:
            pages[index] = _open(name)
        except ImageError as exc:
            out[index] = exc
    with tempfile.TemporaryDirectory(prefix="provenance-ocr-") as folder:
        for index, page in pages.items():
            page.file = os.path.join(folder, f"{index:05d}.pgm")
            image = page.prepared.image
            image.save(page.file, "PPM")  # PGM for grey, PPM for colour: no compression

        def read(indices: list[int], used: str) -> dict[int, list[_RawWord] | ImageError]:
            raws = _read([pages[i] for i in indices], used, tesseract, folder)
            return dict(zip(indices, raws, strict=True))

        def finish(index: int, raw: list[_RawWord] | ImageError, used: str,
                   notes: list[str]) -> None:
            out[index] = (raw if isinstance(raw, ImageError)
                          else _result(pages[index], raw, used, notes, version))

        if lang != "auto":
            for index, raw in read(list(pages), lang).items():
                finish(index, raw, lang, [])
        else:
            installed = installed_languages(tesseract)
            again: dict[str, list[int]] = {}
            hints: dict[int, list[str]] = {}  # the Latin-script ones: told by their words
            for index, raw in read(list(pages), AUTO_FIRST_PASS).items():
                used = choose_lang(raw) if not isinstance(raw, ImageError) else AUTO_FIRST_PASS
                if used == "eng" and not isinstance(raw, ImageError):
                    used, hints[index] = _latin_model(" ".join(w.text for w in raw), installed)
                if used != AUTO_FIRST_PASS and raw:
                    again.setdefault(used, []).append(index)
                else:
                    finish(index, raw, AUTO_FIRST_PASS,
                           [f"language auto: read with {AUTO_FIRST_PASS}"])
            for used, indices in again.items():
                for index, raw in read(indices, used).items():
                    how = "words" if index in hints and used != "eng" else "letters"
                    finish(index, raw, used, [f"language auto: read with {AUTO_FIRST_PASS}, "
                                              f"then {used} chosen from the {how} found",
                                              *hints.get(index, [])])
    return [result for result in out if result is not None]


def claim_langs_any(claim: str) -> frozenset[str]:
    """Every language list :func:`claim_lang` may give for ``claim``, whatever models are
    installed: English alone, or English after one or two of the claim's candidates."""
    candidates = [c for c in latin_languages(claim, min_words=CLAIM_MIN_WORDS) if c != "eng"]
    options = {claim_lang(claim, frozenset()), claim_lang(claim, frozenset(candidates))}
    options |= {claim_lang(claim, frozenset({code})) for code in candidates}
    return frozenset(options)


def claim_advice(claim: str, installed: frozenset[str]) -> list[str]:
    """The note :func:`advice` would give a screenshot read in the claim's languages when
    the claim's own language has no model here."""
    languages = latin_languages(claim, min_words=CLAIM_MIN_WORDS)
    return _with_english(languages, installed, note=True)[1]


def advice(notes: Iterable[str]) -> list[str]:
    """The notes of a reading a person should act on: a language model to install."""
    return [note for note in notes if note.startswith(MODEL_ADVICE)]


def better_model_installed(result: OcrResult, tesseract: str = "tesseract") -> bool:
    """Whether an ``auto`` reading made with the English model alone would now be read with
    its language's own model (installed since): a cached reading is then read again."""
    if result.lang != "eng":
        return False
    try:
        installed = installed_languages(tesseract)
    except OcrUnavailable:
        return False  # no Tesseract here: the reading kept is the only one there is
    return _latin_model(result.text, installed)[0] != "eng"


def _latin_model(text: str, installed: frozenset[str]) -> tuple[str, list[str]]:
    """The languages to read a Latin-script image with again: its language's own model
    with English (``deu+eng``) when the words read say which and it is installed, else
    English, with a note naming the package that would read it better."""
    return _with_english(latin_languages(text), installed, note=True)


def _with_english(languages: tuple[str, ...], installed: frozenset[str], *,
                  note: bool = False) -> tuple[str, list[str]]:
    """``eng`` after the installed ones of ``languages`` (at most two), or ``eng`` alone,
    and, if asked, a note when none of them is installed."""
    if not languages or languages == ("eng",):
        return "eng", []
    chosen = [code for code in languages if code in installed and code != "eng"][:2]
    if chosen:
        return "+".join([*chosen, "eng"]), []
    best = languages[0]
    return "eng", ([f"{MODEL_ADVICE}{language_name(best)}: read with the English model, "
                    f"which misreads its accented letters (apt-get install "
                    f"{DEBIAN_PACKAGE.get(best, f'tesseract-ocr-{best}')})"] if note else [])


# -- one image --------------------------------------------------------------------------------


def ocr_image(path: str | os.PathLike[str], lang: str = "auto", *,
              tesseract: str = "tesseract") -> OcrResult:
    """Read the text of one image. Raises ImageError (bad image) or OcrUnavailable."""
    [result] = _read_pages([os.fspath(path)], parse_lang(lang), tesseract)
    if isinstance(result, ImageError):
        raise result
    return result


# -- many images, one process per core -------------------------------------------------------


BATCH_MAX = 8
"""Images one Tesseract run reads at most in :func:`ocr_many`: enough that starting it is
an eighth of the cost, few enough that both cores stay busy to the end of a batch."""


def _worker(names: list[str], lang: str,
            tesseract: str) -> list[OcrResult | ImageError]:
    """Runs in a pool process: errors about one image come back as values, so one bad
    file does not end the batch (a bug still raises and shows its traceback)."""
    return _read_pages(names, lang, tesseract)


def _batches(each: Sequence[str], jobs: int) -> list[list[int]]:
    """Image indices grouped by language list and cut into batches of at most
    :data:`BATCH_MAX` (smaller for a short list on several cores, so each gets some),
    ordered by their first image so results can be handed on in order early."""
    size = BATCH_MAX if jobs == 1 else max(1, min(BATCH_MAX, math.ceil(len(each) / (2 * jobs))))
    groups: dict[str, list[int]] = {}
    for index, lang in enumerate(each):
        groups.setdefault(lang, []).append(index)
    batches = [indices[k:k + size] for indices in groups.values()
               for k in range(0, len(indices), size)]
    return sorted(batches, key=lambda batch: batch[0])


def ocr_many(
    paths: Iterable[str | os.PathLike[str]],
    lang: str = "auto",
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    tesseract: str = "tesseract",
    langs: Sequence[str] | None = None,
) -> Iterator[tuple[str, OcrResult | ProvenanceError]]:
    """OCR several images on ``jobs`` processes (default: every core); yields
    ``(path, result or ImageError)`` in the order given, and calls ``progress(done, total)``
    as each image finishes. ``langs``, if given, is one language list per image (e.g.
    :func:`claim_lang` of each image's claim) instead of ``lang`` for all.

    Images with the same language list are read in batches, one Tesseract run per batch
    (see :func:`_read`): the same words as one run per image, a third less work.

    Tesseract and the languages are checked once, up front, so a missing language pack
    is one OcrUnavailable before any work, not one error per image. The pool uses the
    ``spawn`` start method: safe with threads in the parent and the same on every OS
    (callers' scripts need the usual ``if __name__ == "__main__":`` guard).
    """
    names = [os.fspath(p) for p in paths]
    if langs is not None and len(langs) != len(names):
        raise UsageError("one language list per image is needed")
    each = [parse_lang(x) for x in langs] if langs is not None else [parse_lang(lang)] * len(names)
    for wanted in sorted(set(each)):
        check_tesseract(wanted, tesseract)
    total = len(names)
    jobs = max(1, min(jobs or os.cpu_count() or 1, total or 1))
    batches = _batches(each, jobs)
    finished = 0

    def tick(count: int) -> None:
        nonlocal finished
        for _ in range(count):
            finished += 1
            if progress:
                progress(finished, total)

    if jobs == 1 or total <= 1:
        done: dict[int, OcrResult | ProvenanceError] = {}
        position = 0
        for batch in batches:
            results = _worker([names[i] for i in batch], each[batch[0]], tesseract)
            done.update(zip(batch, results, strict=True))
            tick(len(batch))
            while position in done:
                yield names[position], done.pop(position)
                position += 1
        return
    where = {index: (number, place) for number, batch in enumerate(batches)
             for place, index in enumerate(batch)}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: list[Future[list[OcrResult | ImageError]]] = []
        for batch in batches:
            future = pool.submit(_worker, [names[i] for i in batch], each[batch[0]], tesseract)
            future.add_done_callback(functools.partial(lambda n, _: tick(n), len(batch)))
            futures.append(future)
        for index, name in enumerate(names):
            number, place = where[index]
            yield name, futures[number].result()[place]
