"""Saying why nothing happens for a while: a wait longer than two seconds is announced.

A witness archive's rate limit (10 s between anonymous Wayback Machine saves), a backoff
after a 503 or a ``Retry-After``, a Save Page Now job being polled, pywb's index catching
up: each can leave a terminal silent for seconds to minutes, and silence reads as a hang.
This package never prints, so whoever runs it (``provenance``'s library, for its CLI)
passes a listener with :func:`listen`; every wait over :data:`NOTICE_AFTER` seconds calls
it with one sentence.

Listeners belong to the operation that registered them, not to the process: they are kept
in a :class:`contextvars.ContextVar`, so two operations in two threads (two requests to
``provenance serve``) each hear only their own waits. A new thread starts with none; the
worker threads of a batch hear the listeners of the run that started them because their
work is wrapped with :func:`carried` when it is handed to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

NOTICE_AFTER = 2.0
"""Waits up to this many seconds go unsaid."""

Listener = Callable[[str], None]

_listeners: ContextVar[tuple[Listener, ...]] = ContextVar("archive_waits_listeners",
                                                          default=())

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def listen(listener: Listener | None) -> Iterator[None]:
    """While inside, ``listener`` hears of every long wait in this thread (and in the work
    it hands on with :func:`carried`); ``None``: nothing to do."""
    if listener is None:
        yield
        return
    _listeners.set((*_listeners.get(), listener))
    try:
        yield
    finally:
        _drop(listener)


def _drop(listener: Listener) -> None:
    """Remove one registration of ``listener`` (whatever order listeners are left in)."""
    current = list(_listeners.get())
    for i in range(len(current) - 1, -1, -1):
        if current[i] is listener:
            del current[i]
            _listeners.set(tuple(current))
            return


def carried(work: Callable[P, R]) -> Callable[P, R]:
    """``work``, to be run in another thread (a batch's worker), hearing the listeners this
    thread has now; the worker's own listeners are as they were afterwards."""
    listeners = _listeners.get()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _listeners.set(listeners)
        try:
            return work(*args, **kwargs)
        finally:
            _listeners.reset(token)

    return run


def waiting(seconds: float, what: str, *, up_to: bool = False) -> None:
    """Announce a wait of ``seconds`` (at most ``seconds`` with ``up_to``) for ``what``
    ("before the next Wayback Machine save (its rate limit)") if it is long enough."""
    if seconds <= NOTICE_AFTER:
        return
    sentence = f"waiting {'up to ' if up_to else ''}{seconds:.0f} s {what}"
    for listener in _listeners.get():
        listener(sentence)
