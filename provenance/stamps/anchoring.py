"""How far the ledger is anchored outside itself: what ``check``'s "intact" can and cannot mean.

Re-deriving every hash proves the store agrees with itself, and nothing more: whoever can
write the store can rewrite the last records, recompute their hashes and ``ledger.head``,
and everything still agrees. Only a time-stamp token, signed by someone else, fixes a record
hash at a time; and because each record's hash chains every earlier one, a verified stamp
over record *n* anchors records 1 to *n*. So ``check`` says which records are anchored,
when the furthest anchor was made and by whom, and which tail rests on this store alone.

A stamp counts only if ``check`` verified it without a single problem (signature, imprint,
Merkle root and proofs, the covered records' hashes, its own record well-formed), and only
up to the first record whose chain link is broken. A stamp checked against the root the TSA
sent, rather than a root the user trusts (``PROVENANCE_TSA_CA``), is said to be so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from provenance.errors import StoreError, TimestampError
from provenance.stamps.timestamp import read_token
from provenance.store.filestore import Store

TIMESTAMP, GRANTED, TOKEN_ROLE = "timestamp", "granted", "timestamp-token"


@dataclass(frozen=True)
class Anchoring:
    """Records ``1..anchored_through`` are fixed by a verified time-stamp made at
    ``anchored_at``; ``anchored_through + 1 .. records`` are not (yet)."""

    records: int
    anchored_through: int = 0
    anchored_at: str | None = None
    tsa_name: str | None = None
    trusted_root: bool = False

    @property
    def unanchored(self) -> tuple[int, int] | None:
        if self.anchored_through >= self.records:
            return None
        return self.anchored_through + 1, self.records

    def to_json(self) -> dict[str, Any]:
        tail = self.unanchored
        return {"anchored_through": self.anchored_through, "anchored_at": self.anchored_at,
                "tsa_name": self.tsa_name, "trusted_root": self.trusted_root,
                "unanchored": None if tail is None else {"first": tail[0], "last": tail[1]}}

    def sentence(self) -> str:
        """One line a reader cannot take for more than it says."""
        if self.records == 0:
            return "the ledger is empty"
        tail = self.unanchored
        if self.anchored_through == 0:
            return ("no record is time-stamped: nothing outside this store shows the ledger "
                    "was not rewritten (stamp with --tsa, or 'provenance retry --tsa URL')")
        root = ("a root you trust" if self.trusted_root
                else "the root the TSA sent; set PROVENANCE_TSA_CA to use one you trust")
        said = (f"{_span(1, self.anchored_through)} time-stamped, last at {self.anchored_at} "
                f"by {self.tsa_name or 'an unnamed TSA'} (checked against {root})")
        if tail is None:
            return said
        return (f"{said}; {_span(*tail)} not yet anchored: only this store vouches for "
                f"{'it' if tail[0] == tail[1] else 'them'}")


def _span(first: int, last: int) -> str:
    return f"record {first}" if first == last else f"records {first}-{last}"


@dataclass(frozen=True)
class StampRow:
    """What anchoring needs of one well-formed ``timestamp`` record."""

    seq: int
    status: str
    last_covered: int | None  # the highest record number it covers (None: it covers none)
    token_path: str | None


def anchoring(store: Store, records: int, stamps: Iterable[StampRow], *,
              verified: set[int], first_broken: int | None,
              trusted_root: bool) -> Anchoring:
    """The furthest record a verified, granted stamp anchors, capped below ``first_broken``
    (the first record whose hash or link does not hold); the token is read again for the
    time and signer it states, never taken from the ledger record."""
    best: tuple[int, str, str | None] | None = None
    limit = records if first_broken is None else first_broken - 1
    for stamp in stamps:
        if stamp.status != GRANTED or stamp.seq not in verified or stamp.last_covered is None:
            continue
        through = min(stamp.last_covered, limit)
        if through <= 0 or (best is not None and through <= best[0]):
            continue
        said = _token_says(store, stamp.token_path)
        if said is not None:
            best = (through, *said)
    if best is None:
        return Anchoring(records)
    return Anchoring(records, best[0], best[1], best[2], trusted_root)


def _token_says(store: Store, path: str | None) -> tuple[str, str | None] | None:
    if path is None:
        return None
    try:
        info = read_token(store.read_object(path))
    except (OSError, StoreError, TimestampError, ValueError):
        return None
    return (info.gen_time, info.tsa_name) if info.gen_time else None
