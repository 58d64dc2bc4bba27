"""Total deadlines and byte caps for HTTP requests, which a slow or endless server cannot stretch.

A socket timeout bounds each ``recv``, not the request: a server that sends one header byte
every two seconds never trips a 5 s read timeout and can hold a request for hours, and one
that never stops sending fills memory. So every request made through a
:class:`BoundedSession` (or a connection pool using :class:`DeadlineConnectionMixin`) runs
inside a :class:`Deadline`: the connections it uses register with it, and a watchdog timer
shuts their sockets down when the deadline passes. The blocked read then returns at once and
the request fails as :class:`DeadlineExceeded`, a ``requests`` timeout, so callers that
already handle timeouts need nothing new. :func:`abort_all` does the same immediately for
every request in flight (a second Ctrl-C).

:class:`BoundedSession` also reads every body inside the deadline and under a cap on the
*decoded* size (gzip bombs included), so ``.content``, ``.json()`` and ``iter_content`` of
what it returns never wait on the network again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import socket
import threading
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK = 64 * 1024
DEFAULT_TOTAL = 180.0
DEFAULT_MAX_BODY = 64 * 1024 * 1024

_log = logging.getLogger(__name__)  # -v: one line per request to an archive or a TSA


class DeadlineExceeded(requests.exceptions.ReadTimeout):
    """The request was still running when its total deadline passed (or it was aborted)."""


class BodyTooLarge(requests.exceptions.RequestException):
    """The answer's body (decoded) is larger than the cap the caller set."""


class Deadline:
    """A total time budget; connections used inside ``with deadline:`` are cut when it ends."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.fired = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self.finished = False  # left its ``with``: the watchdog forgets it

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.fired or self.remaining() <= 0

    def register(self, connection: Any) -> None:
        """Called by a connection about to send a request inside this deadline."""
        with self._lock:
            self._connections.append(connection)
            fired = self.fired
        if fired:
            _shut(connection)

    def fire(self) -> None:
        """Cut every connection registered so far (and any registered later)."""
        with self._lock:
            self.fired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def __enter__(self) -> Deadline:
        stack = _stack()
        stack.append(self)
        with _active_lock:
            _active.add(self)
        self.finished = False
        _WATCHDOG.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.finished = True
        stack = _stack()
        if stack and stack[-1] is self:
            stack.pop()
        with _active_lock:
            _active.discard(self)
        with self._lock:
            self._connections.clear()


class _Watchdog:
    """One thread that fires each deadline when it passes. (A timer thread per request
    cost a thread start, which waits for the GIL, on every fetch.)"""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._due = math.inf  # when the thread wakes next, if it waits (under the lock)

    def add(self, deadline: Deadline) -> None:
        """Watch ``deadline``. The thread is woken only if it waits for a later time:
        else it wakes in time anyway (each fetch's deadline is as long as the last one's and
        starts later), and waking it on every fetch cost a switch of threads, and of the
        GIL, a page (issue 16). Deadlines that ended are dropped here as they come up, so
        the heap holds about those in force."""
        with self._cond:
            while self._heap and self._heap[0][2].finished:
                heapq.heappop(self._heap)
            heapq.heappush(self._heap, (deadline.expires, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="deadline-watchdog",
                                                daemon=True)
                self._thread.start()
            elif deadline.expires < self._due:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            self._next_due().fire()  # outside the lock: fire() shuts sockets down

    def _next_due(self) -> Deadline:
        """Wait for the earliest deadline still in force to pass; finished ones are dropped
        as they come up."""
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._due = math.inf
                    self._cond.wait()
                    continue
                self._due = self._heap[0][0]
                wait = self._due - time.monotonic()
                if wait <= 0:
                    self._due = -math.inf  # firing, not waiting: it reads the heap before it waits
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(wait)


_WATCHDOG = _Watchdog()


def _new_watchdog_after_fork() -> None:
    """A forked child has no watchdog thread, and its lock may have been held mid-fork."""
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog_after_fork)
_local = threading.local()
_active: set[Deadline] = set()
_active_lock = threading.Lock()


def _stack() -> list[Deadline]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def current() -> Deadline | None:
    """The innermost deadline of this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


def abort_all() -> int:
    """Cut every request in flight in this process now; returns how many deadlines fired."""
    with _active_lock:
        deadlines = list(_active)
    for deadline in deadlines:
        deadline.fire()
    return len(deadlines)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


# --- connections that register with the current deadline -----------------------------------


class DeadlineConnectionMixin:
    """Registers the connection with this thread's deadline before each request is sent."""

    def putrequest(self, *args: Any, **kwargs: Any) -> None:
        deadline = current()
        if deadline is not None:
            deadline.register(self)
        super().putrequest(*args, **kwargs)  # type: ignore[misc]


