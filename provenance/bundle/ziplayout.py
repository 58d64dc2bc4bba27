"""Where every byte of a bundle zip belongs: entries, then their directory, then its end.

``unzip`` and Python read a zip from its central directory at the end; other tools (those
that stream a zip from its start, some scanners and mail filters) read the local entries
one after another. A zip with bytes that no listed entry accounts for (a whole forged zip
put in front of the genuine one, an entry left out of the directory, a comment or data
after the end record) reads as one bundle to the first kind and as another to the second.
:func:`layout_problems` says where such bytes are; a bundle ``provenance export`` writes
has none. Only headers are read, a few dozen bytes per entry.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Sequence
from typing import BinaryIO

_LOCAL, _END = b"PK\x03\x04", b"PK\x05\x06"
_ZIP64_END, _ZIP64_LOCATOR, _DESCRIPTOR = b"PK\x06\x06", b"PK\x06\x07", b"PK\x07\x08"
_HAS_DESCRIPTOR = 0x08
_ZIP64_EXTRA = 0x0001


def layout_problems(handle: BinaryIO, infos: Sequence[zipfile.ZipInfo]) -> list[str]:
    """What in the zip open as ``handle`` belongs to no entry, at most one line."""
    size = handle.seek(0, os.SEEK_END)
    directory = _directory(handle, size)
    if isinstance(directory, str):
        return [directory]
    start, _ = directory
    at = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset != at:
            return [_gap(at, info.header_offset)]
        handle.seek(at)
        header = handle.read(30)
        if len(header) < 30 or header[:4] != _LOCAL:
            return [f"{info.filename!r}: no entry where the zip's directory puts it"]
        flags = struct.unpack_from("<H", header, 6)[0]
        name_length, extra_length = struct.unpack_from("<HH", header, 26)
        handle.seek(at + 30 + name_length)
        extra = handle.read(extra_length)
        at += 30 + name_length + extra_length + info.compress_size
        if flags & _HAS_DESCRIPTOR:
            handle.seek(at)
            signed = handle.read(4) == _DESCRIPTOR
            at += (4 if signed else 0) + (20 if _zip64(extra) else 12)
    return [] if at == start else [_gap(at, start)]


def _directory(handle: BinaryIO, size: int) -> tuple[int, int] | str:
    """Where the central directory starts and ends, or why the end of the zip is not just
    the directory and its end record."""
    if size < 22:
        return "the zip is shorter than its end record"
    handle.seek(size - 22)
    end = handle.read(22)
    if end[:4] != _END or end[20:22] != b"\x00\x00":
        return ("the zip does not end with its end record (a comment or data after it: "
                "a tool may read another directory from there)")
    length, offset = struct.unpack_from("<II", end, 12)
    directory_end = size - 22
    if size >= 42:
        handle.seek(size - 42)
        locator = handle.read(20)
        if locator[:4] == _ZIP64_LOCATOR:
            where = struct.unpack_from("<Q", locator, 8)[0]
            handle.seek(where)
            record = handle.read(56)
            if len(record) < 56 or record[:4] != _ZIP64_END:
                return "the zip's zip64 end record is not where its locator says"
            if where + 12 + struct.unpack_from("<Q", record, 4)[0] != size - 42:
                return "bytes between the zip's zip64 end record and its locator"
            length, offset = struct.unpack_from("<QQ", record, 40)
            directory_end = where
    if offset + length != directory_end:
        return ("the zip's directory is not where its end record says: bytes before or "
                "inside the zip that no entry accounts for (a tool that reads the zip from "
                "its start would see other files)")
    return offset, directory_end


def _gap(first: int, then: int) -> str:
    if then < first:
        return f"zip entries overlap at byte {then} (one entry's bytes read as another's)"
    return (f"bytes {first}-{then - 1} of the zip belong to no entry in its directory (a tool "
            "that reads the zip from its start would see other files)")


def _zip64(extra: bytes) -> bool:
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind == _ZIP64_EXTRA:
            return True
        at += 4 + length
    return False
