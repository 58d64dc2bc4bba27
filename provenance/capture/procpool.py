"""A page's whole capture in worker processes: fetch, WARC, text, and its files on disk.

At zero latency a batch capture is CPU-bound, and in one process its capture threads spend
as much time handing Python's GIL to each other around every system call as they spend
working (issue 16). A :class:`CapturePool` forks worker processes (one per core, each
running several threads, so that network waits still overlap), and each page is captured
there in full by the very functions of the threaded path: :func:`archive.capture.capture`,
then :func:`provenance.capture.storing.store_capture`, which writes its two files durably
(flushed, renamed, folders flushed) before it answers. The parent gets back only the data
of the page's record and appends it: the ledger keeps one writer, and a record is still
appended only once its files are durable. Same functions, same inputs: the same record.

The workers are :class:`archive.forked.Forked` processes: a session of their own (Ctrl-C
is the parent's), no file descriptor of the parent's but their pipes, and they leave when
the parent's end closes (``kill -9`` of the parent leaves no worker once the page each
thread holds is done). :meth:`CapturePool.cut` (Ctrl-C in the parent) cuts their fetches
in flight as :func:`archive.deadline.abort_all` cuts the parent's: a page past its fetch is
finished and recorded, one cut is not recorded (reason ``aborted``).

Nothing is lost to a worker: a page whose worker dies (killed, out of memory), or fails
after its fetch (the store refused a file), raises :class:`WorkerGone` and the caller
captures it again in its own thread, exactly as without a pool (an error then raises there
as it always did). A dead worker is not replaced (forking again while threads run is not
safe): its share of pages goes to the others, and with none left every page is captured
in the calling threads.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from archive.capture import capture
from archive.deadline import abort_all
from archive.fetch import Fetcher
from archive.forked import Channel, Forked
from provenance.capture.storing import ABORTED, capture_failure, store_capture
from provenance.store.filestore import Store

_log = logging.getLogger(__name__)  # -v: says that pages are captured in worker processes


class WorkerGone(Exception):
    """No answer for this page from a worker: the caller captures it in its own thread."""


@dataclass(frozen=True)
class Stored:
    """A page whose files are durable in the store: the record to append for it."""

    subject: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    """A page that could not be captured: said as the threaded path says it."""

    error: str
    reason: str


def usable(store: Store) -> bool:
    """Whether a pool can serve this store in this process: a folder store (a team store's
    objects go elsewhere, through its own connections) and a process that runs no other
    thread yet, so that forking copies no lock some thread holds."""
    return type(store) is Store and hasattr(os, "fork") and threading.active_count() == 1


class CapturePool:
    """Worker processes capturing pages into ``store`` with ``fetcher`` (its options, as
    they are: the workers are forks of this process), ``jobs`` pages at once in all."""

    def __init__(self, store: Store, fetcher: Fetcher, jobs: int,
                 processes: int | None = None) -> None:
        jobs = max(1, jobs)
        count = max(1, min(jobs, processes or os.cpu_count() or 1))
        threads = -(-jobs // count)  # each process runs this many pages at once
        self._idle: queue.Queue[Channel | None] = queue.Queue()
        self._lock = threading.Lock()
        self._live = 0  # channels not known dead
        self._closed = False
        self._cut = threading.Event()  # Ctrl-C: no page is started any more
        self.workers: list[Forked] = []
        serve = partial(_serve, store, fetcher)
        for _ in range(count):
            try:
                worker = Forked(serve, channels=threads + 1)  # the last: cut requests
            except OSError:
                break  # no process to be had: pages are captured in the calling threads
            self.workers.append(worker)
            for channel in worker.channels[:-1]:
                self._live += 1
                self._idle.put(channel)
        if not self._live:
            self._idle.put(None)
        _log.info("capturing in %d worker processes, %d pages at once each",
                  len(self.workers), threads)

    def capture(self, url: str, batch: str | None) -> Stored | Failed:
        """Capture ``url`` in a worker (waiting for an idle one); WorkerGone if none can."""
        channel = self._idle.get()
        if channel is None:
            self._idle.put(None)  # wake the next waiter too
            raise WorkerGone("no worker process is left")
        if self._cut.is_set():  # waited for a worker through a Ctrl-C: never started
            self._idle.put(channel)
            return _aborted(url)
        try:
            channel.send((url, batch))
            answer = channel.receive()
        except (OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            self._drop(channel)
            raise WorkerGone(str(exc)) from None
        except BaseException:  # interrupted mid-answer: the pipe is out of step
            self._drop(channel)
            raise
        self._idle.put(channel)
        kind = answer[0]
        if kind == "stored":
            return Stored(answer[1], answer[2])
        if kind == "failed":
            return Failed(answer[1], answer[2])
        raise WorkerGone(f"the worker answered {kind}: {answer[1:]}")  # "redo"

    def _drop(self, channel: Channel) -> None:
        channel.close()
        with self._lock:
            self._live -= 1
            last = self._live == 0
        if last:
            self._idle.put(None)

    def cut(self) -> None:
        """Cut every fetch in flight in the workers (a Ctrl-C): :func:`abort_all` there.
        From now on no page is started: each is answered as cut (reason ``aborted``, not
        recorded), here or in a worker that gets it after the cut."""
        self._cut.set()
        for worker in self.workers:
            try:
                worker.channels[-1].send("cut")
            except (OSError, ValueError):
                pass  # gone already: nothing of its is in flight

    def close(self) -> None:
        """Stop the workers (each finishes the pages it holds); later pages go inline."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._idle.put(None)
        for worker in self.workers:
            worker.stop(wait=30.0)

    def __enter__(self) -> CapturePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _aborted(url: str) -> Failed:
    return Failed(f"aborted: the fetch of {url} was stopped", ABORTED)  # as archive.fetch


def _serve(store: Store, fetcher: Fetcher, channels: Sequence[Channel]) -> None:
    """A worker process: one thread per page channel, one listening for cuts."""
    *pages, control = channels
    cut = threading.Event()
    threads = [threading.Thread(target=_listen, args=(control, cut), daemon=True)]
    threads += [threading.Thread(target=_serve_pages, args=(store, fetcher, channel, cut),
                                 daemon=True) for channel in pages[1:]]
    for thread in threads:
        thread.start()
    _serve_pages(store, fetcher, pages[0], cut)
    for thread in threads:
        thread.join()


def _listen(control: Channel, cut: threading.Event) -> None:
    while True:
        try:
            control.receive()
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            return
        cut.set()  # pages that come after it are not started
        abort_all()


def _serve_pages(store: Store, fetcher: Fetcher, channel: Channel,
                 cut: threading.Event) -> None:
    """Pages in, answers out, until the parent closes the pipe (or is gone)."""
    while True:
        try:
            url, batch = channel.receive()
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            return
        if cut.is_set():
            aborted = _aborted(url)
            answer: tuple[Any, ...] = ("failed", aborted.error, aborted.reason)
        else:
            answer = _capture(store, fetcher, url, batch)
        try:
            channel.send(answer)
        except (OSError, ValueError):
            return


def _capture(store: Store, fetcher: Fetcher, url: str, batch: str | None) -> tuple[Any, ...]:
    try:
        cap = capture(url, fetcher)
    except Exception as exc:  # noqa: BLE001 - one bad page must never end the batch
        return ("failed", *capture_failure(url, exc))
    try:
        return ("stored", cap.result.url, store_capture(store, cap, batch=batch))
    except Exception as exc:  # noqa: BLE001 - the parent does it again, and raises as ever
        return ("redo", f"{type(exc).__name__}: {exc}"[:500])
