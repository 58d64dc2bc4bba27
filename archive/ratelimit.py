"""Being a polite client of a witness archive: spacing, Retry-After, backoff, bounded tries.

Three pieces, used together through :class:`Throttle`:

* :class:`RateLimiter` — a minimum interval between requests to one witness, shared by every
  thread that talks to it (callers take turns and each grant is spaced from the previous
  grant as actually given, so ``--jobs 4`` never sends faster than one job would);
* :func:`parse_retry_after` — ``Retry-After`` as seconds or as an HTTP date;
* :class:`Backoff` — exponential backoff with jitter on 429 and 5xx, never sooner than the
  server's ``Retry-After``, for a bounded number of tries. When the tries run out, or the
  server asks us to wait longer than ``max_wait``, the caller gets a retryable
  :class:`~archive.errors.WitnessError` and the submission stays pending for ``retry``.

Inside a :class:`~archive.deadline.Deadline` (one page's whole submission to a witness),
:meth:`Throttle.send` never waits for a turn, or backs off, past its end: it gives up at
once with a retryable error that says so, and the submission stays pending.

A ``Retry-After`` or a backoff delays the whole witness (every thread), not only the request
that got it: the service asked *us* to slow down.

The Internet Archive's limits (as published or reported; check before raising them):

* SavePageNow 2 (keyed, ``Authorization: LOW key:secret``) documents per-account limits on
  concurrent capture jobs and on captures per day, answering ``429`` or a job error such as
  ``error:user-session-limit`` / ``error:too-many-daily-captures`` when they are exceeded.
* The Wayback Machine rate-limits by IP: about 15 requests a minute to ``/save`` (and to
  other API endpoints) is the widely reported ceiling; going over it answers ``429`` and
  repeat offenders are blocked for minutes, for longer each time. Anonymous saves are
  reported (2026) to answer ``401``/``429`` outright.

So the defaults (:data:`IA_KEYED_INTERVAL`, :data:`IA_ANONYMOUS_INTERVAL`) stay well under
15 a minute: one keyed save every 5 s (12/min), one anonymous save every 10 s (6/min), one
status poll per job every 5 s, and one read (availability, CDX, raw copy) per second.
A self-hosted pywb has no limit by default; give it one if it shares a server.

The clock and sleep are injectable only so tests can record when calls happened; tests use
the real clock and assert spacing from the times a real server saw the requests.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from archive.deadline import BodyTooLarge, Deadline, DeadlineExceeded, current
from archive.errors import WitnessError
from archive.httpdate import parse_http_date
from archive.waits import waiting

IA_KEYED_INTERVAL = 5.0
IA_ANONYMOUS_INTERVAL = 10.0
IA_READ_INTERVAL = 1.0
IA_POLL_INTERVAL = 5.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    when = parse_http_date(value)
    if when is None:
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


class RateLimiter:
    """At least ``min_interval`` seconds between any two grants, across threads.

    A grant is the moment :meth:`wait` returns, read from the limiter's clock *after* any
    sleep: callers take turns (one sleeps at a time, in the order they got the turn), and
    the next grant is reserved from the time the previous one was actually given, not
    from when it was planned. So a thread that oversleeps (a busy machine) delays the ones
    after it instead of letting them through closer together, and a sleep that returns
    early just sleeps again. The returned grant times are the spacing guarantee.
    """

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.min_interval = float(min_interval)
        self._clock = clock
        self._sleep = sleep
        self._turn = threading.Lock()  # held while waiting: one caller at a time
        self._lock = threading.Lock()  # guards _next (defer() may change it mid-wait)
        self._next = float("-inf")

    def wait(self, timeout: float | None = None, *, what: str = "") -> float | None:
        """Block until this caller may go; returns the clock time it was let go.

        With ``timeout``, gives up (returns None at once, without sleeping it out) when the
        grant would come later than ``timeout`` seconds from now. A wait of more than two
        seconds is announced (:mod:`archive.waits`) as being ``what``."""
        limit = None if timeout is None else self._clock() + max(0.0, timeout)
        if not self._turn.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return None
        try:
            said = False
            while True:
                with self._lock:
                    now = self._clock()
                    if now >= self._next:
                        self._next = now + self.min_interval
                        return now
                    if limit is not None and self._next > limit:
                        return None
                    delay = self._next - now
                if not said:
                    waiting(delay, what or f"(at most one request every {self.min_interval:g} s)")
                    said = True
                self._sleep(delay)
        finally:
            self._turn.release()

    def defer(self, seconds: float) -> None:
        """No request before ``seconds`` from now (a Retry-After or a backoff)."""
        with self._lock:
            self._next = max(self._next, self._clock() + max(0.0, seconds))


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: try ``tries`` times in all."""

    tries: int = 4
    base: float = 2.0
    cap: float = 60.0
    jitter: float = 0.5  # the last this fraction of each delay is random
    max_wait: float = 300.0  # a Retry-After longer than this ends the tries (stays pending)

    def delay(self, attempt: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float | None:
        """Seconds before try ``attempt + 1``; None when the server asks for too long."""
        if retry_after is not None and retry_after > self.max_wait:
            return None
        full = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        jittered = full * (1 - self.jitter) + (rng or random).random() * full * self.jitter
        return float(max(jittered, retry_after or 0.0))


@dataclass
class Throttle:
    """A witness's limiter and backoff; :meth:`send` runs one request politely."""

    limiter: RateLimiter
    backoff: Backoff = field(default_factory=Backoff)
    rng: random.Random = field(default_factory=random.Random)

    def send(
        self,
        request: Callable[[], requests.Response],
        *,
        what: str,
        retry_statuses: Collection[int] = RETRY_STATUSES,
        mementos: bool = False,
    ) -> requests.Response:
        """The first answer not in ``retry_statuses``; a retryable WitnessError after the tries.

        Transport errors (refused, timeout, reset) are retried like a 503. With ``mementos``
        (a request for an archived copy), an answer carrying ``Memento-Datetime`` is returned
        whatever its status: an archived 429 or 503 is what the page said then, not the
        archive throttling us, and asking again would bring the same copy.
        """
        tries = max(1, self.backoff.tries)
        last: WitnessError | None = None
        for attempt in range(1, tries + 1):
            budget = current()
            why = (f"before trying again ({last})" if last is not None
                   else f"before the next request to {what} (at most one every "
                   f"{self.limiter.min_interval:g} s)")
            if self.limiter.wait(None if budget is None else budget.remaining(),
                                 what=why) is None:
                raise _out_of_time(what, budget, last)
            retry_after: float | None = None
            try:
                response = request()
            except BodyTooLarge as exc:  # asking again brings the same flood
                raise WitnessError(f"{what}: {exc}", retryable=True) from None
            except requests.RequestException as exc:
                error = WitnessError(f"{what}: {_transport_reason(exc)}", retryable=True)
            else:
                if response.status_code not in retry_statuses or (
                        mementos and is_memento(response)):
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                response.close()
                error = WitnessError(
                    f"{what}: HTTP {response.status_code}"
                    + (f" (retry after {retry_after:g} s)" if retry_after is not None else ""),
                    retryable=True, retry_after=retry_after)
            if attempt == tries:
                raise error
            delay = self.backoff.delay(attempt, retry_after, self.rng)
            if delay is None or (budget is not None and delay >= budget.remaining()):
                raise error
            last = error
            self.limiter.defer(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def is_memento(response: requests.Response) -> bool:
    """The answer is an archived copy (RFC 7089: it carries a ``Memento-Datetime``)."""
    return response.headers.get("Memento-Datetime") is not None


def _out_of_time(what: str, budget: Deadline | None, last: WitnessError | None
                 ) -> WitnessError:
    """The task's budget (:class:`~archive.deadline.Deadline`) ran out before this request."""
    seconds = f" ({budget.seconds:g} s)" if budget is not None else ""
    reason = f"; before that: {last}" if last is not None else ""
    return WitnessError(f"{what}: the time allowed for this page{seconds} ran out{reason}",
                        retryable=True, retry_after=last.retry_after if last else None)


def _transport_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, (DeadlineExceeded, BodyTooLarge)):
        return str(exc)
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer in time"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "refused" in text.lower():
            return "connection refused"
        return "connection failed"
    return type(exc).__name__
