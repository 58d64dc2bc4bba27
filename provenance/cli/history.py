"""The commands about a URL across time: ``provenance history`` and ``provenance watch``.

Thin, like the rest of the CLI: :mod:`provenance.changes.timeline` builds the diffed
history, :mod:`provenance.changes.timeline_report` draws it, :mod:`provenance.changes.watch`
runs the schedule.
The helpers shared with the other commands (store opening, ``--to``/``--tsa`` parsing)
come from :mod:`provenance.cli.options`.

``watch`` stops cleanly on Ctrl-C (SIGINT) and SIGTERM: the capture in progress is finished
and recorded, then the command exits 0. A second signal abandons that capture at once
(nothing of it is recorded; the ledger is as it was before it) and exits 130.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from typing import Any, TextIO

from archive.fetch import Fetcher
from provenance.api import Evidence, timestamp_records
from provenance.capture.batch import validate_urls
from provenance.capture.capturer import Capturer
from provenance.capture.witnessing import record_witnesses, stored_payload_sha256
from provenance.changes.diff import Changes, compile_ignore, unified_lines
from provenance.changes.timeline_report import write_timeline_report
from provenance.changes.watch import parse_duration, watch
from provenance.cli.files import check_targets, force_option
from provenance.cli.options import (
    EXIT_NEGATIVE,
    EXIT_OK,
    capture_options,
    ignore_option,
    open_store,
    positive_float,
    say_witnesses,
    tsa_urls,
    url_options,
    urls_from,
    witness_specs,
)
from provenance.cli.output import Output
from provenance.errors import UsageError

_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def _colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    try:
        return stream.isatty() and not os.environ.get("NO_COLOR")
    except (AttributeError, ValueError):
        return False


def diff_lines(diff: dict[str, Any], *, colour: bool, indent: str = "    ") -> list[str]:
    """A change as ``- removed`` / ``+ added`` / ``figure`` lines (red and green on a tty)."""

    lines = []
    for key in ("http_status", "final_url"):
        if key in diff:
            lines.append(f"{key.replace('_', ' ')} {diff[key]['from']} -> {diff[key]['to']}")
    lines += unified_lines(Changes.from_json(diff))
    if colour:
        lines = [f"{_RED}{line}{_RESET}" if line.startswith("- ") else
                 f"{_GREEN}{line}{_RESET}" if line.startswith("+ ") else line for line in lines]
    return [indent + line for line in lines]


# --- history ----------------------------------------------------------------------------------

def _register_history(commands: Any) -> argparse.ArgumentParser:

    sub = commands.add_parser(
        "history", help="every capture of a URL, local and in witness archives, and what changed",
        description="List every local capture of URL and every snapshot the witness archives' "
        "CDX indexes hold, oldest first, with time, HTTP status, digest and where it lives. "
        "Each capture is compared with the one before on the article text: removed passages "
        "are marked '- ', added ones '+ ', and figures that changed are listed (compared by "
        "value). Clocks, dates, counters and ad lines are not changes.")
    sub.add_argument("url", metavar="URL", help="the http(s) URL")
    sub.add_argument("--to", action="append", metavar="WITNESS", default=None,
                     help="witness archives to ask: ia, pywb=BASE or none (repeatable; "
                     "default as for archive)")
    sub.add_argument("--fetch-witnesses", action="store_true",
                     help="fetch each witness snapshot's raw copy and compare its text too, so "
                     "an edit only the witness saw shows up (one request per distinct copy, at "
                     "the witness's read rate)")
    sub.add_argument("--report", metavar="OUT.html",
                     help="also write the timeline as one self-contained HTML page")
    force_option(sub)
    sub.add_argument("--timeout", type=positive_float, default=30.0, metavar="SECONDS",
                     help="read timeout per witness copy (default 30 s)")
    ignore_option(sub)
    sub.set_defaults(handler=_cmd_history)
    return sub


def _cmd_history(args: argparse.Namespace, out: Output) -> int:

    (url,) = validate_urls([args.url])
    specs = witness_specs(args.to)
    ignore = compile_ignore(args.ignore)
    report = args.report
    check_targets(args, report)
    # --fetch-witnesses keeps each archive copy it reads as a snapshot record (issue 11)
    with Evidence(args.store, writable=bool(args.fetch_witnesses)) as evidence:
        items = evidence.history(url, witnesses=specs, fetch_witnesses=args.fetch_witnesses,
                                 timeout=args.timeout, ignore=ignore)
    colour = _colour(out.stdout)
    for item in items:
        if item.get("error"):
            if out.json_mode:
                out.item(item)
            out.error(f"{item['source']}: {item['error']}")
            continue
        if item.get("fetch_error"):
            out.error(f"{item['source']} {item['time']}: {item['fetch_error']}")
        out.item(item, _human_item(item, colour))
    if report:

        try:
            write_timeline_report(url, items, report, force=args.force)
        except OSError as exc:
            raise UsageError(f"cannot write report {report}: {exc.strerror}") from None
        out.say(f"wrote {report}")
    if not items:
        out.say(f"no captures of {url}")
    return EXIT_OK if any(not i.get("error") for i in items) else EXIT_NEGATIVE


def _human_item(item: dict[str, Any], colour: bool) -> str:
    diff = item.get("diff", "absent")
    note = "" if diff == "absent" else "  unchanged" if diff is None else "  CHANGED"
    line = (f"{item['time']}  {item['source']:<6}  {item['status'] or '-'}  "
            f"{item['digest'] or '-'}  {item['where']}{note}")
    if isinstance(diff, dict):
        line += "\n" + "\n".join(diff_lines(diff, colour=colour))
    return line


# --- watch ------------------------------------------------------------------------------------

def _register_watch(commands: Any) -> argparse.ArgumentParser:

    sub = commands.add_parser(
        "watch", help="recapture URLs on a schedule and report every change",
        description="Capture each URL now and again every --every (give or take a tenth, so "
        "the requests do not fall on the same second), until --for has passed or Ctrl-C. "
        "Every capture is recorded as by 'archive'; every change is recorded in the ledger and "
        "printed as it happens ('- ' removed, '+ ' added, figures old -> new). Witness archives "
        "get the first capture of each URL and every capture that changed. Ctrl-C or SIGTERM "
        "finishes the capture in progress and stops (exit 0); a second one abandons it (130).")
    url_options(sub, "watch")
    sub.add_argument("--every", required=True, metavar="INTERVAL",
                     help="time between captures: 30s, 10m, 1h (a bare number is seconds)")
    sub.add_argument("--for", dest="duration", metavar="DURATION",
                     help="stop after this long, e.g. 6h (default: until Ctrl-C)")
    capture_options(sub)
    sub.set_defaults(handler=_cmd_watch)
    return sub


def _cmd_watch(args: argparse.Namespace, out: Output) -> int:

    every = parse_duration(args.every, what="--every")
    duration = parse_duration(args.duration, what="--for") if args.duration else None

    urls = urls_from(args)
    specs = witness_specs(args.to)
    tsas = tsa_urls(args.tsa)
    ignore = compile_ignore(args.ignore)
    store, ledger = open_store(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # the second signal: abandon the capture in progress
        stop.set()
        out.say("stopping after the capture in progress (Ctrl-C again to abandon it)")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ledger:
            fetcher = Fetcher(read_timeout=args.timeout, total_timeout=args.timeout,
                              max_bytes=args.max_bytes)
            capturer = Capturer(store, ledger, fetcher, ignore=ignore)
            step = _WatchStep(store, ledger, specs, tsas, args.timeout, out)
            out.say(f"watching {len(urls)} URL(s) every {args.every}"
                    + (f" for {args.duration}" if args.duration else " until Ctrl-C"))
            rounds = watch(capturer, urls, every=every, duration=duration, stop=stop,
                           on_outcome=step)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.say(f"stopped after {rounds} round(s): {step.captures} captures, "
            f"{step.changes} change(s), {step.failures} failed")
    return EXIT_OK


class _WatchStep:
    """What happens after each capture: witnesses if it is new or changed, stamp, print."""

    def __init__(self, store: Any, ledger: Any, specs: list[Any], tsas: list[str],
                 timeout: float, out: Output) -> None:
        self.store, self.ledger, self.specs, self.tsas = store, ledger, specs, tsas
        self.timeout, self.out = timeout, out
        self.seen: set[str] = set()
        self.captures = self.changes = self.failures = 0
        self.colour = _colour(out.stdout)

    def __call__(self, outcome: Any, round_no: int) -> None:

        out = self.out
        if not outcome.ok:
            self.failures += 1
            out.error(f"{outcome.url}: {outcome.error}")
            if out.json_mode:
                out.item({**outcome.to_json(), "round": round_no})
            return
        self.captures += 1
        first = outcome.url not in self.seen
        self.seen.add(outcome.url)
        if self.specs and (first or outcome.changed):
            outcome.witnesses = record_witnesses(
                self.ledger, outcome.record, self.specs,
                capture_sha256=stored_payload_sha256(self.store, outcome.record))
            say_witnesses(outcome.url, outcome.witnesses, out)
        if self.tsas:
            self._stamp(outcome)
        data = {**outcome.to_json(), "round": round_no}
        when = data["fetched_at"]
        if outcome.changed:
            self.changes += 1
            text = (f"{when}  {outcome.url}  CHANGED since {outcome.changed['since']} "
                    f"(ledger #{outcome.changed['ledger_seq']})\n"
                    + "\n".join(diff_lines(outcome.changed, colour=self.colour)))
            out.item(data, text)
        else:
            out.item(data) if out.json_mode else out.say(
                f"{when}  {outcome.url}  {data['http_status']}  "
                + ("first capture" if first else "no change") + f"  ledger #{data['ledger_seq']}")

    def _stamp(self, outcome: Any) -> None:

        records = [outcome.record]
        if outcome.changed:
            found = self.ledger.get(int(outcome.changed["ledger_seq"]))
            records += [found] if found is not None else []
        report = timestamp_records(self.ledger, self.store, records, self.tsas,
                                   timeout=self.timeout)
        for result in report.pending:
            self.out.error(f"time-stamp pending ({result['error']}); "
                           "'provenance retry' asks again")
        outcome.timestamps = report.summaries()


REGISTER = [_register_history, _register_watch]
