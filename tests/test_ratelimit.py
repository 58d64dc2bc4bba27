"""Rate limiting, Retry-After and backoff, against a real loopback server and the real clock."""

from __future__ import annotations

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


def test_limiter_spaces_calls_across_threads():
    limiter = RateLimiter(0.02)
    slots: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            limiter.wait()
            with lock:
                slots.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert len(slots) == 40
    assert min(gaps) >= 0.02 - 0.002  # the clock, not a fake: a broken limiter fails here


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
