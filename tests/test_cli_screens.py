"""``provenance ocr`` and ``provenance verify`` end to end: real Tesseract, real pages on
127.0.0.1, a real TSA; exit codes, JSON keys, the cache, and bad input changing nothing.

The screenshots are drawn with Pillow (tests/evalset.py) from the article the ``web``
fixture serves. One store is shared by the module so each image is read by Tesseract
once; every test that needs a fresh store makes its own.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import runpy
import sys
from pathlib import Path

import pytest
from evalset import Passage, forge, render
from PIL import Image
from webfixtures import ARTICLE, RU_UTF8, closed_port, send

from provenance.api import Evidence
from provenance.check import check_store
from provenance.cli.main import main
from provenance.screens.ocr import KNOWN_LANGS
from provenance.screens.screenshots import OCR_KIND, VERIFICATION_KIND
from provenance.stamps.stamping import TIMESTAMP
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

CLAIM = "Россия потеряла 9 861 человек убитыми, 16 153 ранеными"
ARTICLE_SHOT = Passage(
    "web", "rus", ARTICLE[0], ARTICLE[1], CLAIM, ARTICLE[2],
    "Синоптики обещают в выходные теплую погоду: днем до плюс восемнадцати градусов, "
    "ночью заморозки до минус двух. Дожди ожидаются только в понедельник.",
)
WEATHER = Passage(  # nothing of it is on the article's page
    "weather", "rus", "Погода на выходные", ARTICLE_SHOT.unrelated, "",
    "Синоптики советуют не убирать зимние куртки до середины апреля.", "",
)
OCR_KEYS = {"image", "sha256", "phash", "width", "height", "lang", "text", "confidence",
            "words"}
VERIFY_KEYS = {"verdict", "score", "claim", "found", "figures", "image_sha256"}


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shots")
    paths = {}
    rng = random.Random("cli-screens")
    forged, _ = forge(ARTICLE_SHOT.body, CLAIM, rng)
    for name, passage, body in (("genuine", ARTICLE_SHOT, ARTICLE_SHOT.body),
                                ("forged", ARTICLE_SHOT, forged),
                                ("unrelated", WEATHER, WEATHER.body)):
        paths[name] = str(folder / f"{name}.png")
        render(passage, body, "clean", random.Random(1)).save(paths[name])
    return paths


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The module's store: OCR done by one test is a cache hit for the next. Whatever the
    tests did to it (in any order), ``check`` finds it intact afterwards."""
    store = tmp_path_factory.mktemp("shared") / "evidence"
    yield str(store)
    if store.exists():
        report = Evidence.check_at(store)
        assert report.intact, [str(p) for p in report.problems]


def run(capsys, store, *argv):
    """``provenance --store STORE --json ARGV``: (exit code, JSON items, stderr)."""
    code = main(["--store", str(store), "--json", *argv])
    captured = capsys.readouterr()
    items = [json.loads(line) for line in captured.out.splitlines()]  # stdout: JSON only
    assert "Traceback" not in captured.err
    return code, items, captured.err


def size(path):
    with Image.open(path) as image:
        return image.size


def records(store, kind):
    with Ledger(Store(store, create=False)) as ledger:
        return list(ledger.records(kind=kind))


def assert_intact(store):
    with Ledger(Store(store, create=False)) as ledger:
        assert check_store(ledger.store, ledger).problems == []


# --- ocr ------------------------------------------------------------------------------------

def test_ocr_json_has_the_contract_keys(capsys, shared, shots):
    code, items, err = run(capsys, shared, "ocr", shots["genuine"], shots["forged"],
                           "--jobs", "2")
    assert code == 0, err
    assert [item["image"] for item in items] == [shots["genuine"], shots["forged"]]
    genuine = items[0]
    assert OCR_KEYS <= set(genuine)
    assert genuine["lang"] == "rus" and "9 861" in genuine["text"]
    assert genuine["sha256"] == hashlib.sha256(Path(shots["genuine"]).read_bytes()).hexdigest()
    assert len(genuine["phash"]) == 16 and int(genuine["phash"], 16) >= 0
    assert 0 <= genuine["confidence"] <= 100
    word = genuine["words"][0]
    assert set(word) == {"text", "conf", "box"} and len(word["box"]) == 4
    assert (genuine["width"], genuine["height"]) == size(shots["genuine"])
    assert [r.subject for r in records(shared, OCR_KIND)][-2:] == [i["sha256"] for i in items]


# --- verify --text --------------------------------------------------------------------------

