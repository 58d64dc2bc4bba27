"""A self-hosted pywb collection as a witness: record, confirm in its index, fetch the raw copy.

``BASE`` is a collection URL such as ``http://127.0.0.1:8080/news``, served by
``wayback --record --live -a`` (record mode on, the collection auto-indexed):

* ``GET BASE/record/id_/<url>`` makes pywb fetch the page live and write it to a WARC in
  the collection; the answer's ``Memento-Datetime`` / ``Content-Location`` give the
  snapshot's timestamp. (``id_`` asks for the payload unchanged: no frame, no rewriting.)
* ``GET BASE/cdx?url=<url>&output=json`` is pywb's CDX API; a snapshot counts as archived
  only once the index lists it (pywb indexes new WARCs every ``--auto-interval`` seconds,
  30 by default), else it is ``unknown`` and retried later.
* ``GET BASE/<ts>id_/<url>`` is the raw copy that is hashed and compared with our capture.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from archive.cdx import CdxRow, collapse_duplicates, parse_cdx_json
from archive.deadline import BoundedSession, current
from archive.errors import WitnessError
from archive.memento import (
    ARCHIVED,
    FAILED,
    PENDING,
    UNKNOWN,
    RawCopy,
    Submission,
    api_cap,
    fetch_raw,
    memento_from_response,
)
from archive.pagekey import rows_of
from archive.ratelimit import RateLimiter, Throttle
from archive.waits import NOTICE_AFTER, waiting


def raw_url(base: str, timestamp: str, url: str) -> str:
    """Where the pywb collection ``base`` serves snapshot ``timestamp`` of ``url`` raw."""
    return f"{base}/{timestamp}id_/{url}"

NO_STATUS_RETRY: frozenset[int] = frozenset()  # the page's own 5xx is relayed, and recorded


class PywbClient:
    """One pywb collection in record mode; share one instance between threads."""

    def __init__(
        self,
        base: str,
        *,
        session: requests.Session | None = None,
        timeout: Any = (10, 120),
        throttle: Throttle | None = None,
        confirm_deadline: float = 45.0,
        confirm_interval: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base.rstrip("/")
        self.name = f"pywb={self.base}"
        self.session = session or BoundedSession()
        self.timeout = timeout
        self.throttle = throttle or Throttle(RateLimiter(0.0))
        self.confirm_deadline = confirm_deadline
        self.confirm_interval = confirm_interval
        self._sleep = sleep
        self._clock = clock

    def save(self, url: str) -> Submission:
        """Record ``url`` through the collection and wait until its index lists it."""
        target = f"{self.base}/record/id_/{url}"
        try:
            response = self.throttle.send(
                lambda: self.session.get(target, timeout=self.timeout, allow_redirects=False),
                what=f"pywb {self.base}", retry_statuses=NO_STATUS_RETRY)
            with response:
                _ = response.content  # pywb writes the WARC record as the body streams out
                found = memento_from_response(response, self.base)
                code = response.status_code
        except WitnessError as exc:
            return Submission.from_error(exc)
        except requests.RequestException as exc:
            reason = type(exc).__name__
            return Submission(PENDING, retryable=True,
                              error=f"pywb {self.base}: the answer broke off ({reason})")
        if found is None:
            if code == 404:
                return Submission(FAILED, retryable=False, error=(
                    f"pywb {self.base} has no record mode (HTTP 404): run it with "
                    "'wayback --record --live -a'"))
            return Submission(PENDING if code >= 500 else FAILED, retryable=code >= 500,
                              error=f"pywb {self.base} did not record the page (HTTP {code})")
        stamp = found[1]
        memento = f"{self.base}/{stamp}/{url}"
        return self._confirm(url, stamp, memento)

    def _confirm(self, url: str, stamp: str, memento: str) -> Submission:
        started = self._clock()
        deadline = started + self.confirm_deadline
        said = False
        while True:
            try:
                rows = self.snapshots(url)
            except WitnessError as exc:
                return Submission.from_error(exc, status=UNKNOWN)
            match = next((row for row in rows if row.timestamp == stamp), None)
            if match is not None:
                return Submission(ARCHIVED, url=memento, timestamp=stamp, original=match.original)
            budget = current()  # the whole submission's deadline, if the caller set one
            if (self._clock() + self.confirm_interval > deadline
                    or (budget is not None and budget.remaining() < self.confirm_interval)):
                return Submission(UNKNOWN, url=memento, timestamp=stamp, retryable=True, error=(
                    f"pywb {self.base} recorded the page but its index did not list it within "
                    f"{self.confirm_deadline:g} s (is it running with -a?)"))
            if not said and self._clock() + self.confirm_interval - started > NOTICE_AFTER:
                said = True  # pywb indexes in the background: say why nothing happens
                waiting(deadline - self._clock(), f"for pywb {self.base}'s index to list "
                        f"{url}", up_to=True)
            self._sleep(self.confirm_interval)

    def snapshots(self, url: str, *, since: str | None = None, until: str | None = None,
                  max_rows: int = 100_000) -> list[CdxRow]:
        """Every snapshot the collection's CDX API lists for ``url``, oldest first.

        pywb has no resume key, so one more row than ``max_rows`` is asked for: getting it
        is an error asking for a date range, never a silent cut."""
        params = {"url": url, "output": "json", "limit": str(max_rows + 1)}
        params.update({k: v for k, v in (("from", since), ("to", until)) if v})
        response = self.throttle.send(
            lambda: self.session.get(f"{self.base}/cdx", params=params, timeout=self.timeout,
                                     **api_cap(self.session)),
            what=f"pywb CDX {self.base}")
        with response:
            if response.status_code == 404 and not response.text.strip().startswith("{"):
                return []  # pywb answers 404 with an empty body when nothing matches
            if response.status_code != 200:
                raise WitnessError(f"pywb CDX {self.base} answered HTTP {response.status_code}")
            rows = parse_cdx_json(response.text, source=f"pywb CDX {self.base}")
        if len(rows) > max_rows:
            raise WitnessError(f"pywb {self.base} lists more than {max_rows} snapshots of "
                               f"{url}: give a date range", retryable=False)
        return rows_of(collapse_duplicates(rows), url)

    def raw_url(self, timestamp: str, url: str) -> str:
        return raw_url(self.base, timestamp, url)

    def raw(self, timestamp: str, url: str) -> RawCopy:
        return fetch_raw(self.session, self.raw_url(timestamp, url), timeout=self.timeout,
                         timestamp=timestamp,
                         send=lambda req: self.throttle.send(req, what="pywb raw copy",
                                                            mementos=True))
