"""Batches of URLs: reading lists, resuming a killed run, fetching several at once.

Resume needs no state file: the ledger already says which URLs have a capture, so a rerun
of the same list after ``kill -9`` fetches only what is missing. ``again=True`` captures
every URL anew (a new capture record; nothing is overwritten).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TextIO

from archive.deadline import abort_all
from archive.urls import normalize_url
from provenance.capture import CAPTURE, CaptureOutcome, Capturer, capture_json
from provenance.errors import UsageError
from provenance.ledger import Ledger


def read_url_list(source: str, stdin: TextIO | None = None) -> list[str]:
    """URLs from a file (one per line, ``#`` comments, blank lines ignored) or ``-``."""
    try:
        if source == "-":
            lines = (stdin or sys.stdin).read().splitlines()
        else:
            with open(source, encoding="utf-8-sig") as handle:
                lines = handle.read().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read URL list {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"URL list {source} is not UTF-8 text") from None
    urls = []
    for line in lines:
        # A '#' starts a comment at the start of a line or after white space; inside a
        # URL it is a fragment and stays.
        line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if line:
            urls.append(line)
    return urls


def validate_urls(raw: Iterable[str]) -> list[str]:
    """Normalise every URL before anything is fetched, so bad input changes nothing."""
    urls: list[str] = []
    seen: set[str] = set()
    for item in raw:
        url = normalize_url(item)
        if url not in seen:
            seen.add(url)
            urls.append(url)
    return urls


def already_captured(ledger: Ledger, urls: Iterable[str]) -> dict[str, CaptureOutcome]:
    """The latest capture of each URL that has one, for resuming a batch."""
    wanted = set(urls)
    latest: dict[str, CaptureOutcome] = {}
    for record in ledger.records(kind=CAPTURE):
        if record.subject in wanted:
            latest[record.subject] = CaptureOutcome(record.subject, record=record, skipped=True)
    return latest


def run_batch(capturer: Capturer, urls: list[str], *, jobs: int = 4,
              on_done: Callable[[CaptureOutcome], None] | None = None,
              batch: str | None = None) -> Iterator[CaptureOutcome]:
    """Capture URLs with ``jobs`` at once; yields outcomes as they complete.

    At most ``jobs * 2`` URLs are in flight, so a list of a million URLs costs no memory
    and a kill loses at most the captures in flight (which the next run redoes).
    """
    jobs = max(1, jobs)
    pending: set[Future[CaptureOutcome]] = set()
    todo = iter(urls)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="capture") as pool:
        try:
            while True:
                while len(pending) < jobs * 2:
                    url = next(todo, None)
                    if url is None:
                        break
                    pending.add(pool.submit(capturer.capture_one, url, batch=batch))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()
                    if on_done is not None:
                        on_done(outcome)
                    yield outcome
        except BaseException:
            # Ctrl-C, or the reader stopped: start nothing new and cut the fetches in flight
            # (they are not recorded), so leaving the pool never waits on a dripping server.
            for future in pending:
                future.cancel()
            abort_all()
            raise


__all__ = ["already_captured", "capture_json", "read_url_list", "run_batch", "validate_urls"]
