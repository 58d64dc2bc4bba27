"""``provenance check``: re-derive everything in the store and report what differs.

Nothing recorded is trusted. For every ledger row the body is re-hashed, the chain link to
the row before is re-checked, the indexed columns are compared with the body, every file a
record names is re-hashed (once per distinct file), every WARC's own digests are
re-checked, and further checkers (timestamps, proofs) registered in ``CHECKERS`` run last.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from provenance.hashing import record_hash, sha256_file
from provenance.ledger import FORMAT_VERSION, GENESIS, Ledger
from provenance.store import Store


@dataclass(frozen=True)
class Problem:
    """One thing that is not as recorded."""

    what: str
    seq: int | None = None
    path: str | None = None
    expected: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"record {self.seq}")
        if self.path:
            where.append(self.path)
        text = (": ".join([", ".join(where), self.what]) if where else self.what)
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"problem": self.what, "seq": self.seq, "path": self.path,
                "expected": self.expected, "found": self.found}


@dataclass
class CheckReport:
    records: int
    files: int
    problems: list[Problem]

    @property
    def intact(self) -> bool:
        return not self.problems


Checker = Callable[[Ledger, Store], Iterator[Problem]]


def check_chain(ledger: Ledger, store: Store) -> Iterator[Problem]:
    """Every row's hash, its link to the row before, and its numbering."""
    prev = GENESIS
    expected_seq = 1
    last_seq = 0
    for seq, kind, subject, time, body, prev_hash, digest in ledger.raw_rows():
        last_seq = seq
        try:
            found = record_hash(body.encode("utf-8"))
        except (AttributeError, UnicodeEncodeError):
            yield Problem("record body is not text", seq)
            continue
        if found != digest:
            yield Problem("record was altered: its hash does not match its content",
                          seq, expected=digest, found=found)
        if seq != expected_seq:
            yield Problem("records missing or out of order", seq,
                          expected=f"seq {expected_seq}", found=f"seq {seq}")
        if prev_hash != prev:
            yield Problem("chain broken: link to the previous record does not match",
                          seq, expected=prev, found=prev_hash)
        try:
            parsed = json.loads(body)
        except ValueError:
            yield Problem("record body is not valid JSON", seq)
        else:
            columns = {"v": FORMAT_VERSION, "seq": seq, "kind": kind, "subject": subject,
                       "time": time, "prev": prev_hash}
            for key, value in columns.items():
                if parsed.get(key) != value:
                    yield Problem(f"record field {key!r} differs from its body", seq,
                                  expected=str(parsed.get(key)), found=str(value))
        prev = digest
        expected_seq = seq + 1
    head = ledger.read_head()
    if head is not None and isinstance(head.get("seq"), int) and head["seq"] > last_seq:
        yield Problem("records were removed from the end of the ledger", None,
                      path="ledger.head", expected=f"at least {head['seq']} records",
                      found=f"{last_seq}")


def _named_files(ledger: Ledger) -> Iterator[tuple[int, dict[str, Any]]]:
    for record in ledger.records():
        for entry in record.files:
            yield record.seq, entry


def check_files(ledger: Ledger, store: Store) -> Iterator[Problem]:
    """Every file a record names exists and still has the recorded hash."""
    seen: dict[str, str | None] = {}
    for seq, entry in _named_files(ledger):
        relative = str(entry.get("path", ""))
        expected = str(entry.get("sha256", ""))
        if relative not in seen:
            try:
                seen[relative] = sha256_file(store.path(relative))
            except OSError:
                seen[relative] = None
        found = seen[relative]
        if found is None:
            yield Problem("file is missing", seq, relative)
        elif found != expected:
            yield Problem("file was altered", seq, relative, expected=expected, found=found)


def check_warcs(ledger: Ledger, store: Store) -> Iterator[Problem]:
    """Each WARC's own block and payload digests, as any WARC tool would check them."""
    checked: set[str] = set()
    for seq, entry in _named_files(ledger):
        relative = str(entry.get("path", ""))
        if entry.get("role") != "warc" or relative in checked:
            continue
        checked.add(relative)
        try:
            path = store.path(relative)
            if not path.exists():
                continue  # already reported by check_files
            from archive.warc import verify_warc

            problems = verify_warc(str(path))
        except OSError as exc:
            yield Problem(f"WARC unreadable: {exc.strerror}", seq, relative)
            continue
        for problem in problems:
            yield Problem(f"WARC digest check failed: {problem}", seq, relative)


CHECKERS: list[Checker] = [check_chain, check_files, check_warcs]


def check_store(store: Store, ledger: Ledger) -> CheckReport:
    problems: list[Problem] = []
    for checker in CHECKERS:
        problems.extend(checker(ledger, store))
    files = len({entry.get("path") for _, entry in _named_files(ledger)})
    return CheckReport(records=ledger.count(), files=files, problems=problems)
