"""Real Tesseract on images drawn here: text, boxes in original pixels, languages, pools."""

from __future__ import annotations

import io
import json
import random

import pytest
from evalset import PASSAGES, find_font, render
from PIL import Image, ImageDraw, ImageFont

from provenance.errors import ImageError, OcrUnavailable, UsageError
from provenance.screens.match import verify_text
from provenance.screens.ocr import check_tesseract, choose_lang, ocr_image, ocr_many, parse_lang

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
    with pytest.raises(OcrUnavailable) as exc:
        check_tesseract("deu+eng")
    assert str(exc.value) == ("Tesseract has no 'deu' language data: "
                              "apt-get install tesseract-ocr-deu")


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
