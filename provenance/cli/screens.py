"""The screenshot commands: ``provenance ocr`` and ``provenance verify``.

Thin, like the rest of the CLI: arguments are checked, then the library does the work
(:mod:`provenance.screens.screenshots` reads and caches, :mod:`provenance.screens.match`
decides, :mod:`provenance.screens.annotate` and :mod:`provenance.screens.report` draw).
Everything a user can get wrong is checked before the store is opened, so a bad image, a
missing Tesseract or a mistyped capture id changes nothing.

The helpers shared with the other commands (store opening, ``--to``/``--tsa`` parsing)
come from :mod:`provenance.cli.options`.

Exit codes (CONTRACT.md): ``ocr`` 0, or 2 for an image it cannot read; ``verify`` 0 only
for ``match``, 1 for ``mismatch`` or ``absent``, 2 when it could not check at all.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from archive.fetch import Fetcher, new_session
from provenance.api import timestamp_records, witness_config
from provenance.capture.batch import already_captured, validate_urls
from provenance.capture.capturer import CAPTURE, Capturer
from provenance.cli.files import check_targets, force_option
from provenance.cli.options import (
    EXIT_NEGATIVE,
    EXIT_OK,
    EXIT_USAGE,
    open_store,
    positive_float,
    positive_int,
    say_witnesses,
    tsa_urls,
    witness_specs,
    witness_step_for,
)
from provenance.cli.output import Output
from provenance.errors import ImageError, ProvenanceError, StoreError, UsageError
from provenance.screens.across import Across, check_across
from provenance.screens.annotate import annotate
from provenance.screens.images import load_image
from provenance.screens.match import tokenize, verify_against_text, verify_text
from provenance.screens.ocr import check_tesseract, parse_lang
from provenance.screens.report import html_report
from provenance.screens.screenshots import ocr_cached, ocr_many_cached, record_verification
from provenance.store.filestore import Store, resolve_store_path
from provenance.store.hashing import sha256_bytes
from provenance.store.ledger import Ledger, Record

TESSERACT_ENV = "PROVENANCE_TESSERACT"
"""The Tesseract program to run (default ``tesseract`` on the PATH)."""

LANG_HELP = ("OCR languages: auto (choose among eng, rus, ukr per image; the default) or "
             "Tesseract names joined with + (rus+eng)")


def _tesseract() -> str:
    return os.environ.get(TESSERACT_ENV) or "tesseract"


def _add_reading_options(sub: argparse.ArgumentParser) -> None:
    """--lang, --tsa and --timeout, as ``ocr`` and ``verify`` both take them."""

    sub.add_argument("--lang", default="auto", metavar="auto|LANGS", help=LANG_HELP)
    sub.add_argument("--tsa", action="append", metavar="URL", default=None,
                     help="RFC 3161 time-stamp authority URL, or none (repeatable; "
                     "env PROVENANCE_TSA)")
    sub.add_argument("--timeout", type=positive_float, default=30.0, metavar="SECONDS",
                     help="timeout per network request (default 30 s)")


# --- ocr ----------------------------------------------------------------------------------

def _register_ocr(commands: Any) -> argparse.ArgumentParser:

    sub = commands.add_parser(
        "ocr", help="read the text of screenshots (kept and cached in the store)",
        description="Read each image with Tesseract: text, words with boxes and confidences, "
        "SHA-256 and perceptual hash. The image and its reading are kept in the store and "
        "recorded in the ledger; an image read before is not read again. "
        f"Env {TESSERACT_ENV} names the Tesseract program.")
    sub.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, WebP, GIF... files")
    sub.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                     help="read N images at once (default: one per core)")
    _add_reading_options(sub)
    sub.set_defaults(handler=_cmd_ocr)
    return sub


def _cmd_ocr(args: argparse.Namespace, out: Output) -> int:

    lang, tsas = _check_inputs(args.images, args.lang, args.tsa)
    store, ledger = _open_for_ocr(args, lang)
    failures = 0
    new: list[Record] = []
    held: list[dict[str, Any]] = []  # with --tsa, printed once their stamp is known
    with ledger:
        rows = ocr_many_cached(store, ledger, args.images, lang, args.jobs,
                               tesseract=_tesseract())
        for _name, result, record, cached in out.progress(rows, total=len(args.images),
                                                         desc="reading"):
            if isinstance(result, ProvenanceError) or record is None:
                failures += 1
                out.error(str(result))
                continue
            data = {**result.to_json(), "cached": cached, "ledger_seq": record.seq,
                    "record_hash": record.record_hash, "timestamps": []}
            if not cached:
                new.append(record)
            if tsas and not cached:
                held.append(data)
            else:
                out.item(data, _human_ocr(data))
        timestamps = _stamp(store, ledger, new, tsas, args.timeout, out)
    for data in held:
        data["timestamps"] = timestamps
        out.item(data, _human_ocr(data))
    return EXIT_USAGE if failures else EXIT_OK


def _human_ocr(data: dict[str, Any]) -> str:
    cached = ", cached" if data["cached"] else ""
    head = (f"== {data['image']}  ({data['lang']}, confidence {data['confidence']:.0f}{cached}, "
            f"ledger #{data['ledger_seq']})")
    return head + "\n" + (data["text"] or "(no text found)") + "\n"


# --- verify -------------------------------------------------------------------------------

def _register_verify(commands: Any) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "verify", help="does a screenshot show the claimed text? match / mismatch / absent",
        description="Find the screenshot's passage that corresponds to the claim (or to a "
        "captured page) and compare every figure exactly: 9 861 = 9,861 = 9861, but 9881 is "
        "never 9861. Exit 0 for match, 1 for mismatch or absent, 2 if it could not check. "
        "Every verification is a ledger record with the image's hash.")
    sub.add_argument("image", metavar="IMAGE", help="the screenshot")
    what = sub.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", metavar="CLAIM", help="the text the screenshot is said to show")
    what.add_argument("--against", metavar="URL_OR_CAPTURE_ID",
                      help="a stored capture (ledger number or record hash prefix), or a URL: "
                      "its latest capture, captured now if there is none")
    sub.add_argument("--annotate", metavar="OUT.png",
                     help="write the screenshot with the passage boxed green and each "
                     "differing figure red")
    sub.add_argument("--report", metavar="OUT.html",
                     help="write a self-contained HTML report (image embedded, opens offline)")
    force_option(sub)
    sub.add_argument("--to", action="append", metavar="WITNESS", default=None,
                     help="with --against URL, when a capture is made: witness archive ia, "
                     "pywb=BASE or none (repeatable; default as for archive)")
    _add_reading_options(sub)
    sub.set_defaults(handler=_cmd_verify)
    return sub


def _cmd_verify(args: argparse.Namespace, out: Output) -> int:

    lang, tsas = _check_inputs([args.image], args.lang, args.tsa)
    check_targets(args, args.annotate, args.report, inputs=[args.image])
    url = _against_url(args)
    if args.text is not None and not tokenize(args.text):
        raise UsageError("the claim has no words or figures to look for")
    if args.to is not None and url is None:
        raise UsageError("--to applies only to --against URL (when a capture is made)")
    specs = witness_specs(args.to) if url is not None else []

    if args.against is not None and url is None:
        store, ledger = open_store(args, create=False)
    else:
        store, ledger = _open_for_ocr(args, lang)
    with ledger:
        capture = _capture_by_id(ledger, args.against) if url is None and args.against else None
        verification, ocr, ocr_record, new, across = _verify_in_store(
            store, ledger, args, lang, url, specs, capture, out)
        timestamps = _stamp(store, ledger, new, tsas, args.timeout, out)
        timeline = across.timeline() if across is not None else None
    record = new[-1]
    if args.annotate:

        _write(lambda: annotate(args.image, verification, args.annotate, force=args.force),
               args.annotate)
    if args.report:

        _write(lambda: html_report(verification, ocr, args.image, args.report,
                                   force=args.force, against=record.data["against"],
                                   timeline=timeline), args.report)
    data = {**verification.to_json(), "against": record.data["against"],
            "ocr_cached": ocr_record not in new,
            "ocr_record": record.data["ocr_record"], "ledger_seq": record.seq,
            "record_hash": record.record_hash, "id": record.id, "timestamps": timestamps,
            "annotated": args.annotate, "report": args.report}
    if timeline is not None:
        data["timeline"] = timeline
    out.item(data, _human_verification(data))
    return EXIT_OK if verification.verdict == "match" else EXIT_NEGATIVE


def _verify_in_store(store: Store, ledger: Ledger, args: argparse.Namespace, lang: str,
                     url: str | None, specs: list[Any], capture: Record | None,
                     out: Output) -> tuple[Any, Any, Record, list[Record], Across | None]:
    """OCR (or the cache), the copies to compare with, the verdict and its record.
    Returns ``(verification, ocr, ocr record, new records to stamp, every copy checked)``."""

    ocr, ocr_record, cached = ocr_cached(store, ledger, args.image, lang,
                                         tesseract=_tesseract())
    new = [] if cached else [ocr_record]
    across = None
    if url is not None:  # every copy there is: ours and the archives' (screens.across)
        across, made = _across(store, ledger, ocr, url, specs, args.timeout, out)
        new.extend(made)
    if capture is None and across is None:
        verification = verify_text(ocr, args.text)
        against = None
    elif across is not None:
        best = across.best
        assert best is not None and best.verification is not None  # _across made sure
        verification = best.verification
        against = {**best.against(),
                   "copies": [c.ref() for c in across.copies if c.verification is not None]}
    else:
        assert capture is not None
        verification = verify_against_text(ocr, _capture_text(store, capture))
        against = {"kind": "page", "capture": capture.id, "seq": capture.seq,
                   "url": capture.data.get("url"),
                   "text_sha256": capture.data.get("text_sha256")}
    new.append(record_verification(ledger, verification, ocr_record, against=against))
    return verification, ocr, ocr_record, new, across


def _across(store: Store, ledger: Ledger, ocr: Any, url: str, specs: list[Any],
            timeout: float, out: Output) -> tuple[Across, list[Record]]:
    """Our latest capture (made now if there is none) and every archive copy, checked.
    A capture that fails is said; it is fatal only when no copy at all can be checked."""

    made: list[Record] = []
    failed = None
    try:
        record, now = _capture_url(store, ledger, url,
                                   [s for s in specs if s.kind != "memento"], timeout, out)
        if now:
            made.append(record)
    except UsageError as exc:
        failed = exc
    across = check_across(store, ledger, lambda text: verify_against_text(ocr, text), url,
                          specs, config=witness_config(timeout))
    for line in across.errors:
        out.error(line)
    if across.best is None:
        raise failed or UsageError(f"no copy of {url} could be checked")
    if failed is not None:
        out.error(str(failed))
    return across, made


def _against_url(args: argparse.Namespace) -> str | None:
    """The normalised URL if ``--against`` names one (checked now), else None."""

    ref = args.against
    if ref is None or ("://" not in ref and not ref.lower().startswith(("http:", "https:"))):
        return None
    (url,) = validate_urls([ref])
    return url


def _capture_by_id(ledger: Ledger, ref: str) -> Record:

    record = ledger.find(ref)
    if record is None:
        raise UsageError(f"no record {ref} in the ledger (give a capture's ledger number, "
                         "a record hash prefix of 6 or more digits, or a URL)")
    if record.kind != CAPTURE:
        raise UsageError(f"record #{record.seq} is a {record.kind} record, not a capture")
    return record


def _capture_url(store: Store, ledger: Ledger, url: str, specs: list[Any], timeout: float,
                 out: Output) -> tuple[Record, bool]:
    """The latest capture of ``url``, or a new one (``True``) made as ``archive`` makes it."""

    known = already_captured(ledger, [url]).get(url)
    if known is not None and known.record is not None:
        out.say(f"comparing with capture #{known.record.seq} of {url} "
                f"({known.record.data.get('fetched_at')})")
        return known.record, False
    out.say(f"capturing {url}")
    with new_session() as session:  # one page: its connection is closed when done
        capturer = Capturer(store, ledger, Fetcher(session=session, read_timeout=timeout),
                            witness_step=witness_step_for(specs))
        outcome = capturer.capture_one(url)
    if outcome.record is None:
        raise UsageError(f"could not capture the page to compare with: {outcome.error}")
    say_witnesses(url, outcome.witnesses, out)
    return outcome.record, True


def _capture_text(store: Store, capture: Record) -> str:
    """The capture's extracted text, re-hashed first: an edited file is never compared."""

    entry = next((f for f in capture.files if f.get("role") == "text"), None)
    if entry is None:
        raise UsageError(f"capture #{capture.seq} has no extracted text to compare with")
    try:
        raw = store.path(entry["path"]).read_bytes()
    except OSError as exc:
        raise StoreError(f"capture #{capture.seq}: cannot read its text {entry['path']} "
                         f"({exc.strerror}); run 'provenance check'") from None
    if sha256_bytes(raw) != entry.get("sha256"):
        raise StoreError(f"capture #{capture.seq}: its text file {entry['path']} was altered; "
                         "run 'provenance check'")
    return raw.decode("utf-8")


