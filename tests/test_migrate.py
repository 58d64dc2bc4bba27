"""``provenance migrate`` between a folder store and a team store (a real PostgreSQL 15
cluster and moto's S3 server on 127.0.0.1), and what ``check`` on a team store says it
cannot prove.

Covers: folder → team → folder keeps every ledger row, object and head byte for byte and
``check`` says the same on all three; a source whose record was edited is refused before
anything is written; a migration killed with SIGKILL mid-way completes when run again; a
destination holding another ledger is refused; the import path refuses a row that does
not extend the chain; ``check`` names the records nothing anchors, a superuser's rewrite of
those passes unseen (and is said to be unprovable), a rewrite of an anchored record is
caught.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_team_store as team_fixtures

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
team = team_fixtures.team  # cluster and s3_server come from conftest.py
pytestmark = team_fixtures.pytestmark  # PostgreSQL's server binaries are needed

from provenance.cli.main import main  # noqa: E402
from provenance.errors import LedgerError  # noqa: E402
from provenance.store.backends import open_team  # noqa: E402
from provenance.store.filestore import Store  # noqa: E402
from provenance.store.hashing import canonical_json, record_hash  # noqa: E402
from provenance.store.ledger import Ledger  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def rows_of(folder: Path) -> list[tuple]:
    with sqlite3.connect(folder / "ledger.sqlite3") as db:
        return db.execute("SELECT seq, kind, subject, time, body, prev_hash, record_hash "
                          "FROM records ORDER BY seq").fetchall()


def objects_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted((folder / "objects").rglob("*")) if p.is_file()}


def team_rows(db: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute("SELECT seq, kind, subject, time, body, prev_hash, record_hash "
                            "FROM records ORDER BY seq").fetchall()


def check(capsys, *store: str) -> tuple[int, dict, str]:
    code, said, err = run(capsys, *store, "check")
    return code, said[-1], err


def local_store(folder: Path, notes: int, *, objects: bool = True, every: int = 1) -> None:
    """A folder store of ``notes`` records, each ``every``-th naming a small object."""
    store = Store(folder)
    with Ledger(store) as ledger:
        items = []
        for i in range(notes):
            files = ([store.put_bytes(f"page {i}\n".encode(), role="text",
                                      suffix=".txt").to_json()]
                     if objects and i % every == 0 else [])
            items.append(("note", {"i": i, "files": files}, f"http://127.0.0.1/{i}"))
        for start in range(0, len(items), 200):
            ledger.append_many(items[start:start + 200])


def test_folder_to_team_to_folder_keeps_every_row_object_and_head(
        team, web, tsa, tsa_pki, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    first = tmp_path / "first"
    code, _, err = run(capsys, "--store", str(first), "archive", "--to", "none",
                       "--tsa", tsa.url, web.url("/ru/utf8"), web.url("/article"))
    assert code == 0, err
    with Ledger(Store(first)) as ledger:  # an unanchored tail too
        ledger.append("note", {"after": "the stamp"})
    code, local_check, err = check(capsys, "--store", str(first))
    assert code == 0 and local_check["intact"], err

    code, said, err = run(capsys, "--store", str(first), "migrate", "--into", team.db,
                          "--into-objects", team.objects)
    assert code == 0, err
    summary = said[-1]
    records = len(rows_of(first))
    assert summary["type"] == "summary" and summary["records"] == records
    assert summary["copied_records"] == records and summary["resumed_from"] == 0
    assert summary["copied_objects"] == len(objects_of(first)) and summary["head_copies"] == 1
    assert "copied" in err  # progress on stderr
    assert team_rows(team.db) == rows_of(first)  # seq, time, body, hashes as they were
    stamp = next(r for r in rows_of(first) if r[1] == "timestamp")
    heads = team.s3.list_objects_v2(Bucket=team.bucket, Prefix="evidence/heads/")
    assert [o["Key"] for o in heads["Contents"]] == [f"evidence/heads/{stamp[0]:020d}.json"]

    team_store = ["--store", team.db, "--objects", team.objects]
    code, team_check, err = check(capsys, *team_store)
    assert code == 0 and team_check["intact"], err
    assert team_check["anchoring"] == local_check["anchoring"]
    assert team_check["records"] == local_check["records"]
    assert team_check["files"] == local_check["files"]

    back = tmp_path / "back"
    code, said, err = run(capsys, *team_store, "migrate", "--into", str(back))
    assert code == 0, err
    assert rows_of(back) == rows_of(first)
    assert objects_of(back) == objects_of(first)
    assert (back / "ledger.head").read_bytes() == (first / "ledger.head").read_bytes()
    code, back_check, err = check(capsys, "--store", str(back))
    assert code == 0 and back_check["anchoring"] == local_check["anchoring"], err

    # Run again: nothing to do, nothing doubled.
    code, said, err = run(capsys, "--store", str(first), "migrate", "--into", team.db,
                          "--into-objects", team.objects)
    assert code == 0 and said[-1]["resumed_from"] == records, err
    assert said[-1]["copied_records"] == 0 and team_rows(team.db) == rows_of(first)


def test_a_source_with_an_edited_record_is_refused_before_anything_is_written(
        team, tmp_path, capsys):
    source = tmp_path / "ev"
    local_store(source, 5)
    with sqlite3.connect(source / "ledger.sqlite3") as db:  # the forger drops the trigger
        db.execute("DROP TRIGGER records_are_never_updated")
        db.execute("UPDATE records SET body = replace(body, '\"i\":3', '\"i\":8') "
                   "WHERE seq = 4")
    code = main(["--store", str(source), "migrate", "--into", team.db,
                 "--into-objects", team.objects])
    err = capsys.readouterr().err
    assert code == 1 and "source is damaged" in err and "record 4" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    with psycopg.connect(team.db) as conn:  # not even the tables were made
        assert conn.execute("SELECT to_regclass('records')").fetchone()[0] is None
    assert "Contents" not in team.s3.list_objects_v2(Bucket=team.bucket)
    folder = tmp_path / "copy"
    code = main(["--store", str(source), "migrate", "--into", str(folder)])
    assert code == 1 and not folder.exists()
    capsys.readouterr()


def test_a_source_object_altered_is_refused_and_its_records_not_copied(team, tmp_path, capsys):
    source = tmp_path / "ev"
    local_store(source, 3)
    with Ledger(Store(source)) as ledger:
        victim = ledger.get(2).files[0]["path"]
    (source / victim).chmod(0o644)
    (source / victim).write_bytes(b"page 2, edited\n")
    code = main(["--store", str(source), "migrate", "--into", team.db,
                 "--into-objects", team.objects])
    err = capsys.readouterr().err
    assert code == 1 and "altered in the source" in err and victim in err, err
    assert team_rows(team.db) == []  # the batch's records are added after its objects


def test_a_destination_holding_another_ledger_is_refused(team, tmp_path, capsys):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    local_store(ours, 3)
    local_store(theirs, 2, objects=False)
    before = rows_of(theirs)
    code = main(["--store", str(ours), "migrate", "--into", str(theirs)])
    err = capsys.readouterr().err
    assert code == 1 and "another ledger" in err, err
    assert rows_of(theirs) == before
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "notes.txt").write_text("mine")
    code = main(["--store", str(ours), "migrate", "--into", str(tmp_path / "papers")])
    err = capsys.readouterr().err
    assert code == 2 and "not an evidence store" in err
    code = main(["--store", str(ours), "migrate", "--into", team.db])
    err = capsys.readouterr().err
    assert code == 2 and "--into-objects" in err and len(err.strip().splitlines()) == 1
    code = main(["--store", str(ours), "migrate", "--into", str(ours)])
    assert code == 2 and "--into names the store being migrated" in capsys.readouterr().err


def test_a_migration_killed_mid_way_completes_when_run_again(team, tmp_path, capsys):
    source = tmp_path / "ev"
    total = 1200  # one record in 10 names an object: S3 answers are what take time
    local_store(source, total, every=10)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen(
        [sys.executable, "-m", "provenance", "--store", str(source), "migrate", "--into",
         team.db, "--into-objects", team.objects],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    held = 0
    try:
        deadline = time.monotonic() + 120
        with psycopg.connect(team.db, autocommit=True) as conn:
            while time.monotonic() < deadline and child.poll() is None:
                if conn.execute("SELECT to_regclass('records')").fetchone()[0] is not None:
                    held = conn.execute("SELECT count(*) FROM records").fetchone()[0]
                    if held:
                        break
                time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stderr is not None
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    at_kill = len(team_rows(team.db))
    assert 0 < at_kill < total, "the migration was not caught mid-way"
    assert team_rows(team.db) == rows_of(source)[:at_kill]  # a prefix, nothing half-written

    code, said, err = run(capsys, "--store", str(source), "migrate", "--into", team.db,
                          "--into-objects", team.objects)
    assert code == 0, err
    assert said[-1]["resumed_from"] == at_kill and "going on from there" in err
    assert said[-1]["copied_records"] == total - at_kill
    assert team_rows(team.db) == rows_of(source)
    code, summary, err = check(capsys, "--store", team.db, "--objects", team.objects)
    assert code == 0 and summary["intact"] and summary["files"] == total // 10, err


def test_the_import_path_only_extends_the_chain(team, tmp_path):
    source = tmp_path / "ev"
    local_store(source, 3, objects=False)
    rows = rows_of(source)
    store, ledger = open_team(team.db, team.objects, write=True)
    try:
        with pytest.raises(LedgerError, match="does not extend the chain"):
            ledger.import_rows([rows[1]])  # not the next record
        forged = list(rows[0])
        forged[4] = forged[4].replace('"i":0', '"i":5')  # body edited, hash kept
        with pytest.raises(LedgerError, match="hash does not match"):
            ledger.import_rows([tuple(forged)])
        ledger.import_rows(rows[:2])
        with pytest.raises(LedgerError, match="does not extend the chain"):
            ledger.import_rows([rows[0]])
        assert [r[0] for r in team_rows(team.db)] == [1, 2]
        # The database refuses a row that skips a record whatever the client checks.
        with psycopg.connect(team.db, autocommit=True) as conn:
            with pytest.raises(psycopg.Error, match="does not extend the chain"):
                conn.execute("SELECT provenance_import_record(%s, %s, %s, %s, %s, %s, %s)",
                             rows[2][:5] + (rows[0][6], rows[2][6]))
            with pytest.raises(psycopg.Error, match="append-only"):
                conn.execute("UPDATE records SET kind = 'x' WHERE seq = 1")
            assert conn.execute("SELECT has_function_privilege('public', "
                                "'provenance_import_record(bigint,text,text,text,text,text,"
                                "text)', 'EXECUTE')").fetchone()[0] is False
    finally:
        ledger.close()
        store.close()


def _rewrite_from(db: str, first: int, edit: tuple[str, str]) -> None:
    """What a superuser can do: triggers off, record ``first`` edited, every later record's
    link and hash recomputed, the head row set to the new last record."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        rows = conn.execute("SELECT seq, body, record_hash FROM records ORDER BY seq").fetchall()
        prev = None
        with conn.transaction():
            for seq, body, digest in rows:
                if seq < first:
                    prev = digest
                    continue
                document = json.loads(body)
                if seq == first:
                    document = json.loads(body.replace(*edit))
                if prev is not None:
                    document["prev"] = prev
                new_body = canonical_json(document)
                new_hash = record_hash(new_body)
                conn.execute("UPDATE records SET body = %s, prev_hash = %s, record_hash = %s "
                             "WHERE seq = %s", (new_body.decode(), document["prev"], new_hash,
                                                seq))
                prev = new_hash
            conn.execute("UPDATE ledger_head SET seq = %s, record_hash = %s", (rows[-1][0], prev))


