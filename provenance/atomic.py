"""Files written outside the store (reports, annotated images, bundles) appear whole or not at all.

Each is written to a hidden temporary file beside its target, flushed to disk, then renamed
over the target, so a reader, a crash or Ctrl-C never leaves half a report or half a zip.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO


@contextmanager
def atomic_output(target: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary handle whose bytes replace ``target`` only when the block ends cleanly."""
    name = os.path.abspath(os.fspath(target))
    folder, base = os.path.split(name)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{base}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, name)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def write_atomic(target: str | os.PathLike[str], data: bytes) -> str:
    """Write ``data`` to ``target`` atomically; returns the path as given."""
    with atomic_output(target) as handle:
        handle.write(data)
    return os.fspath(target)
