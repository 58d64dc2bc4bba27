"""Saying why nothing happens for a while: a wait longer than two seconds is announced.

A witness archive's rate limit (10 s between anonymous Wayback Machine saves), a backoff
after a 503 or a ``Retry-After``, a Save Page Now job being polled, pywb's index catching
up: each can leave a terminal silent for seconds to minutes, and silence reads as a hang.
This package never prints, so whoever runs it (``provenance``'s library, for its CLI)
passes a listener with :func:`listen`; every wait over :data:`NOTICE_AFTER` seconds calls
it with one sentence. Threads of a batch share the listeners of the run that started them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

NOTICE_AFTER = 2.0
"""Waits up to this many seconds go unsaid."""

Listener = Callable[[str], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def listen(listener: Listener | None) -> Iterator[None]:
    """While inside, ``listener`` hears of every long wait (``None``: nothing to do)."""
    if listener is None:
        yield
        return
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def waiting(seconds: float, what: str, *, up_to: bool = False) -> None:
    """Announce a wait of ``seconds`` (at most ``seconds`` with ``up_to``) for ``what``
    ("before the next Wayback Machine save (its rate limit)") if it is long enough."""
    if seconds <= NOTICE_AFTER:
        return
    with _lock:
        listeners = list(_listeners)
    sentence = f"waiting {'up to ' if up_to else ''}{seconds:.0f} s {what}"
    for listener in listeners:
        listener(sentence)
