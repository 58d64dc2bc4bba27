"""The commands that make, check and hand over evidence: ``archive``, ``check``,
``export`` and ``retry`` (their arguments: :mod:`provenance.cli.commands`).

Thin, like the rest of the CLI: :class:`provenance.api.Evidence` does the work; this
prints what it says.
"""

from __future__ import annotations

import argparse
from typing import Any

from provenance.api import ArchiveEvents, Evidence
from provenance.capture.capturer import ABORTED
from provenance.changes.diff import compile_ignore
from provenance.cli.files import check_targets
from provenance.cli.options import EXIT_NEGATIVE, EXIT_OK
from provenance.cli.output import Line, Output, one_line
from provenance.cli.shared import (
    say_failure,
    say_served,
    say_witnesses,
    tsa_urls,
    urls_from,
    witness_specs,
)
from provenance.errors import UsageError
from provenance.stamps.timestamp import Trust

# --- archive ------------------------------------------------------------------------------


def cmd_archive(args: argparse.Namespace, out: Output) -> int:
    urls = urls_from(args)  # every URL is checked before anything is written
    specs = witness_specs(args.to)
    tsas = tsa_urls(args.tsa)
    ignore = compile_ignore(args.ignore)
    printer = _CapturePrinter(out, tsas)
    events = ArchiveEvents(resumed=printer.resumed, resuming=printer.resuming,
                           missing=printer.missing, captured=printer.capture,
                           stamped=printer.stamps,
                           progress=lambda items, total: out.progress(items, total=total,
                                                                      desc="capturing"))
    with Evidence(args.store, waiting=out.say) as evidence:
        try:
            run = evidence.archive(urls, resume=bool(args.input), again=args.again,
                                   witnesses=specs, tsas=tsas, timeout=args.timeout,
                                   max_bytes=args.max_bytes, jobs=args.jobs, ignore=ignore,
                                   events=events, browser=args.browser)
        except KeyboardInterrupt:
            if tsas and printer.unstamped:
                out.error(f"{len(printer.unstamped)} capture(s) not time-stamped yet: run the "
                          "same command again to stamp them")
            raise
    return EXIT_NEGATIVE if printer.failures or run.missing_stamps else EXIT_OK


class _CapturePrinter:
    """Prints each capture the moment it is recorded, and each batch stamp after it."""

    def __init__(self, out: Output, tsas: list[str]) -> None:
        self.out = out
        self.queued = [{"tsa": url, "status": "queued", "token": None} for url in tsas]
        self.failures = 0
        self.unstamped: set[int] = set()  # printed captures whose batch is not stamped yet

    def resumed(self, outcome: Any) -> None:
        say_witnesses(outcome.url, outcome.witnesses, self.out)
        data = outcome.to_json()  # once: the JSON line and the human one say the same
        self.out.item(Line.CAPTURE, data, _human_capture(data))

    def resuming(self, done: int, total: int, todo: int) -> None:
        self.out.say(f"resuming: {done} of {total} URLs already captured, {todo} to go")

    def missing(self, left: int) -> None:
        self.out.error(f"{left} time-stamp(s) of captures made before are still missing; "
                       "'provenance retry' asks again")

    def capture(self, outcome: Any) -> None:
        if outcome.reason == ABORTED:
            return  # cut by our own Ctrl-C: nothing was recorded, the rerun fetches it
        if not outcome.ok:
            self.failures += 1
            say_failure(outcome, self.out)
            if self.out.json_mode:
                self.out.item(Line.CAPTURE, outcome.to_json())
            return
        say_served(outcome.url, outcome.record.data, self.out)
        say_witnesses(outcome.url, outcome.witnesses, self.out)
        outcome.timestamps = [dict(q) for q in self.queued]
        data = outcome.to_json()  # once: the JSON line and the human one say the same
        self.out.item(Line.CAPTURE, data, _human_capture(data))
        self.unstamped.add(outcome.record.seq)

    def stamps(self, stamped: Any) -> None:
        if stamped is None:
            return
        self.unstamped.difference_update(stamped.covers)
        for line in stamped.lines():
            if line["status"] == "pending":
                self.out.error(f"time-stamp pending ({line['error']}); "
                               "'provenance retry' asks again")
            elif line["status"] != "granted":
                self.out.error(f"time-stamp from {line['tsa']} {line['error']}")
            covers = line["covers"]
            self.out.item(Line.STAMP, line, f"time-stamp #{line['seq']} from {line['tsa']}: "
                          f"{line['status']} ({_trust_words(line)}), "
                          f"{len(covers)} record(s) #{covers[0]}..#{covers[-1]}")


