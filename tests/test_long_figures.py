"""Numbers longer than a default Decimal (28 digits) through the whole command line.

Such a number once crashed ``verify``, ``archive`` and ``history`` with
``decimal.InvalidOperation``. Here a screenshot drawn with Pillow and read by the real
Tesseract, and a page served on 127.0.0.1, carry 29-, 40- and 1000-digit figures: each
must be compared by its exact value, one differing digit always differing.
"""

from __future__ import annotations

import json

import pytest
from evalset import find_font
from PIL import Image, ImageDraw, ImageFont
from webfixtures import send

from provenance.cli.main import main


def _long(n: int) -> str:
    return "1" + "".join(str((i * 7 + 3) % 10) for i in range(n - 1))


D29, D40, D1000 = _long(29)[::-1], _long(40), "9" * 1000
LINES = [f"The ministry reported {D40} roubles", f"of damage and {D29} claims last year."]
CLAIM = f"The ministry reported {D40} roubles of damage and {D29} claims"


def _bumped(digits: str, position: int) -> str:
    return digits[:position] + str((int(digits[position]) + 1) % 10) + digits[position + 1:]


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    font = ImageFont.truetype(find_font(), 22)
    width = max(int(font.getlength(line)) for line in LINES) + 60
    image = Image.new("RGB", (width, 40 + 40 * len(LINES)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(LINES):
        draw.text((30, 20 + 40 * i), line, font=font, fill="black")
    path = tmp_path_factory.mktemp("long") / "long.png"
    image.save(path)
    return str(path)


def run(capsys, *argv):
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "InvalidOperation" not in captured.err
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_verify_text_with_long_figures_is_exact(capsys, tmp_path, shot):
    store = str(tmp_path / "ev")
    code, [item], err = run(capsys, "--store", store, "verify", shot, "--text", CLAIM,
                            "--tsa", "none")
    assert (code, item["verdict"]) == (0, "match"), err
    assert [f["value"] for f in item["figures"]] == [D40, D29]
    for forged in (CLAIM.replace(D40, _bumped(D40, 39)), CLAIM.replace(D29, _bumped(D29, 14))):
        code, [item], _ = run(capsys, "--store", store, "verify", shot, "--text", forged,
                              "--tsa", "none")
        assert code == 1 and item["verdict"] != "match"
    code, [item], _ = run(capsys, "--store", store, "verify", shot, "--text",
                          CLAIM.replace(D40, D1000), "--tsa", "none")
    assert code == 1 and item["verdict"] != "match"


def test_verify_against_a_page_with_long_figures(capsys, tmp_path, shot, web):
    store = str(tmp_path / "ev")
    pages = {"/long/same": " ".join(LINES), "/long/edited": " ".join(LINES).replace(
        D40, _bumped(D40, 20))}
    for path, text in pages.items():
        body = (f"<html><body><article><p>Headline of the story</p><p>{text}</p>"
                f"<p>A reference number {D1000} closes the page.</p></article></body></html>")
        web.add_route(path, lambda h, b=body: send(h, 200, b.encode(), content_type="text/html"))
    code, items, err = run(capsys, "--store", store, "verify", shot, "--against",
                           web.url("/long/same"), "--to", "none", "--tsa", "none")
    assert (code, items[-1]["verdict"]) == (0, "match"), err
    code, items, err = run(capsys, "--store", store, "verify", shot, "--against",
                           web.url("/long/edited"), "--to", "none", "--tsa", "none")
    assert (code, items[-1]["verdict"]) == (1, "mismatch"), err
