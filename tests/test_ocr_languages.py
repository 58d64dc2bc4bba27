"""A Latin-script screenshot is read with its language's own Tesseract model when installed.

The English model reads ``Gefühle`` as ``Gefihle`` and ``Maßnahmen`` as ``Malsnanmen``;
``verify`` then reports words the page does not have. The language is told by the
words read (:mod:`provenance.screens.languages`); CI installs ``tesseract-ocr-deu`` so the
German model's path runs, and a Tesseract without it (a wrapper pointing
``TESSDATA_PREFIX`` at a folder of the other models) shows the note naming the package.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from langsamples import TEXTS

from provenance.screens.languages import fold, latin_languages
from provenance.screens.ocr import claim_lang, installed_languages, ocr_image

REALSHOTS = Path(__file__).resolve().parent / "realshots"
GERMAN = REALSHOTS / "fairkom-de-desktop.png"  # fairkom.eu's "about" page, Chromium, 1280 px
SPANISH = REALSHOTS / "laestrella-es-desktop.png"

TESSERACT_CODE = {"fr": "fra", "de": "deu", "es": "spa", "pl": "pol", "cs": "ces",
                  "sk": "slk", "hu": "hun", "ro": "ron", "hr": "hrv", "tr": "tur",
                  "lt": "lit", "lv": "lav", "vi": "vie", "it": "ita", "pt": "por",
                  "sv": "swe", "et": "est", "sl": "slv", "en": "eng"}


@pytest.mark.parametrize("iso", sorted(TESSERACT_CODE))
def test_news_prose_is_told_apart_in_every_latin_language(iso):
    assert latin_languages(TEXTS[iso])[:1] == (TESSERACT_CODE[iso],)


@pytest.mark.parametrize("iso", sorted(set(TESSERACT_CODE) - {"en"}))
def test_the_language_is_told_from_what_the_english_model_reads(iso):
    """The English model drops accents (``für`` reads ``fur``): folded, still told."""
    assert latin_languages(fold(TEXTS[iso]))[:1] == (TESSERACT_CODE[iso],)


@pytest.mark.parametrize("iso", ["ru", "uk", "bg", "el", "he", "ar", "th", "sr", "mk"])
def test_other_scripts_have_no_latin_language(iso):
    assert latin_languages(TEXTS[iso]) == ()


def test_english_prose_stays_english():
    """jusText's lists hold English words (Finnish's has a hundred): English prose that
    scored as Finnish before they were taken out is English."""
    text = ("Wednesday is a monumental day for the New York City Housing Authority and "
            "residents, as the board votes on the future of public housing in the city.")
    assert latin_languages(text) == ("eng",)
    assert latin_languages(TEXTS["en"]) == ("eng",)


def test_too_few_words_or_no_common_words_keep_what_was_read():
    assert latin_languages("Die Preise sind") == ()  # three words
    assert latin_languages("qwx zzv kkrt plom vrex snub trag wilp mork") == ()


def test_languages_that_tie_are_all_candidates():
    """Spanish and Galician share most common words: a short Spanish text may tie."""
    text = "En este contexto, la tarde consulta que se hará este jueves suma protección a la"
    assert set(latin_languages(text)[:2]) == {"spa", "glg"}
    assert claim_lang(text, frozenset({"eng", "spa"})) == "spa+eng"


def test_a_claims_language_adds_its_model_only_when_installed():
    claim = "Die Preise für Strom und Gas sind im vergangenen Jahr gestiegen"
    assert claim_lang(claim, frozenset({"eng", "deu"})) == "deu+eng"
    assert claim_lang(claim, frozenset({"eng"})) == "eng"
    assert claim_lang("The ministry said prices rose in the past year", frozenset({"deu"})) \
        == "eng"
    assert claim_lang("El Gobierno aprobó el martes una reforma", frozenset({"deu"})) == "eng"
    assert claim_lang("потеряли 9 861 человек убитыми", frozenset({"deu"})) == "rus"


def _require(lang: str) -> None:
    if lang not in installed_languages():
        pytest.fail(f"Tesseract has no '{lang}' model here: apt-get install "
                    f"tesseract-ocr-{lang} (.ci/run installs it)")


def test_a_german_screenshot_is_read_with_the_german_model():
    _require("deu")
    result = ocr_image(GERMAN, "auto")
    assert result.lang == "deu+eng"
    assert "chosen from the words found" in " ".join(result.notes)
    for word in ("gegründet", "für", "Bürgerbeteiligung"):
        assert word in result.text
    english = ocr_image(GERMAN, "eng")
    assert "gegründet" not in english.text  # what the English model made of it


@pytest.fixture(scope="module")
def tesseract_without_german(tmp_path_factory):
    """A Tesseract that has every model here but the German one."""
    folder = tmp_path_factory.mktemp("tessdata")
    listing = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True,
                             check=True).stdout
    source = Path(listing.splitlines()[0].split('"')[1])
    for item in source.iterdir():
        if item.name != "deu.traineddata":
            os.symlink(item, folder / item.name)
    wrapper = folder.parent / "tesseract-without-deu"
    wrapper.write_text(f"#!/bin/sh\nTESSDATA_PREFIX={folder} exec "
                       f"{shutil.which('tesseract')} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


def _ocr_cli(store: Path, image: Path, tesseract: str | None) -> dict:
    env = dict(os.environ)
    env.pop("PROVENANCE_TESSERACT", None)
    if tesseract:
        env["PROVENANCE_TESSERACT"] = tesseract
    done = subprocess.run([sys.executable, "-m", "provenance", "--store", str(store),
                           "--json", "ocr", str(image)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    [item] = [json.loads(line) for line in done.stdout.splitlines()]
    return item


def test_without_the_model_the_note_names_its_package_and_a_later_install_reads_again(
        tmp_path, tesseract_without_german):
    """Read before the German model is installed: English, with a note saying which
    package reads it better. Once it is installed, the cached English reading is not
    reused: the image is read again with the German model."""
    _require("deu")
    store = tmp_path / "ev"
    before = _ocr_cli(store, GERMAN, tesseract_without_german)
    assert before["lang"] == "eng"
    assert any("looks German" in n and "apt-get install tesseract-ocr-deu" in n
               for n in before["notes"]), before["notes"]
    again = _ocr_cli(store, GERMAN, tesseract_without_german)
    assert again["lang"] == "eng" and again.get("cached") is True, again.get("cached")
    # with no Tesseract at all, the English reading kept is the one there is: reused
    offline = _ocr_cli(store, GERMAN, str(tmp_path / "no-tesseract"))
    assert offline["lang"] == "eng" and offline.get("cached") is True
    after = _ocr_cli(store, GERMAN, None)
    assert after["lang"] == "deu+eng" and not after.get("cached")
    assert "gegründet" in after["text"]


def _cli(store: Path, tesseract: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROVENANCE_TESSERACT": tesseract}
    return subprocess.run([sys.executable, "-m", "provenance", "--store", str(store), *argv],
                          capture_output=True, text=True, env=env, timeout=300)


CLAIM = ("Das PUBLIC VOICE Labor wurde 1995 gegründet und startete mit Telefondiensten "
         "für lokale Bürgerbeteiligung in Wien.")


def test_the_person_is_told_which_package_reads_the_screenshot_better(
        tmp_path, tesseract_without_german):
    """On stderr (``--json`` output stays clean), for ``ocr`` and for ``verify --text``,
    whose claim tells the language; a reading kept from before still answers without
    any Tesseract."""
    store = tmp_path / "ev"
    package = "apt-get install tesseract-ocr-deu"
    ocr = _cli(store, tesseract_without_german, "ocr", str(GERMAN))
    assert ocr.returncode == 0 and package in ocr.stderr and package not in ocr.stdout
    checked = _cli(store, tesseract_without_german, "--json", "verify", str(GERMAN),
                   "--text", CLAIM)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["verdict"] == "match"
    assert package in checked.stderr
    other = tmp_path / "other"  # read in the claim's language (English here), not auto
    first = _cli(other, tesseract_without_german, "verify", str(GERMAN), "--text", CLAIM)
    assert first.returncode == 0 and package in first.stderr
    again = _cli(other, str(tmp_path / "no-tesseract"), "verify", str(GERMAN), "--text", CLAIM)
    assert again.returncode == 0, again.stderr
    assert "MATCH" in again.stdout


def test_a_reading_in_the_claims_own_language_still_answers_without_tesseract(tmp_path):
    """Read with ``deu+eng`` for a German claim; later, with no Tesseract on the machine,
    the same check is answered from that reading, not refused."""
    _require("deu")
    store = tmp_path / "ev"
    first = _cli(store, "tesseract", "--json", "verify", str(GERMAN), "--text", CLAIM)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["verdict"] == "match"
    again = _cli(store, str(tmp_path / "no-tesseract"), "--json", "verify", str(GERMAN),
                 "--text", CLAIM)
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["verdict"] == "match" and answer["ocr_cached"] is True
    missing = _cli(tmp_path / "new", str(tmp_path / "no-tesseract"), "verify", str(GERMAN),
                   "--text", CLAIM)  # nothing kept: Tesseract is needed, one line, exit 2
    assert missing.returncode == 2 and "apt-get install tesseract-ocr" in missing.stderr
    assert "Traceback" not in missing.stderr
