"""``provenance worker`` and ``watch --team`` on a real team store (PostgreSQL 15 cluster and
moto's S3 server on 127.0.0.1), the queue being procrastinate's: several worker processes
share the watches, every slot is captured exactly once, a worker killed with SIGKILL mid-job
has its job redone (not lost, not doubled), one killed between a capture and its change has
the change written by the job's next run, and the ledger's UNIQUE capture key refuses a
second capture of one slot."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pgserver
import pytest
from webfixtures import send

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed "
                              "(pip install -e '.[team]')")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e '.[team]')")
pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install -e '.[dev]')")

from provenance.cli.main import main  # noqa: E402
from provenance.errors import LedgerError  # noqa: E402
from provenance.store.backends import open_team  # noqa: E402
from provenance.store.kinds import CAPTURE, CHANGED  # noqa: E402

_MISSING = pgserver.missing()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")
ROOT = Path(__file__).resolve().parent.parent


class Team:
    def __init__(self, db: str, objects: str, env: dict[str, str]) -> None:
        self.db, self.objects, self.env = db, objects, env
        self.args = ["--store", db, "--objects", objects]

    def worker(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """``provenance worker`` in a process of its own, as on another machine."""
        return subprocess.Popen(
            [sys.executable, "-m", "provenance", "--json", *self.args, "worker", "--tsa",
             "none", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **self.env, "PYTHONPATH": str(ROOT), **(env or {})})

    def captures(self) -> Counter[str]:
        store, ledger = open_team(self.db, self.objects, write=False)
        try:
            return Counter(r.subject for r in ledger.records(kind=CAPTURE))
        finally:
            ledger.close()
            store.close()

    def jobs(self) -> list[tuple[str, str, int]]:
        """The capture jobs procrastinate still holds (a job that succeeded is deleted)."""
        with psycopg.connect(self.db, autocommit=True) as conn:
            return conn.execute(
                "SELECT args->>'url', status::text, attempts FROM procrastinate_jobs "
                "WHERE task_name = 'provenance.capture' ORDER BY 1").fetchall()


@pytest.fixture
def team(cluster, s3_server, monkeypatch):
    env = {"AWS_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "test-key",
           "AWS_SECRET_ACCESS_KEY": "test-secret", "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PROVENANCE_OBJECTS", raising=False)
    name = f"w{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                      aws_access_key_id="test-key", aws_secret_access_key="test-secret")
    s3.create_bucket(Bucket=f"evidence-{name}")
    return Team(cluster.create_database(name), f"s3://evidence-{name}/evidence", env)


def _outputs(workers, timeout):
    """Every worker's output, read at once: a worker whose stdout pipe is full (one read
    after another) waits in the middle of a job, and the others' --drain waits for it."""
    with ThreadPoolExecutor(len(workers)) as pool:
        return list(pool.map(lambda w: w.communicate(timeout=timeout), workers))


def _pages(h):
    n = h.path.rsplit("/", 1)[-1]
    send(h, 200, f"<html><body><article><p>Team page {n}.</p></article></body></html>"
         .encode(), content_type="text/html; charset=utf-8")


def _watch(team, tmp_path, urls, *extra):
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    return main([*team.args, "watch", "--team", "-i", str(listing), "--every", "1h", *extra])


WATCHED = 400  # 100 jobs a worker: each takes jobs while three others do (was 1,000: 75 s)


def test_four_workers_capture_each_watch_once_and_the_chain_is_intact(team, tmp_path, web,
                                                                     capsys):
    web.add_route("/team/", _pages)
    urls = [web.url(f"/team/{n}") for n in range(WATCHED)]
    assert _watch(team, tmp_path, urls) == 0
    assert f"{WATCHED} URL(s) watched every 1h" in capsys.readouterr().err
    workers = [team.worker("--jobs", "2", "--drain") for _ in range(4)]
    outputs = _outputs(workers, timeout=600)
    assert all(w.returncode == 0 for w in workers), [o[1][-800:] for o in outputs]
    per_worker = [sum(1 for line in out.splitlines() if json.loads(line)["ledger_seq"])
                  for out, _ in outputs]
    assert sum(per_worker) == WATCHED and min(per_worker) > 0, per_worker  # shared out
    captures = team.captures()
    assert set(captures) == set(urls) and set(captures.values()) == {1}  # none lost or doubled
    assert team.jobs() == []  # every capture job succeeded
    assert main([*team.args, "check"]) == 0


