"""The ``provenance`` command: parse arguments, call one library function, print, exit.

Exit codes (../shared/CONTRACT.md): 0 success, 1 a negative answer (a URL not captured,
a damaged store, a mismatch), 2 usage or input error. Only this package's and
:mod:`archive`'s own errors are caught here: a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from archive.errors import ArchiveError, BadUrl
from provenance import __version__
from provenance.api import ArchiveEvents, Evidence
from provenance.capture.capturer import ABORTED
from provenance.changes.diff import compile_ignore
from provenance.cli.files import check_targets
from provenance.cli.history import REGISTER as HISTORY_COMMANDS
from provenance.cli.log import REGISTER as LOG_COMMANDS
from provenance.cli.options import (
    EXIT_BROKEN_PIPE,
    EXIT_NEGATIVE,
    EXIT_OK,
    EXIT_USAGE,
    Commands,
    Parser,
    capture_options,
    examples,
    force_option,
    positive_int,
    say_failure,
    say_witnesses,
    timeout_option,
    tsa_option,
    tsa_urls,
    url_options,
    urls_from,
    witness_specs,
)
from provenance.cli.output import Line, Output
from provenance.cli.screens import REGISTER as SCREEN_COMMANDS
from provenance.cli.serve import REGISTER as SERVE_COMMANDS
from provenance.errors import ProvenanceError, UsageError
from provenance.stamps.timestamp import Trust


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Options every subcommand takes, before or after its name."""
    value = None if defaults else argparse.SUPPRESS
    parser.add_argument("--store", metavar="DIR", default=value,
                        help="evidence store folder (env PROVENANCE_STORE; default ./evidence)")
    parser.add_argument("--json", action="store_true",
                        default=False if defaults else argparse.SUPPRESS,
                        help="one JSON object per line on stdout; human text on stderr")
    parser.add_argument("-q", "--quiet", action="store_true",
                        default=False if defaults else argparse.SUPPRESS, help="say less")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="provenance",
        description="Prove what was published on the web: capture pages, send them to "
        "witness archives, OCR screenshots and check them, timestamp everything.",
    )
    parser.add_argument("--version", action="version", version=f"provenance {__version__}")
    _global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for register in REGISTRY:
        sub = register(commands)
        _global_options(sub, defaults=False)
    return parser


# --- archive ------------------------------------------------------------------------------

def _register_archive(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "archive", help="capture web pages into the evidence store",
        description="Fetch each URL now, keep a byte-exact WARC capture and its extracted text, "
        "and append a hash-chained ledger record. With -i, a rerun resumes: URLs already "
        "captured are skipped unless --again.")
    url_options(sub, "capture")
    sub.add_argument("--jobs", type=positive_int, default=4, metavar="N",
                     help="fetch N pages at once (default 4)")
    sub.add_argument("--again", action="store_true",
                     help="with -i: capture URLs that already have a capture")
    capture_options(sub)
    examples(sub, "provenance archive https://example.org/news/1 --tsa https://freetsa.org/tsr",
             "provenance archive -i urls.txt --jobs 8 --to ia --to pywb=http://127.0.0.1:8080/news")
    sub.set_defaults(handler=_cmd_archive)
    return sub


def _cmd_archive(args: argparse.Namespace, out: Output) -> int:
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
    with Evidence(args.store) as evidence:
        try:
            run = evidence.archive(urls, resume=bool(args.input and not args.again),
                                   witnesses=specs, tsas=tsas, timeout=args.timeout,
                                   max_bytes=args.max_bytes, jobs=args.jobs, ignore=ignore,
                                   events=events)
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
        self.out.item(Line.CAPTURE, outcome.to_json(), _human_capture(outcome))

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
        say_witnesses(outcome.url, outcome.witnesses, self.out)
        outcome.timestamps = [dict(q) for q in self.queued]
        self.out.item(Line.CAPTURE, outcome.to_json(), _human_capture(outcome))
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


def _human_capture(outcome: Any) -> str:
    data = outcome.to_json()
    note = " (already captured)" if data.get("skipped") else ""
    title = f"  {data['title']}" if data.get("title") else ""
    return (f"{data['id']}  {data['http_status']}  {data['url']}{note}\n"
            f"    sha256 {data['sha256']}  ledger #{data['ledger_seq']}{title}")


# --- check --------------------------------------------------------------------------------

def _register_check(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "check", help="verify every file, WARC digest, ledger link and timestamp",
        description="Recompute every stored file's hash, every WARC's digests, the "
        "ledger's hash chain and head, and every time-stamp token. Prints each problem; exit 1 "
        "if any, 0 if the store is intact, and says which records a verified time-stamp "
        "anchors (only those are proven not rewritten since). Writes nothing to the store.")
    sub.add_argument("--bundle", metavar="FILE",
                     help="check an exported evidence bundle (zip) instead of the store")
    sub.add_argument("--tsa-ca", metavar="FILE",
                     help="with --bundle: PEM file of the TSA root certificates you trust "
                     "(default: $PROVENANCE_TSA_CA); a time-stamp is trusted only if its "
                     "chain ends in one of them")
    examples(sub, "provenance check",
             "provenance check --bundle evidence.zip --tsa-ca tsa-roots.pem")
    sub.set_defaults(handler=_cmd_check)
    return sub


