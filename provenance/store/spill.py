"""A map from text to a small value that keeps at most ``limit`` keys in memory and the
rest in a temporary SQLite file: ``check`` remembers every distinct file it has hashed, and
a ledger of ten million records names tens of millions of files."""

from __future__ import annotations

import sqlite3
from typing import Any

_MISSING = object()


class SpillMap:
    """``key -> str | None``; entries are only added, never changed or removed."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._memory: dict[str, str | None] = {}
        self._db: sqlite3.Connection | None = None
        self._spilled = 0

    def get(self, key: str, default: Any = None) -> Any:
        value = self._memory.get(key, _MISSING)
        if value is _MISSING and self._db is not None:
            found = self._db.execute("SELECT value FROM seen WHERE key = ?", (key,)).fetchone()
            value = found[0] if found is not None else _MISSING
        return default if value is _MISSING else value

    def __contains__(self, key: str) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __setitem__(self, key: str, value: str | None) -> None:
        if key in self:
            return
        self._memory[key] = value
        if len(self._memory) >= self.limit:
            self._spill()

    def __len__(self) -> int:
        return self._spilled + len(self._memory)

    def _spill(self) -> None:
        if self._db is None:
            # "": SQLite's private temporary file, deleted when the connection closes
            self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, value TEXT)")
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen VALUES (?, ?)", self._memory.items())
        self._db.execute("COMMIT")
        self._spilled += len(self._memory)
        self._memory.clear()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __del__(self) -> None:
        self.close()
