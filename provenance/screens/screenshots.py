"""Screenshots as evidence: kept in the store, OCR'd once, every verification in the ledger.

The first time an image is read, three things are written, in this order:

1. the image's bytes, exactly as received (role ``screenshot``),
2. the full OCR result as JSON (role ``ocr``, words, boxes, preprocessing, notes),
3. an ``ocr`` ledger record whose subject is the image's SHA-256 and whose ``files``
   name both, so ``provenance check`` re-hashes them like any capture.

Later reads of the same bytes with the same language setting find that record and load
the stored JSON instead of running Tesseract again (the cache key is image SHA-256,
requested language, and :data:`OCR_PIPELINE`; the Tesseract version is recorded, not
required, so a cached reading can be re-verified on a machine without Tesseract). The
stored JSON is re-hashed before use: a cache entry edited on disk is refused, not used.

Each verification is a ``verification`` record naming the image hash, the ``ocr``
record it used (seq and hash) and, for ``--against``, the capture. Records hold no
floats (canonical JSON): scores are written as decimal strings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from provenance.errors import ImageError, OcrUnavailable, ProvenanceError, StoreError
from provenance.screens.match import Verification
from provenance.screens.ocr import (
    OcrResult,
    better_model_installed,
    claim_lang,
    claim_langs_any,
    installed_languages,
    ocr_image,
    ocr_many,
    parse_lang,
)
from provenance.store.filestore import Store
from provenance.store.hashing import sha256_file
from provenance.store.kinds import OCR, VERIFICATION
from provenance.store.ledger import Ledger, Record
from provenance.store.records import OcrPayload, Verdict, VerificationPayload

OCR_KIND = OCR
VERIFICATION_KIND = VERIFICATION
OCR_PIPELINE = "provenance-ocr/2"  # 2: auto keeps eng for Latin words (names)
"""Bump when preprocessing or reading order changes what an image reads as: old cache
entries then stay in the ledger as history but are no longer reused."""

_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def _image_hash(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror})") from None


def find_cached(store: Store, ledger: Ledger, sha256: str, lang: str | frozenset[str], *,
                tesseract: str = "tesseract") -> tuple[OcrResult, Record] | None:
    """The latest reusable OCR of these image bytes read with ``lang`` (or any one of a
    set of language lists), or None. An ``auto`` reading by the English model of a language
    whose own model is installed now is not reusable."""
    wanted = lang if isinstance(lang, frozenset) else frozenset({parse_lang(lang)})
    for record in reversed(list(ledger.records(kind=OCR_KIND, subject=sha256))):
        data = record.data
        if data.get("lang_requested") not in wanted or data.get("pipeline") != OCR_PIPELINE:
            continue
        entry = record.file("ocr")
        if entry is None:
            continue
        try:
            raw = store.read_verified(entry)
        except StoreError:
            continue  # missing or altered: never trusted, `check` reports it; read again
        result = OcrResult.from_json(json.loads(raw))
        if data.get("lang_requested") == "auto" and better_model_installed(result, tesseract):
            return None
        return result, record
    return None


def _record_ocr(store: Store, ledger: Ledger, path: str, lang: str,
                result: OcrResult) -> Record:
    suffix = os.path.splitext(path)[1].lower()
    image = store.put_file(path, role="screenshot",
                           suffix=suffix if suffix in _SUFFIXES else ".img")
    if image.sha256 != result.sha256:
        raise ImageError(f"{path}: the file changed while it was being read")
    body = json.dumps(result.cache_json(), ensure_ascii=False, sort_keys=True).encode("utf-8")
    stored = store.put_bytes(body, role="ocr", suffix=".ocr.json")
    payload = OcrPayload(
        image_sha256=result.sha256,
        image_name=os.path.basename(path),
        phash=result.phash,
        width=result.width,
        height=result.height,
        lang_requested=lang,
        lang=result.lang,
        engine=result.engine,
        pipeline=OCR_PIPELINE,
        confidence=f"{result.confidence:.2f}",
        words=len(result.words),
        files=[image.to_json(), stored.to_json()],
    )
    return ledger.append(OCR_KIND, payload.to_json(), subject=result.sha256)


def ocr_cached(store: Store, ledger: Ledger, path: str | os.PathLike[str],
               lang: str = "auto", *, tesseract: str = "tesseract"
               ) -> tuple[OcrResult, Record, bool]:
    """OCR ``path`` once per image: ``(result, its ocr record, True if from the cache)``."""
    name = os.fspath(path)
    lang = parse_lang(lang)
    hit = find_cached(store, ledger, _image_hash(name), lang, tesseract=tesseract)
    if hit is not None:
        return _reused(hit, name)
    result = ocr_image(name, lang, tesseract=tesseract)
    return result, _record_ocr(store, ledger, name, lang, result), False


def ocr_for_claim(store: Store, ledger: Ledger, path: str | os.PathLike[str], claim: str,
                  lang: str = "auto", *, tesseract: str = "tesseract"
                  ) -> tuple[OcrResult, Record, bool]:
    """:func:`ocr_cached` for ``verify --text``: with ``auto``, a cached ``auto`` reading
    is used if there is one, else the image is read once in the claim's languages
    (:func:`provenance.ocr.claim_lang`), cached under them."""
    if parse_lang(lang) == "auto":
        name = os.fspath(path)
        sha256 = _image_hash(name)
        hit = find_cached(store, ledger, sha256, "auto", tesseract=tesseract)
        if hit is not None:
            return _reused(hit, name)
        try:
            lang = claim_lang(claim, installed_languages(tesseract))
        except OcrUnavailable:
            # No Tesseract here: a reading kept from before, in the claim's languages as
            # chosen with whatever models there were then, may still answer.
            hit = find_cached(store, ledger, sha256, claim_langs_any(claim),
                              tesseract=tesseract)
            if hit is None:
                raise
            return _reused(hit, name)
    return ocr_cached(store, ledger, path, lang, tesseract=tesseract)


def _reused(hit: tuple[OcrResult, Record], name: str) -> tuple[OcrResult, Record, bool]:
    """A kept reading, named as the image is named now."""
    result, record = hit
    result.image = name
    return result, record, True


def ocr_many_cached(
    store: Store, ledger: Ledger, paths: Iterable[str | os.PathLike[str]],
    lang: str = "auto", jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None, *, tesseract: str = "tesseract",
) -> Iterator[tuple[str, OcrResult | ProvenanceError, Record | None, bool]]:
    """Like :func:`provenance.screens.ocr.ocr_many`, reading only images not read before.

    Yields ``(path, result or ImageError, ocr record or None, cached)`` in the order given.
    Ledger writes happen here, in the calling process, one record per new image.
    """
    names = [os.fspath(p) for p in paths]
    lang = parse_lang(lang)
    known: dict[str, tuple[OcrResult, Record]] = {}
    errors: dict[str, ProvenanceError] = {}
    for name in names:
        try:
            hit = find_cached(store, ledger, _image_hash(name), lang, tesseract=tesseract)
        except ImageError as exc:
            errors[name] = exc
            continue
        if hit is not None:
            hit[0].image = name
            known[name] = hit
    todo = [n for n in names if n not in known and n not in errors]
    done = len(names) - len(todo)
    if progress and done:
        progress(done, len(names))
    fresh: dict[str, OcrResult | ProvenanceError] = {}
    if todo:
        def shifted(finished: int, _total: int) -> None:
            if progress:
                progress(done + finished, len(names))

        fresh = dict(ocr_many(todo, lang, jobs, shifted, tesseract=tesseract))
    for name in names:
        if name in errors:
            yield name, errors[name], None, False
        elif name in known:
            result, record = known[name]
            yield name, result, record, True
        else:
            outcome = fresh[name]
            if isinstance(outcome, ProvenanceError):
                yield name, outcome, None, False
            else:
                yield name, outcome, _record_ocr(store, ledger, name, lang, outcome), False


def record_verification(ledger: Ledger, verification: Verification, ocr_record: Record, *,
                        against: dict[str, Any] | None = None) -> Record:
    """Append the verification as a ledger record; ``against`` names the capture, if any
    (e.g. ``{"capture": record.id, "url": ..., "text_sha256": ...}``)."""
    payload = VerificationPayload(
        verdict=Verdict(verification.verdict),
        score=f"{verification.score:.3f}",
        claim=verification.claim,
        found=verification.found,
        figures=[f.to_json() for f in verification.figures],
        reasons=verification.reasons,
        image_sha256=verification.image_sha256,
        ocr_record={"seq": ocr_record.seq, "record_hash": ocr_record.record_hash},
        against=against or {"kind": verification.against},
        checked_at=verification.checked_at,
    )
    return ledger.append(VERIFICATION_KIND, payload.to_json(),
                         subject=verification.image_sha256)
