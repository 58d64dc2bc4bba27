"""The ``covers`` table: which record each time-stamp record covers, kept by the database.

* The questions it answers (unstamped records, the stamps of a record, the records a
  resumed run has not stamped yet, the pending stamps to retry) give exactly what the old
  full scans gave, on randomised ledgers full of crafted stamps, in SQLite and PostgreSQL,
  with the table and without it (a ledger opened read-only before it was migrated).
* An older ledger gets the table, its rows and its schema version once, when opened for
  writing; read-only, it is read the old way.
* A forger who changes the table (a row deleted, a row added) is caught by ``check``, and no
  query takes a record for stamped on a covers row's word alone.
"""

from __future__ import annotations

import random
import sqlite3
import uuid

import pytest

from provenance.check import check_store
from provenance.stamps.stamping import (
    MalformedStamp,
    StampData,
    missing_stamps,
    open_pending,
    unstamped,
)
from provenance.store.filestore import Store
from provenance.store.kinds import STAMPED_KINDS
from provenance.store.ledger import SCHEMA_VERSION, Ledger, covered_by

HEX = "ab" * 32
TSAS = ("http://a.tsa", "http://b.tsa")


# --- the old full scans, as they were: the reference ----------------------------------------

def old_parsed(ledger):
    for record in ledger.records(kind="timestamp"):
        try:
            yield record, StampData.parse(record.data)
        except MalformedStamp:
            continue


def old_unstamped(ledger):
    covered: set[int] = set()
    for record in ledger.records(kind="timestamp"):
        covered |= covered_by({"data": record.data})
    return [r.seq for r in ledger.records() if r.kind in STAMPED_KINDS and r.seq not in covered]


def old_stamps_covering(ledger, seq):
    return [r.seq for r in ledger.records(kind="timestamp")
            if seq in covered_by({"data": r.data})]


def old_missing(ledger, records, tsas):
    covered: dict[str, set[int]] = {url: set() for url in tsas}
    for _, parsed in old_parsed(ledger):
        if parsed.tsa in covered:
            covered[parsed.tsa].update(parsed.covers)
    return {url: [r.seq for r in records if r.seq not in covered[url]] for url in tsas}


def old_open_pending(ledger):
    pending = {}
    for record, parsed in old_parsed(ledger):
        if parsed.resolves is not None:
            pending.pop(parsed.resolves, None)
        if parsed.status == "pending":
            pending[record.seq] = record
    return [r.seq for r in pending.values()]


# --- randomised ledgers ----------------------------------------------------------------------

JUNK_COVERS = [2.0, 2.5, "3", True, False, None, [4], {"5": 5}, 10 ** 19, -(10 ** 19),
               10 ** 18 - 1, -1, 0]
JUNK_LISTS = ["1", {"1": 1}, 5, None, []]


def random_items(rng: random.Random, count: int) -> list[tuple[str, dict, str | None]]:
    items: list[tuple[str, dict, str | None]] = []
    stamps: list[int] = []
    for _ in range(count):
        seq = len(items) + 1
        roll = rng.random()
        url = f"http://x.example/{rng.randrange(20)}"
        if roll < 0.35:
            items.append(("capture", {"url": url}, url))
        elif roll < 0.45:
            items.append(("ocr", {"text": "t"}, HEX))
        elif roll < 0.52:
            items.append(("verification", {"against": {"url": url, "seq": 1}}, HEX))
        elif roll < 0.6:
            items.append(("witness", {"capture_seq": rng.randrange(1, seq + 1),
                                      "witness": "ia", "status": "archived"}, url))
        else:
            items.append(("timestamp", random_stamp(rng, seq, stamps), None))
            stamps.append(seq)
    return items


def random_stamp(rng: random.Random, seq: int, stamps: list[int]) -> dict:
    covers: object = rng.sample(range(1, seq + 3), k=min(seq + 2, rng.randrange(1, 8)))
    if rng.random() < 0.2:
        covers = [*covers, *rng.sample(JUNK_COVERS, k=2)]  # type: ignore[misc]
    if rng.random() < 0.1:
        covers = [*covers, *covers]  # type: ignore[misc]
    if rng.random() < 0.07:
        covers = rng.choice(JUNK_LISTS)
    size = len(covers) if isinstance(covers, list) else 1
    data: dict = {"covers": covers, "leaves": [HEX] * size,
                  "status": rng.choice(["granted", "pending", "pending", "untrusted"]),
                  "tsa": rng.choice([*TSAS, "http://c.tsa"]), "resolves": None}
    if rng.random() < 0.05:
        data["leaves"] = ["zz"] * size
    if rng.random() < 0.05:
        data["status"] = rng.choice([5, "weird", None])
    if rng.random() < 0.05:
        data["tsa"] = 7
    if stamps and rng.random() < 0.3:
        data["resolves"] = rng.choice([*stamps, seq, seq + 5, "3", True])
    return data


