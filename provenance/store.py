"""The evidence store: a folder of immutable, content-addressed files plus the ledger.

Layout (everything below ``root``)::

    ledger.sqlite3        the append-only, hash-chained ledger (see ledger.py)
    ledger.head           last record's seq and hash, to notice records cut from the end
    objects/ab/abcd….ext  every stored file, named by the SHA-256 of its bytes
    tmp/                  half-written files; anything here is garbage from a killed run
    damaged/              objects found altered when the same bytes came again, kept aside

A file is written to ``tmp/``, flushed to disk, then renamed into place, so a killed run
leaves either the whole file or nothing under ``objects/``. Because names are hashes, the
same bytes stored twice take one file, and ``check`` can tell any altered byte. Storing bytes
whose object exists but was altered puts the right bytes back (the name says what they must
be) and moves the altered copy to ``damaged/``: nothing is deleted, not even damage.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from provenance.errors import StoreError
from provenance.hashing import CHUNK_SIZE, sha256_bytes, sha256_file

DEFAULT_STORE = "evidence"
DAMAGED = "damaged"  # altered objects moved aside when the right bytes came again
STORE_ENV = "PROVENANCE_STORE"


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
    """Opens (and on first use creates) an evidence store folder."""

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"store path {self.root} is a file, not a folder")
        if not self.root.exists():
            if not create:
                raise StoreError(f"no evidence store at {self.root}")
            try:
                self.root.mkdir(parents=True)
            except OSError as exc:
                raise StoreError(f"cannot create store {self.root}: {exc.strerror}") from None
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        for folder in (self.objects, self.tmp):
            if folder.exists() and not folder.is_dir():
                raise StoreError(f"{folder} should be a folder but is a file")
            try:
                folder.mkdir(exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot write to store {self.root}: {exc.strerror}") from None
        if not os.access(self.root, os.W_OK) or not os.access(self.tmp, os.W_OK):
            raise StoreError(f"store {self.root} is not writable")

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite3"

    @property
    def head_path(self) -> Path:
        return self.root / "ledger.head"

    def path(self, relative: str) -> Path:
        """The absolute path of a file named in a record (refusing to leave the store)."""
        candidate = (self.root / relative).resolve()
        if self.root.resolve() not in candidate.parents:
            raise StoreError(f"path {relative!r} points outside the store")
        return candidate

    def object_path(self, sha256: str, suffix: str = "") -> str:
        return f"objects/{sha256[:2]}/{sha256}{suffix}"

    def put_bytes(self, data: bytes, *, role: str, suffix: str = "") -> StoredFile:
        """Store bytes under their hash; storing the same bytes twice is a no-op."""
        digest = sha256_bytes(data)
        relative = self.object_path(digest, suffix)
        target = self.root / relative
        if not self._holds(target, digest):
            with self._temp_file() as (handle, temp_path):
                handle.write(data)
            self._publish(temp_path, target)
        return StoredFile(role, relative, digest, len(data))

    def put_stream(self, stream: BinaryIO, *, role: str, suffix: str = "") -> StoredFile:
        """Store a stream of any size, hashing it while it is copied."""
        import hashlib

        digest = hashlib.sha256()
        size = 0
        with self._temp_file() as (handle, temp_path):
            for block in iter(lambda: stream.read(CHUNK_SIZE), b""):
                digest.update(block)
                handle.write(block)
                size += len(block)
        hexdigest = digest.hexdigest()
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

    def write_atomic(self, target: Path, data: bytes) -> None:
        """Replace a small mutable file (like ``ledger.head``) in one step."""
        with self._temp_file() as (handle, temp_path):
            handle.write(data)
        os.replace(temp_path, target)
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

    def _temp_file(self) -> _TempFile:
        return _TempFile(self.tmp)

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
                             f"{exc.strerror}") from None
        return False

    def _publish(self, temp_path: str, target: Path) -> None:
        try:
            target.parent.mkdir(exist_ok=True)
            os.chmod(temp_path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # evidence is read-only
            os.replace(temp_path, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StoreError(f"cannot write {target}: {exc.strerror}") from None


class _TempFile:
    """A temporary file in the store's tmp folder, flushed to disk before it is renamed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = ""

    def __enter__(self) -> tuple[BinaryIO, str]:
        try:
            fd, self.path = tempfile.mkstemp(dir=self.folder, suffix=".partial")
        except OSError as exc:
            raise StoreError(
                f"cannot write to store {self.folder.parent}: {exc.strerror}"
            ) from None
        self.handle = os.fdopen(fd, "wb")
        return self.handle, self.path

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.handle.flush()
                os.fsync(self.handle.fileno())
        finally:
            self.handle.close()
            if exc_type is not None and os.path.exists(self.path):
                os.unlink(self.path)


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