def _slow_first(seconds: float):
    """A page that answers after ``seconds`` on each path's first request, at once after:
    a job redone later has nothing to wait for."""
    served: set[str] = set()

    def handler(h):
        if h.path not in served:
            served.add(h.path)
            time.sleep(seconds)
        try:
            _pages(h)
        except OSError:
            pass
    return handler


def test_a_worker_killed_mid_job_has_its_job_redone_once(team, tmp_path, web, capsys):
    web.add_route("/killed/", _slow_first(3))
    web.add_route("/fine/", _pages)
    slow = web.url(f"/killed/{uuid.uuid4().hex[:8]}")
    fine = [web.url(f"/fine/{n}") for n in range(3)]
    assert _watch(team, tmp_path, [slow, *fine]) == 0
    first = team.worker("--jobs", "4", "--lease", "2")
    path = slow.split("127.0.0.1", 1)[1].split(":", 1)[-1]
    path = path[path.index("/"):]
    deadline = time.monotonic() + 30
    while web.hits(path) == 0 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    if web.hits(path) != 1:
        first.kill()
        raise AssertionError(first.communicate(timeout=30))
    first.send_signal(signal.SIGKILL)  # mid-job: the page has not answered yet
    first.communicate(timeout=30)
    assert slow not in team.captures()
    assert ("doing" in {state for url, state, _ in team.jobs() if url == slow})
    second = team.worker("--jobs", "2", "--lease", "2", "--drain")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert web.hits(path) == 2  # taken again once the dead worker stopped beating
    captures = team.captures()
    assert captures[slow] == 1 and all(captures[url] == 1 for url in fine), captures
    lines = [json.loads(line) for line in out.splitlines() if json.loads(line)["url"] == slow]
    assert lines[0]["attempt"] == 2 and lines[0]["ledger_seq"], lines  # taken back once
    # (on a starved machine a heartbeat may come late and the job be taken back while it
    # runs: the run that follows only finds the capture, which is what is guaranteed)
    assert all(line.get("already_recorded") for line in lines[1:]), lines
    assert team.jobs() == []
    assert main([*team.args, "check"]) == 0


def test_a_job_redone_after_its_capture_was_recorded_is_not_captured_again(team, tmp_path,
                                                                          web, capsys):
    """A worker that died between recording a capture and marking its job done."""
    web.add_route("/team/", _pages)
    url = web.url(f"/team/redo-{uuid.uuid4().hex[:8]}")
    assert _watch(team, tmp_path, [url]) == 0
    done = team.worker("--drain")
    done.communicate(timeout=60)
    with psycopg.connect(team.db, autocommit=True) as conn:  # the slot's job made again
        conn.execute("UPDATE watches SET scheduled_slot = -1")
    again = team.worker("--drain")
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert json.loads(out.splitlines()[0])["already_recorded"] is True
    assert team.captures()[url] == 1
    assert team.jobs() == []


def test_the_ledger_refuses_a_second_capture_of_one_watch_slot(team, tmp_path, web):
    web.add_route("/team/", _pages)
    assert _watch(team, tmp_path, [web.url("/team/key")]) == 0  # the key's index is made
    store, ledger = open_team(team.db, team.objects, write=True)
    try:
        ledger.append(CAPTURE, {"url": "https://example.org/", "batch": "watch:7:42"},
                      subject="https://example.org/")
        with pytest.raises(LedgerError, match="records_one_capture_per_watch_slot"):
            ledger.append(CAPTURE, {"url": "https://example.org/", "batch": "watch:7:42"},
                          subject="https://example.org/")
        ledger.append(CAPTURE, {"url": "https://example.org/", "batch": "watch:7:43"},
                      subject="https://example.org/")  # the next slot is a new capture
    finally:
        ledger.close()
        store.close()


