"""Rate limiting, Retry-After and backoff, against a real loopback server and the real clock."""

from __future__ import annotations

import io
import random
import threading
import time
from datetime import datetime, timezone

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from webfixtures import closed_port

from archive.errors import WitnessError
from archive.ratelimit import Backoff, RateLimiter, Throttle, parse_retry_after

FAST = Backoff(tries=3, base=0.05, cap=0.2)


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0  # already past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None


def _grants(limiter: RateLimiter, threads: int = 4, calls: int = 10) -> list[tuple[float, float]]:
    """(grant, seen) per call: the limiter's grant time and the clock read just after."""
    out: list[tuple[float, float]] = []
    lock = threading.Lock()

    def worker():
        for _ in range(calls):
            granted = limiter.wait()
            seen = time.monotonic()
            with lock:
                out.append((granted, seen))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return sorted(out)


def test_limiter_spaces_calls_across_threads():
    """Grants are spaced by the interval on the limiter's own clock, with no tolerance.

    (Times a caller reads *after* ``wait`` returns also carry the scheduler's delay in
    waking that thread, so their gaps can be shorter on a busy machine whatever the
    limiter does: they are checked only to be real, never earlier than the grant.)"""
    grants = _grants(RateLimiter(0.02))
    assert len(grants) == 40
    gaps = [b[0] - a[0] for a, b in zip(grants, grants[1:], strict=False)]
    assert min(gaps) >= 0.02
    assert all(granted <= seen for granted, seen in grants)  # a grant is now, not planned


@pytest.mark.parametrize("factor", [0.3, 2.5])
def test_limiter_holds_when_sleep_is_early_or_late(factor):
    """A sleep that returns early (coarse timers) or late (a busy machine) never lets two
    grants closer than the interval: the next slot counts from the grant actually given."""
    limiter = RateLimiter(0.02, sleep=lambda seconds: time.sleep(seconds * factor))
    grants = _grants(limiter, threads=3, calls=6)
    gaps = [b[0] - a[0] for a, b in zip(grants, grants[1:], strict=False)]
    assert min(gaps) >= 0.02
    assert all(granted <= seen for granted, seen in grants)


def test_limiter_defer_pushes_the_next_slot():
    limiter = RateLimiter(0.0)
    limiter.wait()
    limiter.defer(0.2)
    start = time.monotonic()
    limiter.wait()
    assert time.monotonic() - start >= 0.19


@given(attempt=st.integers(1, 20), retry_after=st.one_of(st.none(), st.floats(0, 300)),
       seed=st.integers(0, 1000))
def test_backoff_is_bounded_and_never_sooner_than_retry_after(attempt, retry_after, seed):
    policy = Backoff(base=2.0, cap=60.0, jitter=0.5, max_wait=300.0)
    delay = policy.delay(attempt, retry_after, random.Random(seed))
    assert delay is not None
    full = min(60.0, 2.0 * 2 ** (attempt - 1))
    assert delay >= (retry_after or 0.0)
    assert delay >= full * 0.5
    assert delay <= max(full, retry_after or 0.0)


def test_backoff_gives_up_when_asked_to_wait_too_long():
    assert Backoff(max_wait=300).delay(1, 3600) is None


def test_throttle_honours_retry_after_then_succeeds(wayback):
    wayback.fail_next(429, path="/wayback/available", retry_after="1")
    throttle = Throttle(RateLimiter(0.0), FAST)
    session = requests.Session()
    response = throttle.send(
        lambda: session.get(f"{wayback.base}/wayback/available?url=x", timeout=5), what="t")
    assert response.status_code == 200
    hits = wayback.hits("/wayback/available")
    assert len(hits) == 2
    assert hits[1].time - hits[0].time >= 0.95  # waited as told, not the 0.05 s backoff


def test_throttle_backs_off_on_5xx_then_succeeds(wayback):
    wayback.fail_next(503, path="/wayback/available")
    wayback.fail_next(520, path="/wayback/available")
    throttle = Throttle(RateLimiter(0.0), FAST)
    session = requests.Session()
    response = throttle.send(
        lambda: session.get(f"{wayback.base}/wayback/available?url=x", timeout=5), what="t")
    assert response.status_code == 200
    hits = wayback.hits("/wayback/available")
    assert len(hits) == 3
    assert hits[1].time - hits[0].time >= 0.05 * 0.5 - 0.005
    assert hits[2].time - hits[1].time >= 0.10 * 0.5 - 0.005


def test_throttle_bounded_tries_end_in_a_retryable_error(wayback):
    wayback.fail_next(503, times=5, path="/wayback/available")
    throttle = Throttle(RateLimiter(0.0), FAST)
    session = requests.Session()
    with pytest.raises(WitnessError) as caught:
        throttle.send(lambda: session.get(f"{wayback.base}/wayback/available", timeout=5),
                      what="the archive")
    assert caught.value.retryable
    assert "HTTP 503" in str(caught.value)
    assert len(wayback.hits("/wayback/available")) == 3


def test_throttle_refused_connection_is_retryable():
    port = closed_port()
    throttle = Throttle(RateLimiter(0.0), FAST)
    session = requests.Session()
    with pytest.raises(WitnessError) as caught:
        throttle.send(lambda: session.get(f"http://127.0.0.1:{port}/", timeout=2),
                      what="the archive")
    assert caught.value.retryable
    assert "refused" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_wait_with_a_timeout_gives_up_at_once_instead_of_sleeping_it_out():
    limiter = RateLimiter(10.0)
    assert limiter.wait(timeout=1.0) is not None  # the first grant is immediate
    began = time.monotonic()
    assert limiter.wait(timeout=1.0) is None  # the next is 10 s away
    assert time.monotonic() - began < 0.5
    near = RateLimiter(0.2)
    near.wait()
    assert near.wait(timeout=1.0) is not None  # 0.2 s away: waited for
    assert time.monotonic() - began >= 0.15


def test_throttle_inside_a_deadline_neither_waits_nor_backs_off_past_it():
    """A Retry-After of 60 s, or a turn 60 s away, inside a page's 1 s budget: the throttle
    says so at once and the submission stays pending, retryable."""
    from archive.deadline import Deadline

    calls = []

    def busy() -> requests.Response:
        calls.append(time.monotonic())
        response = requests.Response()
        response.status_code = 503
        response.headers["Retry-After"] = "60"
        response.raw = io.BytesIO(b"")
        return response

    throttle = Throttle(RateLimiter(0.0), Backoff(tries=4, base=0.05, max_wait=300))
    began = time.monotonic()
    with Deadline(1.0), pytest.raises(WitnessError, match="503") as caught:
        throttle.send(busy, what="test")
    assert len(calls) == 1 and time.monotonic() - began < 0.5 and caught.value.retryable

    spaced = Throttle(RateLimiter(60.0), FAST)
    spaced.limiter.wait()  # the next turn is a minute away
    with Deadline(1.0), pytest.raises(WitnessError, match="ran out"):
        spaced.send(busy, what="test")
    assert len(calls) == 1 and time.monotonic() - began < 0.8