def _cmd_check(args: argparse.Namespace, out: Output) -> int:

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
               "anchoring": report.anchoring.to_json()}
    unverified = (f"; {len(report.unverified)} time-stamp(s) could not be verified"
                  if report.unverified else "")
    anchored = report.anchoring.sentence()
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
               "roots_given": report.roots_given, "reason": report.reason()}
    if report.intact:
        human = (f"intact: {path}: {len(report.evidence)} records, {trusted} anchored by "
                 "time-stamps that chain to a root you trust")
    elif report.problems:
        human = f"DAMAGED: {len(report.problems)} problem(s) in {path}"
    else:
        human = f"NOT PROVEN: {path}: {report.reason()}"
    out.item(Line.SUMMARY, summary, human)
    return EXIT_OK if report.intact else EXIT_NEGATIVE


def _human_anchor(status: Any) -> str:
    what = f"record {status.seq} {status.kind}" + (f" {status.subject}" if status.subject
                                                    else "")
    stamps = ", ".join(str(s) for s in status.stamps)
    if status.kind == "timestamp":
        return f"  {what}"
    if status.anchor.value == "trusted":
        return f"  {what}: time-stamped ({stamps}), chain to a root you trust"
    if status.anchor.value == "pinned":
        return (f"  {what}: time-stamped ({stamps}) but only under the root the TSA sent "
                "(self-consistent, NOT independently trusted)")
    if status.needs_anchor:
        return f"  {what}: NOT time-stamped"
    return f"  {what}: not time-stamped (a statement about the records it names)"


# --- export -------------------------------------------------------------------------------

def _register_export(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "export", help="write a self-contained evidence bundle (zip)",
        description="Write the records ID... with their WARC files, text, time-stamp tokens, "
        "TSA certificates, Merkle proofs and ledger links into one zip, with a "
        "MANIFEST.sha256 and a VERIFY.md giving the sha256sum and openssl ts -verify "
        "commands to check it without this tool.")
    sub.add_argument("ids", nargs="+", metavar="ID", help="record id (hash prefix) or seq")
    sub.add_argument("--out", required=True, metavar="FILE",
                     help="bundle to write (.zip); an existing file only with --force")
    force_option(sub)
    examples(sub, "provenance export 3f2a9c1b 3f2a9c1c --out evidence.zip",
             "provenance export 12 13 14 --out evidence.zip --force")
    sub.set_defaults(handler=_cmd_export)
    return sub


def _cmd_export(args: argparse.Namespace, out: Output) -> int:

    check_targets(args, args.out)
    with Evidence(args.store, create=False, writable=False) as evidence:
        summary = evidence.export(args.ids, args.out, force=args.force)
    out.item(Line.SUMMARY, summary, f"wrote {args.out}: {len(summary['records'])} records, "
             f"{summary['timestamps']} time-stamps, {summary['files']} files")
    return EXIT_OK


# --- retry --------------------------------------------------------------------------------

def _register_retry(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "retry", help="ask again for pending witnesses and time-stamps",
        description="Send every capture whose witness archive is pending, unknown or failed "
        "in a way that may pass (within the same rate limits), then ask each time-stamp "
        "authority that failed before for its pending stamps. With --tsa (or PROVENANCE_TSA), "
        "also time-stamp every capture, OCR and verification record that has no time-stamp "
        "yet (made with --tsa none or before a TSA was set), one request per 1,000 records. "
        "Exit 1 if any is still pending.")
    tsa_option(sub, when="; for records that have no time-stamp yet")
    timeout_option(sub)
    examples(sub, "provenance retry", "provenance retry --tsa https://freetsa.org/tsr")
    sub.set_defaults(handler=_cmd_retry)
    return sub


def _cmd_retry(args: argparse.Namespace, out: Output) -> int:
    tsas = tsa_urls(args.tsa)
    with Evidence(args.store, create=False) as evidence:
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


# --- plumbing -----------------------------------------------------------------------------

REGISTRY = [_register_archive, _register_check, _register_export, _register_retry,
            *HISTORY_COMMANDS, *SCREEN_COMMANDS, *LOG_COMMANDS, *SERVE_COMMANDS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(json_mode=args.json, quiet=args.quiet)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args, out))
    except BadUrl as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except ProvenanceError as exc:
        out.error(str(exc))
        return exc.exit_code
    except ArchiveError as exc:
        out.error(str(exc))
        return EXIT_NEGATIVE
    except KeyboardInterrupt:
        out.error("interrupted; everything recorded so far is kept")
        return 130
    except BrokenPipeError:
        # The reader went away (`provenance log | head`): stop quietly, as git does. What
        # was recorded is kept; stdout goes to /dev/null so the exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