def _captures_and_stamps(team) -> tuple[set[int], list]:
    """The team ledger's capture numbers and its time-stamp records."""
    store, ledger = open_team(team.db, team.objects, write=False)
    try:
        return ({r.seq for r in ledger.records(kind=CAPTURE)},
                list(ledger.records(kind="timestamp")))
    finally:
        ledger.close()
        store.close()


def test_stamps_come_every_stamp_every_without_stamping_a_record_twice(team, tmp_path, web,
                                                                      tsa):
    """The periodic stamp (one procrastinate job per tick for the team) while captures go
    on, slowed so that the round spans several ticks."""
    web.add_route("/slow/", _slow_first(1.5))  # 4 pages one after another: about 6 ticks
    urls = [web.url(f"/slow/stamped-{n}") for n in range(4)]
    assert _watch(team, tmp_path, urls) == 0
    worker = team.worker("--drain", "--jobs", "1", "--tsa", tsa.url, "--stamp-every", "1s")
    (_, err), = _outputs([worker], timeout=180)
    assert worker.returncode == 0, err
    captures, stamps = _captures_and_stamps(team)
    covered = [seq for record in stamps for seq in record.data["covers"]]
    assert captures <= set(covered) and len(covered) == len(set(covered))
    assert len(stamps) >= 2 and tsa.requests == len(stamps)  # stamped as the round went


