"""Whole captures in worker processes (:mod:`provenance.capture.procpool`, issue 16): what
they record, and what they must never cost.

The same records as capture threads make (minus the times); files durable under their
names before the parent appends the record naming them; a worker killed mid-page costs no
page; a bug on one page is that page's recorded failure; a parent killed with ``kill -9``
leaves no worker and its list resumes; Ctrl-C cuts the workers' fetches in flight.

A pool forks, so it is started in a child process that runs no other thread (as the
command line does); the loopback server runs here. No timings: ``benchmarks/capture.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fullfs import full_tmpfs
from webfixtures import closed_port, send

from provenance.api import TEXT_POOL_MIN_URLS
from provenance.capture.capturer import INTERNAL_ERROR
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE, FETCH_FAILED
from provenance.store.ledger import Ledger

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
POOLED = "capturing in 2 worker processes"

# A batch of pages captured by a pool, as the command line runs it; ``--threads`` runs the
# same batch with no pool. With SYSCALLS set, every file open/fsync/rename of this process
# and its workers (forks: they inherit the spies) and each ledger COMMIT go to that file,
# one line each, in the order they happen.
SCRIPT = r"""
import json, os, sys
SYSCALLS = os.environ.get("SYSCALLS")
if SYSCALLS:
    real_open, real_fsync, real_replace, paths = os.open, os.fsync, os.replace, {}
    def log(*event):
        fd = real_open(SYSCALLS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, (json.dumps(event) + "\n").encode())
        os.close(fd)
    def spy_open(path, flags, mode=0o777, **kw):
        fd = real_open(path, flags, mode, **kw)
        paths[fd] = os.path.abspath(os.fspath(path))
        return fd
    def spy_fsync(fd):
        real_fsync(fd)
        log("fsync", paths.get(fd, f"fd {fd}"))
    def spy_replace(src, dst, **kw):
        real_replace(src, dst, **kw)
        log("rename", os.path.abspath(os.fspath(src)), os.path.abspath(os.fspath(dst)))
    os.open, os.fsync, os.replace = spy_open, spy_fsync, spy_replace

from archive.fetch import Fetcher
from provenance.capture.batch import run_batch
from provenance.capture.capturer import Capturer
from provenance.capture.procpool import CapturePool
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

class Buggy(Fetcher):
    def fetch(self, url):
        if url.endswith("/page/2"):
            raise RecursionError("maximum recursion depth exceeded")
        return super().fetch(url)

root, jobs, processes, *urls = sys.argv[1:]
threads = jobs == "--threads"
store = Store(root)
with Ledger(store) as ledger:
    if SYSCALLS:
        ledger._db.set_trace_callback(lambda sql: log("commit") if sql == "COMMIT"
                                      else log("sql", sql) if sql.startswith("INSERT") else None)
    fetcher = Buggy(read_timeout=5, total_timeout=8, max_bytes=1_000_000,
                    user_agent="procs-test/1 (a user agent of its own)")
    pool = None if threads else CapturePool(store, fetcher, int(jobs), int(processes))
    print(json.dumps([w.pid for w in pool.workers] if pool else []), flush=True)
    capturer = Capturer(store, ledger, fetcher, workers=pool)
    for outcome in run_batch(capturer, urls, jobs=2 if threads else int(jobs),
                             cut=capturer.cut):
        print(json.dumps(outcome.to_json()), flush=True)
    if pool:
        pool.close()
