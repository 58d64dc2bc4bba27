"""Total deadlines and body caps hold against servers that drip, never stop, or inflate."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from webfixtures import send

from archive.deadline import (
    BodyTooLarge,
    BoundedSession,
    Deadline,
    DeadlineExceeded,
    abort_all,
    current,
)


def test_a_dripping_head_is_cut_at_the_total_deadline(web):
    # one byte every 0.5 s never trips the 5 s read timeout: only the total deadline stops it
    session = BoundedSession(total_timeout=2.0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        session.get(web.url("/drip-head"), timeout=(5, 5))
    assert time.monotonic() - started < 4.0


def test_an_endless_body_stops_at_the_cap(web):
    session = BoundedSession(total_timeout=20.0, max_body=1_000_000)
    started = time.monotonic()
    with pytest.raises(BodyTooLarge):
        session.get(web.url("/endless"), timeout=(5, 5))
    assert time.monotonic() - started < 10.0


def test_an_endless_body_stops_at_the_deadline_even_under_the_cap(web):
    session = BoundedSession(total_timeout=1.5, max_body=10_000_000_000)
    with pytest.raises(DeadlineExceeded):
        session.get(web.url("/endless"), timeout=(5, 5))


def _long_redirect(h):
    """A 302 whose body goes on for 10 s (64 KiB every 10 ms), then ends."""
    h.send_response(302)
    h.send_header("Location", "/ru/utf8")
    h.end_headers()
    try:
        for _ in range(1000):
            h.wfile.write(b"x" * 65536)
            time.sleep(0.01)
    except OSError:
        pass


@pytest.mark.parametrize("follow", [False, True], ids=["not-followed", "followed"])
def test_a_redirects_endless_body_stops_at_the_cap(web, follow):
    """requests reads a 3xx body itself, redirects followed or not: that read is capped too
    (it read all 64 MB, unseen by the cap and the deadline, before the cap was checked)."""
    web.add_route("/long-redirect", _long_redirect)
    session = BoundedSession(total_timeout=30.0, max_body=1_000_000)
    started = time.monotonic()
    with pytest.raises(BodyTooLarge):
        session.get(web.url("/long-redirect"), timeout=(5, 5), allow_redirects=follow)
    assert time.monotonic() - started < 5.0


def test_a_redirects_endless_body_stops_at_the_deadline(web):
    web.add_route("/long-redirect", _long_redirect)
    session = BoundedSession(total_timeout=1.5, max_body=10_000_000_000)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        session.get(web.url("/long-redirect"), timeout=(5, 5), allow_redirects=False)
    assert time.monotonic() - started < 5.0


def test_the_callers_response_hooks_still_run(web):
    seen = []
    session = BoundedSession(total_timeout=10.0)
    response = session.get(web.url("/gzip"), timeout=(5, 5),
                           hooks={"response": lambda r, *a, **k: seen.append(r.content)})
    assert seen == [response.content] and response.status_code == 200


def test_a_gzip_bomb_is_capped_on_its_decoded_size(web):
    session = BoundedSession(total_timeout=30.0, max_body=5_000_000)
    with pytest.raises(BodyTooLarge):
        session.get(web.url("/gzip-bomb"), timeout=(5, 5))


def test_a_declared_length_over_the_cap_is_refused_before_reading(web):
    session = BoundedSession(total_timeout=30.0, max_body=1_000_000)
    with pytest.raises(BodyTooLarge, match="declares 10000000"):
        session.get(web.url("/big"), timeout=(5, 5))


def test_a_normal_answer_is_read_whole_and_served_from_memory(web):
    session = BoundedSession(total_timeout=10.0)
    response = session.get(web.url("/gzip"), timeout=(5, 5), stream=True)
    assert response.status_code == 200
    assert b"".join(response.iter_content(7)) == response.content
    assert response.content.startswith(b"<")  # gzip undone
    assert current() is None  # the deadline scope ended with the request


def test_a_body_shorter_than_its_length_is_an_error(web):
    def cut(h):
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(b"only this")
        h.close_connection = True

    web.add_route("/deadline-cut", cut)
    with pytest.raises(requests.RequestException):
        BoundedSession(total_timeout=10.0).get(web.url("/deadline-cut"), timeout=(5, 5))


def test_abort_all_cuts_requests_in_flight(web):
    errors: list[BaseException] = []

    def run() -> None:
        try:
            BoundedSession(total_timeout=60.0).get(web.url("/drip-head"), timeout=(5, 5))
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    started = time.monotonic()
    thread.start()
    while not abort_all() and time.monotonic() - started < 5:
        time.sleep(0.05)
    time.sleep(0.3)
    abort_all()  # also cuts a connection registered after the first call
    thread.join(10)
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], DeadlineExceeded)
    assert time.monotonic() - started < 8


def test_deadlines_nest_and_unwind():
    with Deadline(5) as outer:
        with Deadline(1) as inner:
            assert current() is inner
        assert current() is outer
        assert 0 < outer.remaining() <= 5
    assert current() is None


def test_send_helper_still_used_by_fixtures(web):
    web.add_route("/deadline-ok", lambda h: send(h, 200, b"ok"))
    assert BoundedSession().get(web.url("/deadline-ok")).text == "ok"


@pytest.mark.parametrize("path", ["/endless", "/drip-head", "/gzip-bomb"])
def test_a_tsa_that_never_stops_or_drips_is_a_one_line_error_in_time(web, path):
    from provenance.errors import TimestampError
    from provenance.stamps.timestamp import request_timestamp

    started = time.monotonic()
    with pytest.raises(TimestampError, match="TSA") as caught:
        request_timestamp(web.url(path), b"hello", timeout=3.0)
    assert time.monotonic() - started < 6.0
    assert "\n" not in str(caught.value)


def test_a_forked_child_gets_deadlines_of_its_own():
    """The one watchdog thread is not copied into a forked child: it starts its own."""
    import os

    from archive.deadline import Deadline

    with Deadline(5):
        pass  # the parent's watchdog thread is running
    pid = os.fork()
    if pid == 0:  # the child: a deadline still fires
        deadline = Deadline(0.05)
        with deadline:
            time.sleep(0.5)
        os._exit(0 if deadline.fired else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.fixture
def watchdog(monkeypatch):
    """A watchdog of the test's own, its wake-ups counted."""
    import archive.deadline

    fresh = archive.deadline._Watchdog()
    monkeypatch.setattr(archive.deadline, "_WATCHDOG", fresh)
    wakes: list[int] = []
    notify = fresh._cond.notify
    monkeypatch.setattr(fresh._cond, "notify", lambda n=1: (wakes.append(n), notify(n)))
    fresh.wakes = wakes
    return fresh


def test_deadlines_due_after_the_one_awaited_do_not_wake_the_watchdog(watchdog):
    """Fetches one after another, each with the same total deadline: each is due after
    the one the watchdog waits for, so none wakes it (issue 16: a thread switch a page)."""
    with Deadline(30):  # a fetch in flight: the watchdog waits for it
        time.sleep(0.05)
        for _ in range(20):
            with Deadline(30):
                pass
    assert len(watchdog.wakes) <= 1
    with Deadline(30):  # ended deadlines are dropped as they come up to the front
        assert len(watchdog._heap) == 1


def test_a_deadline_due_before_the_one_awaited_still_fires_in_time(watchdog):
    with Deadline(30):
        time.sleep(0.05)  # the watchdog now waits 30 s
        started = time.monotonic()
        with Deadline(0.2) as short:
            while not short.fired and time.monotonic() - started < 5:
                time.sleep(0.01)
        assert short.fired and time.monotonic() - started < 1.5
    alone = Deadline(0.1)  # and with none in force (the watchdog waits for nothing)
    with alone:
        time.sleep(0.6)
    assert alone.fired
