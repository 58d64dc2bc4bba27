"""The commands about a URL across time: ``provenance history`` and ``provenance watch``.

Thin, like the rest of the CLI: :mod:`provenance.changes.timeline` builds the diffed
history, :mod:`provenance.changes.timeline_report` draws it, :mod:`provenance.changes.watch`
runs the schedule.
The helpers shared with the other commands (store opening, ``--to``/``--tsa`` parsing)
come from :mod:`provenance.cli.shared`; their arguments are in
:mod:`provenance.cli.commands`.

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

from provenance.api import Evidence, WatchedCapture
from provenance.capture.batch import validate_urls
from provenance.changes.diff import Changes, compile_ignore, unified_lines
from provenance.changes.timeline_report import unread_sentence, write_timeline_report
from provenance.changes.watch import Overrun, parse_duration
from provenance.cli.files import check_targets
from provenance.cli.options import EXIT_NEGATIVE, EXIT_OK
from provenance.cli.output import Line, Output
from provenance.cli.shared import (
    say_failure,
    say_served,
    say_witnesses,
    tsa_urls,
    urls_from,
    witness_specs,
)
from provenance.cli.worker import cmd_team_watch
from provenance.errors import UsageError

_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def _colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    try:
        return stream.isatty() and not os.environ.get("NO_COLOR")
    except (AttributeError, ValueError):
        return False


def diff_lines(diff: dict[str, Any], *, colour: bool, indent: str = "    ") -> list[str]:
    """A change as ``- removed`` / ``+ added`` / ``figure`` lines (red and green on a tty),
    then the passages the page's own style now hides or shows again (still in its HTML:
    neither removed nor added)."""

    lines = []
    for key in ("http_status", "final_url"):
        if key in diff:
            lines.append(f"{key.replace('_', ' ')} {diff[key]['from']} -> {diff[key]['to']}")
    lines += unified_lines(Changes.from_json(diff))
    lines += [f"  hidden by the page's style: {p}" for p in diff.get("hidden") or []]
    lines += [f"  shown again: {p}" for p in diff.get("shown") or []]
    if colour:
        lines = [f"{_RED}{line}{_RESET}" if line.startswith("- ") else
                 f"{_GREEN}{line}{_RESET}" if line.startswith("+ ") else line for line in lines]
    return [indent + line for line in lines]


# --- history ----------------------------------------------------------------------------------


def cmd_history(args: argparse.Namespace, out: Output) -> int:

    (url,) = validate_urls([args.url])
    specs = witness_specs(args.to)
    ignore = compile_ignore(args.ignore)
    report = args.report
    check_targets(args, report)
    # --fetch-witnesses keeps each archive copy it reads as a snapshot record (issue 11),
    # unless the store is read-only: then the copies are compared and not kept
    opened = (Evidence.open_keeping(args.store, waiting=out.say) if args.fetch_witnesses
              else Evidence(args.store, writable=False, waiting=out.say))
    if args.fetch_witnesses and not opened.writable:
        out.error(f"store {opened.store.root} is read-only: the archive copies are "
                  "compared but cannot be kept in it (nothing is written)")
    with opened as evidence:
        items = evidence.history(url, witnesses=specs, fetch_witnesses=args.fetch_witnesses,
                                 timeout=args.timeout, ignore=ignore)
        shots = evidence.screenshots(items) if report else {}  # of --browser captures
    colour = _colour(out.stdout)
    for item in items:
        if item.get("error"):
            if out.json_mode:
                out.item(Line.PROBLEM, item)
            out.error(f"{item['source']}: {item['error']}")
            continue
        if item.get("fetch_error"):
            out.error(f"{item['source']} {item['time']}: {item['fetch_error']}")
        out.item(Line.SNAPSHOT, item, _human_item(item, colour))
    if report:

        try:
            write_timeline_report(url, items, report, force=args.force, screenshots=shots)
        except OSError as exc:
            raise UsageError(f"cannot write report {report}: {exc.strerror}") from None
        out.say(f"wrote {report}")
    if not items:
        out.say(f"no captures of {url}")
    return EXIT_OK if any(not i.get("error") for i in items) else EXIT_NEGATIVE


def _human_item(item: dict[str, Any], colour: bool) -> str:
    diff = item.get("diff", "absent")
    note = "" if diff == "absent" else "  unchanged" if diff is None else "  CHANGED"
    if item.get("not_compared"):
        note = f"  {item['not_compared']}"
    if isinstance(diff, dict):
        note += _care(diff)
    note += unread_note((diff if isinstance(diff, dict) else item).get("style_sheets_unread"))
    seq = item.get("capture_seq")
    if seq is not None:  # a snapshot made from our submission of capture #seq
        note += {True: f"  same copy as our #{seq}", False: f"  DIFFERENT copy from our #{seq}",
                 None: f"  from our #{seq}, not compared"}[item.get("agrees")]
    line = (f"{item['time']}  {item['source']:<6}  {item['status'] or '-'}  "
            f"{item['digest'] or '-'}  {item['where']}{note}")
    if isinstance(diff, dict):
        line += "\n" + "\n".join(diff_lines(diff, colour=colour))
    return line


def unread_note(unread: Any) -> str:
    """`` (2 style sheets not read: …)`` for a page whose linked or imported style sheets
    were not read: what they hide or show again is not known."""
    sheets = unread_sentence(unread)
    return f" ({sheets})" if sheets else ""


def _care(diff: dict[str, Any]) -> str:
    """`` (compare with care: …)`` when a text compared was a fallback or partial one."""
    notes = diff.get("text_notes")
    if not notes:
        return ""
    return " (compare with care: " + "; ".join(
        f"{n['copy']} copy's text: {n['note']}" for n in notes) + ")"


# --- watch ------------------------------------------------------------------------------------


def cmd_watch(args: argparse.Namespace, out: Output) -> int:

    if args.every is None and not args.remove:
        raise UsageError("watch needs --every INTERVAL (e.g. --every 10m)")
    if args.team or args.remove:
        if not args.team:
            raise UsageError("--remove goes with --team (it stops a team watch)")
        return cmd_team_watch(args, out)
    every = parse_duration(args.every, what="--every")
    duration = parse_duration(args.duration, what="--for") if args.duration else None

    urls = urls_from(args)
    specs = witness_specs(args.to)
    tsas = tsa_urls(args.tsa)
    ignore = compile_ignore(args.ignore)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # the second signal: abandon the capture in progress
        stop.set()
        out.say("stopping after the capture in progress (Ctrl-C again to abandon it)")

    printer = _WatchPrinter(out)
    with Evidence(args.store, waiting=out.say) as evidence:
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            out.say(f"watching {len(urls)} URL(s) every {args.every}"
                    + (f" for {args.duration}" if args.duration else " until Ctrl-C"))
            run = evidence.watch(urls, every=every, duration=duration, stop=stop,
                                 witnesses=specs, tsas=tsas, timeout=args.timeout,
                                 max_bytes=args.max_bytes, ignore=ignore, on_capture=printer,
                                 browser=args.browser, jobs=args.jobs,
                                 on_overrun=lambda o: out.error(overrun_line(o)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    out.say(f"stopped after {run.rounds} round(s): {run.captures} captures, "
            f"{run.changes} change(s), {run.failures} failed"
            + (f", {run.overruns} round(s) overran --every" if run.overruns else ""))
    return EXIT_OK


def overrun_line(overrun: Overrun) -> str:
    """The one stderr line of a round cut short by the next one's start (never silenced)."""
    return (f"round {overrun.round} overran --every ({overrun.every:g}s): {overrun.done} "
            f"URL(s) captured in {overrun.elapsed:.1f}s, {overrun.left} left for round "
            f"{overrun.round + 1}, which starts now (more --jobs or a longer --every would "
            "keep up)")


