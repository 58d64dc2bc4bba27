"""A run of ``archive -i LIST`` in progress: only an interrupted run of a list resumes.

A daily job captures the same list every day; a run killed half-way (Ctrl-C, ``kill``,
a reboot) should fetch only what it had not captured yet. The ledger alone cannot tell
the two apart (yesterday's capture of a URL looks like one made an hour ago by the killed
run), so a run of a list leaves a marker in the store, ``runs/<key>.json``, keyed by the
list's URLs: it names the run, and each capture of that run carries the run's name in its
ledger record (``batch``). A rerun of the list that finds the marker resumes that run; the
marker is removed when a run finishes (whatever each URL's outcome), so the same list run
again later is captured anew. An unreadable marker starts a new run: that costs fetches,
never evidence.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provenance.store.clock import utc_now
from provenance.store.filestore import Store

RUNS_DIR = "runs"


def list_key(urls: Sequence[str]) -> str:
    """The same set of URLs, in any order, is the same list."""
    return hashlib.sha256("\n".join(sorted(set(urls))).encode("utf-8")).hexdigest()


@dataclass
class ListRun:
    """One run of a URL list: its name, and whether it goes on from an interrupted one."""

    path: Path
    name: str
    resumed: bool

    @classmethod
    def begin(cls, store: Store, urls: Sequence[str], *, again: bool = False) -> ListRun:
        """The interrupted run of this list if there is one (and not ``again``), else a new
        run (its marker written now, before anything is fetched)."""
        key = list_key(urls)
        path = store.root / RUNS_DIR / f"{key}.json"
        try:
            if again:
                raise FileNotFoundError(path)
            name = json.loads(path.read_text(encoding="utf-8"))["run"]
            if isinstance(name, str) and name:
                return cls(path, name, resumed=True)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError):
            pass  # an unreadable marker: a new run, which refetches (never loses) anything
        name = f"list-{key[:12]}-{secrets.token_hex(6)}"
        path.parent.mkdir(exist_ok=True)
        marker = {"run": name, "started_at": utc_now(), "urls": len(set(urls))}
        store.write_atomic(path, json.dumps(marker, sort_keys=True).encode("utf-8"))
        return cls(path, name, resumed=False)

    def finish(self) -> None:
        """The run went through its list: the next run of it starts anew."""
        self.path.unlink(missing_ok=True)
