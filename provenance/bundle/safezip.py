"""Reading a bundle zip that an adversary may have built: every read capped, nothing assumed.

A zip is a list of entries whose names, sizes and flags are all chosen by whoever made it.
:class:`BundleZip` refuses what would let two readers see different bundles (two entries
with one name: ``unzip`` and Python keep different ones), what cannot be checked
(encrypted entries, compression methods other than stored and deflate, bytes no entry
accounts for: :mod:`provenance.bundle.ziplayout`) and what would cost
unbounded memory or time (declared sizes past a cap, compression ratios only a zip bomb
has). Entries are hashed as streams; only small ones (records, tokens, proofs) are read
whole, and never past their cap. Every refusal is a one-line problem, never an exception.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from provenance.bundle.ziplayout import layout_problems

SMALL_LIMIT = 64 << 20  # records, tokens, certificates, proofs, the manifest: far below this
ENTRY_LIMIT = 64 << 30  # one WARC; a bigger declared size is refused before any read
MAX_ENTRIES = 200_000
MAX_RATIO = 200  # deflate tops out near 1032:1 on zeros; real text and JSON stay far below
RATIO_FLOOR = 1 << 20  # small entries may compress as well as they like
CHUNK = 1 << 20
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ENCRYPTED = 0x1


class BundleZip:
    """One bundle zip, opened read-only; :attr:`problems` collects every refusal."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.problems: list[str] = []
        self._zip: zipfile.ZipFile | None = None
        self._entries: dict[str, zipfile.ZipInfo] = {}
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError,
                NotImplementedError, EOFError) as exc:
            self.problems.append(f"not a readable zip file: {_one_line(exc)}")
            return
        if len(infos) > MAX_ENTRIES:
            self.problems.append(f"{len(infos)} entries: more than a bundle has ({MAX_ENTRIES})")
            return
        try:
            with open(path, "rb") as handle:
                self.problems += layout_problems(handle, infos)
        except OSError as exc:
            self.problems.append(f"not a readable zip file: {_one_line(exc)}")
        counts = Counter(info.filename for info in infos)
        for name, n in sorted(counts.items()):
            if n > 1:
                self.problems.append(f"{name}: {n} entries with this name (tools disagree "
                                     "on which one is read)")
        self._collisions(counts)
        for info in infos:
            if counts[info.filename] == 1 and self._acceptable(info):
                self._entries[info.filename] = info

    def _collisions(self, counts: Counter[str]) -> None:
        """Names that differ only in case or Unicode form: ``unzip`` on macOS or Windows
        writes both to one file, so the folder a reader checks is not the zip checked here."""
        folded: dict[str, list[str]] = {}
        for name in counts:
            folded.setdefault(_folded(name), []).append(name)
        for names in folded.values():
            if len(names) > 1:
                self.problems.append(f"{' and '.join(repr(n) for n in sorted(names))}: names "
                                     "that differ only in case or Unicode form (one file "
                                     "where case is ignored: tools disagree on which is read)")

    def _acceptable(self, info: zipfile.ZipInfo) -> bool:
        name = info.filename
        if name.endswith("/"):
            return False  # a folder entry holds nothing
        if not _safe_name(name):
            self.problems.append(f"{name!r}: not a plain relative path inside the bundle")
        elif stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG):
            self.problems.append(f"{name}: not a plain file (a symbolic link or other special "
                                 "entry: unzip would make it point elsewhere)")
        elif info.flag_bits & _ENCRYPTED:
            self.problems.append(f"{name}: encrypted entry (a bundle is never encrypted)")
        elif info.compress_type not in _METHODS:
            self.problems.append(f"{name}: compression method {info.compress_type} "
                                 "(a bundle uses only stored and deflate)")
        elif info.file_size > ENTRY_LIMIT:
            self.problems.append(f"{name}: declares {info.file_size} bytes, past the "
                                 f"{ENTRY_LIMIT >> 30} GiB limit")
        elif (info.file_size > RATIO_FLOOR
              and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            ratio = info.file_size // max(info.compress_size, 1)
            self.problems.append(f"{name}: compressed {ratio}:1 (a zip bomb, not evidence)")
        else:
            return True
        return False

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> BundleZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def names(self) -> set[str]:
        """Names of the entries that can be read (refused ones are in :attr:`problems`)."""
        return set(self._entries)

    @property
    def opened(self) -> bool:
        return self._zip is not None

    def has(self, name: str) -> bool:
        return name in self._entries

    @contextmanager
    def _open(self, name: str) -> Iterator[BinaryIO]:
        assert self._zip is not None
        with self._zip.open(self._entries[name]) as handle:
            yield handle  # type: ignore[misc]

    def read(self, name: str, limit: int = SMALL_LIMIT) -> bytes | None:
        """The whole entry if it is at most ``limit`` bytes and reads cleanly; else None
        and a problem (``missing`` when there is no such readable entry)."""
        info = self._entries.get(name)
        if info is None:
            self.problems.append(f"{name}: missing from the bundle")
            return None
        if info.file_size > limit:
            self.problems.append(f"{name}: {info.file_size} bytes, more than such a file "
                                 f"holds ({limit})")
            return None
        try:
            with self._open(name) as handle:
                data = handle.read(limit + 1)
        except (OSError, zipfile.BadZipFile, ValueError, EOFError, RuntimeError) as exc:
            self.problems.append(f"{name}: unreadable ({_one_line(exc)})")
            return None
        if len(data) > limit:
            self.problems.append(f"{name}: longer than such a file may be")
            return None
        return data

    def sha256(self, name: str) -> str | None:
        """SHA-256 of the entry, streamed (the CRC is checked at its end); None + a problem
        if it is missing or unreadable."""
        if name not in self._entries:
            self.problems.append(f"{name}: missing from the bundle")
            return None
        digest = hashlib.sha256()
        try:
            with self._open(name) as handle:
                for block in iter(lambda: handle.read(CHUNK), b""):
                    digest.update(block)
        except (OSError, zipfile.BadZipFile, ValueError, EOFError, RuntimeError) as exc:
            self.problems.append(f"{name}: unreadable ({_one_line(exc)})")
            return None
        return digest.hexdigest()


def _folded(name: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _safe_name(name: str) -> bool:
    if not name or "\\" in name or not name.isprintable() or name.startswith("/"):
        return False
    return posixpath.normpath(name) == name and not name.startswith("..")


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