def test_match_then_second_verify_reads_the_cache(capsys, shared, shots, monkeypatch):
    code, [first], err = run(capsys, shared, "verify", shots["genuine"], "--text", CLAIM)
    assert code == 0, err
    assert VERIFY_KEYS <= set(first) and first["verdict"] == "match"
    assert [f["found_as"] for f in first["figures"]] == ["9 861", "16 153"]
    # A Tesseract that does not exist proves the second verify never runs it.
    monkeypatch.setenv("PROVENANCE_TESSERACT", "/nonexistent/tesseract")
    code, [again], err = run(capsys, shared, "verify", shots["genuine"], "--text", CLAIM)
    assert code == 0, err
    assert again["ocr_cached"] and again["ocr_record"] == first["ocr_record"]
    ocr_seqs = [r.seq for r in records(shared, OCR_KIND) if r.subject == first["image_sha256"]]
    assert ocr_seqs == [first["ocr_record"]["seq"]]
    verifications = {r.seq: r for r in records(shared, VERIFICATION_KIND)}
    recorded = verifications[again["ledger_seq"]].data
    assert recorded["verdict"] == "match" and recorded["image_sha256"] == first["image_sha256"]


def test_forged_digit_is_a_mismatch_exit_1(capsys, shared, shots):
    code, [item], _ = run(capsys, shared, "verify", shots["forged"], "--text", CLAIM)
    assert (code, item["verdict"]) == (1, "mismatch")
    assert any(f["status"] == "differs" for f in item["figures"])


def test_unrelated_text_is_absent_exit_1(capsys, shared, shots):
    code, [item], _ = run(capsys, shared, "verify", shots["unrelated"], "--text", CLAIM)
    assert (code, item["verdict"]) == (1, "absent")
    assert all(f["found_as"] is None for f in item["figures"])


def test_human_output_names_the_verdict_and_figures(capsys, shared, shots):
    assert main(["--store", shared, "verify", shots["forged"], "--text", CLAIM]) == 1
    out = capsys.readouterr().out
    assert out.startswith("MISMATCH") and "differs" in out


def test_annotate_and_report_are_written(capsys, shared, shots, tmp_path):
    png, page = tmp_path / "marked.png", tmp_path / "report.html"
    code, [item], _ = run(capsys, shared, "verify", shots["forged"], "--text", CLAIM,
                          "--annotate", str(png), "--report", str(page))
    assert code == 1 and item["annotated"] == str(png) and item["report"] == str(page)
    with Image.open(png) as marked:
        assert marked.format == "PNG"
        assert marked.size == size(shots["forged"])
        colours = {c for _, c in marked.convert("RGB").getcolors(1 << 24)}
        assert (220, 0, 0) in colours, "the differing figure is boxed red"
    html = page.read_text(encoding="utf-8")
    assert 'class="verdict">mismatch<' in html.replace("'", '"')
    assert "data:image/png;base64," in html and item["image_sha256"] in html


# --- verify --against -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def article(web):
    web.add_route("/screens/article", lambda h: send(h, 200, RU_UTF8,
                                                     content_type="text/html; charset=utf-8"))
    web.add_route("/screens/fresh", lambda h: send(h, 200, RU_UTF8,
                                                   content_type="text/html; charset=utf-8"))
    return web


def test_against_a_capture_id(capsys, shared, shots, article):
    code, [capture], err = run(capsys, shared, "archive", article.url("/screens/article"))
    assert code == 0, err
    code, [item], err = run(capsys, shared, "verify", shots["genuine"],
                            "--against", capture["id"])
    assert (code, item["verdict"]) == (0, "match"), err
    assert item["against"]["capture"] == capture["id"]
    assert item["against"]["text_sha256"] == capture["text_sha256"]
    recorded = next(r for r in records(shared, VERIFICATION_KIND)
                    if r.seq == item["ledger_seq"]).data
    assert recorded["against"]["capture"] == capture["id"]
    code, [item], _ = run(capsys, shared, "verify", shots["forged"],
                          "--against", str(capture["ledger_seq"]))
    assert (code, item["verdict"]) == (1, "mismatch")
    code, [item], _ = run(capsys, shared, "verify", shots["unrelated"],
                          "--against", capture["id"])
    assert (code, item["verdict"]) == (1, "absent")
    assert_intact(shared)


def test_against_a_page_that_hides_the_paragraph_by_its_style_sheet(capsys, shared, shots,
                                                                     article):
    """The withdrawal without deletion: the page keeps the figures' paragraph in its HTML
    (so the capture's article text has it) and hides it by a class. The genuine screenshot
    of it is then no match, and the reason names the rule."""
    withdrawn = RU_UTF8.decode("utf-8").replace(
        f"<p>{ARTICLE[1]}</p>", f'<p class="withdrawn">{ARTICLE[1]}</p>').replace(
        "</head>", "<style>.withdrawn { display: none }</style></head>")
    assert "withdrawn" in withdrawn
    article.add_route("/screens/hidden-by-class", lambda h: send(
        h, 200, withdrawn.encode("utf-8"), content_type="text/html; charset=utf-8"))
    code, [capture], err = run(capsys, shared, "archive", article.url("/screens/hidden-by-class"))
    assert code == 0, err
    code, [item], err = run(capsys, shared, "verify", shots["genuine"],
                            "--against", capture["id"])
    assert (code, item["verdict"]) == (1, "mismatch"), item["reasons"]
    assert "style sheet hides them (.withdrawn { display: none })" in item["reasons"][0]


