"""``check`` reads the ledger once and hashes files in a pool: the problems it reports, and
their order, are the same as each step run alone over the ledger without a pool, and the
same when the map of files it has seen spills to disk."""

from __future__ import annotations

import functools
import os

from provenance import check
from provenance.check import CHECKERS, check_store
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger
from provenance.store.rows import CheckContext, Checker
from provenance.store.spill import SpillMap


def damaged_store(root):
    """Files named once and many times; some altered, some missing, one WARC-like file
    role named twice; and records whose files repeat far apart."""
    store = Store(root)
    ledger = Ledger(store)
    stored = [store.put_bytes(f"text {i}".encode(), role="text", suffix=".txt")
              for i in range(12)]
    ledger.append_many([("capture", {"url": f"http://x/{i}",
                                     "files": [stored[i % 12].to_json(),
                                               stored[(i * 5) % 12].to_json()]},
                         f"http://x/{i}") for i in range(60)])
    for index in (2, 7):
        path = store.path(stored[index].path)
        path.chmod(0o644)
        path.write_bytes(b"altered")
    os.unlink(store.path(stored[4].path))
    return store, ledger


def alone(store, ledger):
    """Each step on its own, no pool: what ``check`` said before it streamed."""
    ctx = CheckContext(store, ledger)
    return [p for step in CHECKERS for p in step(ctx)]


def test_one_pass_with_a_pool_reports_what_each_step_alone_reports(tmp_path):
    store, ledger = damaged_store(tmp_path)
    report = check_store(store, ledger, workers=4)
    assert report.problems == alone(store, ledger)
    assert {p.what for p in report.problems} == {"file was altered", "file is missing"}
    assert len(report.problems) == 30 and report.files == 12 and report.records == 60


def test_files_seen_spill_to_disk_without_changing_the_report(tmp_path, monkeypatch):
    store, ledger = damaged_store(tmp_path)
    expected = check_store(store, ledger)
    monkeypatch.setattr(check, "SpillMap", functools.partial(SpillMap, limit=3))
    spilled = check_store(store, ledger)
    assert spilled.problems == expected.problems and spilled.files == expected.files == 12


def test_a_pool_that_waits_on_many_files_keeps_their_order(tmp_path, monkeypatch):
    store, ledger = damaged_store(tmp_path)
    monkeypatch.setattr(check, "MAX_PENDING", 1)
    assert check_store(store, ledger, workers=2).problems == alone(store, ledger)


def test_progress_sees_every_row_and_the_total(tmp_path):
    store, ledger = damaged_store(tmp_path)
    seen = []

    def progress(rows, total):
        seen.append(total)
        for row in rows:
            seen.append(row.seq)
            yield row

    assert check_store(store, ledger, progress=progress).records == 60
    assert seen == [60, *range(1, 61)]


def test_spill_map_keeps_every_key_and_value():
    seen = SpillMap(limit=4)
    for i in range(25):
        seen[f"k{i}"] = None if i % 3 else str(i)
    seen["k0"] = "changed"  # entries are only added: the first value stays
    assert len(seen) == 25
    assert [seen.get(f"k{i}", "?") for i in (0, 1, 3, 23)] == ["0", None, "3", None]
    assert "k25" not in seen and seen.get("k25", "?") == "?"


def test_every_step_is_a_streaming_checker():
    assert all(isinstance(step, Checker) for step in CHECKERS)
