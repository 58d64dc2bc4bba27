"""A team store: the ledger in a real PostgreSQL 15 cluster, the objects in an S3-protocol
server (moto's ThreadedMotoServer), both on 127.0.0.1 and thrown away afterwards.

Covers: archive → check → export → log through the CLI; 8 concurrent appender processes
making one intact chain; UPDATE/DELETE/TRUNCATE refused by the database; an object
overwritten in the bucket caught by ``check`` and by every read; a row rewritten by a
superuser who bypassed the trigger caught by ``check``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import uuid
import zipfile
from pathlib import Path

import pgserver
import pytest
from teamappend import appender

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed "
                              "(pip install -e '.[team]')")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e '.[team]')")
pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install -e '.[dev]')")

from provenance.api import Evidence  # noqa: E402
from provenance.cli.main import main  # noqa: E402
from provenance.errors import LedgerError, StoreError  # noqa: E402
from provenance.store.backends import open_team  # noqa: E402
from provenance.store.backends.postgres import APPEND_VERSION, PostgresLedger  # noqa: E402

_MISSING = pgserver.missing()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")


class Team:
    """One fresh database and bucket; ``env`` set for the CLI and the library."""

    def __init__(self, db_url: str, bucket: str, s3: object) -> None:
        self.db = db_url
        self.bucket = bucket
        self.objects = f"s3://{bucket}/evidence"
        self.s3 = s3

    def key(self, sha256: str) -> str:
        return f"evidence/sha256/{sha256}"


@pytest.fixture
def team(cluster, s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("PROVENANCE_OBJECTS", raising=False)
    name = f"t{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                      aws_access_key_id="test-key", aws_secret_access_key="test-secret")
    s3.create_bucket(Bucket=f"evidence-{name}")
    return Team(cluster.create_database(name), f"evidence-{name}", s3)


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_archive_check_export_log_on_a_team_store(team, web, tsa, tsa_pki, tmp_path, capsys,
                                                  monkeypatch):
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    url = web.url("/ru/utf8")
    store = ["--store", team.db, "--objects", team.objects]
    code, lines, err = run(capsys, *store, "archive", "--tsa", tsa.url, url)
    assert code == 0, err
    [capture] = [line for line in lines if line.get("url") == url]
    assert capture["ledger_seq"] == 1
    assert [t["status"] for t in capture["timestamps"]] == ["queued"]  # stamped in a batch
    listed = team.s3.list_objects_v2(Bucket=team.bucket, Prefix="evidence/sha256/")
    keys = {o["Key"] for o in listed.get("Contents", [])}
    assert keys and all(k.startswith("evidence/sha256/") for k in keys)

    code, said, err = run(capsys, *store, "check")
    assert code == 0, (said, err)
    summary = said[-1]
    assert summary["intact"] and summary["files"] >= 4  # WARC, text, token, certificates
    assert summary["anchoring"]["anchored_through"] == 1 and summary["anchoring"]["trusted_root"]

    out = tmp_path / "bundle.zip"
    code, _, err = run(capsys, *store, "export", capture["id"], "--out", str(out))
    assert code == 0, err
    with zipfile.ZipFile(out) as bundle:
        assert any(n.startswith("objects/") and n.endswith(".warc.gz") for n in bundle.namelist())
    assert Evidence.check_bundle(out, tsa_pki.root).intact

    code, items, err = run(capsys, *store, "log")
    assert code == 0, err
    assert [i["kind"] for i in items] == ["capture", "timestamp"]
    assert items[0]["record_hash"] == capture["record_hash"]

    code = main([*store, "show", "1", "--text"])
    shown = capsys.readouterr()
    assert code == 0 and "Traceback" not in shown.err and shown.out.strip(), shown.err
    code, history, err = run(capsys, *store, "history", url)
    assert code == 0 and history, err
    # The environment names the team store as well as the options do.
    os.environ["PROVENANCE_STORE"] = team.db
    os.environ["PROVENANCE_OBJECTS"] = team.objects
    try:
        code, items, err = run(capsys, "log")
    finally:
        del os.environ["PROVENANCE_STORE"], os.environ["PROVENANCE_OBJECTS"]
    assert code == 0 and len(items) == 2, err


def test_a_team_store_without_objects_is_one_line_exit_2(team, capsys):
    code = main(["--store", team.db, "log"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--objects" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_line(team, capsys):
    from webfixtures import closed_port

    code = main(["--store", f"postgresql://nobody@127.0.0.1:{closed_port()}/none",
                 "--objects", team.objects, "log"])
    err = capsys.readouterr().err
    assert code != 0 and "cannot connect to the team ledger" in err and "Traceback" not in err


def _run_appenders(team, workers: int, each: int, *, grouped: bool = False) -> None:
    """``workers`` processes appending at once (started together at a barrier)."""
    env = {k: os.environ[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                                      "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(workers)
    procs = [ctx.Process(target=appender, args=(team.db, team.objects, env, w, each, ready,
                                                 grouped)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)


def test_eight_concurrent_appender_processes_make_one_intact_chain(team):
    workers, each = 8, 40
    _run_appenders(team, workers, each)
    store, ledger = open_team(team.db, team.objects, write=False)
    try:
        records = list(ledger.records())
        assert [r.seq for r in records] == list(range(1, workers * each + 1))
        for before, after in zip(records, records[1:], strict=False):
            assert after.prev_hash == before.record_hash
            assert after.time >= before.time  # the database's clock, in chain order
        seen = {(r.data["worker"], r.data["n"]) for r in records}
        assert seen == {(w, n) for w in range(workers) for n in range(each)}
    finally:
        ledger.close()
        store.close()
    os.environ["PROVENANCE_OBJECTS"] = team.objects
    try:
        report = Evidence.check_at(team.db)
    finally:
        del os.environ["PROVENANCE_OBJECTS"]
    assert report.intact and report.records == workers * each


def _team_with_records(team, n: int = 3):
    store, ledger = open_team(team.db, team.objects, write=True)
    for i in range(n):
        ledger.append("note", {"i": i})
    return store, ledger


@pytest.mark.parametrize("statement", [
    "UPDATE records SET body = body || ' ' WHERE seq = 2",
    "DELETE FROM records WHERE seq = 3",
    "TRUNCATE records",
])
def test_the_database_refuses_update_delete_truncate(team, statement):
    store, ledger = _team_with_records(team)
    ledger.close()
    store.close()
    with psycopg.connect(team.db, autocommit=True) as conn:  # the owner, a superuser
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 3


def test_a_reporter_role_may_append_but_not_update_or_delete(team, cluster):
    """The README's setup: the schema made by its owner, reporters granted SELECT and INSERT
    on the records and the head row's lock and update, nothing else."""
    store, ledger = _team_with_records(team)
    ledger.close()
    store.close()
    role = f"reporter_{team.bucket[-12:]}"
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT ON records TO {role}")
        conn.execute(f"GRANT SELECT, UPDATE ON ledger_head TO {role}")
    reporter = team.db.replace(f"{cluster.superuser}@", f"{role}@")
    store, ledger = open_team(reporter, team.objects, write=True)
    try:
        assert ledger.append("note", {"by": "reporter"}).seq == 4
    finally:
        ledger.close()
        store.close()
    with psycopg.connect(reporter, autocommit=True) as conn:
        for statement in ("UPDATE records SET kind = 'x'", "DELETE FROM records",
                          "TRUNCATE records"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert _check(team) == []


def _check(team) -> list[str]:
    os.environ["PROVENANCE_OBJECTS"] = team.objects
    try:
        report = Evidence.check_at(team.db)
    finally:
        del os.environ["PROVENANCE_OBJECTS"]
    return [str(p) for p in report.damage]


def test_a_row_rewritten_by_a_superuser_bypassing_the_trigger_is_caught_by_check(team):
    store, ledger = _team_with_records(team)
    ledger.close()
    store.close()
    assert _check(team) == []
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # triggers off (superuser)
        conn.execute("UPDATE records SET body = replace(body, '\"i\":1', '\"i\":7') "
                     "WHERE seq = 2")
    problems = _check(team)
    assert any("record 2" in p and "altered" in p for p in problems), problems
    # The next append refuses to build on a rewritten end? Seq 2 is not the end: appending
    # goes on, and check keeps saying so.


def test_rows_cut_from_the_end_by_a_superuser_stop_appends_and_show_in_check(team):
    store, ledger = _team_with_records(team)
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM records WHERE seq = 3")
    with pytest.raises(LedgerError, match="does not end with the record its head names"):
        ledger.append("note", {"i": 9})
    ledger.close()
    store.close()
    assert any("removed from the end" in p for p in _check(team))


def test_an_object_overwritten_in_the_bucket_is_caught_by_check_and_every_read(team, capsys):
    store, ledger = open_team(team.db, team.objects, write=True)
    stored = store.put_bytes(b"the page as published", role="text", suffix=".txt")
    ledger.append("note", {"files": [stored.to_json()]})
    assert store.read_verified(stored.to_json()) == b"the page as published"
    # Someone with the bucket's keys (or a server that ignores conditional writes and
    # checksums) replaces the bytes behind the name.
    team.s3.put_object(Bucket=team.bucket, Key=team.key(stored.sha256), Body=b"the page, edited")
    with pytest.raises(StoreError, match="altered"):
        store.read_object(stored.path)
    with pytest.raises(StoreError, match="altered"):
        store.read_verified(stored.to_json())
    # Putting the same bytes again is a 412: it never hides the damage.
    store.put_bytes(b"the page as published", role="text", suffix=".txt")
    ledger.close()
    store.close()
    problems = _check(team)
    assert any("file was altered" in p and stored.path in p for p in problems), problems
    code = main(["--store", team.db, "--objects", team.objects, "check"])
    assert code == 1
    capsys.readouterr()


def test_an_object_deleted_from_the_bucket_is_caught_by_check(team):
    store, ledger = open_team(team.db, team.objects, write=True)
    stored = store.put_bytes(b"kept", role="text", suffix=".txt")
    ledger.append("note", {"files": [stored.to_json()]})
    ledger.close()
    store.close()
    team.s3.delete_object(Bucket=team.bucket, Key=team.key(stored.sha256))
    assert any("file is missing" in p for p in _check(team))


def test_record_hashes_are_the_sqlite_ledgers(team, tmp_path):
    """The same records hash the same on both ledgers: the chain check is one."""
    from provenance.store.filestore import Store
    from provenance.store.hashing import record_hash
    from provenance.store.ledger import Ledger, build_body

    store, ledger = _team_with_records(team, 2)
    try:
        for record in ledger.records():
            body = build_body(record.seq, record.kind, record.time, record.subject,
                              record.prev_hash, record.data)
            assert record_hash(body) == record.record_hash
            assert body.decode() == record.body
    finally:
        ledger.close()
        store.close()
    with Ledger(Store(tmp_path / "local")) as local:
        assert isinstance(local, Ledger) and not isinstance(local, PostgresLedger)


def test_the_read_only_team_ledger_writes_nothing(team):
    store, ledger = _team_with_records(team, 1)
    ledger.close()
    store.close()
    store, ledger = open_team(team.db, team.objects, write=False)
    try:
        with pytest.raises(LedgerError, match="read-only"):
            ledger.append("note", {})
        with pytest.raises(StoreError, match="read-only"):
            store.put_bytes(b"x", role="text")
    finally:
        ledger.close()
        store.close()


def test_a_record_path_that_is_no_object_name_is_refused(team):
    store, ledger = _team_with_records(team, 1)
    try:
        for bad in ("objects/ab/../../etc/passwd", "ledger.sqlite3",
                    "objects/00/" + "a" * 64 + ".txt"):
            with pytest.raises(StoreError, match="not the name of a stored object"):
                store.read_object(bad)
    finally:
        ledger.close()
        store.close()


def test_scratch_folder_is_removed_on_close(team):
    store, ledger = _team_with_records(team, 1)
    scratch = Path(store.root)
    assert scratch.exists()
    ledger.close()
    store.close()
    assert not scratch.exists()


def _items() -> list[tuple[str, dict, str | None]]:
    """Records that every query of the ledger tells apart, forged look-alikes included."""
    a, b = "http://127.0.0.1/a", "http://127.0.0.1/b"
    return [
        ("capture", {"url": a}, a),
        ("capture", {"url": b}, b),
        ("witness", {"capture_seq": 1}, a),
        ("witness", {"capture_seq": "1"}, a),  # a string is not the number
        ("witness", {"capture_seq": 2}, b),
        ("witness", {"capture_seq": [1]}, b),
        ("verification", {"against": {"url": a}}, "sha256:" + "ab" * 32),
        ("verification", {"against": {"url": b}}, "sha256:" + "cd" * 32),
        ("verification", {"against": a}, "sha256:" + "ef" * 32),
        ("timestamp", {"covers": [1, 2]}, None),
        ("timestamp", {"covers": ["1"]}, None),
        ("timestamp", {"covers": {"1": 1}}, None),
        ("timestamp", {"covers": 1}, None),
        ("timestamp", {"covers": [3, 1]}, None),
        ("note", {"text": "ünïcode ✓ \u0000 nul escaped"}, "тема"),
        ("capture", {"url": a, "batch": "run-1"}, a),                     # 16
        ("capture", {"url": b, "batch": 1}, b),  # a number is not the run "1"
        ("capture", {"url": b, "batch": "1"}, b),                         # 18
        ("witness", {"capture_seq": 16, "witness": "ia", "status": "pending"}, a),
        ("witness", {"capture_seq": 16, "witness": "ia", "status": "archived"}, a),
        ("witness", {"capture_seq": 18, "witness": "ia", "status": "pending"}, b),  # 21
        ("witness", {"capture_seq": "18", "witness": "ia", "status": "archived"}, b),
        ("witness", {"capture_seq": 18, "witness": 1, "status": "pending"}, b),  # 23
        ("witness", {"capture_seq": 18, "witness": "1", "status": "failed"}, b),  # 24
        ("timestamp", {"covers": [16, 17.5, "18", 2]}, None),
    ]


def test_every_query_answers_as_the_sqlite_ledger_does(team, tmp_path):
    from provenance.store.filestore import Store
    from provenance.store.ledger import Ledger

    local = Ledger(Store(tmp_path / "local"))
    store, remote = open_team(team.db, team.objects, write=True)
    try:
        for item in _items():
            local.append(*item[:2], subject=item[2])
            remote.append(*item[:2], subject=item[2])

        def seqs(records) -> list[int]:
            return [r.seq for r in records]

        for ledger in (local, remote):
            assert ledger.count() == len(_items())
        questions = [
            lambda lg: seqs(lg.records()),
            lambda lg: seqs(lg.records("witness")),
            lambda lg: seqs(lg.records(subject="http://127.0.0.1/a")),
            lambda lg: seqs(lg.records(kinds=["capture", "timestamp"], first=2, last=12)),
            lambda lg: seqs(lg.records(kinds=[])),
            lambda lg: seqs(lg.scan(["verification", "capture"], batch=2)),
            lambda lg: seqs(lg.scan(about="http://127.0.0.1/a", batch=3)),
            lambda lg: seqs(lg.witnesses_of(1)),
            lambda lg: seqs(lg.witnesses_of(2)),
            lambda lg: seqs(lg.stamps_covering(1)),
            lambda lg: seqs(lg.stamps_covering(3)),
            lambda lg: sorted(lg.subjects("capture")),
            lambda lg: lg.get(15).data,
            lambda lg: lg.last().seq,
            lambda lg: [row[0] for row in lg.raw_rows_at([3, 1, 99])],
            lambda lg: [row[0] for row in lg.raw_rows()],
            lambda lg: seqs(lg.captures_in_batch("run-1")),
            lambda lg: seqs(lg.captures_in_batch("1")),
            lambda lg: {k: v.seq for k, v in lg.latest_by_subject(
                "capture", ["http://127.0.0.1/a", "http://127.0.0.1/b", "x"]).items()},
            lambda lg: seqs(lg.latest_witnesses(["pending", "failed"])),
            lambda lg: seqs(lg.latest_witnesses([])),
            lambda lg: seqs(lg.uncovered(["capture", "verification"])),
        ]
        for question in questions:
            assert question(remote) == question(local)
        assert seqs(remote.witnesses_of(1)) == [3]
        assert seqs(remote.stamps_covering(1)) == [10, 14]
        assert seqs(remote.captures_in_batch("1")) == [18]
        assert seqs(remote.latest_witnesses(["pending", "failed"])) == [21, 23, 24]
        assert seqs(remote.uncovered(["capture", "verification"])) == [7, 8, 9, 17, 18]
        found = remote.find(remote.get(5).record_hash[:8])
        assert found is not None and found.seq == 5
    finally:
        local.close()
        remote.close()
        store.close()


def test_a_team_ledger_with_its_objects_in_a_shared_folder(team, tmp_path):
    store, ledger = open_team(team.db, str(tmp_path / "shared"), write=True)
    try:
        stored = store.put_bytes(b"bytes", role="text", suffix=".txt")
        ledger.append("note", {"files": [stored.to_json()]})
    finally:
        ledger.close()
        store.close()
    os.environ["PROVENANCE_OBJECTS"] = str(tmp_path / "shared")
    try:
        assert Evidence.check_at(team.db).intact
        (tmp_path / "shared" / stored.path).chmod(0o644)
        (tmp_path / "shared" / stored.path).write_bytes(b"BYTES")
        assert not Evidence.check_at(team.db).intact
    finally:
        del os.environ["PROVENANCE_OBJECTS"]


def test_reading_commands_create_nothing_in_an_empty_database(team, capsys):
    code = main(["--store", team.db, "--objects", team.objects, "log"])
    err = capsys.readouterr().err
    assert code != 0 and "no provenance ledger" in err and "Traceback" not in err
    with psycopg.connect(team.db) as conn:
        assert conn.execute("SELECT to_regclass('records')").fetchone()[0] is None


_HOLD_THE_HEAD = """
import sys, time, psycopg
conn = psycopg.connect(sys.argv[1])
conn.execute("SELECT * FROM provenance_lock_head()")
print("locked", flush=True)
time.sleep(600)
"""


def test_a_writer_killed_holding_the_head_lock_does_not_wedge_the_chain(team):
    import signal
    import subprocess
    import sys
    import time

    store, ledger = _team_with_records(team, 2)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_THE_HEAD, team.db],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        ledger.lock_wait = 0.5  # a hung holder: the appender gives up with one line
        with pytest.raises(LedgerError, match="busy"):
            ledger.append("note", {"i": "waits"})
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        ledger.lock_wait = 30
        began = time.monotonic()
        assert ledger.append("note", {"i": "after"}).seq == 3  # nothing half-written before
        assert time.monotonic() - began < 10
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
        ledger.close()
        store.close()
    assert _check(team) == []


