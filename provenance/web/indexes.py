"""Replay indexes kept for a short while, so a page's resources do not each re-read its WARC.

A replayed page asks for each of its images, style sheets and fonts in a request of its
own, and each request read the whole WARC again, re-hashed it and decoded every response
in it: 100 resources of a 10 MB browser WARC cost about 3 s of CPU, and a team store
downloaded the WARC from object storage 100 times. An index is now kept for
:data:`TTL` seconds under the SHA-256 its record names for the file. It was built from
bytes that hashed to that value (:meth:`Store.read_verified`), so it is that file's index
whatever happens to the file later; once the time is up the file is read and verified
again, so an altered WARC is refused within :data:`TTL` seconds, and never replayed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from provenance.web.replay import WarcIndex

TTL = 60.0
"""Seconds an index is reused: long enough for one page's burst of resource requests."""
MAX_INDEXES = 4
MAX_HELD_BYTES = 256 * 1024 * 1024
"""Decoded bytes all kept indexes may hold (one index holds at most
:data:`provenance.web.replay.MAX_INDEX_BYTES`)."""


class IndexCache:
    """The last few WARC indexes by file SHA-256, each for ``ttl`` seconds (thread-safe:
    the viewer serves requests in threads)."""

    def __init__(self, ttl: float = TTL, most: int = MAX_INDEXES,
                 max_bytes: int = MAX_HELD_BYTES) -> None:
        self.ttl = ttl
        self.most = most
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._held: OrderedDict[str, tuple[float, WarcIndex]] = OrderedDict()

    def index(self, sha256: str, build: Callable[[], WarcIndex]) -> WarcIndex:
        """The index of the file whose recorded hash is ``sha256``; ``build`` (which must
        read the file verified against that hash) makes it when none is held or it is old."""
        now = time.monotonic()
        with self._lock:
            held = self._held.get(sha256)
            if held is not None and now - held[0] < self.ttl:
                self._held.move_to_end(sha256)
                return held[1]
            self._held.pop(sha256, None)
        made = build()  # outside the lock: another page's requests are not held up
        with self._lock:
            self._held[sha256] = (time.monotonic(), made)
            self._held.move_to_end(sha256)
            while len(self._held) > self.most or (
                    len(self._held) > 1 and self._bytes() > self.max_bytes):
                self._held.popitem(last=False)
        return made

    def _bytes(self) -> int:
        return sum(index.size for _, index in self._held.values())
