"""``check`` finds every altered byte, missing file and broken link, and nothing else."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provenance.check import check_store
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger


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
    from provenance.store.hashing import record_hash

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


# --- issue 9: the end of the ledger, anchoring, crafted records ---------------------------

def forge(store, seq, data, *, kind="capture", subject=None, body_seq=None, replace=False):
    """Write record ``seq`` as an attacker would: a body with a correct hash, chained to the
    row before (dropping the triggers first when a row is replaced)."""
    from provenance.store.hashing import canonical_json, record_hash
    from provenance.store.ledger import GENESIS

    db = sqlite3.connect(store.ledger_path)
    prev = db.execute("SELECT record_hash FROM records WHERE seq = ?", (seq - 1,)).fetchone()
    prev = prev[0] if prev else GENESIS
    body = canonical_json({"v": 1, "seq": seq if body_seq is None else body_seq, "kind": kind,
                           "time": "2024-01-01T00:00:00Z", "subject": subject, "prev": prev,
                           "data": data}).decode()
    digest = record_hash(body.encode())
    if replace:
        db.execute("DROP TRIGGER IF EXISTS records_are_never_updated")
        db.execute("DROP TRIGGER IF EXISTS records_are_never_deleted")
        db.execute("DELETE FROM records WHERE seq = ?", (seq,))
    db.execute("INSERT INTO records (seq, kind, subject, time, body, prev_hash, record_hash)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               (seq, kind, subject, "2024-01-01T00:00:00Z", body, prev, digest))
    db.commit()
    db.close()
    return digest


def write_head(store, seq, digest):
    store.head_path.write_text(json.dumps({"seq": seq, "record_hash": digest}) + "\n")


def test_rewritten_last_record_is_caught_by_the_head(tmp_path):
    store, ledger = make_store(tmp_path)
    text = store.put_bytes(b"a different story", role="text", suffix=".txt")
    forge(store, 5, {"url": "http://x/4", "files": [text.to_json()]}, subject="http://x/4",
          replace=True)
    found = problems(store, ledger)
    assert any("ledger.head" in p and "rewritten" in p for p in found), found


def test_rewritten_last_record_and_head_pass_but_are_not_anchored(tmp_path):
    """Whoever controls the store can rewrite its end and its head: only a time-stamp can
    show it, so without one check must say that nothing anchors the tail."""
    store, ledger = make_store(tmp_path)
    digest = forge(store, 5, {"url": "http://x/4", "files": []}, subject="http://x/4",
                   replace=True)
    write_head(store, 5, digest)
    report = check_store(store, ledger)
    assert report.intact
    assert report.anchoring.anchored_through == 0
    assert report.anchoring.unanchored == (1, 5)
    assert "no record is time-stamped" in report.anchoring.sentence()


def test_rows_deleted_with_the_head_are_caught(tmp_path):
    store, ledger = make_store(tmp_path)
    attack(store, "DELETE FROM records WHERE seq >= 4")
    store.head_path.unlink()
    assert any("head is missing" in p for p in problems(store, ledger))


def test_head_ahead_of_a_rewritten_ledger_refuses_further_writes(tmp_path):
    """A normal write after a truncation would hide it under a fresh head: refused."""
    from provenance.errors import LedgerError

    store, ledger = make_store(tmp_path)
    attack(store, "DELETE FROM records WHERE seq = 5")
    with pytest.raises(LedgerError, match="does not hold the record"):
        ledger.append("capture", {"url": "http://x/9"})
    assert ledger.count() == 4
    assert any("removed from the end" in p for p in problems(store, ledger))


def test_unreadable_head_is_a_problem(tmp_path):
    store, ledger = make_store(tmp_path)
    store.head_path.write_text("[1, 2]")
    assert any("head is unreadable" in p for p in problems(store, ledger))


def test_missing_ledger_is_damage(tmp_path):
    store, ledger = make_store(tmp_path)
    ledger.close()
    store.ledger_path.unlink()
    store.head_path.unlink()
    report = check_store(store, None)
    assert not report.intact
    assert any("ledger is missing" in str(p) for p in report.problems)


def test_time_stamp_anchors_records_up_to_the_last_it_covers(tmp_path, tsa):
    from provenance.stamps.stamping import stamp

    store, ledger = make_store(tmp_path, n=4)
    stamp(ledger, store, [ledger.get(2), ledger.get(3)], [tsa.url], timeout=5)  # record 5
    ledger.append("capture", {"url": "http://x/late"})  # record 6
    report = check_store(store, ledger)
    assert report.intact, report.problems
    anchoring = report.anchoring
    assert (anchoring.anchored_through, anchoring.unanchored) == (3, (4, 6))
    assert anchoring.anchored_at and anchoring.anchored_at.endswith("Z")
    sentence = anchoring.sentence()
    assert sentence.startswith("records 1-3 time-stamped, last at ")
    assert "records 4-6 not yet anchored" in sentence
    assert "the root the TSA sent" in sentence  # no PROVENANCE_TSA_CA: said, not implied


def test_rewriting_a_stamped_record_leaves_nothing_anchored(tmp_path, tsa):
    from provenance.stamps.stamping import stamp

    store, ledger = make_store(tmp_path, n=3)
    stamp(ledger, store, [ledger.get(3)], [tsa.url], timeout=5)  # record 4
    attack(store, "DELETE FROM records WHERE seq = 4")
    digest = forge(store, 3, {"url": "http://x/forged", "files": []}, replace=True)
    write_head(store, 3, digest)
    report = check_store(store, ledger)
    assert report.anchoring.anchored_through == 0  # the stamp went with the rewrite
    # ...and a stamp kept beside a rewritten record does not verify:
    store2, ledger2 = make_store(tmp_path / "b", n=3)
    stamp(ledger2, store2, [ledger2.get(3)], [tsa.url], timeout=5)
    db = sqlite3.connect(store2.ledger_path)
    stamp_row = db.execute("SELECT body FROM records WHERE seq = 4").fetchone()[0]
    db.close()
    attack(store2, "DELETE FROM records WHERE seq = 4")
    forge(store2, 3, {"url": "http://x/forged", "files": []}, replace=True)
    forge(store2, 4, json.loads(stamp_row)["data"], kind="timestamp")
    report = check_store(store2, ledger2)
    assert not report.intact and report.anchoring.anchored_through == 0


def test_a_broken_link_caps_the_anchor(tmp_path, tsa):
    from provenance.stamps.stamping import stamp

    store, ledger = make_store(tmp_path, n=4)
    stamp(ledger, store, [ledger.get(4)], [tsa.url], timeout=5)
    body = ledger.get(2).body.replace("http://x/1", "http://y/1")
    attack(store, "UPDATE records SET body = ? WHERE seq = 2", (body,))
    report = check_store(store, ledger)
    assert not report.intact and report.anchoring.anchored_through == 1


CRAFTED = [
    ("capture", ["a", "list"]),
    ("capture", {"files": {"path": "x"}}),
    ("capture", {"files": ["objects/ab/x.txt"]}),
    ("capture", {"files": [{"path": "objects/x", "sha256": "zz" * 32, "role": "text"}]}),
    ("capture", {"files": [{"path": "a\x00b", "sha256": "ab" * 32, "role": "text"}]}),
    ("capture", {"files": [{"path": ["a"], "sha256": "ab" * 32, "role": "warc"}]}),
    ("timestamp", {"status": "granted", "tsa": "t", "covers": [[1]], "leaves": ["ab" * 32]}),
    ("timestamp", {"status": "granted", "tsa": "t", "covers": [1], "leaves": ["xyz"]}),
    ("timestamp", {"status": "granted", "tsa": "t", "covers": "1", "leaves": None}),
    ("timestamp", {"status": ["granted"], "tsa": "t", "covers": [1], "leaves": ["ab" * 32]}),
    ("timestamp", {"status": "granted", "tsa": "t", "covers": [1], "leaves": ["ab" * 32],
                   "files": [{"path": "objects/t.tsr", "sha256": "ab" * 32,
                              "role": "timestamp-token"}], "merkle_root": 5}),
    ("witness", {"capture_seq": [1], "previous_seq": {"a": 1}}),
    ("witness", {"capture_seq": 1, "previous_seq": [2], "capture_hash": ["x"]}),
    ("witness", ["not", "an", "object"]),
]


@pytest.mark.parametrize("kind,data", CRAFTED)
def test_crafted_hash_consistent_records_are_problems_not_crashes(tmp_path, kind, data):
    store, ledger = make_store(tmp_path, n=2)
    digest = forge(store, 3, data, kind=kind, subject="http://x/0")
    write_head(store, 3, digest)
    report = check_store(store, ledger)
    assert not report.intact
    assert any(p.seq == 3 for p in report.problems), report.problems
    assert not any("could not check" in p.what for p in report.problems), report.problems
    assert report.anchoring.anchored_through == 0


def test_body_seq_as_text_is_a_problem(tmp_path):
    store, ledger = make_store(tmp_path, n=2)
    write_head(store, 3, forge(store, 3, {"url": "u"}, body_seq="3"))
    found = problems(store, ledger)
    assert any("record 3" in p and "'seq'" in p for p in found), found


def test_column_of_the_wrong_type_is_a_problem(tmp_path):
    store, ledger = make_store(tmp_path, n=2)
    attack(store, "UPDATE records SET body = CAST(body AS BLOB) WHERE seq = 2")
    found = problems(store, ledger)
    assert any("record 2" in p and "malformed" in p for p in found), found


def test_a_checker_that_fails_is_reported_not_raised(tmp_path, monkeypatch):
    from provenance import check

    def broken(ctx):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr(check, "CHECKERS", [*check.CHECKERS, broken])
    store, ledger = make_store(tmp_path, n=1)
    report = check_store(store, ledger)
    assert not report.intact
    assert "could not check (broken failed: RuntimeError: boom)" in str(report.problems[-1])


# --- the command: what it refuses, what it says ---------------------------------------------

def listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("command", [["check"], ["log"], ["export", "1", "--out", "OUT"],
                                     ["history", "http://127.0.0.1:9/x", "--to", "none"]])
def test_reading_commands_refuse_a_folder_that_is_not_a_store(tmp_path, capsys, command):
    from provenance.cli.main import main

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"jpeg")
    command = [str(tmp_path / "out.zip") if c == "OUT" else c for c in command]
    assert main(["--store", str(folder), *command]) == 2
    err = capsys.readouterr().err
    assert f"not a provenance store: {folder}" in err and "Traceback" not in err
    assert listing(folder) == ["holiday.jpg"]


def test_check_on_a_store_whose_ledger_was_deleted_says_damaged(tmp_path, capsys):
    from provenance.cli.main import main

    store, ledger = make_store(tmp_path / "ev")
    ledger.close()
    store.ledger_path.unlink()
    store.head_path.unlink()
    before = listing(store.root)
    assert main(["--store", str(store.root), "check"]) == 1
    said = capsys.readouterr()
    assert "ledger is missing" in said.err and "DAMAGED" in said.out
    assert listing(store.root) == before  # check created nothing


def test_writing_into_a_store_whose_ledger_was_deleted_is_refused(tmp_path, capsys):
    """A fresh ledger there would make the next check say "intact" over the loss."""
    from provenance.cli.main import main

    store, ledger = make_store(tmp_path / "ev")
    ledger.close()
    store.ledger_path.unlink()
    store.head_path.unlink()
    assert main(["--store", str(store.root), "archive", "http://127.0.0.1:9/x"]) == 2
    assert "ledger of store" in capsys.readouterr().err
    assert not store.ledger_path.exists()


def test_check_prints_the_anchoring_beside_intact(tmp_path, capsys):
    from provenance.cli.main import main

    store, ledger = make_store(tmp_path / "ev", n=3)
    ledger.close()
    assert main(["--store", str(store.root), "check"]) == 0
    out = capsys.readouterr().out
    assert "intact: 3 records, 3 files verified; no record is time-stamped" in out
    assert main(["--store", str(store.root), "--json", "check"]) == 0
    [summary] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert summary["intact"] is True
    assert summary["anchoring"] == {"anchored_through": 0, "anchored_at": None,
                                    "tsa_name": None, "trusted_root": False,
                                    "unanchored": {"first": 1, "last": 3}}


def test_check_creates_nothing_in_the_store(tmp_path):
    from provenance.cli.main import main

    store, ledger = make_store(tmp_path / "ev", n=2)
    ledger.close()
    for leftover in ("tmp",):
        (store.root / leftover).rmdir()
    before = listing(store.root)
    assert main(["--store", str(store.root), "check"]) == 0
    assert main(["--store", str(store.root), "log"]) == 0
    assert listing(store.root) == before