def test_against_a_url_captures_it_once(capsys, shared, shots, article):
    url = article.url("/screens/fresh")
    code, [item], err = run(capsys, shared, "verify", shots["genuine"], "--against", url)
    assert (code, item["verdict"]) == (0, "match"), err
    assert article.hits("/screens/fresh") == 1
    [capture] = [r for r in records(shared, "capture") if r.subject == url]
    assert item["against"]["capture"] == capture.id and item["against"]["url"] == url
    code, [again], _ = run(capsys, shared, "verify", shots["forged"], "--against", url)
    assert (code, again["verdict"]) == (1, "mismatch")
    assert article.hits("/screens/fresh") == 1, "the latest capture is reused"
    assert again["against"]["capture"] == capture.id
    assert_intact(shared)


def test_against_a_url_across_time_says_when_it_was_withdrawn(capsys, shared, shots, web):
    """Captured with the figures, then without: the screenshot was shown, then withdrawn."""
    served = [RU_UTF8, RU_UTF8.replace(ARTICLE[1].encode(), b"")]
    web.add_route("/screens/withdrawn", lambda h: send(
        h, 200, served.pop(0) if len(served) > 1 else served[0],
        content_type="text/html; charset=utf-8"))
    url = web.url("/screens/withdrawn")
    first = run(capsys, shared, "archive", url)[1][0]
    second = run(capsys, shared, "archive", url)[1][0]
    code, [item], _ = run(capsys, shared, "verify", shots["genuine"], "--against", url)
    # The page showed it (issue 11: "did this page ever show it"), named by the capture
    # that did; it still has the headline and the rest, not the paragraph with the figures.
    assert (code, item["verdict"]) == (0, "match"), item
    assert item["against"]["capture"] == first["id"]
    timeline = item["timeline"]
    assert [c["verdict"] for c in timeline["captures"]] == ["match", "mismatch"]
    assert timeline["first_shown"] == first["fetched_at"]
    assert timeline["absent_since"] == second["fetched_at"]
    assert main(["--store", shared, "verify", shots["genuine"], "--against", url]) == 0
    human = capsys.readouterr().out
    assert f"not shown from {second['fetched_at']} on" in human
    code, [forged], _ = run(capsys, shared, "verify", shots["forged"], "--against", url)
    assert (code, forged["verdict"]) == (1, "mismatch")  # the closest copy differs


def test_against_an_unreachable_url_is_exit_2(capsys, shared, shots):
    url = f"http://127.0.0.1:{closed_port()}/gone"
    code, items, err = run(capsys, shared, "verify", shots["genuine"], "--against", url)
    assert code == 2 and items == []
    [error] = [line for line in err.splitlines() if line.startswith("provenance: ")]
    assert "could not capture" in error and url in error


# --- time-stamps ----------------------------------------------------------------------------

def test_tsa_stamps_the_verification(capsys, shared, shots, tsa):
    code, [item], err = run(capsys, shared, "verify", shots["genuine"], "--text", CLAIM,
                            "--tsa", tsa.url)
    assert code == 0, err
    [stamp] = item["timestamps"]
    assert stamp["status"] == "granted" and stamp["token"]
    covered = [r for r in records(shared, TIMESTAMP) if item["ledger_seq"] in r.data["covers"]]
    assert [r.data["status"] for r in covered] == ["granted"] and tsa.requests == 1
    assert_intact(shared)


def test_tsa_stamps_new_ocr_records_in_one_request(capsys, tmp_path, shots, tsa):
    store = tmp_path / "ev"
    code, [item], err = run(capsys, store, "ocr", shots["unrelated"], "--tsa", tsa.url)
    assert code == 0, err
    assert item["timestamps"][0]["status"] == "granted"
    [stamp] = records(store, TIMESTAMP)
    assert stamp.data["covers"] == [item["ledger_seq"]]
    code, [again], _ = run(capsys, store, "ocr", shots["unrelated"], "--tsa", tsa.url)
    assert again["cached"] and again["timestamps"] == [] and tsa.requests == 1


# --- bad input: one line, exit 2, nothing written -------------------------------------------

def bomb_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20000, 10000)).save(out, "PNG", optimize=True)  # 200 Mpx, ~25 kB
    return out.getvalue()