def questions(ledger: Ledger, rng: random.Random) -> dict[str, object]:
    """Each question, answered by the ledger's own queries."""
    everything = list(ledger.records())
    chosen = rng.sample(everything, k=min(len(everything), 40))
    chosen.sort(key=lambda r: r.seq)
    return {
        "unstamped": [r.seq for r in unstamped(ledger)],
        "uncovered capture/verification": [r.seq for r in ledger.uncovered(
            ["capture", "verification"])],
        "stamps covering": {s: [r.seq for r in ledger.stamps_covering(s)]
                            for s in range(-1, len(everything) + 4)},
        "stamps covering any": [r.seq for r in ledger.stamps_covering_any(
            [r.seq for r in chosen[:7]])],
        "missing": {url: [r.seq for r in rs] for url, rs in
                    missing_stamps(ledger, chosen, TSAS).items()},
        "open pending": [r.seq for r in open_pending(ledger)],
    }


def reference(ledger: Ledger, rng: random.Random) -> dict[str, object]:
    """The same questions, answered by the old full scans."""
    everything = list(ledger.records())
    chosen = rng.sample(everything, k=min(len(everything), 40))
    chosen.sort(key=lambda r: r.seq)
    covering_any: set[int] = set()
    for r in chosen[:7]:
        covering_any.update(old_stamps_covering(ledger, r.seq))
    uncovered = set(old_unstamped(ledger))
    return {
        "unstamped": old_unstamped(ledger),
        "uncovered capture/verification": [
            r.seq for r in everything if r.kind in ("capture", "verification")
            and r.seq in uncovered],
        "stamps covering": {s: old_stamps_covering(ledger, s)
                            for s in range(-1, len(everything) + 4)},
        "stamps covering any": sorted(covering_any),
        "missing": old_missing(ledger, chosen, TSAS),
        "open pending": old_open_pending(ledger),
    }


def covers_problems(store: Store, ledger: Ledger) -> list[str]:
    return [str(p) for p in check_store(store, ledger, workers=1).problems
            if "covers table" in p.what]


@pytest.mark.parametrize("seed", range(6))
def test_the_covers_queries_answer_as_the_old_full_scans(tmp_path, seed):
    rng = random.Random(seed)
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        assert ledger.has_covers
        items = random_items(rng, 120 + 40 * seed)
        for start in range(0, len(items), 17):  # several transactions, as appends come
            ledger.append_many(items[start:start + 17])
        expected = reference(ledger, random.Random(seed))
        assert questions(ledger, random.Random(seed)) == expected
        ledger.has_covers = False  # the same questions without the table (the old SQL)
        assert questions(ledger, random.Random(seed)) == expected
        ledger.has_covers = True
        assert covers_problems(store, ledger) == []


# --- an older ledger --------------------------------------------------------------------------

def make_old(store: Store) -> None:
    """Take the covers table out of a ledger, as ledgers were before it."""
    db = sqlite3.connect(store.ledger_path)
    for trigger in ("stamps_fill_covers", "covers_are_never_updated",
                    "covers_are_never_deleted"):
        db.execute(f"DROP TRIGGER {trigger}")
    db.execute("DROP TABLE covers")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()


def test_an_older_ledger_is_migrated_once_and_read_the_old_way_until_then(tmp_path):
    rng = random.Random(42)
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        ledger.append_many(random_items(rng, 200))
        expected = reference(ledger, random.Random(1))
    make_old(store)
    with Ledger(Store(store.root, create=False, writable=False), writable=False) as read:
        assert not read.has_covers  # read-only: nothing is created
        assert questions(read, random.Random(1)) == expected
        assert list(read.covers_rows()) == []
    db = sqlite3.connect(store.ledger_path)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'covers'"
                      ).fetchone()[0] == 0
    db.close()
    with Ledger(store) as ledger:  # opened for writing: migrated
        assert ledger.has_covers
        assert ledger._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert questions(ledger, random.Random(1)) == expected
        rows = ledger._db.execute("SELECT count(*) FROM covers").fetchone()[0]
        assert rows == sum(len(covered_by({"data": r.data}))
                           for r in ledger.records(kind="timestamp"))
        assert covers_problems(store, ledger) == []
        stamp = ledger.append("timestamp", {"covers": [1, 2], "leaves": [HEX, HEX],
                                            "status": "granted", "tsa": TSAS[0]})
        assert [r.seq for r in ledger.stamps_covering(2)][-1] == stamp.seq
    with Ledger(store) as again:  # once: the second opening finds it done
        assert again._db.execute("SELECT count(*) FROM covers").fetchone()[0] == rows + 2


