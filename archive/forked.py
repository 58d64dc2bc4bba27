"""Worker processes forked from this one, each talking to it over pairs of pipes.

The one way a pool of ours starts a worker process (text extraction, :mod:`archive.textpool`;
whole captures, :mod:`provenance.capture.procpool`), so that every pool gets the same care:

- the worker runs in a session of its own, so a Ctrl-C at the terminal is the parent's
  alone (the parent decides what to finish and what to cut);
- it keeps none of the parent's file descriptors but its own pipe ends (not the ledger,
  not sockets, not another worker's pipes: a worker holding another's pipe would keep it
  alive), and its stdout is stderr (the parent's stdout, ``--json`` lines, is never its);
- it leaves when its input closes: a parent killed with ``kill -9`` leaves no worker;
- it leaves with ``os._exit``, and never collects the parent's objects (``gc.freeze``): no
  atexit, no finaliser of the parent's objects runs twice (one closing a descriptor number
  the worker has since reused for a file of its own).

Messages are length-prefixed pickles between two processes that are both ours.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

_LENGTH = struct.Struct(">Q")


@dataclass
class Channel:
    """One pair of pipes: ``sink`` to write to the other side, ``source`` to read from it."""

    sink: IO[bytes]
    source: IO[bytes]

    def send(self, value: Any) -> None:
        send(self.sink, value)

    def receive(self) -> Any:
        return receive(self.source)

    def close(self) -> None:
        for stream in (self.sink, self.source):
            try:
                stream.close()
            except OSError:
                pass


Serve = Callable[[Sequence[Channel]], None]  # the worker's body, given its ends of the pipes


class Forked:
    """A worker process forked from this one, running ``serve`` on ``channels`` pipe pairs.

    Fork only while this process runs no other thread: a fork copies every lock as it is,
    and one some other thread held would never be let go in the child."""

    def __init__(self, serve: Serve, channels: int = 1) -> None:
        parent_ends: list[tuple[int, int]] = []  # (write to child, read from child)
        child_ends: list[tuple[int, int]] = []  # (read from parent, write to parent)
        for _ in range(channels):
            from_parent, to_child = os.pipe()
            from_child, to_parent = os.pipe()
            parent_ends.append((to_child, from_child))
            child_ends.append((from_parent, to_parent))
        pid = os.fork()
        if pid == 0:  # the worker: nothing of the parent's but its pipe ends
            try:
                # The parent's objects are never collected here: one left over in a cycle
                # would close its file descriptor, by then perhaps a file of the worker's.
                gc.freeze()
                os.setsid()  # a Ctrl-C at the terminal is the parent's
                os.dup2(2, 1)  # the parent's stdout (--json lines) is never the worker's
                close_all_but(*(fd for pair in child_ends for fd in pair))
                serve([Channel(os.fdopen(write, "wb"), os.fdopen(read, "rb"))
                       for read, write in child_ends])
            finally:
                os._exit(0)  # no atexit, no finaliser of the parent's objects
        for read, write in child_ends:
            os.close(read)
            os.close(write)
        self.pid = pid
        self.channels = [Channel(os.fdopen(write, "wb"), os.fdopen(read, "rb"))
                         for write, read in parent_ends]

    def alive(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def stop(self, *, kill: bool = False, wait: float = 5.0) -> None:
        """Close its pipes (it leaves at the end of its input) and reap it; one still
        there after ``wait`` seconds is killed."""
        if kill:
            self.kill()
        for channel in self.channels:
            channel.close()
        deadline = time.monotonic() + wait
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.alive():
            self.kill()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)


def close_all_but(*keep: int) -> None:
    """Close every file descriptor above stderr but ``keep``."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536)


def send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next message; EOFError when the other side closed (or died) before or inside it."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the other side closed its pipe")
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the message was cut off")
    return pickle.loads(data)  # noqa: S301 - our own processes on both sides