def test_check_on_a_team_store_says_what_it_cannot_prove(team, web, tsa, tsa_pki, capsys,
                                                         monkeypatch, tmp_path):
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    store = ["--store", team.db, "--objects", team.objects]
    code, _, err = run(capsys, *store, "archive", "--to", "none", "--tsa", tsa.url,
                       web.url("/ru/utf8"))
    assert code == 0, err
    team_store, ledger = open_team(team.db, team.objects, write=True)
    try:
        ledger.append("note", {"text": "after the stamp"})
        ledger.append("note", {"text": "the last one"})
    finally:
        ledger.close()
        team_store.close()
    code, summary, err = check(capsys, *store)
    assert code == 0, err
    said = " ".join(summary["cannot_prove"])
    assert "database superuser" in said and "heads copied to the bucket" in said
    assert "records 3-4 not yet anchored" in said
    code = main([*store, "check"])
    human = capsys.readouterr()
    assert code == 0 and "NOT PROVABLE HERE" in human.out and "records 3-4" in human.out

    # A superuser rewrites the unanchored tail, links and head row too: nothing shows it,
    # and check says that it could not.
    _rewrite_from(team.db, 4, ("the last one", "a new last one"))
    code, summary, err = check(capsys, *store)
    assert code == 0 and summary["intact"], err
    assert "records 3-4 not yet anchored" in " ".join(summary["cannot_prove"])

    # Rewriting an anchored record the same way is caught: by the time-stamp, and by the
    # head copied to the bucket.
    _rewrite_from(team.db, 1, ('"http_status":200', '"http_status":201'))
    code, said, err = run(capsys, *store, "check")
    problems = [line for line in said if line["type"] == "problem"]
    assert code == 1 and not said[-1]["intact"], err
    assert any("copy of the ledger head" in (p.get("problem") or "") for p in problems), problems
    assert any(p.get("seq") == 2 and "heads/" not in str(p.get("path")) for p in problems)
    assert said[-1]["anchoring"]["anchored_through"] == 0
    # The head copies stay in the bucket: migrating the rewritten chain away is refused.
    code = main([*store, "migrate", "--into", str(tmp_path / "away")])
    err = capsys.readouterr().err
    assert code == 1 and "source is damaged" in err and "head" in err, err
    assert not (tmp_path / "away").exists()