def test_a_migration_that_fails_leaves_the_ledger_as_it_was(tmp_path, monkeypatch):
    """All or nothing: a backfill that fails (here: a statement that cannot run) leaves no
    table, no trigger and the old version; the ledger still opens and answers, the slower
    way, and the next opening migrates it."""
    import provenance.store.ledger as ledger_module

    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        ledger.append_many(random_items(random.Random(5), 80))
        expected = reference(ledger, random.Random(2))
    make_old(store)
    monkeypatch.setattr(ledger_module, "BACKFILL_COVERS", "INSERT INTO no_such_table VALUES (1)")
    with Ledger(store) as ledger:
        assert not ledger.has_covers
        assert questions(ledger, random.Random(2)) == expected
        names = {row[0] for row in ledger._db.execute("SELECT name FROM sqlite_master")}
        assert not names & {"covers", "covers_by_stamp", "stamps_fill_covers"}
        assert ledger._db.execute("PRAGMA user_version").fetchone()[0] == 0
        ledger.append("timestamp", {"covers": [1]})  # no trigger: nothing half made
    monkeypatch.undo()
    with Ledger(store) as ledger:
        assert ledger.has_covers and (ledger.last().seq, 1) in set(ledger.covers_rows())
        assert questions(ledger, random.Random(2)) == reference(ledger, random.Random(2))


def test_a_record_inserted_by_older_code_still_fills_the_table(tmp_path):
    """The trigger is in the database: whatever inserts a time-stamp record (an older
    provenance, migrate, another tool) fills the table."""
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        ledger.append_many([("capture", {"url": "u"}, "u")] * 3)
        ledger._db.execute(
            "INSERT INTO records VALUES (4, 'timestamp', NULL, 't', ?, 'p', 'h')",
            ('{"data":{"covers":[1,3,3.5,"2"]},"seq":4}',))
        ledger._db.execute("INSERT INTO records VALUES (5, 'timestamp', NULL, 't', '{', 'q', 'i')")
        assert sorted(ledger.covers_rows()) == [(4, 1), (4, 3)]
        assert [r.seq for r in unstamped(ledger)] == [2]


# --- a forger who edits the table -------------------------------------------------------------

@pytest.fixture
def stamped(tmp_path):
    """Captures 1-6; stamp 7 covers 1-3, stamp 8 covers 4; 5 and 6 are unstamped."""
    store = Store(tmp_path / "ev")
    ledger = Ledger(store)
    ledger.append_many([("capture", {"url": f"u{i}"}, f"u{i}") for i in range(1, 7)])
    ledger.append("timestamp", {"covers": [1, 2, 3], "leaves": [HEX] * 3, "status": "pending",
                                "tsa": TSAS[0]})
    ledger.append("timestamp", {"covers": [4], "leaves": [HEX], "status": "pending",
                                "tsa": TSAS[0]})
    ledger._db.execute("DROP TRIGGER covers_are_never_deleted")  # as a forger would
    yield store, ledger
    ledger.close()


def test_the_table_refuses_updates_and_deletes(tmp_path):
    with Ledger(Store(tmp_path / "ev")) as ledger:
        ledger.append_many([("capture", {}, None),
                            ("timestamp", {"covers": [1]}, None)])
        for statement in ("UPDATE covers SET record_seq = 5", "DELETE FROM covers"):
            with pytest.raises(sqlite3.DatabaseError, match="derived from the ledger"):
                ledger._db.execute(statement)


def test_a_covers_row_deleted_by_hand_is_caught_by_check(stamped):
    store, ledger = stamped
    assert covers_problems(store, ledger) == []
    ledger._db.execute("DELETE FROM covers WHERE record_seq = 2")
    problems = covers_problems(store, ledger)
    assert problems == ["record 7: the covers table lacks 1 record(s) this time-stamp record "
                        "covers (2): the table was changed outside provenance, and queries "
                        "may take them for unstamped"]
    assert not check_store(store, ledger, workers=1).intact


