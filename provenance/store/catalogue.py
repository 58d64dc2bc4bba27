"""One page of the ledger for a person browsing it: newest first, filtered, by index.

The web viewer's list of captures must stay quick on a ledger of a million records, so it
never reads the ledger whole (as :meth:`Ledger.records` without filters would): each page is
one query answered by the ``(kind, seq)`` index, paged by seq (keyset, not OFFSET, so the
thousandth page costs what the first does), and what a row shows beside its record (the
witnesses, the time-stamps, whether the page had changed) is three more indexed queries for
the whole page, never one per ledger record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provenance.store.kinds import ALL_KINDS, CAPTURE, CHANGED, WITNESS
from provenance.store.ledger import CAPTURE_OF_WITNESS, Ledger, Record

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class CatalogueQuery:
    """What the list shows: one kind, a URL (or part of one), a ledger-time range
    (``since <= time < until``, RFC 3339 UTC as recorded), and where the page starts."""

    kind: str = CAPTURE
    url: str = ""
    since: str | None = None
    until: str | None = None
    before: int | None = None  # records older than this seq (the next page)
    after: int | None = None  # records newer than this seq (the page before)
    size: int = PAGE_SIZE

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters, without the page bounds."""
        if self.kind not in ALL_KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        clauses, params = ["kind = ?"], [self.kind]
        if self.url:
            escaped = (self.url.replace("\\", "\\\\").replace("%", "\\%")
                       .replace("_", "\\_"))
            clauses.append("subject LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if self.since is not None:
            clauses.append("time >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("time < ?")
            params.append(self.until)
        return " AND ".join(clauses), params


@dataclass
class CatalogueRow:
    """One record of the page and what the list says beside it."""

    record: Record
    witnesses: list[Record] = field(default_factory=list)
    stamps: list[Record] = field(default_factory=list)
    changed: Record | None = None  # the ``changed`` record that ends at this capture


@dataclass
class CataloguePage:
    rows: list[CatalogueRow]
    total: int  # records matching the filters, over all pages
    newer: int | None  # ``after`` for the page before, if there is one
    older: int | None  # ``before`` for the next page, if there is one


def catalogue_page(ledger: Ledger, query: CatalogueQuery) -> CataloguePage:
    """The records of ``query``'s page, newest first, each with its witnesses, time-stamps
    and change; every query is answered by an index."""
    size = max(1, min(query.size, MAX_PAGE_SIZE))
    where, params = query.where()
    if query.after is not None:  # the page before: the oldest ``size`` newer records
        found = ledger.select(f"{where} AND seq > ?", [*params, query.after],
                              limit=size + 1)
        more_newer = len(found) > size
        records = list(reversed(found[:size]))
        more_older = bool(records) and bool(ledger.select(
            f"{where} AND seq < ?", [*params, records[-1].seq], newest_first=True, limit=1))
    else:
        bound = (f"{where} AND seq < ?", [*params, query.before]) if query.before is not None \
            else (where, params)
        found = ledger.select(bound[0], bound[1], newest_first=True, limit=size + 1)
        more_older = len(found) > size
        records = found[:size]
        more_newer = query.before is not None and bool(records) and bool(ledger.select(
            f"{where} AND seq > ?", [*params, records[0].seq], limit=1))
    total = ledger.count_where(where, params)
    rows = annotated(ledger, records)
    return CataloguePage(rows, total,
                         newer=records[0].seq if records and more_newer else None,
                         older=records[-1].seq if records and more_older else None)


def annotated(ledger: Ledger, records: list[Record]) -> list[CatalogueRow]:
    """Each record with its witnesses, time-stamps and change (three indexed queries)."""
    rows = [CatalogueRow(record) for record in records]
    if not rows:
        return rows
    by_seq = {row.record.seq: row for row in rows}
    seqs = sorted(by_seq)
    marks = ",".join("?" * len(seqs))
    for witness in ledger.select(f"kind = '{WITNESS}' AND {CAPTURE_OF_WITNESS} IN ({marks})",
                                 seqs):
        seq = witness.data.get("capture_seq")
        row = by_seq.get(seq) if isinstance(seq, int) else None
        if row is not None:
            row.witnesses.append(witness)
    for stamp in ledger.stamps_covering_any(seqs):  # by the covers table
        if stamp.seq <= seqs[0]:
            continue
        for seq in stamp.data.get("covers") or []:
            if type(seq) is int and seq in by_seq:
                by_seq[seq].stamps.append(stamp)
    subjects = sorted({r.record.subject for r in rows
                       if r.record.kind == CAPTURE and r.record.subject})
    if subjects:
        for change in ledger.select(f"kind = '{CHANGED}' AND subject IN "
                                    f"({','.join('?' * len(subjects))})", subjects):
            to = change.data.get("to")
            seq = to.get("seq") if isinstance(to, dict) else None
            row = by_seq.get(seq) if isinstance(seq, int) else None
            if row is not None:
                row.changed = change
    return rows


def query_plans(ledger: Ledger, query: CatalogueQuery) -> list[str]:
    """The plan of the page's main query (a test checks an index answers it)."""
    where, params = query.where()
    return ledger.plan(f"{where} AND seq < ?", [*params, 1 << 62])
