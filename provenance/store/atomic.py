"""Files written outside the store (reports, annotated images, bundles): whole or not at all,
and only where a user may mean one.

Each is written to a hidden temporary file beside its target, flushed to disk, then moved
into place, so a reader, a crash, Ctrl-C or a full disk never leaves half a report or half
a zip, and never a stray temporary file.

A user-given path is a place to *create* a file, so :func:`check_target` refuses:

* a missing parent folder (it is never created: a typo in a folder name is an error);
* anything there that is not a regular file, looked at with ``lstat``: a symbolic link (a
  rename would replace the link, and a writer that followed it would write elsewhere), a
  FIFO (opening it would block), a device node (as root, ``--report /dev/full`` once
  replaced ``/dev/full``), a socket or a folder;
* an existing regular file, unless ``force`` (the CLI's ``--force``).

Without ``force`` the file is published with ``link()``, which fails if anything appeared
at the target meanwhile, so a refused target is never replaced even in a race.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO

from provenance.errors import OutputError

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV,
                  errno.ENOSYS}


def check_target(target: str | os.PathLike[str], *, force: bool = False) -> str:
    """The absolute path ``target`` may be written at, or :class:`OutputError` saying why not.

    Only ``lstat`` is used: nothing at the target is opened or followed.
    """
    shown = os.fspath(target)
    path = os.path.abspath(shown)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {shown}: folder {folder} does not exist")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return _writable(path, shown)
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    for test, kind in _KINDS:
        if test(mode):
            raise OutputError(f"refusing to write {shown}: it is {kind}, not a regular file")
    if not stat.S_ISREG(mode):  # pragma: no cover - every other kind is listed above
        raise OutputError(f"refusing to write {shown}: it is not a regular file")
    if not force:
        raise OutputError(f"refusing to overwrite {shown}: it exists (--force replaces it)")
    return _writable(path, shown)


def _writable(path: str, shown: str) -> str:
    folder = os.path.dirname(path)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {shown}: folder {folder} is not writable")
    return path


class _Sink(io.BufferedWriter):
    """The temporary file's handle: a failed write (a full disk) is an :class:`OutputError`."""

    def __init__(self, raw: io.FileIO, shown: str) -> None:
        super().__init__(raw)
        self.shown = shown

    def write(self, data: bytes) -> int:  # type: ignore[override]
        try:
            return super().write(data)
        except OSError as exc:
            raise _failed(self.shown, exc) from None

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as exc:
            raise _failed(self.shown, exc) from None

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:  # flushes (zipfile seeks)
        try:
            return super().seek(offset, whence)
        except OSError as exc:
            raise _failed(self.shown, exc) from None


def _failed(shown: str, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {shown}: {exc.strerror or exc}; nothing was written")


@contextmanager
def atomic_output(target: str | os.PathLike[str], *, force: bool = False
                  ) -> Iterator[BinaryIO]:
    """A binary handle whose bytes become ``target`` only when the block ends cleanly.

    The target is checked (:func:`check_target`) before and again when the file is moved
    into place. On any failure the temporary file is removed and the target is untouched.
    """
    shown = os.fspath(target)
    path = check_target(target, force=force)
    folder, base = os.path.split(path)
    try:
        fd, temp = _create_temp(folder, base)
    except OSError as exc:
        raise _failed(shown, exc) from None
    sink = _Sink(io.FileIO(fd, "wb"), shown)
    try:
        yield sink  # type: ignore[misc]
        sink.flush()
        try:
            os.fsync(sink.fileno())
        except OSError as exc:
            raise _failed(shown, exc) from None
        sink.close()
        _publish(temp, path, shown, force=force)
    except BaseException:
        _discard(sink, temp)
        raise
    _sync_folder(folder)


def _create_temp(folder: str, base: str) -> tuple[int, str]:
    """A new temporary file next to the target, created with mode 0666 less the user's
    umask (not mkstemp's 0600): a report, bundle or image is the user's to share, with
    the permissions any file they create gets."""
    flags = (os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0))
    for _ in range(100):
        temp = os.path.join(folder or ".", f".{base}.{secrets.token_hex(6)}.partial")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", folder)


def _discard(sink: _Sink, temp: str) -> None:
    """Remove the temporary file, then close it (a full disk fails the last flush again)."""
    with suppress(FileNotFoundError):
        os.unlink(temp)
    with suppress(Exception):
        sink.close()
    with suppress(Exception):
        sink.raw.close()


def _publish(temp: str, path: str, shown: str, *, force: bool) -> None:
    """Move the finished temporary file to ``path``, never over something refused."""
    if not force:
        try:
            os.link(temp, path)
        except FileExistsError as exc:
            check_target(shown, force=False)  # raises, saying what is there now
            raise _failed(shown, exc) from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise _failed(shown, exc) from None
        else:
            os.unlink(temp)
            return
    check_target(shown, force=force)  # what is there now must still be absent or a file
    try:
        os.replace(temp, path)
    except OSError as exc:
        raise _failed(shown, exc) from None


def _sync_folder(folder: str) -> None:
    """Make the new name durable too (best effort: not every file system allows it)."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(target: str | os.PathLike[str], data: bytes, *, force: bool = False) -> str:
    """Write ``data`` to ``target`` atomically; returns the path as given."""
    with atomic_output(target, force=force) as handle:
        handle.write(data)
    return os.fspath(target)
