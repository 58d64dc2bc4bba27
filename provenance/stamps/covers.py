"""``check`` step: the ``covers`` table against the time-stamp records it is derived from.

The ``covers`` table (:data:`provenance.store.ledger.COVERS_SCHEMA`) only makes queries
quick: which records are unstamped, which stamps cover a record. It is not signed and not
hash-chained, so whoever can write the store can change it. Nothing decides from it alone
that a record is stamped (the queries read the stamp's own record), and this step recomputes
it from every ``timestamp`` record's body, by the triggers' rule
(:func:`provenance.store.ledger.covered_by`), and reports each row missing or added.

Both sides are read in the same order (the ledger by seq, the table by stamp then record),
one stamp at a time, so memory stays flat however many rows there are.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from provenance.store.kinds import TIMESTAMP
from provenance.store.ledger import covered_by
from provenance.store.rows import CheckContext, Checker, Problem, Row

EXAMPLES = 5  # record numbers named in one problem, at most


@dataclass
class _Group:
    """The covers rows of one stamp seq, compared with what its record covers."""

    stamp: int
    expected: set[int]
    seen: set[int] = field(default_factory=set)
    added: list[int] = field(default_factory=list)
    added_count: int = 0

    def take(self, record: int) -> None:
        if record in self.expected:
            self.seen.add(record)
            return
        self.added_count += 1
        if len(self.added) < EXAMPLES:
            self.added.append(record)


def _examples(numbers: list[int], count: int) -> str:
    shown = ", ".join(str(n) for n in sorted(numbers)[:EXAMPLES])
    return shown + (", …" if count > EXAMPLES else "")


class _Covers:
    """Merge the ledger's rows with the ``covers`` rows, stamp by stamp."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        ledger = ctx.ledger
        self.reads_rows = ledger is not None and ledger.has_covers
        self.rows: Iterator[tuple[int, int]] = (ledger.covers_rows() if self.reads_rows
                                                and ledger is not None else iter(()))
        self.ahead: tuple[int, int] | None = next(self.rows, None)
        self.last = 0

    def visit(self, row: Row) -> list[Problem] | tuple[()]:
        self.last = max(self.last, row.seq)
        if row.kind != TIMESTAMP or row.seq < 1:
            return ()
        problems = list(self._before(row.seq))
        problems += self._compare(_Group(row.seq, covered_by(row.document)))
        return problems

    def finish(self) -> Iterator[Problem]:
        """Rows left over: under a seq check read (no time-stamp record), or under a record
        appended while check ran (compared with that record, read by seq)."""
        yield from self._before(self.last + 1)
        while self.ahead is not None:
            stamp = self.ahead[0]
            row = self.ctx.row(stamp)
            if row is not None and row.kind == TIMESTAMP:
                yield from self._compare(_Group(stamp, covered_by(row.document)))
            else:
                yield from self._orphans(stamp)

    def _before(self, seq: int) -> Iterator[Problem]:
        """Rows under a stamp seq below ``seq`` not taken yet: their seq is no time-stamp
        record (each of those was compared when its row came)."""
        while self.ahead is not None and self.ahead[0] < seq:
            yield from self._orphans(self.ahead[0])

    def _take(self, group: _Group) -> None:
        while self.ahead is not None and self.ahead[0] == group.stamp:
            group.take(self.ahead[1])
            self.ahead = next(self.rows, None)

    def _orphans(self, stamp: int) -> Iterator[Problem]:
        group = _Group(stamp, set())
        self._take(group)
        held = self.ctx.row(stamp) is not None
        yield Problem(f"the covers table says this record is the time-stamp of "
                      f"{group.added_count} record(s) ({_examples(group.added, group.added_count)})"
                      + (", but it is no time-stamp record: the table was changed outside "
                         "provenance" if held else ", but the ledger holds no such record: "
                         "a time-stamp record removed, or the table changed outside "
                         "provenance"), stamp)

    def _compare(self, group: _Group) -> Iterator[Problem]:
        self._take(group)
        if group.added_count:
            yield Problem(f"the covers table says this time-stamp record covers "
                          f"{group.added_count} record(s) it does not cover "
                          f"({_examples(group.added, group.added_count)}): the table was "
                          "changed outside provenance", group.stamp)
        lacking = group.expected - group.seen
        if lacking:
            yield Problem(f"the covers table lacks {len(lacking)} record(s) this time-stamp "
                          f"record covers ({_examples(list(lacking), len(lacking))}): the "
                          "table was changed outside provenance, and queries may take them "
                          "for unstamped", group.stamp)


check_covers = Checker("check_covers", _Covers)
"""The ``covers`` table against the time-stamp records (a ledger without it: nothing)."""

__all__ = ["check_covers"]