def _human_verification(data: dict[str, Any]) -> str:
    lines = [f"{data['verdict'].upper()}  score {data['score']:.2f}  {data['image']}"]
    against = data["against"]
    shown, found = "claim", "found"
    if against.get("capture"):  # the screenshot's text is what is looked for on the page
        lines.append(f"  against capture #{against['seq']} {against['url']}")
        shown, found = "screenshot", "on the page"
    elif against.get("snapshot"):  # an archive's copy: named so anyone can open it
        lines.append(f"  against {against['source']} copy {against['memento_url']} "
                     f"(Memento-Datetime {against['memento_datetime']}, sha256 "
                     f"{against['sha256']}, ledger #{against['seq']})")
        if against.get("digest_agrees") is False:
            lines.append("  - the archive's index digest differs from the copy it served: "
                         "the copy is what we kept, but the archive's word disagrees")
        shown, found = "screenshot", "on the page"
    lines.append(f"  {shown}: {data['claim']}")
    lines.append(f"  {found}: {data['found'] or '(nothing corresponding)'}")
    for figure in data["figures"]:
        shown = figure["found_as"] if figure["found_as"] is not None else "not found"
        lines.append(f"  figure {figure['claim_text']}: {figure['status']} ({shown})")
    lines.extend(f"  - {reason}" for reason in data["reasons"])
    timeline = data.get("timeline")
    if timeline and len(timeline["captures"]) > 1:
        lines.append(f"  over time: {timeline['summary']}")
        lines.extend(f"    {row['time']}  {row.get('source', 'local'):<6} #{row['seq']}  "
                     f"{row['http_status']}  {row['verdict'] or 'could not check'}"
                     for row in timeline["captures"])
    lines.append(f"  image sha256 {data['image_sha256']}  ledger #{data['ledger_seq']}")
    for key, what in (("annotated", "annotated image"), ("report", "report")):
        if data[key]:
            lines.append(f"  {what}: {data[key]}")
    return "\n".join(lines)


