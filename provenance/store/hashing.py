"""Hashes and canonical bytes: the one place that decides what a hash covers.

Every hash this tool records is lowercase hex SHA-256. Files are hashed in fixed chunks
with ``readinto`` so that a 1 GB WARC costs no more memory than a 1 KB one and runs at
the speed of raw :mod:`hashlib`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, BinaryIO

try:  # a C encoder: check compares every ledger body, and must stay quick on big stores
    from orjson import OPT_SORT_KEYS as _SORT_KEYS
    from orjson import dumps as _sorted_dumps
except ImportError:  # pragma: no cover
    _sorted_dumps = None  # type: ignore[assignment]
    _SORT_KEYS = 0

CHUNK_SIZE = 1 << 20  # 1 MiB: large enough to amortise Python overhead, small enough for cache

RECORD_PREFIX = b"provenance:record:v1\n"
"""Domain separation: a record hash can never be confused with a file or Merkle hash."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> tuple[str, int]:
    """Hash a binary stream to its end; returns ``(hex digest, bytes read)``."""
    digest = hashlib.sha256()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    size = 0
    readinto = getattr(stream, "readinto", None)
    if readinto is None:  # pragma: no cover - every file object we use has readinto
        for block in iter(lambda: stream.read(chunk_size), b""):
            digest.update(block)
            size += len(block)
        return digest.hexdigest(), size
    while True:
        n = readinto(view)
        if not n:
            break
        digest.update(view[:n])
        size += n
    return digest.hexdigest(), size


def sha256_file(path: str | os.PathLike[str], chunk_size: int = CHUNK_SIZE) -> str:
    """Hash a file without reading it into memory."""
    with open(path, "rb", buffering=0) as handle:
        return sha256_stream(handle, chunk_size)[0]


def canonical_json(value: Any) -> bytes:
    """The exact bytes a record hash covers: sorted keys, no spaces, UTF-8.

    For the values this tool records (strings, integers, booleans, null, lists and
    objects; no floats in hashed records) this equals RFC 8785 canonical JSON.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def is_canonical(body: bytes, value: Any) -> bool:
    """Whether ``body`` is exactly :func:`canonical_json` of ``value`` (the body as parsed).
    A body with a key twice, or keys out of order, hashes fine but reads two ways: Python
    keeps the last of two keys, SQLite's JSON functions (the ledger's indexes) the first.
    orjson answers the common case quickly; the exact rule decides every other."""
    if _sorted_dumps is not None:
        try:
            if _sorted_dumps(value, option=_SORT_KEYS) == body:
                return True
        except TypeError:  # orjson's encode error, e.g. an integer past 64 bits
            pass
    try:
        return canonical_json(value) == body
    except (TypeError, ValueError):
        return False


def record_hash(body: bytes) -> str:
    """Hash of one ledger record's canonical body (which includes the previous hash)."""
    return hashlib.sha256(RECORD_PREFIX + body).hexdigest()


_SHA256_HEX = re.compile("[0-9a-f]{64}")


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None

