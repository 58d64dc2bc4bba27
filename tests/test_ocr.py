"""Real Tesseract on images drawn here: text, boxes in original pixels, languages, pools."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import stat

import pytest
from evalset import PASSAGES, find_font, render
from PIL import Image, ImageDraw, ImageFont

from provenance.errors import ImageError, OcrUnavailable, UsageError
from provenance.screens import ocr
from provenance.screens.images import load_image
from provenance.screens.match import verify_text
from provenance.screens.ocr import (
    check_tesseract,
    choose_lang,
    claim_lang,
    installed_languages,
    ocr_image,
    ocr_many,
    parse_lang,
)
from provenance.screens.preprocess import prepare

KP = PASSAGES[0]


def save(image: Image.Image, path, fmt="PNG"):
    image.save(path, fmt)
    return str(path)


@pytest.fixture(scope="module")
def kp_clean(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ocr")
    return save(render(KP, KP.body, "clean", random.Random(1)), folder / "kp.png")


def test_reads_russian_with_auto_language(kp_clean):
    result = ocr_image(kp_clean)
    assert result.lang.startswith("rus")
    assert "убитыми" in result.text and "9 861" in result.text
    assert 70 <= result.confidence <= 100
    assert any("language auto" in note for note in result.notes)
    data = json.loads(json.dumps(result.to_json(), ensure_ascii=False))
    assert {"image", "sha256", "phash", "width", "height", "lang", "text", "confidence",
            "words"} <= set(data)
    assert set(data["words"][0]) == {"text", "conf", "box"}


def test_ukrainian_and_english_are_recognised(tmp_path):
    for passage, lang in ((PASSAGES[2], "ukr"), (PASSAGES[4], "eng")):
        path = save(render(passage, passage.body, "clean", random.Random(2)),
                    tmp_path / f"{passage.key}.png")
        assert ocr_image(path).lang.startswith(lang)


def test_choose_lang_by_letters():
    assert choose_lang("Їхні уламки впали, є пошкодження") == "ukr+rus"
    assert choose_lang("объявили съезд, всё") == "rus"
    assert choose_lang("The ministry said") == "eng"
    assert choose_lang("Уночі сили знищили 27 ракет and the ministry said a lot of things") \
        .endswith("+eng")


def test_boxes_are_in_original_pixels_after_upscale_and_deskew(tmp_path):
    font = ImageFont.truetype(find_font(), 13)
    image = Image.new("RGB", (420, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.text((30, 30), "Потеряли 9 861 человек убитыми", font=font, fill="black")
    draw.text((30, 60), "и 16 153 ранеными по данным", font=font, fill="black")
    tilted = image.rotate(2.5, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    path = save(tilted, tmp_path / "small.png")
    result = ocr_image(path)
    assert any(step.startswith("upscale") for step in result.preprocessing)
    assert any(step.startswith("deskew") for step in result.preprocessing)
    word = next(w for w in result.words if w.text.startswith("убит"))
    x, y, w, h = word.box
    assert 0 <= x and x + w <= tilted.width and y + h <= tilted.height
    # The word is dark ink on white in the original image, inside its box.
    crop = tilted.convert("L").crop((x, y, x + w, y + h))
    assert crop.getextrema()[0] < 100
    assert 8 <= h <= 30


def test_dark_mode_and_banner_inverted_per_region(tmp_path):
    for variant in ("dark", "banner"):
        path = save(render(KP, KP.body, variant, random.Random(3)), tmp_path / f"{variant}.png")
        result = ocr_image(path)
        assert any(step.startswith("invert-dark-regions") for step in result.preprocessing)
        assert verify_text(result, KP.claim).verdict == "match", variant


def test_image_without_text(tmp_path):
    path = save(Image.new("RGB", (300, 200), (240, 240, 240)), tmp_path / "blank.png")
    result = ocr_image(path)
    assert result.words == [] and result.text == ""
    assert "no text found in the image" in result.notes
    assert verify_text(result, KP.claim).verdict == "absent"


def test_missing_tesseract_is_one_line():
    with pytest.raises(OcrUnavailable) as exc:
        check_tesseract("auto", tesseract="/nonexistent/tesseract")
    assert "apt-get install tesseract-ocr" in str(exc.value)
    assert OcrUnavailable.exit_code == 2


def test_missing_language_names_the_package():
    missing = next(code for code in ("yor", "tam", "khm", "nep", "amh")
                   if code not in installed_languages())
    with pytest.raises(OcrUnavailable) as exc:
        check_tesseract(f"{missing}+eng")
    assert str(exc.value) == (f"Tesseract has no '{missing}' language data: "
                              f"apt-get install tesseract-ocr-{missing}")


def test_bad_lang_is_a_usage_error():
    with pytest.raises(UsageError):
        parse_lang("rus;rm -rf /")


def test_explicit_language(kp_clean):
    assert ocr_image(kp_clean, lang="rus+eng").lang == "rus+eng"


def test_not_an_image(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"GIF89a nonsense")
    with pytest.raises(ImageError):
        ocr_image(path)


def test_ocr_many_uses_a_pool_keeps_order_and_reports_progress(tmp_path, kp_clean):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    jpeg = io.BytesIO()
    Image.open(kp_clean).save(jpeg, "JPEG", quality=30)
    (tmp_path / "kp.jpg").write_bytes(jpeg.getvalue())
    paths = [kp_clean, str(bad), str(tmp_path / "kp.jpg")]
    seen = []
    results = list(ocr_many(paths, "auto", jobs=2, progress=lambda d, t: seen.append((d, t))))
    assert [p for p, _ in results] == paths
    assert isinstance(results[1][1], ImageError)
    assert results[0][1].sha256 != results[2][1].sha256
    assert verify_text(results[2][1], KP.claim).verdict == "match"
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]


def test_cache_round_trip(kp_clean):
    from provenance.screens.ocr import OcrResult

    result = ocr_image(kp_clean)
    again = OcrResult.from_json(json.loads(json.dumps(result.cache_json())))
    assert again == result


CONCERT = next(p for p in PASSAGES if p.key == "concert")


def test_a_latin_name_in_a_cyrillic_screenshot_is_read(tmp_path):
    """'auto' used to drop eng for a Russian text, and read the band's name as Cyrillic."""
    path = save(render(CONCERT, CONCERT.body, "clean", random.Random(4)), tmp_path / "c.png")
    result = ocr_image(path)
    assert result.lang.startswith("rus") and "eng" in result.lang
    assert "Panic! At The Disco" in result.text
    assert verify_text(result, CONCERT.claim).verdict == "match"


