"""The evidence store: a folder of immutable, content-addressed files plus the ledger.

Layout (everything below ``root``)::

    ledger.sqlite3        the append-only, hash-chained ledger (see ledger.py)
    ledger.head           last record's seq and hash, to notice records cut from the end
    objects/ab/abcd….ext  every stored file, named by the SHA-256 of its bytes
    tmp/                  half-written files; anything here is garbage from a killed run
    damaged/              objects found altered when the same bytes came again, kept aside

A file is written to ``tmp/``, flushed to disk (``fsync``), then renamed into place and its
folder flushed, so a killed run or a power loss leaves either the whole file or nothing
under ``objects/``. :meth:`Store.put_many` does this for several files at once (a capture's
WARC and text): each file is flushed, then all are renamed, then each folder is flushed
once (on a journalling file system the first folder flush commits every rename, so the
others have less left to do). Because names are hashes, the same bytes stored twice take
one file, and ``check`` can tell any altered byte. Storing bytes whose object exists but
was altered puts the right bytes back (the name says what they must be) and moves the
altered copy to ``damaged/``: nothing is deleted, not even damage.

A store opened with ``writable=False`` (``check``, ``log``, ``export``, ``history``) creates
nothing and needs no write permission, so a write-protected copy handed over as evidence
can be checked as it is. Only a store opened with ``create=True`` may be made where none is.
A write that fails (disk full, quota, read-only disk) is a :class:`StoreError` that says so,
and leaves no half-written file behind.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from provenance.errors import ReadOnlyStore, StoreError
from provenance.store.hashing import CHUNK_SIZE, sha256_bytes, sha256_file

DEFAULT_STORE = "evidence"
DAMAGED = "damaged"  # altered objects moved aside when the right bytes came again
STORE_ENV = "PROVENANCE_STORE"
LEDGER_FILE, HEAD_FILE = "ledger.sqlite3", "ledger.head"

# What a failed write means to the user, by errno: said plainly, never a traceback.
_WRITE_ERRORS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk full (quota exceeded)",
    errno.EFBIG: "file too large for this disk",
    errno.EROFS: "the disk is read-only",
}


_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # evidence is read-only (0444)
_TEMP_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0))
_TEMP_NUMBERS = itertools.count()  # next() on a count is atomic: threads never share a name


def write_failure(exc: OSError, what: str) -> str:
    """One line for a failed write: ``disk full: cannot write <what>`` and the like."""
    plain = _WRITE_ERRORS.get(exc.errno or 0)
    reason = exc.strerror or str(exc)
    return f"{plain}: cannot write {what}" if plain else f"cannot write {what}: {reason}"


def is_store(root: Path) -> bool:
    """Whether ``root`` holds a store (a ledger, its head or stored objects), not just any
    folder: reading commands refuse anything else rather than make a store there."""
    return any((root / name).exists() for name in (LEDGER_FILE, HEAD_FILE, "objects"))


@dataclass(frozen=True)
class HeadCopy:
    """A copy of the ledger head kept apart from the ledger: ``seq`` and ``record_hash`` are
    None if the copy could not be read."""

    name: str
    seq: int | None
    record_hash: str | None


class ObjectMissing(StoreError):
    """The store holds no object under this name (a file gone, an S3 key absent)."""


@dataclass(frozen=True)
class StoredFile:
    """A file in the store, as a ledger record names it."""

    role: str
    path: str  # relative to the store root, with forward slashes
    sha256: str
    size: int

    def to_json(self) -> dict[str, object]:
        return {"role": self.role, "path": self.path, "sha256": self.sha256, "size": self.size}


def resolve_store_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``--store`` wins, then ``$PROVENANCE_STORE``, then ``./evidence``."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


class Store:
    """Opens an evidence store folder.

    ``create``: make the store if the folder holds none (only commands that record do).
    ``writable=False``: read only; nothing is created and no write permission is needed.
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True,
                 writable: bool = True) -> None:
        self.root = Path(root)
        self.writable = writable
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        self._temp_prefix = secrets.token_hex(3) + "-"  # apart from other stores' processes
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"store path {self.root} is a file, not a folder")
        if not create or not writable:
            if not self.root.exists():
                raise StoreError(f"no evidence store at {self.root}: 'provenance --store "
                                 f"{self.root} archive URL' creates one (or give the store "
                                 "you meant with --store DIR or PROVENANCE_STORE)")
            if not is_store(self.root):
                raise StoreError(f"not a provenance store: {self.root}")
        if not writable:
            return
        if not self.root.exists():
            try:
                self.root.mkdir(parents=True)
            except OSError as exc:
                raise StoreError(write_failure(exc, f"store {self.root}")) from None
        for folder in (self.objects, self.tmp):
            if folder.exists() and not folder.is_dir():
                raise StoreError(f"{folder} should be a folder but is a file")
            try:
                folder.mkdir(exist_ok=True)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise ReadOnlyStore(f"store {self.root} is not writable") from None
                raise StoreError(write_failure(exc, f"to store {self.root}")) from None
        if not os.access(self.root, os.W_OK) or not os.access(self.tmp, os.W_OK):
            raise ReadOnlyStore(f"store {self.root} is not writable")

    @property
    def ledger_path(self) -> Path:
        return self.root / LEDGER_FILE

    @property
    def head_path(self) -> Path:
        return self.root / HEAD_FILE

    def holds_evidence(self) -> bool:
        """Whether any object or a ledger head exists: a ledger missing from such a store
        was lost or deleted, and a fresh one must not quietly take its place."""
        if self.head_path.exists():
            return True
        try:
            with os.scandir(self.objects) as entries:
                for entry in entries:
                    if not entry.is_dir(follow_symlinks=False) or _has_entries(entry.path):
                        return True
        except OSError:
            return False
        return False

    def path(self, relative: str) -> Path:
        """The absolute path of a file named in a record (refusing to leave the store)."""
        if not isinstance(relative, str) or "\x00" in relative:
            raise StoreError(f"path {relative!r} is not a file name")
        candidate = (self.root / relative).resolve()
        if self.root.resolve() not in candidate.parents:
            raise StoreError(f"path {relative!r} points outside the store")
        return candidate

    def read_verified(self, entry: Mapping[str, Any], *, limit: int | None = None) -> bytes:
        """The bytes of a stored file named by a record's file entry (``path`` and
        ``sha256``), re-hashed first: the one way to read evidence back. A missing,
        unreadable, oversized or altered file raises :class:`StoreError` (never returned:
        a file that does not match its record is never used)."""
        relative, expected = entry.get("path"), entry.get("sha256")
        if not isinstance(relative, str) or not isinstance(expected, str):
            raise StoreError(f"file entry {dict(entry)!r} names no path and sha256")
        path = self.path(relative)
        try:
            with path.open("rb") as handle:
                data = handle.read() if limit is None else handle.read(limit + 1)
        except OSError as exc:
            raise StoreError(f"cannot read {relative} ({exc.strerror or exc})") from None
        if limit is not None and len(data) > limit:
            raise StoreError(f"{relative} is larger than {limit} bytes")
        if sha256_bytes(data) != expected:
            raise StoreError(f"{relative} was altered (its sha256 is not the record's)")
        return data

    # -- reading objects: the one seam every reader goes through (a team store's objects are
    # not files: provenance.store.backends.objects_s3 reads them from S3 instead) ----------

    @property
    def location(self) -> str:
        """Where the objects are, for messages."""
        return str(self.root)

    def read_object(self, relative: str) -> bytes:
        """The bytes of the stored file ``relative`` as they are (callers compare hashes);
        a missing or unreadable file is an :class:`OSError` or :class:`StoreError`."""
        return self.path(relative).read_bytes()

    def open_object(self, relative: str) -> BinaryIO:
        """A seekable binary handle on the stored file ``relative`` (the caller closes it)."""
        return self.path(relative).open("rb")

    def hash_object(self, relative: str) -> str:
        """The SHA-256 of the stored file ``relative`` as it is now, streamed."""
        return sha256_file(self.path(relative))

    def close(self) -> None:
        """Nothing to release for a folder (a team store drops its scratch folder)."""

    def copy_head(self, seq: int, record_hash: str) -> None:
        """Keep a copy of the ledger head where the ledger's own writers cannot rewrite it
        (a team store's bucket); a folder store has ``ledger.head`` beside its ledger."""

    def head_copies(self) -> Iterator[HeadCopy]:
        """The head copies :meth:`copy_head` kept, oldest first (none in a folder store)."""
        return iter(())

    def object_path(self, sha256: str, suffix: str = "") -> str:
        return f"objects/{sha256[:2]}/{sha256}{suffix}"

    def put_bytes(self, data: bytes, *, role: str, suffix: str = "") -> StoredFile:
        """Store bytes under their hash; storing the same bytes twice is a no-op."""
        return self._put_files([(data, role, suffix)])[0]

    def put_many(self, items: Sequence[tuple[bytes, str, str]]) -> list[StoredFile]:
        """Store several files (``(data, role, suffix)`` each), as :meth:`put_bytes` would
        one by one: when it returns every one is on disk under its final name, and a crash
        before that leaves each either whole under its name or only in ``tmp/``. Cheaper:
        each folder is flushed once, after every rename (see the module docstring)."""
        if type(self).put_bytes is not Store.put_bytes:  # objects that are not files here
            return [self.put_bytes(data, role=role, suffix=suffix)
                    for data, role, suffix in items]
        return self._put_files(items)

    def _put_files(self, items: Sequence[tuple[bytes, str, str]]) -> list[StoredFile]:
        """Write each new file to ``tmp/`` and flush it, rename them all into place, then
        flush each folder that got a name: only then are the names durable, and only then
        may a record name them (a record is appended after this returns)."""
        stored: list[StoredFile] = []
        staged: dict[Path, str] = {}  # target -> its flushed temporary file
        try:
            for data, role, suffix in items:
                digest = sha256_bytes(data)
                relative = self.object_path(digest, suffix)
                target = self.root / relative
                if target not in staged and not self._holds(target, digest):
                    staged[target] = self._write_temp(data, _READ_ONLY)
                stored.append(StoredFile(role, relative, digest, len(data)))
            folders: dict[Path, None] = {}  # each once, in order
            for target in list(staged):
                self._rename(staged[target], target)
                del staged[target]
                folders[target.parent] = None
        finally:
            for temp in staged.values():  # not renamed: a failure on the way
                _unlink_quietly(temp)
        for folder in folders:
            _fsync_dir(folder)
        return stored

    def put_stream(self, stream: BinaryIO, *, role: str, suffix: str = "") -> StoredFile:
        """Store a stream of any size, hashing it while it is copied."""

        temp_path, hexdigest, size = self._spool(stream)
        relative = self.object_path(hexdigest, suffix)
        target = self.root / relative
        if self._holds(target, hexdigest):
            os.unlink(temp_path)
        else:
            self._publish(temp_path, target)
        return StoredFile(role, relative, hexdigest, size)

    def put_file(
        self, source: str | os.PathLike[str], *, role: str, suffix: str = ""
    ) -> StoredFile:
        with open(source, "rb") as handle:
            return self.put_stream(handle, role=role, suffix=suffix)

    def write_atomic(self, target: Path, data: bytes, *, sync_folder: bool = True) -> None:
        """Replace a small mutable file (like ``ledger.head``) in one step.

        The new bytes are flushed before the rename, so the name holds either the old or the
        new bytes whole, never a torn mix. ``sync_folder=False`` leaves the rename itself to
        the file system's next commit: after a power loss the name may still hold the *old*
        bytes (and the new file wait in ``tmp/`` to be cleared). Only for a file that may
        lag, like ``ledger.head`` (see :meth:`provenance.store.ledger.Ledger._write_head`).
        """
        temp_path = self._write_temp(data, stat.S_IRUSR | stat.S_IWUSR)
        try:
            os.replace(temp_path, target)
        except OSError as exc:
            _unlink_quietly(temp_path)
            raise StoreError(write_failure(exc, str(target))) from None
        if sync_folder:
            _fsync_dir(target.parent)

    def clean_temp(self, min_age: float = 3600.0) -> int:
        """Remove what a killed run left half-written; returns how many files.

        Only files older than ``min_age`` seconds go, so a second process writing to the
        same store at the same time never loses a file in flight.
        """
        removed = 0
        now = time.time()
        for leftover in self.tmp.iterdir():
            try:
                if now - leftover.stat().st_mtime < min_age:
                    continue
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
                removed += 1
            except OSError:
                pass
        return removed

    def _spool(self, stream: BinaryIO) -> tuple[str, str, int]:
        """Copy ``stream`` to a temporary file of the store, hashing it on the way: its path
        (the caller publishes or removes it), SHA-256 and size. One pass, bounded memory."""
        digest = hashlib.sha256()
        size = 0
        with self._temp_file() as (handle, temp_path):
            for block in iter(lambda: stream.read(CHUNK_SIZE), b""):
                digest.update(block)
                handle.write(block)
                size += len(block)
        return temp_path, digest.hexdigest(), size

    def _temp_file(self, mode: int = _READ_ONLY) -> _TempFile:
        self._check_writable()
        return _TempFile(self, mode)

    def _check_writable(self) -> None:
        if not self.writable:
            raise StoreError(f"store {self.root} is open read-only")

    def _new_temp(self, mode: int) -> tuple[int, str]:
        """A new file in ``tmp/``, open for writing, with exactly ``mode`` (``fchmod``: the
        umask never adds or keeps a write bit on evidence). Its name is this process's and
        a counter's, so no name is drawn twice (``O_EXCL`` still refuses any that exists:
        another process, or a reused process id)."""
        self._check_writable()
        prefix = f"{self._temp_prefix}{os.getpid()}-"
        for _ in range(100):
            path = f"{self.tmp}{os.sep}{prefix}{next(_TEMP_NUMBERS)}.partial"
            try:
                fd = os.open(path, _TEMP_FLAGS, mode)
            except FileExistsError:
                continue
            except OSError as exc:
                raise StoreError(write_failure(exc, f"to store {self.root}")) from None
            try:
                os.fchmod(fd, mode)
            except OSError as exc:
                os.close(fd)
                _unlink_quietly(path)
                raise StoreError(write_failure(exc, f"to store {self.root}")) from None
            return fd, path
        raise StoreError(f"cannot write to store {self.root}: no free temporary file name")

    def _write_temp(self, data: bytes, mode: int) -> str:
        """``data`` in a new temporary file, flushed to disk (``fsync``) and closed: its
        path. A failed write (disk full) removes the partial file and is a StoreError."""
        fd, path = self._new_temp(mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            _unlink_quietly(path)
            raise StoreError(write_failure(exc, f"to store {self.root}")) from None
        except BaseException:
            os.close(fd)
            _unlink_quietly(path)
            raise
        try:
            os.close(fd)
        except OSError as exc:  # pragma: no cover - a file system that reports only now
            _unlink_quietly(path)
            raise StoreError(write_failure(exc, f"to store {self.root}")) from None
        return path

    def _holds(self, target: Path, digest: str) -> bool:
        """Whether ``target`` exists with exactly the bytes its name promises.

        An altered object is moved to ``damaged/`` (kept for whoever investigates) so the
        caller can put the right bytes back under the name.
        """
        if not target.exists():
            return False
        try:
            if sha256_file(target) == digest:
                return True
        except OSError:
            pass
        try:
            (self.root / DAMAGED).mkdir(exist_ok=True)
            fd, aside = tempfile.mkstemp(dir=self.root / DAMAGED,
                                         prefix=f"{target.name}.{time.strftime('%Y%m%dT%H%M%S')}.")
            os.close(fd)
            os.replace(target, aside)
        except OSError as exc:
            raise StoreError(f"{target} was altered and cannot be moved aside: "
                             f"{write_failure(exc, 'to ' + DAMAGED + '/')}") from None
        return False

    def _publish(self, temp_path: str, target: Path) -> None:
        """Rename a flushed temporary file (created read-only) into place, then flush its
        folder so that the name is durable too."""
        self._rename(temp_path, target)
        _fsync_dir(target.parent)

    def _rename(self, temp_path: str, target: Path) -> None:
        """Move ``temp_path`` to ``target`` (its fan-out folder made, and ``objects/``
        flushed so that the folder's name survives a power loss, on the first miss); on
        failure the temporary file is removed and a StoreError says why."""
        try:
            try:
                os.replace(temp_path, target)
            except FileNotFoundError:
                target.parent.mkdir(exist_ok=True)
                _fsync_dir(target.parent.parent)  # the new folder's own name is durable too
                os.replace(temp_path, target)
        except OSError as exc:
            _unlink_quietly(temp_path)
            raise StoreError(write_failure(exc, str(target))) from None


class _TempFile:
    """A temporary file in the store's tmp folder, flushed to disk before it is renamed.

    A write that fails (disk full, quota, read-only disk) removes the partial file and is
    a :class:`StoreError`; any other error in the block removes it too and goes on as it is.
    """

    def __init__(self, store: Store, mode: int) -> None:
        self.store = store
        self.mode = mode
        self.folder = store.tmp
        self.path = ""

    def __enter__(self) -> tuple[BinaryIO, str]:
        fd, self.path = self.store._new_temp(self.mode)
        self.handle = os.fdopen(fd, "wb")
        return self.handle, self.path

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        failure: OSError | None = exc if isinstance(exc, OSError) else None
        try:
            if exc_type is None:
                self.handle.flush()
                os.fsync(self.handle.fileno())
        except OSError as error:
            failure = error
        finally:
            try:
                self.handle.close()
            except OSError as error:  # a buffered write that fails only now
                failure = failure or error
        if exc_type is None and failure is None:
            return
        _unlink_quietly(self.path)
        if failure is not None and (exc_type is None or failure.errno in _WRITE_ERRORS):
            raise StoreError(write_failure(failure, f"to store {self.folder.parent}")) from None


def _has_entries(folder: str) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is not None


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - some filesystems refuse opening folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