class _DeadlineHTTPConnection(DeadlineConnectionMixin, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(DeadlineConnectionMixin, HTTPSConnection):
    pass


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose connections can be cut by a :class:`Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[attr-defined]
            "http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


# --- a session where every request is bounded ----------------------------------------------


class BoundedSession(requests.Session):
    """Every request: at most ``total_timeout`` seconds in all and ``max_body`` decoded bytes.

    The body is read before ``request`` returns; a streamed response (``stream=True``) is
    served from memory, so the caller's reads cannot outlive the deadline.
    """

    def __init__(self, *, total_timeout: float = DEFAULT_TOTAL,
                 max_body: int = DEFAULT_MAX_BODY) -> None:
        super().__init__()
        self.total_timeout = total_timeout
        self.max_body = max_body
        adapter = DeadlineAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str, url: str,  # type: ignore[override]
                *args: Any, **kwargs: Any) -> requests.Response:
        """As ``requests``, plus ``max_body=`` to lower the cap for this one request.

        Inside an enclosing :class:`Deadline` (a whole task's budget, e.g. one page's
        submission to a witness) the request also ends when that one does."""
        kwargs["stream"] = True
        max_body = min(int(kwargs.pop("max_body", None) or self.max_body), self.max_body)
        outer = current()
        seconds = self.total_timeout
        if outer is not None:
            seconds = max(0.0, min(seconds, outer.remaining()))
        with Deadline(seconds) as deadline:
            kwargs["hooks"] = _capped_first(kwargs.get("hooks"), max_body, deadline)
            try:
                response = super().request(method, url, *args, **kwargs)
                body = read_capped(response, max_body, deadline)
            except requests.RequestException as exc:
                if deadline.expired and not isinstance(exc, BodyTooLarge):
                    raise DeadlineExceeded(
                        f"{url}: no complete answer within {seconds:.3g} s"
                    ) from None
                raise
        _log.info("%s %s -> %d (%d bytes, %.2f s)", method.upper(), url, response.status_code,
                  len(body), seconds - deadline.remaining())
        return response


def _capped_first(hooks: Any, max_body: int, deadline: Deadline) -> dict[str, Any]:
    """The caller's hooks, after one that reads each answer's body under the cap.

    A response hook runs before requests' own redirect handling, which reads a 3xx body
    whole (with ``allow_redirects=False`` too, to prepare ``Response.next``), with no cap
    and unseen by the deadline: a 302 whose body never ended held the run and filled memory
    (the watchdog cannot cut it: the connection has already handed the socket over to a
    response that reads to the end of the stream)."""
    def cap(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        read_capped(response, max_body, deadline)
        return response

    merged: dict[str, Any] = dict(hooks or {})
    theirs = merged.get("response") or []
    merged["response"] = [cap, *([theirs] if callable(theirs) else theirs)]
    return merged


def read_capped(response: requests.Response, max_body: int,
                deadline: Deadline | None = None) -> bytes:
    """Read ``response``'s decoded body into it (``.content``), at most ``max_body`` bytes.

    Raises :class:`BodyTooLarge` past the cap and :class:`DeadlineExceeded` past the deadline
    (checked between reads; the deadline's watchdog cuts a read that blocks).
    """
    if response._content_consumed and isinstance(response._content, bytes):  # read already
        if len(response._content) > max_body:
            raise BodyTooLarge(f"{response.url}: the answer is larger than the "
                               f"{max_body}-byte cap")
        return response._content
    declared = response.headers.get("Content-Length", "")
    encoded = response.headers.get("Content-Encoding", "identity").strip().lower()
    if declared.strip().isdigit() and encoded in ("", "identity") and int(declared) > max_body:
        response.close()
        raise BodyTooLarge(f"{response.url}: the answer declares {int(declared)} bytes, "
                           f"over the {max_body}-byte cap")
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            if deadline is not None and deadline.expired:
                raise DeadlineExceeded(f"{response.url}: still sending at the deadline")
            chunk = response.raw.read(CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_body:
                raise BodyTooLarge(f"{response.url}: the answer is larger than the "
                                   f"{max_body}-byte cap")
            parts.append(chunk)
    except requests.RequestException:  # ours; requests' errors are OSErrors too
        response.close()
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        response.close()
        if deadline is not None and deadline.expired:
            raise DeadlineExceeded(f"{response.url}: still sending at the deadline") from None
        raise requests.exceptions.ChunkedEncodingError(
            f"{response.url}: the answer could not be read ({type(exc).__name__})") from None
    body = b"".join(parts)
    response._content = body  # what .content, .text, .json() and iter_content serve
    response._content_consumed = True
    response.close()
    return body
