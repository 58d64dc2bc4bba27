"""``archive.waits``: a long wait is heard by the operation that waits, and by no other.

Two operations in two threads of one process (two requests to ``provenance serve``, two
``Evidence`` objects) each register a listener; each must hear only its own waits. The
worker threads of a batch must still hear the run that started them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from archive.ratelimit import RateLimiter
from archive.waits import carried, listen, waiting
from provenance.api import Evidence


def _limiter() -> RateLimiter:
    """A 10 s rate limit on a clock of its own: its second turn is a 10 s wait, at once."""
    now = [0.0]
    return RateLimiter(10.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))


def test_two_threads_each_hear_only_their_own_waits():
    heard: dict[str, list[str]] = {"a": [], "b": []}
    both_listening, both_waited = threading.Barrier(2, timeout=10), threading.Barrier(2, timeout=10)

    def operation(name: str, seconds: float) -> None:
        with listen(heard[name].append):
            both_listening.wait()  # both listeners registered at once
            waiting(seconds, f"for {name}")
            both_waited.wait()

    threads = [threading.Thread(target=operation, args=("a", 5)),
               threading.Thread(target=operation, args=("b", 7))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert heard == {"a": ["waiting 5 s for a"], "b": ["waiting 7 s for b"]}


def test_two_stores_open_in_two_threads_hear_only_their_own_waits(tmp_path):
    """Through the library: each ``Evidence(waiting=...)`` hears its own operation only."""
    heard: dict[str, list[str]] = {"busy": [], "idle": []}
    open_both, done = threading.Barrier(2, timeout=10), threading.Barrier(2, timeout=10)

    def busy() -> None:
        with Evidence(tmp_path / "busy", waiting=heard["busy"].append):
            open_both.wait()
            limiter = _limiter()
            limiter.wait(what="before the next save")
            limiter.wait(what="before the next save")
            done.wait()

    def idle() -> None:
        with Evidence(tmp_path / "idle", waiting=heard["idle"].append):
            open_both.wait()
            done.wait()

    threads = [threading.Thread(target=busy), threading.Thread(target=idle)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert heard == {"busy": ["waiting 10 s before the next save"], "idle": []}


def test_a_batch_worker_hears_the_run_that_started_it_and_nothing_leaks_after():
    heard: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        with listen(heard.append):
            pool.submit(carried(waiting), 4, "in a worker").result(timeout=10)
            pool.submit(waiting, 6, "in a worker not carried").result(timeout=10)
        pool.submit(carried(waiting), 8, "after the run").result(timeout=10)
    assert heard == ["waiting 4 s in a worker"]
    waiting(9, "nobody listening")  # no listener left behind in this thread either
    assert heard == ["waiting 4 s in a worker"]


def test_listeners_left_in_any_order_are_each_removed():
    first: list[str] = []
    second: list[str] = []
    outer, inner = listen(first.append), listen(second.append)
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # the first one left first (two stores closed so)
    waiting(3, "now")
    inner.__exit__(None, None, None)
    waiting(3, "later")
    assert first == [] and second == ["waiting 3 s now"]
