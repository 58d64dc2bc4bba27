"""``provenance worker`` and ``provenance watch --team``: watches shared by a team store,
captured by workers on several machines (:mod:`provenance.workers`)."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from provenance.api import Evidence
from provenance.changes.diff import compile_ignore
from provenance.changes.watch import parse_duration
from provenance.cli.options import EXIT_OK
from provenance.cli.output import Line, Output
from provenance.cli.shared import tsa_urls, urls_from
from provenance.errors import UsageError
from provenance.store.backends import load_team_module, team_location

_NEEDS = "team watches need psycopg"


def _team_url(args: argparse.Namespace) -> str:
    url = team_location(args.store)
    if url is None:
        raise UsageError("team watches live in a team store: give --store "
                         "postgresql://USER@HOST/DB --objects s3://BUCKET/PREFIX (or set "
                         "PROVENANCE_STORE and PROVENANCE_OBJECTS)")
    return url


def cmd_team_watch(args: argparse.Namespace, out: Output) -> int:
    """``watch --team``: add the URLs to the team's watches (or, with --remove, stop them);
    the workers capture them."""
    url = _team_url(args)
    urls = urls_from(args)
    every = parse_duration(args.every, what="--every") if not args.remove else 0.0
    queues = load_team_module("provenance.workers.queue", _NEEDS)
    with Evidence(args.store):  # the ledger's tables first: the queue's key is on them
        pass
    with queues.WatchQueue(url) as queue:
        queue.create()
        if args.remove:
            found = queue.remove(urls)
            out.say(f"{found} of {len(urls)} URL(s) no longer watched by the team's workers")
        else:
            browser = bool(getattr(args, "browser", False))
            queue.add(urls, every, browser=browser)
            out.say(f"{len(urls)} URL(s) watched every {args.every} by the team's workers"
                    + (", rendered in Chromium (run 'provenance worker --browser' on one or "
                       "more machines)" if browser else
                       " (run 'provenance worker' on one or more machines)"))
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, out: Output) -> int:
    url = _team_url(args)
    runner = load_team_module("provenance.workers.runner", _NEEDS)
    options = runner.WorkerOptions(
        jobs=args.jobs, lease=args.lease, tsas=tsa_urls(args.tsa), timeout=args.timeout,
        max_bytes=args.max_bytes, ignore=compile_ignore(args.ignore), drain=args.drain,
        browser=args.browser,
        stamp_every=parse_duration(args.stamp_every, what="--stamp-every"),
        duration=parse_duration(args.duration, what="--for") if args.duration else None)
    stop = threading.Event()
    printing = threading.Lock()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # the second one: jobs in flight are taken again later
        stop.set()
        out.say("stopping after the captures in progress (Ctrl-C again to abandon them)")

    def on_done(done: Any) -> None:
        job, outcome = done.job, done.outcome
        data = {"url": job.url, "watch": job.watch_id, "slot": job.slot,
                "attempt": job.attempts, "ledger_seq": done.seq}
        with printing:
            if outcome is None:
                late = done.late_change
                out.item(Line.CAPTURE, {**data, "already_recorded": True, "changed": late},
                         f"{job.url}  slot {job.slot} already captured (#{done.seq})"
                         + ("; its change recorded now" if late else ""))
            elif not outcome.ok:
                out.item(Line.CAPTURE, {**data, **outcome.to_json()},
                         f"{job.url}  failed: {outcome.error}")
            else:
                out.item(Line.CAPTURE, {**data, **outcome.to_json()},
                         f"{job.url}  capture #{done.seq}"
                         + ("  CHANGED" if outcome.changed else ""))

    def on_error(message: str) -> None:
        with printing:
            out.error(message)

    with Evidence(args.store, waiting=out.say) as evidence:
        worker = runner.Worker(evidence.store, evidence.ledger, url, options,
                               on_done=on_done, on_error=on_error)
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            out.say(f"worker {worker.name}: {args.jobs} capture thread(s)"
                    + (", Chromium" if options.browser else "")
                    + (", stamping" if options.tsas else ""))
            run = worker.run(stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    out.say(f"worker stopped: {run.captures} capture(s), {run.already} already recorded, "
            f"{run.failures} failed, {run.stamped} record(s) stamped")
    return EXIT_OK
