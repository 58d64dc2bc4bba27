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

from provenance.api import (
    Evidence,
    OcrRead,
    StampReport,
    VerifyEvents,
    against_url,
    open_for_images,
)
from provenance.cli.files import check_targets
from provenance.cli.options import (
    EXIT_NEGATIVE,
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    examples,
    force_option,
    positive_int,
    say_witnesses,
    timeout_option,
    to_option,
    tsa_option,
    tsa_urls,
    witness_specs,
)
from provenance.cli.output import Line, Output
from provenance.errors import ImageError, UsageError
from provenance.screens.annotate import annotate
from provenance.screens.images import load_image
from provenance.screens.match import tokenize
from provenance.screens.ocr import parse_lang
from provenance.screens.report import html_report
from provenance.store.records import Verdict

TESSERACT_ENV = "PROVENANCE_TESSERACT"
"""The Tesseract program to run (default ``tesseract`` on the PATH)."""

LANG_HELP = ("OCR languages: auto (choose among eng, rus, ukr per image; the default) or "
             "Tesseract names joined with + (rus+eng)")


def _tesseract() -> str:
    return os.environ.get(TESSERACT_ENV) or "tesseract"


def _add_reading_options(sub: argparse.ArgumentParser) -> None:
    """--lang, --tsa and --timeout, as ``ocr`` and ``verify`` both take them."""

    sub.add_argument("--lang", default="auto", metavar="auto|LANGS", help=LANG_HELP)
    tsa_option(sub)
    timeout_option(sub)


# --- ocr ----------------------------------------------------------------------------------

def _register_ocr(commands: Commands) -> argparse.ArgumentParser:

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
    examples(sub, "provenance ocr shots/*.png --jobs 2",
             "provenance ocr shot.jpg --lang rus+eng --tsa https://freetsa.org/tsr")
    sub.set_defaults(handler=_cmd_ocr)
    return sub


def _cmd_ocr(args: argparse.Namespace, out: Output) -> int:
    lang, tsas = _check_inputs(args.images, args.lang, args.tsa)
    held: list[dict[str, Any]] = []  # with --tsa, printed once their stamp is known

    def show(read: OcrRead) -> None:
        if read.result is None or read.record is None:
            out.error(str(read.error))
            return
        data = {**read.result.to_json(), "cached": read.cached, "ledger_seq": read.record.seq,
                "record_hash": read.record.record_hash, "timestamps": []}
        if tsas and not read.cached:
            held.append(data)
        else:
            out.item(Line.OCR, data, _human_ocr(data))

    with open_for_images(args.store, lang, _tesseract()) as evidence:
        run = evidence.ocr(args.images, lang=lang, jobs=args.jobs, tsas=tsas,
                           timeout=args.timeout, tesseract=_tesseract(), on_read=show,
                           progress=lambda rows, total: out.progress(rows, total=total,
                                                                     desc="reading"))
    timestamps = _said_stamps(run.timestamps, out)
    for data in held:
        data["timestamps"] = timestamps
        out.item(Line.OCR, data, _human_ocr(data))
    return EXIT_USAGE if run.failures else EXIT_OK


def _human_ocr(data: dict[str, Any]) -> str:
    cached = ", cached" if data["cached"] else ""
    head = (f"== {data['image']}  ({data['lang']}, confidence {data['confidence']:.0f}{cached}, "
            f"ledger #{data['ledger_seq']})")
    return head + "\n" + (data["text"] or "(no text found)") + "\n"


# --- verify -------------------------------------------------------------------------------

def _register_verify(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "verify", help="does a screenshot show the claimed text? match / mismatch / absent",
        description="Find the screenshot's passage that corresponds to the claim (or to a "
        "captured page) and compare every figure exactly: 9 861 = 9,861 = 9861, but 9881 is "
        "never 9861; and every word: another name, place, colour or negation is a mismatch. "
        "Exit 0 for match, 1 for mismatch or absent, 2 if it could not check. "
        "Every verification is a ledger record with the image's hash.")
    sub.add_argument("image", metavar="IMAGE", help="the screenshot")
    what = sub.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", metavar="CLAIM", help="the text the screenshot is said to show")
    what.add_argument("--against", metavar="URL_OR_CAPTURE_ID",
                      help="a stored capture (ledger number or record hash prefix), or a URL: "
                      "its latest capture, captured now if there is none")
    sub.add_argument("--annotate", metavar="OUT.png",
                     help="write the screenshot with the passage boxed green and each "
                     "differing figure or word red")
    sub.add_argument("--report", metavar="OUT.html",
                     help="write a self-contained HTML report (image embedded, opens offline)")
    force_option(sub)
    to_option(sub, when="; only with --against URL, when a capture is made")
    _add_reading_options(sub)
    examples(sub, 'provenance verify shot.png --text "9 861 killed, 16 153 wounded"',
             "provenance verify shot.png --against https://example.org/news/1 "
             "--report check.html")
    sub.set_defaults(handler=_cmd_verify)
    return sub


def _cmd_verify(args: argparse.Namespace, out: Output) -> int:
    lang, tsas = _check_inputs([args.image], args.lang, args.tsa)
    check_targets(args, args.annotate, args.report, inputs=[args.image])
    url = against_url(args.against)
    if args.text is not None and not tokenize(args.text):
        raise UsageError("the claim has no words or figures to look for")
    if args.to is not None and url is None:
        raise UsageError("--to applies only to --against URL (when a capture is made)")
    specs = witness_specs(args.to) if url is not None else []
    events = VerifyEvents(note=out.say, captured=lambda outcome: say_witnesses(
        outcome.url, outcome.witnesses, out), error=out.error)
    by_id = args.against is not None and url is None
    evidence = (Evidence(args.store, create=False) if by_id
                else open_for_images(args.store, lang, _tesseract()))
    with evidence:
        checked = evidence.verify(args.image, args.text, against=args.against, lang=lang,
                                  tsas=tsas, timeout=args.timeout, tesseract=_tesseract(),
                                  witnesses=specs, events=events)
        # our own screenshot of the page, for the report only (re-hashed: never an altered one)
        ours = (evidence.our_screenshot(checked.capture)
                if args.report and checked.capture is not None else None)
    timestamps = _said_stamps(checked.timestamps, out)
    verification, record = checked.verification, checked.record
    if args.annotate:
        _write(lambda: annotate(args.image, verification, args.annotate, force=args.force),
               args.annotate)
    if args.report:
        _write(lambda: html_report(verification, checked.ocr, args.image, args.report,
                                   force=args.force, against=record.data["against"],
                                   timeline=checked.timeline, ours=ours),
               args.report)
    data = {**verification.to_json(), "against": record.data["against"],
            "ocr_cached": checked.ocr_cached,
            "ocr_record": record.data["ocr_record"], "ledger_seq": record.seq,
            "record_hash": record.record_hash, "id": record.id, "timestamps": timestamps,
            "annotated": args.annotate, "report": args.report}
    if checked.timeline is not None:
        data["timeline"] = checked.timeline
    out.item(Line.VERIFICATION, data, _human_verification(data))
    return EXIT_OK if verification.verdict == Verdict.MATCH else EXIT_NEGATIVE


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


def _write(write: Any, target: str) -> None:
    try:
        write()
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None


def _said_stamps(report: StampReport, out: Output) -> list[dict[str, Any]]:
    """Says each pending time-stamp; the stamps as a result line shows them."""
    for result in report.pending:
        out.error(f"time-stamp pending ({result['error']}); 'provenance retry' asks again")
    return report.summaries()


REGISTER = [_register_ocr, _register_verify]