def test_choose_lang_keeps_eng_for_a_latin_word():
    assert choose_lang("Группа Coldplay выступит в Москве, билеты уже в продаже") == "rus+eng"
    # Latin twins of Cyrillic letters (a Cyrillic word read by the English model) are not.
    assert choose_lang("Группа выступит в Москве, билеты ужe в пpодаже, сахар") == "rus"
    assert choose_lang("Группа выступит в Москве, билеты ужe в пpодаже, caxap") == "rus"


def test_claim_lang_from_the_claims_letters():
    assert claim_lang("потеряли 9 861 человек убитыми") == "rus"
    assert claim_lang("знищили 27 крилатих ракет і 14 ударних дронів") == "ukr+rus"
    assert claim_lang("1,351 soldiers had been killed") == "eng"
    assert claim_lang("Panic! At The Disco выступит в Москве") == "rus+eng"
    assert claim_lang("в Москве 14 июля") == "rus+ukr"


def fake_tesseract(tmp_path, body: str) -> str:
    """A program that answers --version/--list-langs like Tesseract 5, then runs ``body``."""
    script = tmp_path / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in --version) echo "tesseract 5.3.0"; exit 0;; '
        '--list-langs) printf "List of available languages (3):\\neng\\nrus\\nukr\\n"; exit 0;; '
        "esac\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_tesseract_runs_single_threaded_through_pytesseract(tmp_path, kp_clean, monkeypatch):
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    seen = tmp_path / "env"
    program = fake_tesseract(tmp_path, f'echo "$OMP_THREAD_LIMIT" > {seen}; '
                             'printf "level\\tpage_num\\n" > "$2.tsv"')
    result = ocr_image(kp_clean, "eng", tesseract=program)
    assert result.words == []
    assert seen.read_text().strip() == "1"
    assert "OMP_THREAD_LIMIT" not in os.environ   # our own environment is left as it was


def test_a_hanging_tesseract_is_one_error_line(tmp_path, kp_clean, monkeypatch):
    monkeypatch.setattr(ocr, "TESSERACT_TIMEOUT", 1.0)
    program = fake_tesseract(tmp_path, "exec sleep 30")
    with pytest.raises(ImageError, match="Tesseract gave up after 1 s"):
        ocr_image(kp_clean, "eng", tesseract=program)


def test_a_failing_tesseract_is_one_error_line(tmp_path, kp_clean):
    program = fake_tesseract(tmp_path, 'echo "Error: cannot read input" >&2; exit 1')
    with pytest.raises(ImageError, match=r"Tesseract failed \(.*cannot read input\)"):
        ocr_image(kp_clean, "eng", tesseract=program)


def test_tesseract_gets_the_prepared_pixels_as_an_uncompressed_pgm(tmp_path, kp_clean):
    """The hand-off to Tesseract is a PGM (no PNG compression, ten times cheaper to write)
    with exactly the prepared pixels: speed must not change what Tesseract reads."""
    seen = tmp_path / "input"
    program = fake_tesseract(tmp_path, f'cp "$1" {seen}; '
                             'printf "level\\tpage_num\\n" > "$2.tsv"')
    ocr_image(kp_clean, "eng", tesseract=program)
    data = seen.read_bytes()
    assert data[:2] == b"P5"  # binary greyscale PGM
    loaded = load_image(kp_clean)
    expected = prepare(loaded.image).image
    got = Image.open(seen)
    assert got.size == expected.size and got.tobytes() == expected.tobytes()