@pytest.mark.parametrize("stamp_seq, says", [
    (7, "record 7: the covers table says this time-stamp record covers 1 record(s) it does "
        "not cover (5)"),
    (8, "record 8: the covers table says this time-stamp record covers 1 record(s) it does "
        "not cover (5)"),
    (6, "record 6: the covers table says this record is the time-stamp of 1 record(s) (5), "
        "but it is no time-stamp record"),
    (99, "record 99: the covers table says this record is the time-stamp of 1 record(s) (5), "
         "but the ledger holds no such record"),
    (-3, "record -3: the covers table says this record is the time-stamp of 1 record(s) (5)"
         ", but the ledger holds no such record"),
])
def test_a_covers_row_added_by_hand_is_caught_and_trusted_by_no_query(stamped, stamp_seq,
                                                                        says):
    store, ledger = stamped
    ledger._db.execute("INSERT INTO covers VALUES (5, ?)", (stamp_seq,))
    problems = covers_problems(store, ledger)
    assert len(problems) == 1 and problems[0].startswith(says), problems
    # No query takes record 5 for stamped on the row's word: the stamp's own record decides.
    assert [r.seq for r in ledger.stamps_covering(5)] == []
    assert [r.seq for r in ledger.stamps_covering_any([5, 6])] == []
    assert missing_stamps(ledger, [ledger.get(5)], TSAS[:1]) == {TSAS[0]: [ledger.get(5)]}
    if stamp_seq not in (7, 8):  # a row naming no time-stamp record counts for nothing
        assert [r.seq for r in unstamped(ledger)] == [5, 6]


def test_a_stamp_appended_while_check_runs_is_not_taken_for_a_forgery(stamped):
    """Rows under a stamp check did not read (appended after it started) are compared with
    that stamp's record, read by seq."""
    from provenance.stamps.covers import _Covers
    from provenance.store.rows import CheckContext

    store, ledger = stamped
    ctx = CheckContext(store, ledger)
    visitor = _Covers(ctx)
    rows = list(ctx.rows)
    ledger.append("timestamp", {"covers": [5, 6], "leaves": [HEX] * 2, "status": "pending",
                                "tsa": TSAS[0]})
    said = [p for row in rows for p in visitor.visit(row)] + list(visitor.finish())
    assert said == []


# --- PostgreSQL: the same table, the same answers ---------------------------------------------

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
from provenance.store.backends.postgres import APPEND_VERSION  # noqa: E402


@pytest.fixture
def team(cluster, tmp_path):
    from provenance.store.backends import open_team

    db = cluster.create_database(f"c{uuid.uuid4().hex[:12]}")
    objects = str(tmp_path / "objects")
    store, ledger = open_team(db, objects, write=True)
    yield db, objects, store, ledger
    ledger.close()
    store.close()


def _pgserver_missing() -> str | None:
    import pgserver

    return pgserver.missing()


needs_pg = pytest.mark.skipif(_pgserver_missing() is not None, reason="no PostgreSQL")


@needs_pg
@pytest.mark.parametrize("seed", range(3))
def test_postgresql_answers_as_sqlite_and_as_the_old_scans(team, tmp_path, seed):
    _, _, store, remote = team
    rng = random.Random(100 + seed)
    items = random_items(rng, 150)
    with Ledger(Store(tmp_path / "local")) as local:
        for start in range(0, len(items), 23):
            local.append_many(items[start:start + 23])
            remote.append_many(items[start:start + 23])
        assert remote.has_covers
        expected = reference(local, random.Random(seed))
        assert questions(local, random.Random(seed)) == expected
        assert questions(remote, random.Random(seed)) == expected
        assert sorted(remote.covers_rows()) == sorted(local.covers_rows())
        remote.has_covers = False  # without the table: the fallback SQL
        assert questions(remote, random.Random(seed)) == expected
        remote.has_covers = True
        assert covers_problems(store, remote) == []