# --- shared -------------------------------------------------------------------------------

def _check_inputs(images: list[str], lang: str, tsa: list[str] | None
                  ) -> tuple[str, list[str]]:
    """Everything about the command line that can be wrong, before the store is touched:
    the language list, the TSA URLs, and each image (decoded once, then let go)."""

    lang = parse_lang(lang)
    tsas = tsa_urls(tsa)
    for image in images:
        if os.path.isdir(image):
            raise ImageError(f"{image}: is a folder, not an image")
        load_image(image)
    return lang, tsas


def _open_for_ocr(args: argparse.Namespace, lang: str) -> tuple[Store, Ledger]:
    """Open (or create) the store; with no store yet nothing can be cached, so a missing
    Tesseract or language is said before the store is created."""

    if not (resolve_store_path(args.store) / "ledger.sqlite3").exists():
        check_tesseract(lang, _tesseract())
    return open_store(args)


def _write(write: Any, target: str) -> None:
    try:
        write()
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None


def _stamp(store: Store, ledger: Ledger, records: list[Record], tsas: list[str],
           timeout: float, out: Output) -> list[dict[str, Any]]:
    """Time-stamp the new records together; says each pending stamp."""
    report = timestamp_records(ledger, store, records, tsas, timeout=timeout)
    for result in report.pending:
        out.error(f"time-stamp pending ({result['error']}); 'provenance retry' asks again")
    return report.summaries()


REGISTER = [_register_ocr, _register_verify]