def test_folder_store_check_has_no_team_statement(tmp_path, capsys):
    folder = tmp_path / "ev"
    local_store(folder, 2)
    code, summary, _ = check(capsys, "--store", str(folder))
    assert code == 0 and summary["cannot_prove"] == []


_CHECK_AND_SAY_PEAK = """
import json, sys
from provenance.cli.main import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:  # VmHWM: this program's own peak (ru_maxrss
    peak = next(int(line.split()[1]) for line in status  # keeps the forking parent's)
                if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "peak_kib": peak}))
"""


def _check_peak(team, size: int, tmp_path: Path) -> int:
    """check of a team store whose one record names an object of ``size`` bytes, in a
    process of its own: its peak resident memory (KiB)."""
    store, ledger = open_team(team.db, team.objects, write=True)
    try:
        source = tmp_path / f"object-{size}"
        with open(source, "wb") as out:
            for n in range(size >> 20):
                out.write(bytes([n % 251]) * (1 << 20))
            out.write(b"end")
        stored = store.put_file(source, role="text", suffix=".txt")
        ledger.append("note", {"files": [stored.to_json()]})
    finally:
        ledger.close()
        store.close()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", _CHECK_AND_SAY_PEAK, "--json", "--store",
                           team.db, "--objects", team.objects, "check"],
                          env=env, capture_output=True, text=True, timeout=300)
    said = [json.loads(line) for line in done.stdout.splitlines()]
    assert said[-1]["code"] == 0 and said[-2]["intact"], done.stderr
    return int(said[-1]["peak_kib"])


def _fresh_team(cluster, s3_server: str, monkeypatch) -> team_fixtures.Team:
    """A new database and bucket, as the ``team`` fixture makes them (one per call)."""
    import uuid

    import boto3

    for key, value in (("AWS_ENDPOINT_URL", s3_server), ("AWS_ACCESS_KEY_ID", "test-key"),
                       ("AWS_SECRET_ACCESS_KEY", "test-secret"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(key, value)
    name = f"t{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                      aws_access_key_id="test-key", aws_secret_access_key="test-secret")
    s3.create_bucket(Bucket=f"evidence-{name}")
    return team_fixtures.Team(cluster.create_database(name), f"evidence-{name}", s3)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_check_streams_objects_from_s3_in_bounded_memory(cluster, s3_server, tmp_path,
                                                         monkeypatch):
    """An object of 96 MiB is hashed as it streams: check's peak memory is about what it is
    for an object of 1 MiB (a check that read objects whole would need 96 MiB more)."""
    peaks = [_check_peak(_fresh_team(cluster, s3_server, monkeypatch), size, tmp_path)
             for size in (1 << 20, 96 << 20)]
    assert peaks[1] - peaks[0] < 32 * 1024, peaks