def _make_old_pg(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("DROP TRIGGER records_fill_covers ON records")
        conn.execute("DROP TABLE covers")
        conn.execute("DROP TABLE ledger_schema")
        conn.execute("DROP FUNCTION provenance_fill_covers()")
        conn.execute("DROP FUNCTION provenance_covers_of(TEXT)")


@needs_pg
def test_an_older_team_ledger_is_migrated_by_its_owner_and_read_by_a_reporter(team, cluster):
    from provenance.store.backends import open_team

    db, objects, store, ledger = team
    ledger.append_many(random_items(random.Random(7), 120))
    expected = reference(ledger, random.Random(3))
    _make_old_pg(db)
    role = f"reporter_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT ON records TO {role}")
        conn.execute(f"GRANT SELECT, UPDATE ON ledger_head TO {role}")
    reporter = db.replace(f"{cluster.superuser}@", f"{role}@")
    rstore, rledger = open_team(reporter, objects, write=True)
    try:  # a reporter cannot migrate: it reads the old way, and appends as before
        assert not rledger.has_covers
        assert questions(rledger, random.Random(3)) == expected
        rledger.append("note", {"by": "reporter"})
    finally:
        rledger.close()
        rstore.close()
    ostore, owner = open_team(db, objects, write=True)  # the owner opens it: migrated
    try:
        assert owner.has_covers
        assert questions(owner, random.Random(3)) == reference(owner, random.Random(3))
        assert covers_problems(ostore, owner) == []
    finally:
        owner.close()
        ostore.close()
    with psycopg.connect(db, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM ledger_schema").fetchone()[0] == APPEND_VERSION
    rstore, rledger = open_team(reporter, objects, write=True)
    try:  # not granted SELECT on covers: still the old way; its stamps still fill the table
        assert not rledger.has_covers
        stamp = rledger.append("timestamp", {"covers": [1, 2], "leaves": [HEX] * 2,
                                             "status": "pending", "tsa": TSAS[0]})
    finally:
        rledger.close()
        rstore.close()
    with psycopg.connect(reporter, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO covers VALUES (5, %s)", (stamp.seq,))
    rstore, rledger = open_team(reporter, objects, write=True)
    try:  # a temporary table of the reporter's named covers does not catch the trigger's rows
        rledger._conn.execute("CREATE TEMPORARY TABLE covers (record_seq BIGINT, "
                              "stamp_seq BIGINT, PRIMARY KEY (record_seq, stamp_seq))")
        decoy = rledger.append("timestamp", {"covers": [3], "leaves": [HEX],
                                             "status": "pending", "tsa": TSAS[0]})
        assert rledger._conn.execute("SELECT count(*) FROM pg_temp.covers").fetchone() == (0,)
    finally:
        rledger.close()
        rstore.close()
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"GRANT SELECT ON covers TO {role}")
        assert conn.execute("SELECT record_seq FROM covers WHERE stamp_seq = %s ORDER BY 1",
                            (stamp.seq,)).fetchall() == [(1,), (2,)]
        assert conn.execute("SELECT record_seq FROM covers WHERE stamp_seq = %s",
                            (decoy.seq,)).fetchall() == [(3,)]
    rstore, rledger = open_team(reporter, objects, write=False)
    try:
        assert rledger.has_covers
        assert stamp.seq in [r.seq for r in rledger.stamps_covering(2)]
    finally:
        rledger.close()
        rstore.close()


@needs_pg
def test_a_team_covers_table_changed_by_a_superuser_is_caught_by_check(team):
    db, _, store, ledger = team
    ledger.append_many([("capture", {"url": f"u{i}"}, f"u{i}") for i in range(1, 7)])
    ledger.append("timestamp", {"covers": [1, 2, 3], "leaves": [HEX] * 3, "status": "pending",
                                "tsa": TSAS[0]})
    assert covers_problems(store, ledger) == []
    with psycopg.connect(db, autocommit=True) as conn:
        for statement in ("DELETE FROM covers", "UPDATE covers SET record_seq = 9",
                          "TRUNCATE covers"):
            with pytest.raises(psycopg.Error, match="append-only"):
                conn.execute(statement)
        conn.execute("SET session_replication_role = replica")  # triggers off (superuser)
        conn.execute("DELETE FROM covers WHERE record_seq = 2")
        conn.execute("INSERT INTO covers VALUES (5, 7), (6, 3)")
    problems = covers_problems(store, ledger)
    assert len(problems) == 3, problems
    assert any("record 7" in p and "lacks 1 record(s)" in p and "(2)" in p for p in problems)
    assert any("record 7" in p and "covers 1 record(s) it does not cover (5)" in p
               for p in problems)
    assert any("record 3" in p and "no time-stamp record" in p for p in problems)
    assert [r.seq for r in unstamped(ledger)] == [2, 4, 6]  # 5: its row names stamp 7
    assert [r.seq for r in ledger.stamps_covering(5)] == []
