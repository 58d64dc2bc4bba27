"""``provenance pull URL``: keep an archive's snapshots of a URL in the store.

Thin: :meth:`provenance.api.Evidence.pull` (:mod:`provenance.capture.pull`) lists, fetches,
keeps and resumes; this parses the options and prints. Each snapshot is one line on stdout
(a ``snapshot`` JSON line with ``--json``), progress goes to stderr (a bar on a terminal,
``n/total time`` lines otherwise, none with ``-q``), and each archive ends with a summary
line. Exit 0 when every snapshot asked for is in the store, 1 when an archive could not
be read, a copy failed or the archive lists none, 2 for bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from tqdm import tqdm

from archive.blockpage import BlockPage
from archive.cdx import CdxRow
from provenance.api import Evidence
from provenance.capture.batch import validate_urls
from provenance.capture.pull import Pulled, PullEvents, PullRange, PullRun, PullStatus
from provenance.cli.options import EXIT_NEGATIVE, EXIT_OK
from provenance.cli.output import Line, Output
from provenance.cli.shared import witness_specs
from provenance.errors import UsageError


def cmd_pull(args: argparse.Namespace, out: Output) -> int:
    (url,) = validate_urls([args.url])
    specs = witness_specs(args.to)
    if not specs:  # said before a store is made
        raise UsageError("pull needs an archive to pull from: --to ia, pywb=BASE or "
                         "memento=BASE")
    span = PullRange.parse(args.since, args.until, args.limit)
    printer = _PullPrinter(out)
    events = PullEvents(listed=printer.listed, fetching=printer.fetching,
                        pulled=printer.pulled)
    with Evidence(args.store, waiting=out.say) as evidence:
        try:
            runs = evidence.pull(url, witnesses=specs, span=span, timeout=args.timeout,
                                 events=events)
        except KeyboardInterrupt:
            printer.close()
            out.error(f"interrupted: {printer.kept} copies kept in this run; the same "
                      "command again fetches only the rest")
            raise
    printer.close()
    for run in runs:
        _summary(run, out)
    return EXIT_OK if all(r.complete and r.items for r in runs) else EXIT_NEGATIVE


class _PullPrinter:
    """Prints each snapshot as it is settled, and the progress of the fetches."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.kept = 0
        self.bar: Any = None

    def listed(self, run: PullRun) -> None:
        self.close()
        if run.error is not None:
            return
        had = run.count(PullStatus.HAD)
        todo = len(run.items) - had
        self.out.say(f"{run.source}: {run.listed} snapshot(s) of {run.url}"
                     + (f", the oldest {len(run.items)}" if len(run.items) < run.listed else "")
                     + f"; {had} already kept, {todo} to fetch")
        if todo > 1 and not self.out.quiet and _is_tty(self.out.stderr):
            self.bar = tqdm(total=len(run.items), desc=f"pulling {run.source}",
                            file=self.out.stderr, unit="copy", leave=False)

    def fetching(self, n: int, total: int, row: CdxRow) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(row.captured_at)
        else:
            self.out.say(f"  {n}/{total}  {row.captured_at}")

    def pulled(self, item: Pulled) -> None:
        if item.status is PullStatus.KEPT:
            self.kept += 1
        if self.bar is not None:
            self.bar.clear()  # the line goes where the bar was; the bar is drawn below it
        if item.status is PullStatus.FAILED:
            self.out.error(f"could not pull {item.source} {item.time}: {item.error}")
        self.out.item(Line.SNAPSHOT, item.to_json(), _human(item))
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _human(item: Pulled) -> str:
    data = item.to_json()
    where = data.get("memento_url") or data["url"]
    status = data.get("http_status") or item.row.statuscode or "-"
    seq = f"  #{data['seq']}" if data.get("seq") else ""
    words = {PullStatus.KEPT: "kept", PullStatus.HAD: "already had",
             PullStatus.FAILED: "FAILED"}.get(item.status, item.status.value)
    page = BlockPage.from_json(data.get("blocked"))
    note = f"  ({page.words}, not the page)" if page is not None else ""
    return f"{item.time}  {item.source:<6}  {status}  {words}{seq}  {where}{note}"


def _summary(run: PullRun, out: Output) -> None:
    data = run.to_json()
    if run.error is not None and not run.items:
        out.error(f"could not pull from {run.source}: {run.error}")
        human = f"{run.source}: nothing pulled"
    elif not run.items:
        span = " in that date range" if run.range.since or run.range.until else ""
        out.error(f"{run.source} holds no snapshot of {run.url}{span}")
        human = f"{run.source}: nothing to pull"
    else:
        human = (f"{run.source}: {data['kept']} kept, {data['had']} already had, "
                 f"{data['failed']} failed" + (f", {data['not_tried']} not tried"
                                               if data["not_tried"] else "")
                 + f" (of {len(run.items)})")
        if run.error is not None:
            out.error(f"could not pull the rest from {run.source}: {run.error}; "
                      "the same command later fetches only what is missing")
    out.item(Line.SUMMARY, data, human)


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