def test_team_watches_need_a_team_store(tmp_path, capsys):
    code = main(["--store", str(tmp_path / "ev"), "watch", "--team", "https://example.org/",
                 "--every", "1h"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "team store" in err[0]
    assert main(["--store", str(tmp_path / "ev"), "worker"]) == 2


def test_a_removed_watch_is_no_longer_captured(team, tmp_path, web, capsys):
    web.add_route("/team/", _pages)
    kept, removed = web.url("/team/kept"), web.url("/team/removed")
    assert _watch(team, tmp_path, [kept, removed]) == 0
    assert main([*team.args, "watch", "--team", "--remove", removed]) == 0
    assert "1 of 1 URL(s) no longer watched" in capsys.readouterr().err
    worker = team.worker("--drain")
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert team.captures() == Counter({kept: 1})


def test_one_worker_at_a_time_stamps_the_new_records_one_request_per_batch(team, tmp_path,
                                                                           web, tsa):
    web.add_route("/team/", _pages)
    urls = [web.url(f"/team/stamped-{n}") for n in range(30)]
    assert _watch(team, tmp_path, urls) == 0
    # Stamps come every --stamp-every and when a worker stops. The test once used the
    # default 10 s and allowed 2 stamps: on a loaded machine the round outlasted 10 s and a
    # periodic stamp made a third (a sound one). Hourly stamps (at the top of each hour)
    # leave the two final ones, and one more only if the round spans an hour's start.
    start = time.time()
    workers = [team.worker("--drain", "--tsa", tsa.url, "--stamp-every", "1h")
               for _ in range(2)]
    for worker, (_, err) in zip(workers, _outputs(workers, timeout=120), strict=True):
        assert worker.returncode == 0, err
    hours = int(time.time() // 3600) - int(start // 3600)
    captures, stamps = _captures_and_stamps(team)
    covered = [seq for record in stamps for seq in record.data["covers"]]
    assert len(captures) == 30 and captures <= set(covered)
    assert len(covered) == len(set(covered))  # no record stamped twice by the two workers
    assert tsa.requests == len(stamps) <= 2 + hours, (tsa.requests, len(stamps))
    assert main([*team.args, "check"]) == 0


def _changes(team):
    store, ledger = open_team(team.db, team.objects, write=False)
    try:
        return list(ledger.records(kind=CHANGED))
    finally:
        ledger.close()
        store.close()


def test_a_worker_killed_between_a_capture_and_its_change_has_the_change_written_once(
        team, tmp_path, web):
    said = {"text": "The minister said the budget would rise by four percent this year."}
    web.add_route("/changing/", lambda h: send(
        h, 200, f"<html><body><article><p>{said['text']}</p></article></body></html>".encode(),
        content_type="text/html; charset=utf-8"))
    url = web.url(f"/changing/{uuid.uuid4().hex[:8]}")
    assert _watch(team, tmp_path, [url]) == 0
    first = team.worker("--drain")
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    said["text"] = "The minister said the budget would fall by two percent next year."
    assert _watch(team, tmp_path, [url], "--every", "2h") == 0  # a new interval: a new slot
    held = tmp_path / "held"
    killed = team.worker("--lease", "2", env={"PROVENANCE_TEST_HOLD_AFTER_CAPTURE": str(held)})
    deadline = time.monotonic() + 60
    while not held.exists() and time.monotonic() < deadline and killed.poll() is None:
        time.sleep(0.05)
    assert held.exists(), killed.communicate(timeout=30)
    killed.send_signal(signal.SIGKILL)  # the capture is recorded, its change is not
    killed.communicate(timeout=30)
    seq = int(held.read_text())
    assert team.captures()[url] == 2 and _changes(team) == []
    again = team.worker("--lease", "2", "--drain")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    line = json.loads(out.splitlines()[0])
    assert line["already_recorded"] is True and line["ledger_seq"] == seq, line
    assert line["changed"] is not None and line["attempt"] == 2
    changes = _changes(team)
    assert [c.data["to"]["seq"] for c in changes] == [seq]
    assert any("fall" in passage for passage in changes[0].data["added"])
    with psycopg.connect(team.db, autocommit=True) as conn:  # the slot's job once more
        conn.execute("UPDATE watches SET scheduled_slot = -1")
    third = team.worker("--drain")
    out, err = third.communicate(timeout=120)
    assert third.returncode == 0, err
    assert json.loads(out.splitlines()[0])["changed"] is None
    assert len(_changes(team)) == 1 and team.captures()[url] == 2  # nothing written twice
    assert main([*team.args, "check"]) == 0


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium (apt-get install "
                    "chromium)")
def test_a_browser_watch_is_rendered_by_a_browser_worker_only(team, tmp_path, web):
    web.add_route("/team/", _pages)
    rendered, plain = web.url("/team/rendered"), web.url("/team/plain")
    assert _watch(team, tmp_path, [rendered], "--browser") == 0
    assert _watch(team, tmp_path, [plain]) == 0
    without = team.worker("--drain")
    _, err = without.communicate(timeout=120)
    assert without.returncode == 0, err
    assert team.captures() == Counter({plain: 1})  # a worker without Chromium leaves it
    assert [(u, state) for u, state, _ in team.jobs()] == [(rendered, "todo")]
    browser = team.worker("--drain", "--browser")
    _, err = browser.communicate(timeout=180)
    assert browser.returncode == 0, err
    store, ledger = open_team(team.db, team.objects, write=False)
    try:
        record = next(iter(ledger.records(kind=CAPTURE, subject=rendered)))
    finally:
        ledger.close()
        store.close()
    assert record.data["browser"]["status"] == "ok", record.data["browser"]
    assert team.captures() == Counter({plain: 1, rendered: 1}) and team.jobs() == []


def test_open_jobs_of_the_queue_before_procrastinate_are_said_and_the_watch_captured(
        team, tmp_path, web):
    web.add_route("/team/", _pages)
    url = web.url("/team/legacy")
    assert _watch(team, tmp_path, [url]) == 0
    with psycopg.connect(team.db, autocommit=True) as conn:  # what an older store held
        conn.execute("CREATE TABLE watch_jobs (id BIGSERIAL PRIMARY KEY, watch_id BIGINT, "
                     "slot BIGINT, url TEXT, state TEXT)")
        conn.execute("INSERT INTO watch_jobs (watch_id, slot, url, state) "
                     "VALUES (1, 1, %s, 'doing')", (url,))
    worker = team.worker("--drain")
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    assert "1 job(s) left open in the old queue table watch_jobs" in err
    assert team.captures() == Counter({url: 1})
