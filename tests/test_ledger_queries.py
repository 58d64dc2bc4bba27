"""Every partial read of the ledger is answered by SQL through an index, never by loading
every row into Python: ``log URL``, ``log --kind``, a time range, a capture's witnesses, the
stamps covering a record, a bundle's range of records."""

from __future__ import annotations

import sqlite3

import pytest

from provenance.store.filestore import Store
from provenance.store.ledger import (
    CAPTURE_OF_WITNESS,
    SCHEMA,
    URL_OF_VERIFICATION,
    Ledger,
)

A, B = "http://a.example/", "http://b.example/"


@pytest.fixture
def ledger(tmp_path):
    with Ledger(Store(tmp_path / "ev")) as opened:
        opened.append_many([
            ("capture", {"url": A}, A),                                           # 1
            ("capture", {"url": B}, B),                                           # 2
            ("witness", {"capture_seq": 1, "witness": "ia"}, A),                  # 3
            ("verification", {"against": {"url": A, "seq": 1}}, "f" * 64),        # 4
            ("verification", {"against": {"url": B, "seq": 2}}, "e" * 64),        # 5
            ("timestamp", {"covers": [1, 2], "status": "granted"}, None),         # 6
            ("witness", {"capture_seq": 2, "witness": "ia"}, B),                  # 7
            ("timestamp", {"covers": {"1": 1}, "status": "granted"}, None),       # 8: not a list
        ])
        yield opened


def plan(ledger, sql, params):
    return " ".join(str(row[-1]) for row in ledger._db.execute(f"EXPLAIN QUERY PLAN {sql}",
                                                                  params))


def test_log_about_a_url_reads_its_records_and_the_checks_against_it(ledger):
    assert [r.seq for r in ledger.scan(about=A)] == [1, 3, 4]
    assert [r.seq for r in ledger.scan(["verification"], about=A)] == [4]
    assert [r.seq for r in ledger.scan(["capture", "witness"])] == [1, 2, 3, 7]
    assert [r.seq for r in ledger.scan(batch=3)] == list(range(1, 9))
    assert [r.seq for r in ledger.scan([])] == []


def test_scan_sees_the_ledger_as_it_was_when_called(ledger):
    seen = []
    for record in ledger.scan(batch=2):
        seen.append(record.seq)
        if record.seq == 1:
            ledger.append("capture", {"url": A}, subject=A)
    assert seen == list(range(1, 9))


def test_witnesses_stamps_and_ranges(ledger):
    assert [r.seq for r in ledger.witnesses_of(1)] == [3]
    assert [r.seq for r in ledger.witnesses_of(2)] == [7]
    assert [r.seq for r in ledger.stamps_covering(2)] == [6]
    assert [r.seq for r in ledger.stamps_covering(1)] == [6]  # not 8: its covers is no list
    assert [r.seq for r in ledger.records(first=3, last=5)] == [3, 4, 5]
    assert [r.seq for r in ledger.records(kinds=["timestamp"])] == [6, 8]
    times = [r.time for r in ledger.records()]
    assert [r.seq for r in ledger.records(since=times[0], until="9999")] == list(range(1, 9))
    assert list(ledger.records(until=times[0])) == []


@pytest.mark.parametrize("sql, params, index", [
    ("SELECT seq FROM records WHERE 1 AND subject = ?", (A,), "records_by_about"),
    (f"SELECT seq FROM records WHERE kind = 'verification' AND {URL_OF_VERIFICATION} = ?",
     (A,), "verifications_by_url"),
    (f"SELECT seq FROM records WHERE kind = 'witness' AND {CAPTURE_OF_WITNESS} = ?", (1,),
     "witnesses_by_capture"),
    ("SELECT seq FROM records WHERE kind IN (?)", ("capture",), "records_by_kind"),  # (kind, seq)
    ("SELECT seq FROM records WHERE time >= ? AND time < ?", ("a", "b"), "records_by_time"),
])
def test_each_query_has_an_index_that_fits_it(ledger, sql, params, index):
    assert index in plan(ledger, sql, params)


def test_a_damaged_body_never_breaks_the_indexes_or_the_queries(ledger):
    """A row whose body is not JSON (crafted, or a damaged disk) must not make the ledger
    unwritable nor a query fail: ``check`` is what reports it."""
    ledger._db.execute("INSERT INTO records VALUES (9, 'witness', ?, 't', 'not json', "
                       "'x', 'y')", (A,))
    ledger._db.execute("INSERT INTO records VALUES (10, 'timestamp', NULL, 't', '{', 'x', 'z')")
    assert [r.seq for r in ledger.witnesses_of(1)] == [3]
    assert [r.seq for r in ledger.stamps_covering(1)] == [6]
    ledger.store.head_path.unlink()
    with Ledger(ledger.store) as again:  # indexes created again: no error
        assert again.count() == 10


def test_an_old_ledger_gets_the_indexes_and_a_read_only_one_works_without(tmp_path):
    store = Store(tmp_path / "ev")
    db = sqlite3.connect(store.ledger_path)
    db.executescript(SCHEMA)  # a ledger made before these indexes
    db.close()
    with Ledger(store) as ledger:
        ledger.append("capture", {"url": A}, subject=A)
    db = sqlite3.connect(store.ledger_path)
    db.execute("DROP INDEX records_by_about")
    db.execute("DROP INDEX verifications_by_url")
    db.commit()
    db.close()
    with Ledger(Store(store.root, create=False, writable=False), writable=False) as read:
        assert [r.seq for r in read.scan(about=A)] == [1]
    with Ledger(store) as ledger:
        names = {row[0] for row in ledger._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"records_by_about", "verifications_by_url", "witnesses_by_capture",
            "records_by_time"} <= names
