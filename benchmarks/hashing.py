"""Hashing a large file: ``provenance.store.hashing.sha256_file`` vs raw ``hashlib`` in one run.

Goal: ratio >= 0.9 (ours at least 90 % of raw hashlib's speed).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

from benchmarks.common import best_of, row
from provenance.store.hashing import sha256_file


def _raw_hashlib(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def run(quick: bool = False) -> list[dict[str, Any]]:
    size = (128 if quick else 1024) * 1024 * 1024
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.bin")
        block = os.urandom(1024 * 1024)
        with open(path, "wb") as handle:
            for _ in range(size // len(block)):
                handle.write(block)
        assert sha256_file(path) == _raw_hashlib(path)
        repeats = 2 if quick else 3
        baseline = best_of(repeats, lambda: _raw_hashlib(path))
        ours = best_of(repeats, lambda: sha256_file(path))
    result = row(f"sha256 of a {size >> 20} MiB file", ours, baseline, "s", "ratio >= 0.9")
    result["ok"] = result["ratio"] >= 0.9
    return [result]


if __name__ == "__main__":
    for line in run():
        print(line)
