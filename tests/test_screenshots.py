"""OCR cached by image hash in the store; every verification a ledger record."""

from __future__ import annotations

import os
import random
import stat

import pytest
from evalset import PASSAGES, forge, render

from provenance.check import check_store
from provenance.screens.match import verify_text
from provenance.screens.screenshots import (
    OCR_KIND,
    VERIFICATION_KIND,
    ocr_cached,
    ocr_many_cached,
    record_verification,
)
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

KP = PASSAGES[0]


@pytest.fixture
def shots(tmp_path):
    genuine = tmp_path / "genuine.png"
    render(KP, KP.body, "clean", random.Random(1)).save(genuine)
    forged_text, _ = forge(KP.body, KP.claim, random.Random(2))
    forged = tmp_path / "forged.png"
    render(KP, forged_text, "clean", random.Random(1)).save(forged)
    return str(genuine), str(forged)


@pytest.fixture
def ledger(tmp_path):
    store = Store(tmp_path / "evidence")
    with Ledger(store) as led:
        yield led


def test_second_read_does_not_run_tesseract(ledger, shots):
    first, record, cached = ocr_cached(ledger.store, ledger, shots[0])
    assert not cached and record.kind == OCR_KIND and record.subject == first.sha256
    # A Tesseract that does not exist proves the second read never calls it.
    again, same, cached = ocr_cached(ledger.store, ledger, shots[0], tesseract="/nonexistent")
    assert cached and same.seq == record.seq
    assert again.text == first.text and again.words == first.words
    assert {f["role"] for f in record.files} == {"screenshot", "ocr"}
    assert check_store(ledger.store, ledger).problems == []


def test_a_different_language_is_read_again(ledger, shots):
    ocr_cached(ledger.store, ledger, shots[0])
    _, _, cached = ocr_cached(ledger.store, ledger, shots[0], "rus")
    assert not cached


def test_an_altered_cache_file_is_not_used(ledger, shots):
    _, record, _ = ocr_cached(ledger.store, ledger, shots[0])
    entry = next(f for f in record.files if f["role"] == "ocr")
    path = ledger.store.path(entry["path"])
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    original = path.read_bytes()
    path.write_bytes(original.replace(b"9 861", b"9 881"))
    _, again, cached = ocr_cached(ledger.store, ledger, shots[0])
    assert not cached and again.seq != record.seq
    # The identical OCR result put the right bytes back; the altered copy stays a problem.
    assert ledger.store.path(entry["path"]).read_bytes() == original
    problems = check_store(ledger.store, ledger).problems
    assert [p.expected for p in problems] == [entry["sha256"]]
    assert problems[0].path.startswith("damaged/")


def test_many_with_cache_and_verification_records(ledger, shots):
    ocr_cached(ledger.store, ledger, shots[0])
    rows = list(ocr_many_cached(ledger.store, ledger, list(shots), jobs=2))
    assert [(p, cached) for p, _, _, cached in rows] == [(shots[0], True), (shots[1], False)]
    verdicts = []
    for _, result, ocr_record, _ in rows:
        verification = verify_text(result, KP.claim)
        record = record_verification(ledger, verification, ocr_record)
        assert record.kind == VERIFICATION_KIND and record.subject == result.sha256
        assert record.data["ocr_record"]["seq"] == ocr_record.seq
        assert isinstance(record.data["score"], str)
        verdicts.append(record.data["verdict"])
    assert verdicts == ["match", "mismatch"]
    assert check_store(ledger.store, ledger).problems == []
