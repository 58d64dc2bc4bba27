"""A page's text extracted in worker processes, so that fetching never waits on it.

Extracting a page's text (parsing, trafilatura, our walk) costs several milliseconds of CPU
a page, all of it holding Python's GIL: run in the capture threads, it starves their
fetches, WARC writing and ledger appends, and on a 2-core machine a batch runs at the speed
of one core. A :class:`TextPool` runs the very same :func:`archive.text.extract_text`, with
the same arguments, in ``workers`` processes of their own; the capture thread waits for the
answer without holding the GIL. Same function, same input: the same text.

Each worker answers requests on a pair of pipes (length-prefixed pickles, parent and child
both ours): forked when this process runs no other thread (see :class:`_Worker`), else
``python -m archive.textpool``. It runs in a session of its own, so a Ctrl-C at the
terminal reaches only the parent (which finishes the captures in flight), and it leaves
when its input closes: a parent killed with ``kill -9`` leaves no worker.

Nothing is lost to a worker: one that dies (killed, out of memory) or fails on a page has
that page extracted again in the calling thread, exactly as without a pool (a bug then
raises there as it always did), and a new worker takes its place for the pages after it
(at most :data:`MAX_RESTARTS` times a pool; after that, every page is extracted inline).
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from archive.forked import Forked
from archive.forked import receive as _receive
from archive.forked import send as _send
from archive.text import PageText, extract_text

MAX_RESTARTS = 8  # workers started again after one died, per pool
Pending = Callable[[], PageText]  # waits for, and returns, one page's text


class WorkerGone(Exception):
    """The worker died or answered nonsense: the page is extracted in the calling thread."""


class PageFailed(Exception):
    """Extraction raised in the worker (a bug): the calling thread extracts the page, and
    raises, as without a pool; the worker goes on."""


class _Worker:
    """One worker process; used by one thread at a time.

    Forked from this process when it runs no other thread (the command line, when the pool
    starts): the worker then has everything imported already, where a fresh interpreter
    spends about half a second of CPU importing the parsers. With other threads running (a
    library caller's), a fork could inherit a lock some thread holds, so a fresh
    ``python -m archive.textpool`` is started instead."""

    def __init__(self, fork: bool | None = None) -> None:
        self.pid = 0
        self.stdin: IO[bytes]
        self.stdout: IO[bytes]
        self._process: subprocess.Popen[bytes] | None = None
        self._forked: Forked | None = None
        if fork is None:
            fork = hasattr(os, "fork") and threading.active_count() == 1
        if fork:
            self._fork()
        else:
            self._spawn()

    def _spawn(self) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "archive.textpool"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, start_new_session=True, close_fds=True)
        assert process.stdin is not None and process.stdout is not None
        self._process, self.pid = process, process.pid
        self.stdin, self.stdout = process.stdin, process.stdout

    def _fork(self) -> None:
        forked = Forked(lambda channels: serve(channels[0].source, channels[0].sink))
        self._forked, self.pid = forked, forked.pid
        self.stdin, self.stdout = forked.channels[0].sink, forked.channels[0].source

    def send(self, body: bytes, content_type: str | None, url: str) -> None:
        try:
            _send(self.stdin, (body, content_type, url))
        except (OSError, ValueError) as exc:
            raise WorkerGone(str(exc)) from None

    def receive(self) -> PageText:
        try:
            kind, value = _receive(self.stdout)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            raise WorkerGone(str(exc)) from None
        if kind == "error":
            raise PageFailed(str(value))
        if kind != "text" or not isinstance(value, PageText):
            raise WorkerGone(f"the worker answered {kind}: {value}")
        return value

    def alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        assert self._forked is not None
        return self._forked.alive()

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self, *, kill: bool = False) -> None:
        """Close its pipes (it leaves at the end of its input) and reap it."""
        if self._forked is not None:
            self._forked.stop(kill=kill)
            return
        if kill:
            self.kill()
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass
        assert self._process is not None
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class TextPool:
    """``workers`` extraction processes shared by any number of capture threads."""

    def __init__(self, workers: int, *, fork: bool | None = None) -> None:
        """``fork``: how workers start (None: forked when no other thread runs)."""
        self.size = max(1, workers)
        self._fork = fork
        # None: no worker is left, take the page inline (and wake the next waiter too)
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._lock = threading.Lock()
        self._all: list[_Worker] = []
        self._restarts = 0
        self._closed = False
        for _ in range(self.size):
            self._add()

    def _add(self) -> None:
        try:
            worker = _Worker(self._fork)
        except OSError:
            worker = None  # no process to be had: pages are extracted inline
        with self._lock:
            if worker is not None:
                self._all.append(worker)
            elif not self._all:
                self._idle.put(None)
                return
        if worker is not None:
            self._idle.put(worker)

    def start(self, body: bytes, content_type: str | None, url: str) -> Pending:
        """Give the page to an idle worker (waiting for one if all are busy); the returned
        call waits for its text. The caller must call it, also when it fails meanwhile
        (``try/finally``): until then the worker is the caller's."""
        worker = self._idle.get()
        if worker is None:
            self._idle.put(None)
            return inline(body, content_type, url)
        try:
            worker.send(body, content_type, url)
        except WorkerGone:
            self._replace(worker)
            return inline(body, content_type, url)

        def wait() -> PageText:
            try:
                text = worker.receive()
            except WorkerGone:
                self._replace(worker)
                return extract_text(body, content_type, url)
            except PageFailed:
                self._idle.put(worker)
                return extract_text(body, content_type, url)
            except BaseException:  # interrupted mid-answer: the pipe is out of step
                self._replace(worker)
                raise
            self._idle.put(worker)
            return text

        return wait

    def extract(self, body: bytes, content_type: str | None, url: str) -> PageText:
        """:func:`archive.text.extract_text` of the page, in a worker when one is alive."""
        return self.start(body, content_type, url)()

    def _replace(self, worker: _Worker) -> None:
        worker.stop(kill=True)
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
            again = not self._closed and self._restarts < MAX_RESTARTS
            self._restarts += again
            last = not self._all
        if again:
            self._add()
        elif last:
            self._idle.put(None)

    def close(self) -> None:
        """Stop the workers (each finishes the page it is on); later pages go inline."""
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        self._idle.put(None)
        for worker in workers:
            worker.stop()

    def __enter__(self) -> TextPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def inline(body: bytes, content_type: str | None, url: str) -> Pending:
    """The page's text extracted in the calling thread, when waited for (no pool)."""
    return lambda: extract_text(body, content_type, url)


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker's loop: one page in, its text out, until the parent closes the pipe. An
    exception is answered as such (the parent then extracts the page itself)."""
    while True:
        try:
            body, content_type, url = _receive(source)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("text", extract_text(body, content_type, url))
        except Exception as exc:  # noqa: BLE001 - the parent reproduces it inline
            answer = ("error", f"{type(exc).__name__}: {exc}"[:500])
        _send(sink, answer)


if __name__ == "__main__":
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        os._exit(0)  # noqa: SLF001 - leave without flushing a pipe the parent closed