def _trust_words(line: dict[str, Any]) -> str:

    try:
        return Trust(line.get("trust")).words
    except ValueError:
        return str(line.get("error") or "no token")


def _human_capture(data: dict[str, Any]) -> str:
    """The human lines of a capture, from its JSON (``CaptureOutcome.to_json``)."""
    note = " (already captured)" if data.get("skipped") else ""
    title = f"  {data['title']}" if data.get("title") else ""
    lines = [f"{data['id']}  {data['http_status']}  {data['url']}{note}",
             f"    sha256 {data['sha256']}  ledger #{data['ledger_seq']}{title}"]
    lines.extend(f"    witness {w['name']}: {_witness_words(w)}" for w in data["witnesses"])
    return "\n".join(lines)


def _witness_words(w: dict[str, Any]) -> str:
    """"archived, holds the same copy as ours, URL": what one witness answered."""
    if w["status"] != "archived":
        return f"{w['status']}" + (f" ({w['error']})" if w.get("error") else "")
    agrees = {True: "holds the same copy as ours", False: "holds a DIFFERENT copy",
              None: "copy not compared"}[w.get("agrees")]
    return f"archived, {agrees}, {w.get('url')}"


# --- check --------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, out: Output) -> int:

    if getattr(args, "bundle", None):
        return _check_bundle(args, out)
    if getattr(args, "tsa_ca", None):
        raise UsageError("--tsa-ca goes with --bundle (the store's check reads "
                         "PROVENANCE_TSA_CA)")
    report = Evidence.check_at(  # a store without its ledger: said as damage
        args.store, progress=lambda rows, total: out.progress(rows, total=total,
                                                              desc="checking records"))
    for problem in report.problems:
        if out.json_mode:
            out.item(Line.PROBLEM, problem.to_json())
        else:
            out.error(("could not verify (anchors nothing): " if problem.unverified else "")
                      + str(problem))
    summary = {"intact": report.intact, "records": report.records, "files": report.files,
               "problems": len(report.damage), "unverified": len(report.unverified),
               "anchoring": report.anchoring.to_json(), "cannot_prove": report.cannot_prove}
    unverified = (f"; {len(report.unverified)} time-stamp(s) could not be verified"
                  if report.unverified else "")
    anchored = (report.anchoring.sentence() if report.records or report.intact
                else "no record could be read, so nothing is anchored")
    if report.cannot_prove:  # a team store: what no check of it can show
        anchored += "; NOT PROVABLE HERE: " + "; ".join(report.cannot_prove)
    if out.json_mode:
        out.item(Line.SUMMARY, summary)
    elif report.intact:
        out.item(Line.SUMMARY, summary, f"intact: {report.records} records, "
                 f"{report.files} files verified{unverified}; {anchored}")
    else:
        out.item(Line.SUMMARY, summary, f"DAMAGED: {len(report.damage)} problem(s) in "
                 f"{report.records} records, {report.files} files{unverified}; {anchored}")
    return EXIT_OK if report.intact else EXIT_NEGATIVE