class _WatchPrinter:
    """Prints each capture of a watch: its witnesses' and stamps' problems, then the line.

    An error status ("the server answered HTTP 404") is said when a URL first answers it or
    its status changes, not again every round for a page that stays dead (each capture
    still carries its status in ``--json`` and in the ledger)."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.colour = _colour(out.stdout)
        self._statuses: dict[str, object] = {}  # the last status each URL answered
        self._lock = threading.Lock()

    def _status_is_new(self, url: str, status: object) -> bool:
        """Whether ``status`` differs from what ``url`` answered last time (or is its first)."""
        with self._lock:
            new = url not in self._statuses or self._statuses[url] != status
            self._statuses[url] = status
            return new

    def __call__(self, watched: WatchedCapture) -> None:
        out, outcome = self.out, watched.outcome
        if not outcome.ok:
            self._status_is_new(outcome.url, None)  # no answer: a status after it is news
            say_failure(outcome, out)
            if out.json_mode:
                out.item(Line.CAPTURE, {**outcome.to_json(), "round": watched.round})
            return
        status = outcome.to_json()["http_status"]
        wall = (outcome.record.data.get("blocked") or {}) if outcome.record is not None else {}
        if self._status_is_new(outcome.url, (status, str(wall.get("by"))) if wall else status):
            say_served(outcome.url, outcome.record.data if outcome.record else {}, out)
        say_witnesses(outcome.url, outcome.witnesses, out)
        for result in watched.pending_stamps:
            out.error(f"time-stamp pending ({result['error']}); 'provenance retry' asks again")
        data = {**outcome.to_json(), "round": watched.round}
        when = data["fetched_at"]
        if outcome.changed:
            changed = outcome.changed
            text = (f"{when}  {outcome.url}  CHANGED since #{changed['since_seq']} "
                    f"{changed['since']}: new capture #{data['ledger_seq']} {data['id']} "
                    f"(change record #{changed['ledger_seq']}){_care(changed)}"
                    f"{unread_note(changed.get('style_sheets_unread'))}\n"
                    + "\n".join(diff_lines(changed, colour=self.colour)))
            out.item(Line.CAPTURE, data, text)
        elif out.json_mode:
            out.item(Line.CAPTURE, data)
        else:
            since = watched.since
            if watched.not_compared:
                said = watched.not_compared
            elif since is not None:
                said = f"no change since #{since.seq}"
            else:
                said = ("first capture" if watched.first else
                        "nothing to compare with: no earlier capture had the page")
            out.say(f"{when}  {outcome.url}  {data['http_status']}  {said}"
                    f"  capture #{data['ledger_seq']} {data['id']}")
