"""The ledger: append-only, hash-chained, one transaction per write."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from provenance.check import check_store
from provenance.errors import LedgerError
from provenance.store.filestore import Store
from provenance.store.hashing import canonical_json, record_hash
from provenance.store.ledger import GENESIS, Ledger


@pytest.fixture
def ledger(tmp_path):
    with Ledger(Store(tmp_path / "ev")) as opened:
        yield opened


def test_records_chain_to_each_other(ledger):
    first = ledger.append("capture", {"url": "http://a", "n": 1}, subject="http://a")
    second = ledger.append("capture", {"url": "http://b", "n": 2}, subject="http://b")
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.record_hash
    body = json.loads(second.body)
    assert body["prev"] == first.record_hash and body["seq"] == 2
    assert record_hash(canonical_json(body)) == second.record_hash


def test_record_hash_covers_kind_time_and_data(ledger):
    record = ledger.append("capture", {"url": "http://a", "sha256": "00" * 32})
    body = json.loads(record.body)
    for key, value in [("kind", "verify"), ("time", "2022-03-21T14:03:07Z"),
                       ("data", {"url": "http://a", "sha256": "11" * 32})]:
        changed = dict(body, **{key: value})
        assert record_hash(canonical_json(changed)) != record.record_hash


def test_updates_and_deletes_are_refused(ledger):
    ledger.append("capture", {"url": "http://a"})
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ledger._db.execute("UPDATE records SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ledger._db.execute("DELETE FROM records")
    assert ledger.count() == 1


def test_append_many_is_all_or_nothing(ledger):
    ledger.append("capture", {"n": 0})
    with pytest.raises(ValueError):
        ledger.append_many([("capture", {"n": 1}, None), ("capture", {"bad": float("nan")}, None)])
    assert ledger.count() == 1
    assert [r.data["n"] for r in ledger.records()] == [0]


def test_find_by_seq_and_hash_prefix(ledger):
    record = ledger.append("capture", {"url": "http://a"}, subject="http://a")
    assert ledger.find("1") == record
    assert ledger.find(record.id) == record
    assert ledger.find(record.record_hash) == record
    assert ledger.find("zzzzzz") is None
    assert ledger.find("999") is None


def test_head_file_follows_the_last_record(ledger):
    ledger.append("capture", {"n": 1})
    last = ledger.append("capture", {"n": 2})
    assert ledger.read_head() == {"seq": 2, "record_hash": last.record_hash}


def test_a_head_naming_the_last_record_costs_no_second_look_up(ledger):
    """The head is read for every append, and a head naming the last row (seq and hash)
    agrees without looking that row up again (issue 16: one query fewer per commit)."""
    ledger.append("capture", {"n": 1})
    statements: list[str] = []
    ledger._db.set_trace_callback(statements.append)
    ledger.append("capture", {"n": 2})
    ledger._db.set_trace_callback(None)
    assert not [s for s in statements if "WHERE seq = " in s]


@pytest.mark.parametrize("named", ["the last seq, another hash", "the last hash, seq 0"])
def test_a_head_that_names_the_last_record_wrongly_stops_every_write(ledger, named):
    """The shortcut takes only the exact last record: a head with the last seq but another
    hash (the last record rewritten), or the last hash at another seq, stops the write."""
    first = ledger.append("capture", {"n": 1})
    last = ledger.append("capture", {"n": 2})
    head = ({"seq": last.seq, "record_hash": first.record_hash} if named.startswith("the last seq")
            else {"seq": 0, "record_hash": last.record_hash})
    ledger.store.head_path.write_bytes(canonical_json(head) + b"\n")
    with pytest.raises(LedgerError, match="does not hold the record"):
        ledger.append("capture", {"n": 3})
    assert ledger.count() == 2


def test_corrupted_ledger_file_is_one_clear_error(tmp_path):
    store = Store(tmp_path / "ev")
    store.ledger_path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match="damaged or not a provenance ledger"):
        Ledger(store)
    assert store.ledger_path.read_bytes() == b"this is not sqlite" * 100


def test_two_ledgers_on_one_store_keep_one_chain(tmp_path):
    store = Store(tmp_path / "ev")
    with Ledger(store) as one, Ledger(store) as two:
        a = one.append("capture", {"n": 1})
        b = two.append("capture", {"n": 2})
        c = one.append("capture", {"n": 3})
    assert b.prev_hash == a.record_hash and c.prev_hash == b.record_hash


def test_appends_from_many_threads_share_commits_and_each_gets_its_own_records(tmp_path):
    """Group commit: 8 threads appending at once need fewer transactions than appends,
    every call gets back exactly its records, committed, and the chain is one."""
    from concurrent.futures import ThreadPoolExecutor

    from provenance.check import check_store

    store = Store(tmp_path / "ev")
    ledger = Ledger(store)
    commits: list[str] = []
    ledger._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)

    def appends(worker: int) -> list[tuple[int, str, str]]:
        got = []
        for n in range(50):
            pair = ledger.append_many([("note", {"w": worker, "n": n, "part": p}, None)
                                       for p in range(2)])
            assert [r.data["part"] for r in pair] == [0, 1]
            assert pair[1].seq == pair[0].seq + 1  # one call's records stay together
            got += [(r.seq, r.record_hash, json.dumps(r.data, sort_keys=True)) for r in pair]
        return got

    with ThreadPoolExecutor(8) as pool:
        returned = [item for got in pool.map(appends, range(8)) for item in got]
    ledger._db.set_trace_callback(None)
    stored = {r.seq: (r.seq, r.record_hash, json.dumps(r.data, sort_keys=True))
              for r in ledger.records()}
    assert sorted(returned) == sorted(stored.values()) and len(stored) == 800
    assert len(commits) < 400  # some calls went together
    assert ledger.read_head()["seq"] == 800
    assert check_store(store, ledger).intact


def test_a_failed_group_commit_fails_every_call_in_it(tmp_path):
    store = Store(tmp_path / "ev")
    ledger = Ledger(store)
    ledger.append("note", {"n": 0})
    store.head_path.write_text('{"record_hash": "' + "0" * 64 + '", "seq": 1}\n')
    with pytest.raises(LedgerError, match="nothing was recorded"):
        ledger.append("note", {"n": 1})
    assert ledger.count() == 1


def test_grouped_appends_share_one_commit_and_each_returns_committed(tmp_path):
    """Within ``grouped``, appends from several threads wait for each other (up to the
    window) and go in one transaction; each still returns only once its record is
    committed: another connection sees it at once. Alone, an append waits out the window
    and is committed by itself."""
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        ledger.append("note", {"n": -1})
        commits: list[str] = []
        ledger._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT"
                                      else None)
        seen: list[bool] = []

        def work(n: int) -> None:
            record = ledger.append("note", {"n": n})
            with sqlite3.connect(store.ledger_path) as other:
                row = other.execute("SELECT record_hash FROM records WHERE seq = ?",
                                    (record.seq,)).fetchone()
            seen.append(row is not None and row[0] == record.record_hash)

        with ledger.grouped(10.0, 8):
            threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert time.monotonic() - started < 5  # the group was full long before 10 s
            assert seen == [True] * 8 and len(commits) == 1
        with ledger.grouped(0.5, 8):
            started = time.monotonic()
            work(8)  # alone: the window passes, then it is committed by itself
            assert 0.5 <= time.monotonic() - started < 5
        assert len(commits) == 2 and seen[-1]
        started = time.monotonic()
        work(9)  # outside the block: no wait
        assert len(commits) == 3 and time.monotonic() - started < 0.5
        assert check_store(store, ledger).intact
