"""A real full disk for tests: a 64 KiB tmpfs mounted in a temporary folder, then filled.

Mounting needs root (CI runs as root); where it is refused the test is skipped with the
reason, never passed silently.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def full_tmpfs(folder: Path, keep: dict[str, bytes] | None = None) -> Iterator[Path]:
    """``folder`` as a full 64 KiB tmpfs holding the files ``keep`` (name: bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        for name, data in (keep or {}).items():
            (folder / name).write_bytes(data)
        fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        with pytest.raises(OSError):  # really full
            (folder / "probe").write_bytes(b"x" * 8192)
        (folder / "probe").unlink(missing_ok=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, timeout=30, check=False)


def leftovers(folder: Path) -> list[str]:
    """Temporary files a writer left behind."""
    return sorted(name for name in os.listdir(folder) if name.endswith(".partial"))