def _check_bundle(args: argparse.Namespace, out: Output) -> int:

    path = args.bundle
    report = Evidence.check_bundle(path, args.tsa_ca)
    for problem in report.problems:
        if out.json_mode:
            out.item(Line.PROBLEM, {"problem": problem, "bundle": path})
        else:
            out.error(problem)
    for note in report.unverified:
        if out.json_mode:
            out.item(Line.PROBLEM, {"unverified": note, "bundle": path})
        else:
            out.error(f"could not verify (anchors nothing): {note}")
    for status in report.records:
        out.item(Line.RECORD, {**status.to_json(), "bundle": path}, _human_anchor(status))
    trusted = sum(r.anchor.value == "trusted" for r in report.evidence)
    summary = {"intact": report.intact, "bundle": path, "problems": len(report.problems),
               "records": len(report.evidence), "trusted": trusted,
               "unverified": len(report.unverified),
               "roots_given": report.roots_given, "reason": report.reason(),
               "cannot_prove": report.cannot_prove()}
    if report.intact:
        human = (f"intact: {path}: {len(report.evidence)} records, {trusted} anchored by "
                 "time-stamps that chain to a root you trust (each proves its record existed "
                 "at the time shown, not earlier)")
        if report.cannot_prove():
            human += f"; {report.cannot_prove()}"
    elif report.problems:
        human = f"DAMAGED: {len(report.problems)} problem(s) in {path}"
    else:
        human = f"NOT PROVEN: {path}: {report.reason()}"
    out.item(Line.SUMMARY, summary, human)
    return EXIT_OK if report.intact else EXIT_NEGATIVE


def _human_anchor(status: Any) -> str:
    what = one_line(f"record {status.seq} {status.kind}" + (f" {status.subject}"
                                                             if status.subject else ""))
    stamps = ", ".join(str(s) for s in status.stamps)
    if status.kind == "timestamp":
        return f"  {what}"
    late = (f"; it says {one_line(str(status.claimed_at))} but is proven only from its "
            "time-stamp" if status.stamped_late else "")
    if status.anchor.value == "trusted":
        return (f"  {what}: time-stamped {status.stamped_at} ({stamps}), chain to a root you "
                f"trust{late}")
    if status.anchor.value == "pinned":
        return (f"  {what}: time-stamped {status.stamped_at} ({stamps}) but only under the "
                f"root the TSA sent (self-consistent, NOT independently trusted){late}")
    if status.needs_anchor:
        return f"  {what}: NOT time-stamped"
    return f"  {what}: not time-stamped (a statement about the records it names)"


# --- export -------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace, out: Output) -> int:

    check_targets(args, args.out)
    with Evidence(args.store, create=False, writable=False) as evidence:
        summary = evidence.export(args.ids, args.out, force=args.force)
    out.item(Line.SUMMARY, summary, f"wrote {args.out}: {len(summary['records'])} records, "
             f"{summary['timestamps']} time-stamps, {summary['files']} files")
    return EXIT_OK


# --- retry --------------------------------------------------------------------------------


def cmd_retry(args: argparse.Namespace, out: Output) -> int:
    tsas = tsa_urls(args.tsa)
    with Evidence(args.store, create=False, waiting=out.say) as evidence:
        run = evidence.retry(tsas=tsas, timeout=args.timeout,
                             witnessed=lambda result: _say_retried(result, out))
    for result in run.stamps:
        out.item(Line.STAMP, result, f"time-stamp #{result['seq']} from {result['tsa']}: "
                 f"{result['status']}" + (f" ({result['error']})" if result["error"] else ""))
    if not run.stamps and not run.witnesses:
        out.say("nothing pending")
    return EXIT_NEGATIVE if run.still_pending else EXIT_OK


def _say_retried(result: dict[str, Any], out: Output) -> None:
    """One witness answered again: its line, and a warning if it holds another copy."""
    out.item(Line.WITNESS, {"kind": "witness", **result},
             f"witness {result['name']} for #{result['capture_seq']} "
             f"{result['url_captured']}: {result['status']}"
             + (f" ({result['error']})" if result["error"] else ""))
    if result["agrees"] is False:
        out.error(f"{result['url_captured']}: witness {result['name']} holds a DIFFERENT "
                  f"copy at {result['url']}")