def logging_tesseract(tmp_path, before: str = "") -> tuple[str, object]:
    """The real Tesseract behind a script that logs each reading run's input (``$1``);
    ``before`` runs first and may end the script (a failure)."""
    log = tmp_path / "runs.log"
    real = shutil.which("tesseract")
    script = tmp_path / "tesseract-logged"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in --*) ;; *) echo "$1" >> ' f"{log}" ';; esac\n'
        + before + "\n"
        f'exec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


@pytest.fixture(scope="module")
def three_shots(tmp_path_factory):
    """Three screenshots of different sizes, one of them Ukrainian."""
    folder = tmp_path_factory.mktemp("batch")
    mod, ppo = PASSAGES[4], PASSAGES[2]
    return [save(render(KP, KP.body, "clean", random.Random(1)), folder / "kp.png"),
            save(render(mod, mod.body, "columns", random.Random(1)), folder / "mod.png"),
            save(render(ppo, ppo.body, "banner", random.Random(1)), folder / "ppo.png")]


def words_of(result):
    return [(w.text, w.box, w.block, w.par, w.line) for w in result.words]


def test_a_batch_is_one_tesseract_run_with_the_words_of_separate_runs(tmp_path, three_shots):
    """Starting Tesseract costs a third of a screenshot's reading: ocr_many hands one
    Tesseract all the images of a batch, and every image gets exactly the words and boxes
    it gets when read alone."""
    program, log = logging_tesseract(tmp_path)
    batch = dict(ocr_many(three_shots, "rus+ukr+eng", jobs=1, tesseract=program))
    runs = log.read_text().splitlines()
    assert len(runs) == 1 and runs[0].endswith(".txt")    # one run, a list of images
    for path in three_shots:
        alone = ocr_image(path, "rus+ukr+eng")
        assert words_of(batch[path]) == words_of(alone)
        assert batch[path].text == alone.text and batch[path].sha256 == alone.sha256
    assert ocr._batches(["rus"] * 20 + ["eng"] * 3, jobs=2) == [
        list(range(0, 6)), list(range(6, 12)), list(range(12, 18)), [18, 19], [20, 21, 22]]
    assert ocr._batches(["eng", "rus"] * 6, jobs=1) == [list(range(0, 12, 2)),
                                                        list(range(1, 12, 2))]


def test_auto_reads_a_batch_again_grouped_by_the_language_chosen(tmp_path, three_shots):
    program, log = logging_tesseract(tmp_path)
    shots = [*three_shots, save(render(KP, KP.context, "dark", random.Random(1)),
                                tmp_path / "kp-dark.png")]
    results = dict(ocr_many(shots, "auto", jobs=1, tesseract=program))
    assert [results[p].lang for p in shots] == ["rus", "eng", "ukr+rus", "rus"]
    runs = log.read_text().splitlines()
    # rus+ukr+eng for all four, then the two Russian ones together, English and Ukrainian
    assert [run.rsplit("/", 1)[1] for run in runs] == [
        "pages-rus+ukr+eng.txt", "pages-rus.txt", "00001.pgm", "00002.pgm"]
    for path in shots:
        assert words_of(results[path]) == words_of(ocr_image(path))


def test_a_failed_batch_is_read_image_by_image(tmp_path, three_shots):
    """If Tesseract fails on the list, each image is read alone: one bad run never costs
    the other images their reading, and never mixes their words."""
    program, log = logging_tesseract(
        tmp_path, 'case "$1" in *.txt) echo "Error: list refused" >&2; exit 1;; esac')
    batch = dict(ocr_many(three_shots, "rus+ukr+eng", jobs=1, tesseract=program))
    assert len(log.read_text().splitlines()) == 4     # the list, then each image
    for path in three_shots:
        assert words_of(batch[path]) == words_of(ocr_image(path, "rus+ukr+eng"))


def test_a_page_missing_from_a_batch_run_is_not_guessed(tmp_path, three_shots):
    """A batch answer that lacks a page, or has pages of the wrong size, is not split by
    position: the images are read again one by one."""
    program, log = logging_tesseract(
        tmp_path, 'case "$1" in *.txt) head -n 2 "$1" > "$1.short"; '
                  f'exec {shutil.which("tesseract")} "$1.short" "$2" "$3" "$4" "$5" "$6" "$7";;'
                  ' esac')
    batch = dict(ocr_many(three_shots, "rus+ukr+eng", jobs=1, tesseract=program))
    assert len(log.read_text().splitlines()) == 4
    for path in three_shots:
        assert words_of(batch[path]) == words_of(ocr_image(path, "rus+ukr+eng"))
