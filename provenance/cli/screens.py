"""The screenshot commands: ``provenance ocr`` and ``provenance verify``.

Thin, like the rest of the CLI: arguments are checked, then the library does the work
(:mod:`provenance.screens.screenshots` reads and caches, :mod:`provenance.screens.match`
decides, :mod:`provenance.screens.annotate` and :mod:`provenance.screens.report` draw).
Everything a user can get wrong is checked before the store is opened, so a bad image, a
missing Tesseract or a mistyped capture id changes nothing.

The helpers shared with the other commands (store opening, ``--to``/``--tsa`` parsing)
come from :mod:`provenance.cli.shared`; their arguments are in
:mod:`provenance.cli.commands`.

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
from provenance.cli.commands import TESSERACT_ENV
from provenance.cli.files import check_targets
from provenance.cli.options import EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE
from provenance.cli.output import Line, Output
from provenance.cli.shared import (
    error_status,
    say_served,
    say_witnesses,
    tsa_urls,
    witness_specs,
)
from provenance.errors import ImageError, OcrUnavailable, UsageError
from provenance.screens.annotate import annotate
from provenance.screens.images import load_image
from provenance.screens.match import tokenize
from provenance.screens.ocr import (
    OcrResult,
    advice,
    claim_advice,
    installed_languages,
    parse_lang,
)
from provenance.screens.report import html_report
from provenance.store.records import Verdict


def _tesseract() -> str:
    return os.environ.get(TESSERACT_ENV) or "tesseract"


# --- ocr ----------------------------------------------------------------------------------


def cmd_ocr(args: argparse.Namespace, out: Output) -> int:
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
            _print_ocr(data, out)

    with open_for_images(args.store, lang, _tesseract()) as evidence:
        run = evidence.ocr(args.images, lang=lang, jobs=args.jobs, tsas=tsas,
                           timeout=args.timeout, tesseract=_tesseract(), on_read=show,
                           progress=lambda rows, total: out.progress(rows, total=total,
                                                                     desc="reading"))
    timestamps = _said_stamps(run.timestamps, out)
    for data in held:
        data["timestamps"] = timestamps
        _print_ocr(data, out)
    return EXIT_USAGE if run.failures else EXIT_OK


def _print_ocr(data: dict[str, Any], out: Output) -> None:
    out.item(Line.OCR, data, _human_ocr(data))
    for note in advice(data.get("notes") or []):
        out.say(f"{data['image']}: {note}")


def _human_ocr(data: dict[str, Any]) -> str:
    cached = ", cached" if data["cached"] else ""
    head = (f"== {data['image']}  ({data['lang']}, confidence {data['confidence']:.0f}{cached}, "
            f"ledger #{data['ledger_seq']})")
    return head + "\n" + (data["text"] or "(no text found)") + "\n"


# --- verify -------------------------------------------------------------------------------


def _say_model_advice(image: str, claim: str | None, ocr: OcrResult, out: Output) -> None:
    """Tell the person when the screenshot's language has a Tesseract model they lack."""
    notes = advice(ocr.notes)
    if not notes and claim is not None and ocr.lang == "eng":
        try:
            notes = claim_advice(claim, installed_languages(_tesseract()))
        except OcrUnavailable:
            notes = []  # a cached reading, no Tesseract here: nothing to advise
    for note in notes:
        out.say(f"{image}: {note}")


def cmd_verify(args: argparse.Namespace, out: Output) -> int:
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
                else open_for_images(args.store, lang, _tesseract(), waiting=out.say))
    with evidence:
        checked = evidence.verify(args.image, args.text, against=args.against, lang=lang,
                                  tsas=tsas, timeout=args.timeout, tesseract=_tesseract(),
                                  witnesses=specs, events=events)
        # our own screenshot of the page, for the report only (re-hashed: never an altered one)
        ours = (evidence.our_screenshot(checked.capture)
                if args.report and checked.capture is not None else None)
    timestamps = _said_stamps(checked.timestamps, out)
    verification, record = checked.verification, checked.record
    _say_model_advice(args.image, args.text, checked.ocr, out)
    if checked.capture is not None:  # before the verdict: what the page answered
        data = checked.capture.data
        wall = checked.blocked_capture
        say_served(str(data.get("url")), {**data, "blocked": wall.to_json() if wall else None},
                   out, when=f" when captured (#{checked.capture.seq}, {data.get('fetched_at')})")
    against = record.data["against"] or {}
    said = error_status(against.get("http_status"))
    if said and against.get("seq") != getattr(checked.capture, "seq", None):
        out.error(f"the copy compared with (#{against.get('seq')}) is an {said} error page")
    if args.annotate:
        _write(lambda: annotate(args.image, verification, args.annotate, force=args.force),
               args.annotate)
    if args.report:
        _write(lambda: html_report(verification, checked.ocr, args.image, args.report,
                                   force=args.force, against=record.data["against"],
                                   timeline=checked.timeline,
                                   record={"id": record.id, "seq": record.seq,
                                           "record_hash": record.record_hash},
                                   ours=ours),
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


def _block(label: str, text: str) -> list[str]:
    """``  label: text``, each further line of ``text`` indented under the first."""
    first, *rest = (text or "").splitlines() or [""]
    return [f"  {label}: {first}", *(f"      {line}" for line in rest)]


def _human_verification(data: dict[str, Any]) -> str:
    lines = [f"{data['verdict'].upper()}  score {data['score']:.2f}  {data['image']}"]
    against = data["against"]
    shown, found = "claim", "found"
    if against.get("capture"):  # the screenshot's text is what is looked for on the page
        status = against.get("http_status")
        lines.append(f"  against our capture #{against['seq']} {against['capture']} of "
                     f"{against['url']} (fetched {against.get('fetched_at')}, HTTP "
                     f"{status}, sha256 {against.get('sha256')})")
        shown, found = "screenshot", "on the page"
    elif against.get("snapshot"):  # an archive's copy: named so anyone can open it
        lines.append(f"  against {against['source']} copy {against['memento_url']} "
                     f"(Memento-Datetime {against['memento_datetime']}, sha256 "
                     f"{against['sha256']}, ledger #{against['seq']})")
        if against.get("digest_agrees") is False:
            lines.append("  - the archive's index digest differs from the copy it served: "
                         "the copy is what we kept, but the archive's word disagrees")
        shown, found = "screenshot", "on the page"
    lines.extend(_block(shown, data["claim"] or "(no text read)"))
    lines.extend(_block(found, data["found"] or "(nothing corresponding)"))
    for figure in data["figures"]:
        shown = figure["found_as"] if figure["found_as"] is not None else "not found"
        lines.append(f"  figure {figure['claim_text']}: {figure['status']} ({shown})")
    lines.extend(f"  - {reason}" for reason in data["reasons"])
    timeline = data.get("timeline")
    if timeline and len(timeline["captures"]) > 1:
        lines.append(f"  over time: {timeline['summary']}")
        lines.extend(f"    {row['time']}  {row.get('source', 'local'):<6} #{row['seq']}  "
                     f"{row['http_status']}  "
                     f"{row['verdict'] or row.get('not_compared') or 'could not check'}"
                     for row in timeline["captures"])
    lines.append(f"  image sha256 {data['image_sha256']}")
    lines.append(f"  verification record #{data['ledger_seq']} {data['id']} "
                 f"(provenance export {data['id']} --out bundle.zip)")
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

