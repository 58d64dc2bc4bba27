"""``check`` finds every altered byte, missing file and broken link, and nothing else."""

from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.check import check_store
from provenance.ledger import Ledger
from provenance.store import Store


def make_store(root, n=5):
    store = Store(root)
    ledger = Ledger(store)
    for i in range(n):
        text = store.put_bytes(f"потеряли {9861 + i} человек".encode(), role="text",
                               suffix=".txt")
        ledger.append("capture", {"url": f"http://x/{i}", "files": [text.to_json()]},
                      subject=f"http://x/{i}")
    return store, ledger


def problems(store, ledger):
    return [str(p) for p in check_store(store, ledger).problems]


def attack(store, sql, params=()):
    """What someone with sqlite3 and no scruples could do to the ledger file."""
    db = sqlite3.connect(store.ledger_path)
    db.execute("DROP TRIGGER records_are_never_updated")
    db.execute("DROP TRIGGER records_are_never_deleted")
    db.execute(sql, params)
    db.commit()
    db.close()


def test_intact_store_passes(tmp_path):
    store, ledger = make_store(tmp_path)
    report = check_store(store, ledger)
    assert report.intact and report.records == 5 and report.files == 5


def test_changed_byte_in_a_file_is_caught(tmp_path):
    store, ledger = make_store(tmp_path)
    path = store.path(ledger.get(3).files[0]["path"])
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    found = problems(store, ledger)
    assert len(found) == 1
    assert "record 3" in found[0] and "file was altered" in found[0]


def test_deleted_file_is_caught(tmp_path):
    store, ledger = make_store(tmp_path)
    os.unlink(store.path(ledger.get(2).files[0]["path"]))
    assert any("record 2" in p and "missing" in p for p in problems(store, ledger))


def test_changed_ledger_row_is_caught(tmp_path):
    store, ledger = make_store(tmp_path)
    body = ledger.get(2).body.replace("http://x/1", "http://y/1")
    attack(store, "UPDATE records SET body = ? WHERE seq = 2", (body,))
    found = problems(store, ledger)
    assert any("record 2" in p and "altered" in p for p in found)


def test_rehashed_ledger_row_breaks_the_next_link(tmp_path):
    from provenance.hashing import record_hash

    store, ledger = make_store(tmp_path)
    body = ledger.get(2).body.replace("http://x/1", "http://y/1")
    attack(store, "UPDATE records SET body = ?, record_hash = ? WHERE seq = 2",
           (body, record_hash(body.encode())))
    found = problems(store, ledger)
    assert any("record 3" in p and "chain broken" in p for p in found)


def test_removed_row_is_caught(tmp_path):
    store, ledger = make_store(tmp_path)
    attack(store, "DELETE FROM records WHERE seq = 3")
    found = problems(store, ledger)
    assert any("record 4" in p and ("missing" in p or "chain broken" in p) for p in found)


def test_removed_last_row_is_caught(tmp_path):
    store, ledger = make_store(tmp_path)
    attack(store, "DELETE FROM records WHERE seq = 5")
    assert any("removed from the end" in p for p in problems(store, ledger))


def test_reordered_rows_are_caught(tmp_path):
    store, ledger = make_store(tmp_path)
    attack(store, "UPDATE records SET seq = seq + 100 WHERE seq IN (2, 3)")
    db = sqlite3.connect(store.ledger_path)
    db.execute("UPDATE records SET seq = 3 WHERE seq = 102")
    db.execute("UPDATE records SET seq = 2 WHERE seq = 103")
    db.commit()
    db.close()
    found = problems(store, ledger)
    assert found, "a reordering must not pass"
    assert any("chain broken" in p or "differs" in p for p in found)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10_000), bit=st.integers(0, 7))
def test_any_changed_byte_in_any_file_fails_check(tmp_path_factory, position, bit):
    store, ledger = make_store(tmp_path_factory.mktemp("s"), n=2)
    path = store.path(ledger.get(1).files[0]["path"])
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[position % len(data)] ^= 1 << bit
    path.write_bytes(bytes(data))
    assert not check_store(store, ledger).intact


@pytest.mark.parametrize("column,value", [("kind", "verification"), ("subject", "http://evil"),
                                          ("time", "2020-01-01T00:00:00Z")])
def test_indexed_columns_must_agree_with_the_body(tmp_path, column, value):
    store, ledger = make_store(tmp_path)
    attack(store, f"UPDATE records SET {column} = ? WHERE seq = 1", (value,))
    assert any("record 1" in p for p in problems(store, ledger))