def test_export_refuses_an_object_altered_in_the_bucket(team, web, tmp_path, capsys):
    url = web.url("/ru/utf8")
    store = ["--store", team.db, "--objects", team.objects]
    code, lines, err = run(capsys, *store, "archive", "--tsa", "none", url)
    assert code == 0, err
    [capture] = [line for line in lines if line.get("url") == url]
    sha = capture["warc"].rsplit("/", 1)[1].split(".", 1)[0]  # objects/ab/<sha256>.warc.gz
    team.s3.put_object(Bucket=team.bucket, Key=team.key(sha), Body=b"not the capture")
    out = tmp_path / "bundle.zip"
    code = main([*store, "export", capture["id"], "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and "altered" in err and "Traceback" not in err, err
    assert not out.exists()


def test_objects_without_a_team_store_is_refused(tmp_path, capsys):
    code = main(["--store", str(tmp_path / "ev"), "--objects", "s3://bucket-name/x", "log"])
    err = capsys.readouterr().err
    assert code == 2 and "--objects is for a team store" in err


def test_screenshots_on_a_team_store_verify_and_read_back_their_ocr(team, tmp_path, capsys):
    """``verify`` keeps the screenshot and its reading in the bucket; the second time the
    reading is read back from S3 (re-hashed) instead of running Tesseract again."""
    import random

    from evalset import Passage, render
    from webfixtures import ARTICLE

    claim = "Россия потеряла 9 861 человек убитыми, 16 153 ранеными"
    shot = Passage("web", "rus", ARTICLE[0], ARTICLE[1], claim, ARTICLE[2], "")
    image = tmp_path / "shot.png"
    render(shot, shot.body, "clean", random.Random(1)).save(image)
    store = ["--store", team.db, "--objects", team.objects]
    for _ in range(2):
        code, items, err = run(capsys, *store, "verify", str(image), "--text", claim,
                               "--tsa", "none")
        assert code == 0 and items[-1]["verdict"] == "match", (items, err)
    code, said, err = run(capsys, *store, "check")
    assert code == 0 and said[-1]["intact"], (said, err)
    _, records, _ = run(capsys, *store, "log")
    assert [r["kind"] for r in records].count("ocr") == 1  # the second reading was cached


def test_a_chain_cut_back_with_its_head_row_is_caught_by_the_head_copy_in_the_bucket(
        team, web, tsa, tsa_pki, capsys, monkeypatch):
    """A superuser removes the last records and sets the head row back: the chain and the
    head row agree again, the capture is merely unstamped. Only the head copied to the
    bucket when the time-stamp was recorded still shows it."""
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    store = ["--store", team.db, "--objects", team.objects]
    code, _, err = run(capsys, *store, "archive", "--tsa", tsa.url, web.url("/ru/utf8"))
    assert code == 0, err
    heads = team.s3.list_objects_v2(Bucket=team.bucket, Prefix="evidence/heads/")
    assert [o["Key"] for o in heads["Contents"]] == [f"evidence/heads/{2:020d}.json"]
    assert _check(team) == []
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM records WHERE seq = 2")
        conn.execute("UPDATE ledger_head SET seq = 1, record_hash = "
                     "(SELECT record_hash FROM records WHERE seq = 1)")
    problems = _check(team)
    assert len(problems) == 2 and "records were removed" in problems[1], problems
    # The covers table, which the superuser forgot, still names the removed stamp.
    assert problems[0] == ("record 2: the covers table says this record is the time-stamp "
                           "of 1 record(s) (1), but the ledger holds no such record: a "
                           "time-stamp record removed, or the table changed outside "
                           "provenance"), problems


def test_a_missing_extra_is_one_line_naming_it():
    """Without boto3 (``sys.modules`` says it is not installed) a team store says which
    extra to install, in one line, exit 2."""
    import subprocess
    import sys

    script = ("import sys; sys.modules['boto3'] = None\n"
              "from provenance.cli.main import main\n"
              "sys.exit(main(['--store', 'postgresql://u@127.0.0.1:1/db', '--objects', "
              "'s3://bucket-name/x', 'log']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "provenance: objects on S3 need boto3: pip install 'provenance[team]'"]


# --- the one-statement append (schema version 2) ---------------------------------------------

def test_an_append_is_one_round_trip_that_leaves_no_transaction_open(team, tmp_path):
    """The head's lock is held only while the server runs one statement: the client sends one
    request and the server answers once, idle (``I``), never inside a transaction (``T``)
    waiting for the client's next message, as the old lock-then-insert append did."""
    from psycopg import pq

    store, ledger = _team_with_records(team, 1)
    trace = tmp_path / "trace.txt"
    try:
        with trace.open("w") as handle:
            ledger._conn.pgconn.trace(handle.fileno())
            ledger._conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            try:
                written = ledger.append_many([("note", {"i": n}, None) for n in range(3)])
            finally:
                ledger._conn.pgconn.untrace()
    finally:
        ledger.close()
        store.close()
    assert [r.seq for r in written] == [2, 3, 4]
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    ready = [fields[-1].strip() for fields in sent if len(fields) > 2
             and fields[0] == "B" and fields[2].startswith("ReadyForQuery")]
    syncs = [fields for fields in sent if len(fields) > 2 and fields[0] == "F"
             and fields[2].startswith("Sync")]
    assert ready == ["I"] and len(syncs) == 1, sent
    assert _check(team) == []


def test_concurrent_group_appends_stay_whole_and_make_one_chain_without_gaps(team):
    workers, each = 6, 30
    _run_appenders(team, workers, each, grouped=True)
    expected = {(w, n, i) for w in range(workers) for n in range(each)
                for i in range(1 + n % 4)}
    store, ledger = open_team(team.db, team.objects, write=False)
    try:
        records = list(ledger.records())
    finally:
        ledger.close()
        store.close()
    assert [r.seq for r in records] == list(range(1, len(expected) + 1))
    assert {(r.data["worker"], r.data["n"], r.data["i"]) for r in records} == expected
    for before, after in zip(records, records[1:], strict=False):
        assert after.prev_hash == before.record_hash and after.time >= before.time
    at = {(r.data["worker"], r.data["n"], r.data["i"]): r for r in records}
    for w, n, i in expected:  # a group's records are next to each other, with one time
        if i:
            assert at[(w, n, i)].seq == at[(w, n, i - 1)].seq + 1
            assert at[(w, n, i)].time == at[(w, n, 0)].time
    assert _check(team) == []


def test_two_records_in_one_place_are_refused_by_the_database(team):
    """The backstop for a client that skips the lock: ``PRIMARY KEY (seq)`` and
    ``UNIQUE (prev_hash)``."""
    store, ledger = _team_with_records(team, 2)
    try:
        first, second = list(ledger.records())
    finally:
        ledger.close()
        store.close()
    insert = ("INSERT INTO records (seq, kind, subject, time, body, prev_hash, record_hash) "
              "VALUES (%s, 'note', NULL, %s, '{}', %s, %s)")
    with psycopg.connect(team.db, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):  # a second record 2
            conn.execute(insert, (2, second.time, first.record_hash, "ab" * 32))
        with pytest.raises(psycopg.errors.UniqueViolation):  # a fork after record 1
            conn.execute(insert, (3, second.time, first.record_hash, "cd" * 32))
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 2
    assert _check(team) == []


def test_record_hashes_are_the_sqlite_ledgers_for_awkward_content(team, tmp_path):
    """The database builds and hashes each body: byte for byte what the SQLite ledger writes
    for the same record, whatever the strings hold (quotes, backslashes, control characters,
    an escaped NUL, non-ASCII, keys that sort differently in bytes and in code points)."""
    from provenance.store.hashing import record_hash
    from provenance.store.ledger import build_body

    awkward = {"q": 'say "no" \\ ', "ctl": "\x01\x1f\t\n\r\x08\x0c\x7f", "nul": "a\x00b",
               "ru": "Правда", "emoji": "\U0001F600", "z": {"é": 1, "e": [True, None, -7]},
               "big": 2 ** 62, "": "", "\u2028": "\u2028"}
    items = [("note", awkward, "https://example.org/?q=\"\\é"), ("capture", {}, None),
             ("note", {"x": "\ufeff"}, "")]
    store, ledger = _team_with_records(team, 1)
    try:
        written = ledger.append_many(items)
        stored = list(ledger.records())[1:]
    finally:
        ledger.close()
        store.close()
    assert [(r.kind, r.data, r.subject) for r in stored] == [
        (kind, data, subject) for kind, data, subject in items]
    for mine, theirs in zip(written, stored, strict=True):
        body = build_body(theirs.seq, theirs.kind, theirs.time, theirs.subject,
                          theirs.prev_hash, theirs.data)
        assert theirs.body == body.decode("utf-8") == mine.body
        assert theirs.record_hash == record_hash(body) == mine.record_hash
    assert _check(team) == []


@pytest.mark.parametrize("data, kind, subject", [
    ('{},"kind":"forged"', '"note"', "null"),   # a piece that adds a key to the body
    ("[1]", '"note"', "null"),                  # data that is not an object
    ("{}", "1", "null"),                        # a kind that is not a string
    ("{}", '"note"', '{"a":1}'),                # a subject that is neither string nor null
    ("{}", '"note", "x":1', "null"),
])
def test_the_append_function_refuses_pieces_that_are_not_one_json_value(team, data, kind,
                                                                       subject):
    store, ledger = _team_with_records(team, 1)
    ledger.close()
    store.close()
    with psycopg.connect(team.db, autocommit=True) as conn:
        with pytest.raises((psycopg.errors.InvalidParameterValue,  # refused, or not JSON
                            psycopg.errors.InvalidTextRepresentation)):
            conn.execute("SELECT * FROM provenance_append(%s, %s, %s, 1, 1000)",
                         ([data], [kind], [subject]))
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 1
    assert _check(team) == []


def test_the_append_function_ignores_a_callers_search_path(team):
    """A table named ``records`` earlier on the caller's path is not where records go."""
    store, ledger = _team_with_records(team, 1)
    ledger.close()
    store.close()
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA decoy")
        conn.execute("CREATE TABLE decoy.records (LIKE public.records)")
        conn.execute("CREATE TABLE decoy.ledger_head (LIKE public.ledger_head)")
        conn.execute("INSERT INTO decoy.ledger_head VALUES (TRUE, 0, 'x')")
        conn.execute("SET search_path = decoy, public")
        rows = conn.execute("SELECT * FROM provenance_append(%s, %s, %s, 1, 1000)",
                            (['{"i":1}'], ['"note"'], ["null"])).fetchall()
        assert [row[0] for row in rows] == [2]
        assert conn.execute("SELECT count(*) FROM decoy.records").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM public.records").fetchone()[0] == 2
    assert _check(team) == []


def _v1_ledger(team, cluster) -> str:
    """A ledger as the code before schema version 2 made it (tests/team_schema_v1.sql), and
    the URL of a reporter role granted what the README says (no right to create)."""
    ddl = (Path(__file__).resolve().parent / "team_schema_v1.sql").read_text()
    role = f"rep_{team.bucket[-12:]}"
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute(ddl)
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT ON records TO {role}")
        conn.execute(f"GRANT SELECT, UPDATE ON ledger_head TO {role}")
    return team.db.replace(f"{cluster.superuser}@", f"{role}@")


def _version(url: str) -> int | None:
    """The ledger's schema version in ``ledger_schema`` (None: a version-1 ledger)."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('ledger_schema')").fetchone()[0] is None:
            return None
        return conn.execute("SELECT version FROM ledger_schema WHERE one").fetchone()[0]


def test_a_ledger_made_by_the_old_code_is_upgraded_by_its_owner_and_shared_meanwhile(
        team, cluster):
    reporter = _v1_ledger(team, cluster)
    assert _version(team.db) is None
    r_store, r_ledger = open_team(reporter, team.objects, write=True)
    try:
        # a reporter may not create functions: it appends as the old code did
        assert r_ledger._one_trip is False
        assert [r_ledger.append("note", {"by": "reporter", "i": i}).seq
                for i in range(2)] == [1, 2]
        assert _version(team.db) is None
        store, ledger = open_team(team.db, team.objects, write=True)  # the owner upgrades
        try:
            assert ledger._one_trip is True
            assert _version(team.db) == APPEND_VERSION
            assert [r.seq for r in ledger.append_many(
                [("note", {"by": "owner", "i": i}, None) for i in range(2)])] == [3, 4]
            # the old-style writer still open and the new one share the lock and the chain
            assert r_ledger.append("note", {"by": "reporter", "i": 2}).seq == 5
            assert ledger.append("note", {"by": "owner", "i": 2}).seq == 6
        finally:
            ledger.close()
            store.close()
    finally:
        r_ledger.close()
        r_store.close()
    r_store, r_ledger = open_team(reporter, team.objects, write=True)
    try:
        assert r_ledger._one_trip is True  # reopened: the reporter now appends in one trip
        assert r_ledger.append("note", {"by": "reporter", "i": 3}).seq == 7
    finally:
        r_ledger.close()
        r_store.close()
    assert _check(team) == []


_GROUPS_UNTIL_KILLED = """
import os, sys
from provenance.store.backends import open_team
store, ledger = open_team(sys.argv[1], sys.argv[2], write=True)
n = 0
while True:
    ledger.append_many([("note", {"n": n, "i": i}, None) for i in range(5)])
    n += 1
    if n == 3:
        print("appending", flush=True)
"""


def test_a_writer_killed_mid_append_leaves_no_half_record(team):
    """kill -9 at any moment of a stream of five-record appends: the ledger holds whole
    groups only, the chain is intact and the next append goes on at once."""
    import signal
    import subprocess
    import sys
    import time

    store, ledger = _team_with_records(team, 1)
    root = Path(__file__).resolve().parent.parent
    try:
        for delay in (0.05, 0.13, 0.31):
            writer = subprocess.Popen([sys.executable, "-c", _GROUPS_UNTIL_KILLED, team.db,
                                       team.objects], stdout=subprocess.PIPE, text=True,
                                      cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
            try:
                assert writer.stdout is not None
                assert writer.stdout.readline().strip() == "appending"
                time.sleep(delay)
                writer.send_signal(signal.SIGKILL)
                writer.wait(10)
            finally:
                if writer.poll() is None:
                    writer.kill()
                    writer.wait()
                if writer.stdout is not None:
                    writer.stdout.close()
            began = time.monotonic()
            after = ledger.append("note", {"after": delay})
            assert time.monotonic() - began < 10
            records = list(ledger.records())
            assert records[-1] == after and [r.seq for r in records] == list(
                range(1, after.seq + 1))
            groups = [r for r in records if "n" in r.data]
            assert len(groups) % 5 == 0 and len(groups) >= 15
            for start in range(0, len(groups), 5):
                group = groups[start:start + 5]
                assert [r.data["i"] for r in group] == [0, 1, 2, 3, 4]
                assert [r.seq for r in group] == list(range(group[0].seq, group[0].seq + 5))
    finally:
        ledger.close()
        store.close()
    assert _check(team) == []


def test_a_connection_lost_during_an_append_never_claims_nothing_was_recorded(team):
    """The server may commit an append whose answer never arrives: the client cannot know,
    and says so, rather than "nothing was recorded" (which invites recording it twice)."""
    import threading
    import time

    store, ledger = _team_with_records(team, 1)
    outcome: list[BaseException] = []

    def append() -> None:
        try:
            ledger.append("note", {"i": "lost"})
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    try:
        with psycopg.connect(team.db) as holder:
            holder.execute("SELECT * FROM provenance_lock_head()")
            pid = ledger._conn.info.backend_pid
            writer = threading.Thread(target=append)
            writer.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # until the append waits on the head's lock
                waiting = holder.execute("SELECT wait_event_type FROM pg_stat_activity "
                                         "WHERE pid = %s", (pid,)).fetchone()
                if waiting and waiting[0] == "Lock":
                    break
                time.sleep(0.02)
            holder.execute("SELECT pg_terminate_backend(%s)", (pid,))
            writer.join(30)
            holder.rollback()
    finally:
        ledger.close()
        store.close()
    assert len(outcome) == 1 and isinstance(outcome[0], LedgerError)
    message = str(outcome[0])
    assert "may or may not have been recorded" in message
    assert "nothing was recorded" not in message
    assert _check(team) == []


def _check_report(team):
    os.environ["PROVENANCE_OBJECTS"] = team.objects
    try:
        return Evidence.check_at(team.db)
    finally:
        del os.environ["PROVENANCE_OBJECTS"]


def test_an_index_that_hides_records_from_queries_is_caught_by_check(team):
    """A superuser who wants ``log URL`` and ``history`` to miss a record need not touch the
    chain: an index that is not kept up to date while it is appended hides it from every
    query that reads through that index, while the table (what check's row scan reads)
    holds it. PostgreSQL's amcheck finds the record missing from the index."""
    store, ledger = _team_with_records(team)
    ledger.close()
    store.close()
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    report = _check_report(team)
    assert report.intact and not [s for s in report.cannot_prove if "indexes" in s]
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("UPDATE pg_index SET indisready = false "
                     "WHERE indexrelid = 'records_by_about'::regclass")
    store, ledger = open_team(team.db, team.objects, write=True)
    ledger.append("note", {"hidden": True}, subject="https://example.org/withdrawn")
    ledger.close()
    store.close()
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("UPDATE pg_index SET indisready = true "
                     "WHERE indexrelid = 'records_by_about'::regclass")
        conn.execute("SET enable_seqscan = off")
        seen = conn.execute("SELECT count(*) FROM records WHERE subject = %s",
                            ("https://example.org/withdrawn",)).fetchone()[0]
    assert seen == 0  # the forgery works: a query through the index misses the record
    problems = [str(p) for p in _check_report(team).damage]
    assert any("records_by_about" in p and "indexes" in p for p in problems), problems


def test_check_says_when_a_team_ledgers_indexes_cannot_be_checked(team):
    store, ledger = _team_with_records(team)
    ledger.close()
    store.close()
    report = _check_report(team)  # a database without the amcheck extension
    assert report.intact
    said = [s for s in report.cannot_prove if "indexes were not checked" in s]
    assert said and "CREATE EXTENSION amcheck" in said[0], report.cannot_prove


def test_a_role_without_the_right_to_run_amcheck_is_told_what_check_cannot_prove(team, cluster):
    store, ledger = _team_with_records(team)
    ledger.close()
    store.close()
    role = f"checker_{team.bucket[-12:]}"
    with psycopg.connect(team.db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    checker = team.db.replace(f"{cluster.superuser}@", f"{role}@")
    os.environ["PROVENANCE_OBJECTS"] = team.objects
    try:
        report = Evidence.check_at(checker)
    finally:
        del os.environ["PROVENANCE_OBJECTS"]
    said = [s for s in report.cannot_prove if "indexes were not checked" in s]
    assert said and "GRANT EXECUTE" in said[0], report.cannot_prove