"""


def _script(root: Path, jobs: str, processes: int, urls: list[str],
            env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(root), jobs, str(processes),
                             *urls], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**ENV, **(env or {})})


def _finish(proc: subprocess.Popen[str]) -> tuple[list[int], list[dict[str, Any]]]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    first, *rest = out.splitlines()
    return json.loads(first), [json.loads(line) for line in rest]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _comparable(record: Any) -> dict[str, Any]:
    """A record's data but for what differs between any two captures of the same page:
    when it was fetched, and the WARC (its record ids and dates), of which the role and
    suffix stay."""
    data = dict(record.data)
    data.pop("fetched_at", None)
    data.pop("batch", None)
    files = []
    for entry in data.get("files", []):
        if entry["role"] == "warc":
            entry = {"role": "warc", "suffix": entry["path"].split(".", 1)[1]}
        files.append(entry)
    data["files"] = files
    return data


def _records(root: Path) -> dict[tuple[str, str | None], dict[str, Any]]:
    with Ledger(Store(root)) as ledger:
        return {(r.kind, r.subject): _comparable(r) for r in ledger.records()
                if r.kind in (CAPTURE, FETCH_FAILED)}


def _urls(web: Any) -> list[str]:
    web.add_route("/procs-empty", lambda h: send(h, 200, b"", content_type="text/html"))
    urls = [web.url(p) for p in ("/ru/utf8", "/ru/cp1251", "/ru/koi8", "/gzip",
                                 "/redirect/3", "/404", "/procs-empty", "/page/2")]
    urls.append(f"http://127.0.0.1:{closed_port()}/refused")
    return urls + [web.url(f"/page/{n}") for n in range(10, 10 + TEXT_POOL_MIN_URLS)]


def test_worker_processes_record_what_capture_threads_record(tmp_path, web):
    """Every field of every record the same (times and the WARC's ids apart), failures
    and a bug of ours included: one function builds the record either way. The fetcher's
    options reach the workers as they are: its byte cap, its user agent."""
    agents: list[str] = []

    def agent(h: Any) -> None:
        agents.append(h.headers.get("User-Agent", ""))
        send(h, 200, b"<html><body><p>Who asks</p></body></html>")

    web.add_route("/procs-agent", agent)
    urls = _urls(web) + [web.url("/big"), web.url("/procs-agent")]
    _, pooled = _finish(_script(tmp_path / "pooled", "4", 2, urls))
    _, threaded = _finish(_script(tmp_path / "threads", "--threads", 0, urls))
    assert {o["url"] for o in pooled} == set(urls)
    assert _records(tmp_path / "pooled") == _records(tmp_path / "threads")
    bug = next(o for o in pooled if o["url"].endswith("/page/2"))
    assert bug["reason"] == INTERNAL_ERROR and "RecursionError" in bug["error"]
    refused = next(o for o in pooled if o["url"].endswith("/refused"))
    assert refused["reason"] == "refused"
    big = next(o for o in pooled if o["url"].endswith("/big"))
    assert big["reason"] == "too-large"
    assert agents == ["procs-test/1 (a user agent of its own)"] * 2
    with Ledger(Store(tmp_path / "pooled")) as ledger:
        for record in ledger.records(kind=CAPTURE):
            for entry in record.files:
                Store(tmp_path / "pooled").read_verified(entry)


def test_the_command_line_captures_a_list_in_workers_and_records_what_one_job_records(
        tmp_path, web):
    urls = _urls(web)[:-2]  # no bug here: the real fetcher
    (listing := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")

    def archive(store: str, jobs: int) -> str:
        done = subprocess.run([sys.executable, "-m", "provenance", "-v", "--store",
                               str(tmp_path / store), "archive", "-i", str(listing),
                               "--jobs", str(jobs), "--to", "none", "--tsa", "none"],
                              capture_output=True, text=True, env=ENV, timeout=120)
        assert done.returncode in (0, 1), done.stderr  # 1: the 404 page
        return done.stderr

    assert POOLED in archive("pooled", 4)
    assert "worker processes" not in archive("one", 1)
    assert _records(tmp_path / "pooled") == _records(tmp_path / "one")
    check = subprocess.run([sys.executable, "-m", "provenance", "--store",
                            str(tmp_path / "pooled"), "check"], env=ENV, capture_output=True)
    assert check.returncode == 0, check.stdout


def test_files_are_durable_under_their_names_before_the_parent_appends_their_record(
        tmp_path, web):
    """The order of the system calls of the parent and its workers, as they happened: each
    file flushed in tmp/, renamed, its folder flushed, and only then the INSERT (and its
    COMMIT) of the record naming it, in the parent."""
    log = tmp_path / "syscalls"
    urls = [web.url(f"/page/{n}") for n in range(30, 38)]
    pids, outcomes = _finish(_script(tmp_path / "ev", "4", 2, urls, {"SYSCALLS": str(log)}))
    assert len(pids) == 2 and all(o.get("id") for o in outcomes)
    events = [tuple(json.loads(line)) for line in log.read_text().splitlines()]
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        records = list(ledger.records(kind=CAPTURE))
    assert len(records) == len(urls)
    for record in records:
        for entry in record.files:
            target = str((store.root / entry["path"]).resolve())
            (renamed,) = [n for n, e in enumerate(events) if e[0] == "rename" and e[2] == target]
            temp = events[renamed][1]
            assert "/tmp/" in temp and temp.endswith(".partial")
            assert ("fsync", temp) in events[:renamed]  # its bytes, before its name
            folder = events.index(("fsync", str(Path(target).parent)), renamed)
            inserted = min(n for n, e in enumerate(events) if e[0] == "sql"
                           and e[1].startswith("INSERT") and entry["path"] in e[1])
            assert folder < inserted  # its name, before the record naming it
            assert ("commit",) in events[inserted:]
    assert list(store.tmp.iterdir()) == []


_SLOW_SERVED: list[str] = []


def _slow_once(h: Any) -> None:
    """Slow on its first request (the worker is killed while it waits), at once after: the
    parent's second fetch has nothing to wait for."""
    if not _SLOW_SERVED:
        _SLOW_SERVED.append(h.path)
        time.sleep(2.0)
    send(h, 200, b"<html><body><article><p>A slow page</p></article></body></html>")


def test_a_worker_killed_mid_page_costs_no_page(tmp_path, web):
    """Its page is captured again in the parent's thread; the pages after it too, with no
    worker left."""
    _SLOW_SERVED.clear()
    web.add_route("/procs-slow", _slow_once)
    hits = web.hits("/procs-slow")
    urls = [web.url("/procs-slow")] + [web.url(f"/page/{n}") for n in range(50, 53)]
    proc = _script(tmp_path / "ev", "1", 1, urls)
    assert proc.stdout is not None
    (worker,) = json.loads(proc.stdout.readline())
    deadline = time.monotonic() + 20
    while web.hits("/procs-slow") == hits and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(worker, signal.SIGKILL)  # dies with the page in hand
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    outcomes = [json.loads(line) for line in out.splitlines()]
    assert sorted(o["url"] for o in outcomes if o.get("id")) == sorted(urls)
    assert web.hits("/procs-slow") == hits + 2  # fetched again, in the parent
    with Ledger(Store(tmp_path / "ev")) as ledger:
        assert sorted(r.subject for r in ledger.records(kind=CAPTURE)) == sorted(urls)
        assert list(ledger.records(kind=FETCH_FAILED)) == []


@pytest.mark.parametrize("jobs", [4, 1], ids=["workers", "threads"])
def test_a_store_that_cannot_take_the_files_stops_the_run_as_it_always_did(tmp_path, web,
                                                                          jobs):
    """A file the store cannot take in a worker (its objects on a full disk of their own)
    is no page's failure and no capture: the page is captured again in the command, where
    it fails as without workers, one line and exit 2, nothing recorded."""
    urls = [web.url(f"/page/{n}") for n in range(70, 70 + TEXT_POOL_MIN_URLS)]
    (listing := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        ledger.append("note", {"before": "the disk filled"})
    with full_tmpfs(store.objects):
        done = subprocess.run([sys.executable, "-m", "provenance", "-v", "--store",
                               str(store.root), "archive", "-i", str(listing), "--jobs",
                               str(jobs), "--to", "none", "--tsa", "none"],
                              capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == 2, done.stderr
    assert (POOLED in done.stderr) == (jobs > 1)
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("provenance:")]
    assert "cannot write" in line, done.stderr
    with Ledger(Store(store.root)) as ledger:
        assert [r for r in ledger.records() if r.kind in (CAPTURE, FETCH_FAILED)] == []


def _slowish(h: Any) -> None:
    time.sleep(0.3)
    n = h.path.rsplit("/", 1)[1]
    send(h, 200, f"<html><body><article><p>Slowish page {n}</p></article></body></html>"
         .encode())


@pytest.mark.slow
def test_kill_9_of_the_parent_leaves_no_worker_and_the_list_resumes(tmp_path, web):
    web.add_route("/procs-slowish/", _slowish)
    urls = [web.url(f"/procs-slowish/{n}") for n in range(60)]
    (listing := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = tmp_path / "ev"
    argv = [sys.executable, "-m", "provenance", "--json", "--store", str(store), "archive",
            "-i", str(listing), "--jobs", "4", "--to", "none", "--tsa", "none"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=ENV, text=True)
    assert proc.stdout is not None
    printed = [json.loads(proc.stdout.readline()) for _ in range(10)]
    workers = _children(proc.pid)
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    deadline = time.monotonic() + 20  # each finishes the page it holds, then leaves
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    with Ledger(Store(store)) as ledger:
        recorded = {r.subject for r in ledger.records(kind=CAPTURE)}
    assert {p["url"] for p in printed} <= recorded and len(recorded) < len(urls)
    resumed = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with Ledger(Store(store)) as ledger:
        assert sorted(r.subject for r in ledger.records(kind=CAPTURE)) == sorted(urls)
    assert subprocess.run([sys.executable, "-m", "provenance", "--store", str(store), "check"],
                          env=ENV, capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("after", [7, 41])
def test_kill_9_amid_grouped_commits_loses_no_printed_page_and_the_list_resumes(
        tmp_path, web, after):
    """Pages answered at once by 2 workers, 16 command threads appending together (group
    commit: several records a transaction, one head for them): ``kill -9`` of the command
    while it prints. Every page printed is recorded, every record's files are whole under
    their names, ``check`` passes (the head names a committed record), and the rerun
    captures exactly the pages not recorded, then ``check`` passes again."""
    urls = [web.url(f"/page/{n}") for n in range(200, 300)]
    (listing := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = tmp_path / "ev"
    argv = [sys.executable, "-m", "provenance", "--json", "--store", str(store), "archive",
            "-i", str(listing), "--jobs", "8", "--to", "none", "--tsa", "none"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=ENV, text=True)
    assert proc.stdout is not None
    printed = [json.loads(proc.stdout.readline()) for _ in range(after)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    checked = subprocess.run([sys.executable, "-m", "provenance", "--store", str(store),
                              "check"], env=ENV, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with Ledger(Store(store)) as ledger:
        before = {r.subject: r.seq for r in ledger.records(kind=CAPTURE)}
        for record in ledger.records(kind=CAPTURE):
            for entry in record.files:
                Store(store).read_verified(entry)
    assert {p["url"] for p in printed} <= set(before) and len(before) < len(urls)
    resumed = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    redone = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert sorted(o["url"] for o in redone if not o.get("skipped")) == \
        sorted(set(urls) - set(before))
    with Ledger(Store(store)) as ledger:
        after_run = [r.subject for r in ledger.records(kind=CAPTURE)]
        assert sorted(after_run) == sorted(urls)  # each once: nothing recorded twice
        assert {r.subject: r.seq for r in ledger.records(kind=CAPTURE)
                if r.subject in before} == before
    checked = subprocess.run([sys.executable, "-m", "provenance", "--store", str(store),
                              "check"], env=ENV, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ctrl_c_cuts_the_fetches_in_flight_in_the_workers(tmp_path, web):
    """A list held by dripping servers, in worker processes: SIGINT ends the run at once,
    with nothing recorded for the fetches cut, and no worker left."""
    urls = [web.url(f"/drip-head?procs{n}") for n in range(TEXT_POOL_MIN_URLS)]
    (listing := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = tmp_path / "ev"
    hits = web.hits("/drip-head")
    proc = subprocess.Popen([sys.executable, "-m", "provenance", "-v", "--store", str(store),
                             "archive", "-i", str(listing), "--jobs", "4", "--timeout", "120",
                             "--to", "none", "--tsa", "none"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + 20
    while web.hits("/drip-head") < hits + 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) == 2
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    try:
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert time.monotonic() - start < 8, err
    assert proc.returncode == 130, err
    assert POOLED.encode() in err and b"Traceback" not in err
    assert not any(_alive(pid) for pid in workers)
    with Ledger(Store(store)) as ledger:
        assert [r for r in ledger.records() if r.kind in (CAPTURE, FETCH_FAILED)] == []


class _Leftover:
    """Garbage in a cycle whose finaliser closes a file descriptor (as a socket's does)."""

    def __init__(self) -> None:
        self.fd = os.open(os.devnull, os.O_RDONLY)
        self.me = self

    def __del__(self) -> None:
        os.close(self.fd)


def test_a_worker_never_closes_a_file_of_its_own_for_a_leftover_of_the_parent():
    """A forked worker does not collect the parent's garbage: the finaliser of a leftover
    would close a descriptor number the worker has since opened for a file of its own (a
    stored file's bytes could then go nowhere, or into another file)."""
    import gc

    from archive.forked import Channel, Forked

    gc.disable()
    try:
        leftover = _Leftover()
        number = leftover.fd
        del leftover  # garbage, not yet collected

        def serve(channels: list[Channel]) -> None:
            fd = -1
            while fd < number:  # the worker's own file takes the leftover's number
                fd = os.open(os.devnull, os.O_RDONLY)
            gc.collect()
            try:
                os.fstat(number)
            except OSError:
                channels[0].send("closed under the worker")
            else:
                channels[0].send("open")

        worker = Forked(serve)  # type: ignore[arg-type]
        try:
            assert worker.channels[0].receive() == "open"
        finally:
            worker.stop()
    finally:
        gc.enable()
        gc.collect()


INTERRUPTED_BATCHES = r"""
import random, signal, sys, threading, time
from provenance.capture.batch import run_batch
from provenance.capture.capturer import CaptureOutcome

class Busy:  # holds the GIL as captures do, so the main thread is switched out anywhere
    def capture_one(self, url, *, batch=None):
        end = time.perf_counter() + 0.0005
        while time.perf_counter() < end:
            pass
        return CaptureOutcome(url, error="not fetched", reason="test")

def settle(timer):  # wait for the timer: its Ctrl-C, if it comes now, lands here
    while True:
        try:
            timer.join()
            time.sleep(0.002)  # a signal already sent is handled by now, inside the try
            return
        except KeyboardInterrupt:
            pass

main = threading.main_thread().ident
for n in range(int(sys.argv[1])):
    timer = threading.Timer(random.uniform(0.001, 0.05), signal.pthread_kill,
                            (main, signal.SIGINT))
    try:
        timer.start()  # on a busy machine the timer can fire before start() returns
        for _ in run_batch(Busy(), [f"https://example.org/{i}" for i in range(5000)],
                           jobs=16):
            pass
    except KeyboardInterrupt:
        pass
    settle(timer)
print("all ended", flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_a_batch_never_hangs_it():
    """A KeyboardInterrupt raised while the batch held a lock of the thread pool's or of a
    future's (in submit, wait, result) left it held: every capture thread then waited on it
    for ever, and so did the command. Ctrl-C is let through only between those calls."""
    try:
        done = subprocess.run([sys.executable, "-c", INTERRUPTED_BATCHES, "500"],
                              capture_output=True, text=True, env=ENV, timeout=150)
    except subprocess.TimeoutExpired:
        pytest.fail("a batch interrupted by Ctrl-C never ended")
    assert done.returncode == 0 and "all ended" in done.stdout, done.stderr[-2000:]
