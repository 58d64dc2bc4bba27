"""`provenance verify --text` end to end on a swapped word: exit 1, the word in the JSON and
the reasons, and the red box of ``--annotate`` on the word the screenshot shows.

The screenshots are drawn by tests/evalset.py (a Russian concert notice with a Latin band
name); Tesseract reads them for real, in the languages the claim's letters choose.
"""

from __future__ import annotations

import json
import random

import pytest
from evalset import PASSAGES, render, swap
from PIL import Image

from provenance.cli import main
from provenance.screens.screenshots import OCR_KIND
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

CONCERT = next(p for p in PASSAGES if p.key == "concert")


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("words")
    paths = {}
    for name, body in (("genuine", CONCERT.body),
                       ("coldplay", swap(CONCERT.body, CONCERT.claim, "Panic! At The Disco",
                                         "Coldplay"))):
        paths[name] = str(folder / f"{name}.png")
        render(CONCERT, body, "clean", random.Random(5)).save(paths[name])
    return paths


def verify(capsys, store, *argv):
    code = main(["--store", str(store), "--json", "verify", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out)


def test_genuine_with_a_latin_name_is_a_match(capsys, tmp_path, shots):
    code, item = verify(capsys, tmp_path / "ev", shots["genuine"], "--text", CONCERT.claim)
    assert (code, item["verdict"]) == (0, "match"), item["reasons"]
    assert item["words"] == []
    assert "Panic At The Disco" in item["found"]   # tokens joined, punctuation dropped
    with Ledger(Store(tmp_path / "ev", create=False)) as ledger:
        [reading] = ledger.records(kind=OCR_KIND)
    assert reading.data["lang_requested"] == "rus+eng"   # once, in the claim's languages


def test_another_band_is_a_mismatch_boxed_red(capsys, tmp_path, shots):
    marked = tmp_path / "marked.png"
    code, item = verify(capsys, tmp_path / "ev", shots["coldplay"], "--text", CONCERT.claim,
                        "--annotate", str(marked))
    assert (code, item["verdict"]) == (1, "mismatch")
    assert item["words"] == [{"claim_text": "Panic! At The Disco", "found_as": "Coldplay",
                              "status": "differs"}]
    assert ("the screenshot shows 'Coldplay' where the claim has 'Panic! At The Disco'"
            in item["reasons"])
    with Image.open(marked) as image:
        red = [(x, y) for (x, y) in ((x, y) for x in range(image.width)
                                     for y in range(image.height))
               if image.getpixel((x, y))[:3] == (220, 0, 0)]
    assert red, "the differing word is boxed red"
    # The red box surrounds the word 'Coldplay': on the body's first line, after 'Группа'.
    xs, ys = [x for x, _ in red], [y for _, y in red]
    assert 80 < min(xs) < max(xs) < 260 and max(ys) < 160
