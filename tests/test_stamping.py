"""Stamping ledger records: one at once, 1,000 under one Merkle root, pending then retried,
and ``check`` catching every kind of tampering with tokens, proofs and stamped records."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
import requests

from provenance.check import check_store
from provenance.ledger import Ledger
from provenance.stamping import (
    GRANTED,
    PENDING,
    TIMESTAMP,
    check_timestamps,
    open_pending,
    retry_pending_stamps,
    stamp,
    stamps_for,
)
from provenance.store import Store


@pytest.fixture
def session():
    with requests.Session() as http:
        yield http


def make_records(root, n):
    store = Store(root)
    ledger = Ledger(store)
    items = []
    for i in range(n):
        text = store.put_bytes(f"page {i}".encode(), role="text", suffix=".txt")
        items.append(("capture", {"url": f"http://x/{i}", "files": [text.to_json()]},
                      f"http://x/{i}"))
    return store, ledger, ledger.append_many(items)


def problems(store, ledger):
    return [str(p) for p in check_store(store, ledger).problems]


def test_check_timestamps_is_registered():
    from provenance.check import CHECKERS

    assert check_timestamps in CHECKERS


def test_one_record_stamped_directly(tmp_path, tsa, session):
    store, ledger, records = make_records(tmp_path / "s", 1)
    [result] = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    assert result["status"] == GRANTED
    assert result["token"].endswith(".tsr")
    record = ledger.get(result["seq"])
    assert record.kind == TIMESTAMP
    assert record.data["method"] == "record"
    assert record.data["imprint"] == records[0].record_hash  # SHA-256 of the hashed bytes
    assert {f["role"] for f in record.files} == {"timestamp-token", "tsa-certificates"}
    assert stamps_for(ledger, records[0].seq) == [result]
    assert problems(store, ledger) == []


def test_a_thousand_records_one_request(tmp_path, tsa, session):
    store, ledger, records = make_records(tmp_path / "s", 1000)
    results = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    assert tsa.requests == 1
    assert [r["status"] for r in results] == [GRANTED]
    record = ledger.get(results[0]["seq"])
    assert record.data["method"] == "merkle" and record.data["tree_size"] == 1000
    assert problems(store, ledger) == []


def test_several_tsas_one_request_each(tmp_path, tsa, tsa_pki, session):
    from tsaserver import TsaServer

    store, ledger, records = make_records(tmp_path / "s", 3)
    with TsaServer(tsa_pki) as second:
        second.down = True
        results = stamp(ledger, store, records, [tsa.url, second.url], session, timeout=5)
        assert [r["status"] for r in results] == [GRANTED, PENDING]
        assert "503" in results[1]["error"]
        assert tsa.requests == 1 and second.requests == 1
        assert problems(store, ledger) == []  # a pending stamp is not damage
        assert [r.seq for r in open_pending(ledger)] == [results[1]["seq"]]
        assert retry_pending_stamps(ledger, store, session, timeout=5)[0]["status"] == PENDING
        second.down = False
        [retried] = retry_pending_stamps(ledger, store, session, timeout=5)
    assert retried["status"] == GRANTED and retried["tsa"] == second.url
    assert open_pending(ledger) == []
    assert ledger.get(retried["seq"]).data["resolves"] == results[1]["seq"] + 1
    assert {s["status"] for s in stamps_for(ledger, records[0].seq)} == {GRANTED}
    assert problems(store, ledger) == []


def test_unsorted_certificate_set_is_kept_and_checked(tmp_path, tsa, session):
    tsa.unsorted_certs = True
    store, ledger, records = make_records(tmp_path / "s", 4)
    [result] = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    assert result["status"] == GRANTED
    assert ledger.get(result["seq"]).data["verifier"].startswith("openssl ts -verify")
    assert problems(store, ledger) == []


# --- tampering ----------------------------------------------------------------------------

@pytest.fixture
def stamped(tmp_path, tsa, session):
    store, ledger, records = make_records(tmp_path / "s", 5)
    [result] = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    return store, ledger, ledger.get(result["seq"])


def rewrite(store, relative, change):
    path = store.root / relative
    data = bytearray(path.read_bytes())
    change(data)
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))


def flip(at):
    def change(data):
        data[at % len(data)] ^= 0x01
    return change


@pytest.mark.parametrize("role", ["timestamp-token", "merkle-proofs", "tsa-certificates"])
def test_changed_byte_in_stamp_files_is_caught(stamped, role):
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == role)
    rewrite(store, entry["path"], flip(-60))
    found = problems(store, ledger)
    assert any("file was altered" in p and entry["path"] in p for p in found)


def test_token_replaced_and_rehashed_is_caught(stamped, tsa, session):
    """An attacker who swaps in another valid token (for other data) and fixes nothing else."""
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == "timestamp-token")
    other_store, other_ledger, others = make_records(store.root.parent / "other", 2)
    [other] = stamp(other_ledger, other_store, others, [tsa.url], session, timeout=5)
    rewrite(store, entry["path"], lambda d: d.__setitem__(
        slice(None), (other_store.root / other["token"]).read_bytes()))
    found = [str(p) for p in check_timestamps(_ctx(store, ledger))]
    assert any("does not verify" in p for p in found)


def test_proof_edited_is_caught_even_without_file_hashes(stamped):
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == "merkle-proofs")
    proofs = json.loads((store.root / entry["path"]).read_bytes())
    first = proofs["proofs"][2][0]
    proofs["proofs"][2][0] = ("0" if first[0] != "0" else "1") + first[1:]
    rewrite(store, entry["path"], lambda d: d.__setitem__(
        slice(None), json.dumps(proofs).encode()))
    found = [str(p) for p in check_timestamps(_ctx(store, ledger))]
    assert any("inclusion proof 2" in p for p in found)


def test_stamped_record_altered_is_caught(stamped):
    store, ledger, record = stamped
    covered = record.data["covers"][1]
    db = sqlite3.connect(store.ledger_path)
    db.execute("DROP TRIGGER records_are_never_updated")
    body = json.loads(db.execute("SELECT body FROM records WHERE seq=?", (covered,)).fetchone()[0])
    body["data"]["url"] = "http://evil/"
    from provenance.hashing import canonical_json, record_hash

    text = canonical_json(body)
    db.execute("UPDATE records SET body=?, record_hash=? WHERE seq=?",
               (text.decode(), record_hash(text), covered))
    db.commit()
    db.close()
    found = [str(p) for p in check_timestamps(_ctx(store, ledger))]
    assert any("not the record that was time-stamped" in p for p in found)


def test_missing_token_is_caught(stamped):
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == "timestamp-token")
    os.unlink(store.root / entry["path"])
    found = problems(store, ledger)
    assert any("token is missing" in p for p in found)


def _ctx(store, ledger):
    from provenance.check import CheckContext

    return CheckContext(store, ledger)