@pytest.fixture(scope="module")
def bad_images(tmp_path_factory, shots) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    genuine = Path(shots["genuine"]).read_bytes()
    files = {"not-an-image.png": b"<html>not a picture</html>", "empty.png": b"",
             "truncated.png": genuine[: len(genuine) // 2], "bomb.png": bomb_png()}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in [*files, "missing.png"]}


def snapshot(store) -> dict[str, str]:
    root = Path(store)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_refused(capsys, store, argv, *words):
    before = snapshot(store) if Path(store).exists() else None
    try:
        code = main(["--store", str(store), *argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("provenance: "), captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    for word in words:
        assert word in lines[0]
    if before is None:
        assert not Path(store).exists(), "bad input must not create the store"
    else:
        assert snapshot(store) == before, "bad input must not touch the store"
    return lines[0]


@pytest.mark.parametrize("name,words", [
    ("not-an-image.png", ["not an image"]),
    ("empty.png", ["empty", "0 bytes"]),
    ("truncated.png", ["truncated"]),
    ("bomb.png", ["decompression bomb"]),
    ("missing.png", ["cannot read"]),
])
def test_bad_image_is_one_line_exit_2_store_untouched(capsys, tmp_path, shared, shots,
                                                      bad_images, name, words):
    path = str(bad_images[name])
    assert_refused(capsys, tmp_path / "new", ["verify", path, "--text", CLAIM], *words)
    assert_refused(capsys, tmp_path / "new", ["ocr", shots["genuine"], path], *words)
    if Path(shared).exists():
        assert_refused(capsys, shared, ["verify", path, "--text", CLAIM], *words)


def test_missing_tesseract_names_the_package(capsys, tmp_path, shots, monkeypatch):
    monkeypatch.setenv("PROVENANCE_TESSERACT", str(tmp_path / "no-tesseract"))
    assert_refused(capsys, tmp_path / "ev", ["verify", shots["genuine"], "--text", CLAIM],
                   "apt-get install tesseract-ocr")
    assert_refused(capsys, tmp_path / "ev", ["ocr", shots["genuine"]],
                   "apt-get install tesseract-ocr")


def test_missing_language_names_the_package(capsys, tmp_path, shots):
    from provenance.screens.ocr import _installed

    if "tlh" in _installed("tesseract")[1]:
        pytest.skip("Klingon language data is installed here")
    assert_refused(capsys, tmp_path / "ev", ["ocr", shots["genuine"], "--lang", "tlh"],
                   "apt-get install tesseract-ocr-tlh")
    assert set(KNOWN_LANGS) <= _installed("tesseract")[1]


@pytest.mark.parametrize("argv,words", [
    (["verify", "{img}", "--text", " ,. "], ["no words or figures"]),
    (["verify", "{img}", "--text", CLAIM, "--lang", "Russian"], ["--lang"]),
    (["verify", "{img}", "--text", CLAIM, "--annotate", "/nonexistent/dir/a.png"],
     ["folder /nonexistent/dir does not exist"]),
    (["verify", "{img}", "--text", CLAIM, "--tsa", "ftp://tsa"], ["not an http(s) URL"]),
    (["verify", "{img}", "--text", CLAIM, "--to", "none"], ["--to applies only"]),
    (["verify", "{img}", "--against", "ftp://example.org/x"], ["http"]),
    (["verify", "{img}"], ["--text", "--against"]),
    (["ocr", "{img}", "--jobs", "0"], ["at least 1"]),
])
def test_bad_arguments_are_one_line_exit_2(capsys, tmp_path, shots, argv, words):
    argv = [a.replace("{img}", shots["genuine"]) for a in argv]
    assert_refused(capsys, tmp_path / "ev", argv, *words)


def test_unknown_or_wrong_kind_of_capture_id(capsys, shared, shots):
    code, [ocr], _ = run(capsys, shared, "ocr", shots["genuine"])
    assert code == 0
    assert_refused(capsys, shared, ["verify", shots["genuine"], "--against", "fedcba987"],
                   "no record fedcba987")
    assert_refused(capsys, shared, ["verify", shots["genuine"], "--against",
                                    str(ocr["ledger_seq"])], "not a capture")


# --- the whole store, and the demo ----------------------------------------------------------

def test_demo_matches_the_bundled_screenshot(tmp_path, capsys, monkeypatch):
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
    monkeypatch.setattr(sys, "argv", [str(demo), "--store", str(tmp_path / "demo")])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(demo), run_name="__main__")
    out = capsys.readouterr().out
    assert exit_info.value.code == 0, out
    assert out.count("\nMATCH  score") == 3  # the claim, the first capture, the URL
    assert "- По данным Министерства обороны России" in out  # history: the figures removed
    assert "not shown from" in out  # the edited page
    assert (tmp_path / "demo-bundle.zip").exists() and "intact: " in out
