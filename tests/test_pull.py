"""``provenance pull URL``: an archive's snapshots kept in the store, resumable, polite.

Through the CLI against the Wayback-protocol test server (many CDX rows, a run killed by a
real signal and run again, an archive that throttles, fails or answers garbage, a date
range) and a real pywb read through its TimeMap.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_scenario import EDITED, ORIGINAL, cli
from test_timemap import FAST
from waybackserver import Snap
from webfixtures import send

from archive.witness import WitnessSpec, open_witness
from provenance.capture.snapshots import keep_snapshot, subject_of
from provenance.check import check_store
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
HTML = "text/html; charset=windows-1251"


def page_url(web) -> str:
    path = f"/pull/page-{random.randrange(1 << 30)}"
    web.add_route(path, lambda h: send(h, 404, b"gone"))
    return web.url(path)


def holds(wayback, url: str, count: int, *, day: str = "20220320") -> list[str]:
    """``count`` snapshots of ``url`` one minute apart from 10:00 on ``day``."""
    stamps = [f"{day}{10 + m // 60:02d}{m % 60:02d}00" for m in range(count)]
    wayback.snaps.setdefault(url, []).extend(
        Snap(ts, url, 200, HTML, None, (ORIGINAL if i % 2 else EDITED) + str(i).encode())
        for i, ts in enumerate(stamps))
    return stamps


def copies_fetched(wayback, url: str) -> list[str]:
    """The timestamps of the raw copies of ``url`` the archive served, in order."""
    return [h.path.split("/")[2][:-3] for h in wayback.hits("/web/") if
            h.path.endswith(f"id_/{url}")]


def snapshot_records(store: Path) -> list[dict]:
    with Ledger(Store(store, create=False, writable=False)) as ledger:
        return [r.data for r in ledger.records(kind="snapshot")]


def problems(store: Path) -> list:
    with Ledger(Store(store, create=False, writable=False)) as ledger:
        return check_store(ledger.store, ledger).problems


@pytest.fixture
def fast_reads(monkeypatch):
    monkeypatch.setenv("PROVENANCE_IA_READ_INTERVAL", "0")


# --- many rows, kept once --------------------------------------------------------------------

def test_pull_keeps_every_snapshot_once_and_a_rerun_fetches_nothing(capsys, tmp_path, ia_env,
                                                                    web, fast_reads):
    url = page_url(web)
    stamps = holds(ia_env, url, 60)
    ia_env.cdx_duplicates = 2  # the real index repeats rows
    store = tmp_path / "ev"
    code, items, err = cli(capsys, "--store", str(store), "pull", url, "--to", "ia")
    assert code == 0, err
    *lines, summary = items
    assert {i["type"] for i in lines} == {"snapshot"} and summary["type"] == "summary"
    assert [i["timestamp"] for i in lines] == stamps
    assert {i["status"] for i in lines} == {"kept"}
    assert all(i["memento_url"].endswith(f"/web/{i['timestamp']}/{url}") for i in lines)
    assert (summary["kept"], summary["had"], summary["failed"]) == (60, 0, 0)
    assert summary["complete"] is True and summary["listed"] == 60
    assert sorted(copies_fetched(ia_env, url)) == stamps  # each raw copy once
    assert "60/60" in err  # progress: n/total and the memento time
    assert "2022-03-20T10:59:00Z" in err
    assert sorted(d["timestamp"] for d in snapshot_records(store)) == stamps
    assert problems(store) == []

    code, again, err = cli(capsys, "--store", str(store), "pull", url, "--to", "ia")
    assert code == 0, err
    assert {i["status"] for i in again[:-1]} == {"had"}
    assert (again[-1]["kept"], again[-1]["had"]) == (0, 60)
    assert sorted(copies_fetched(ia_env, url)) == stamps  # nothing fetched again
    assert len(snapshot_records(store)) == 60


def test_pull_human_output_and_summary(capsys, tmp_path, ia_env, web, fast_reads):
    url = page_url(web)
    holds(ia_env, url, 3)
    assert main(["--store", str(tmp_path / "ev"), "pull", url, "--to", "ia"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("2022-03-20T10:00:00Z  ia") and " kept  #1 " in lines[0]
    assert lines[-1] == "ia: 3 kept, 0 already had, 0 failed (of 3)"
    assert "ia: 3 snapshot(s) of" in err and "0 already kept, 3 to fetch" in err
    assert main(["-q", "--store", str(tmp_path / "ev"), "pull", url, "--to", "ia"]) == 0
    out, err = capsys.readouterr()
    assert "already had" in out.splitlines()[0] and err == ""


def test_pull_obeys_the_archives_read_rate(capsys, tmp_path, ia_env, web, monkeypatch):
    monkeypatch.setenv("PROVENANCE_IA_READ_INTERVAL", "0.3")
    url = page_url(web)
    holds(ia_env, url, 5)
    code, _, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", url, "--to", "ia")
    assert code == 0, err
    reads = [h.time for h in ia_env.hits() if h.path.startswith(("/web/", "/cdx/"))]
    assert len(reads) == 6
    gaps = [b - a for a, b in zip(reads, reads[1:], strict=False)]
    assert min(gaps) >= 0.28, gaps


# --- resume after a killed run ------------------------------------------------------------------

def _pull_process(store: Path, url: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")]), PROVENANCE_IA_READ_INTERVAL="0.1")
    return subprocess.Popen([sys.executable, "-m", "provenance", "--json", "--store",
                             str(store), "pull", url, "--to", "ia"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_pull_resumes_and_fetches_nothing_twice(capsys, tmp_path, ia_env, web,
                                                         fast_reads, sig):
    url = page_url(web)
    stamps = holds(ia_env, url, 40)
    store = tmp_path / "ev"
    proc = _pull_process(store, url)
    deadline = time.monotonic() + 60
    while len(copies_fetched(ia_env, url)) < 10 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == (-9 if sig == signal.SIGKILL else 130), err
    assert b"Traceback" not in err
    first = {d["timestamp"] for d in snapshot_records(store)}
    assert 5 <= len(first) < 40
    if sig == signal.SIGINT:
        assert b"the same command again fetches only the rest" in err
    assert problems(store) == []
    before = len(copies_fetched(ia_env, url))

    code, items, err = cli(capsys, "--store", str(store), "pull", url, "--to", "ia")
    assert code == 0, err
    summary = items[-1]
    assert summary["had"] == len(first) and summary["kept"] == 40 - len(first)
    again = copies_fetched(ia_env, url)[before:]
    assert not set(again) & first  # a copy recorded before is never fetched again
    assert sorted(again) == sorted(set(stamps) - first)
    records = snapshot_records(store)
    assert sorted(d["timestamp"] for d in records) == stamps  # one record per snapshot
    assert problems(store) == []


# --- an archive that fails -----------------------------------------------------------------------

def test_a_throttling_index_is_a_could_not_pull_line(capsys, tmp_path, ia_env, web, fast_reads):
    url = page_url(web)
    holds(ia_env, url, 3)
    ia_env.fail_next(429, times=5, path="/cdx/", retry_after="1")
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", url, "--to", "ia")
    assert code == 1
    assert "could not pull from ia:" in err and "HTTP 429" in err
    assert items == [{**items[0], "type": "summary", "total": 0, "complete": False}]
    assert copies_fetched(ia_env, url) == []


def test_an_archive_failing_midway_stops_and_the_rerun_completes(capsys, tmp_path, ia_env, web,
                                                                  fast_reads, monkeypatch):
    monkeypatch.setenv("PROVENANCE_WITNESS_TRIES", "1")
    url = page_url(web)
    stamps = holds(ia_env, url, 6)
    store = tmp_path / "ev"
    code, _, _ = cli(capsys, "--store", str(store), "pull", url, "--to", "ia", "--limit", "2")
    assert code == 0
    ia_env.fail_next(503, times=1, path="/web/")
    code, items, err = cli(capsys, "--store", str(store), "pull", url, "--to", "ia")
    assert code == 1
    failed = [i for i in items if i.get("status") == "failed"]
    assert [i["timestamp"] for i in failed] == [stamps[2]]
    assert f"could not pull ia {failed[0]['time']}: " in err and "503" in err
    assert "could not pull the rest from ia" in err
    summary = items[-1]
    assert (summary["had"], summary["kept"], summary["failed"], summary["not_tried"]) == \
        (2, 0, 1, 3)
    code, items, err = cli(capsys, "--store", str(store), "pull", url, "--to", "ia")
    assert code == 0, err
    assert (items[-1]["had"], items[-1]["kept"]) == (2, 4)
    assert sorted(d["timestamp"] for d in snapshot_records(store)) == stamps


def test_a_copy_the_archive_excludes_fails_alone(capsys, tmp_path, ia_env, web, fast_reads):
    url = page_url(web)
    stamps = holds(ia_env, url, 3)
    ia_env.fail_next(403, times=1, path="/web/")  # an exclusion page: not a copy
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", url, "--to", "ia")
    assert code == 1
    assert [i["status"] for i in items[:-1]] == ["failed", "kept", "kept"]
    assert f"could not pull ia {items[0]['time']}" in err
    assert items[-1]["complete"] is False and items[-1]["error"] is None
    assert sorted(d["timestamp"] for d in snapshot_records(tmp_path / "ev")) == stamps[1:]


def test_an_index_answering_garbage(capsys, tmp_path, web, monkeypatch):
    prefix = f"/garbage-{random.randrange(1 << 30)}"
    web.add_route(f"{prefix}/cdx/search/cdx",
                  lambda h: send(h, 200, b"<html>not a cdx</html>\x00\xff",
                                 content_type="text/plain"))
    monkeypatch.setenv("PROVENANCE_WAYBACK", web.url(prefix))
    url = page_url(web)
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", url, "--to", "ia")
    assert code == 1
    assert "could not pull from ia:" in err and "unreadable CDX" in err
    assert items[-1]["type"] == "summary" and items[-1]["error"]


def test_an_archive_that_is_down(capsys, tmp_path, web, monkeypatch):
    from webfixtures import closed_port

    monkeypatch.setenv("PROVENANCE_WAYBACK", f"http://127.0.0.1:{closed_port()}")
    code, _, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", page_url(web),
                       "--to", "ia", "--timeout", "3")
    assert code == 1 and "could not pull from ia:" in err and "refused" in err


def test_a_url_the_archive_never_saw(capsys, tmp_path, ia_env, web, fast_reads):
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", page_url(web),
                           "--to", "ia")
    assert code == 1 and "ia holds no snapshot of" in err
    assert items[-1]["total"] == 0 and items[-1]["error"] is None


@pytest.mark.parametrize("args, wanted", [
    (["--since", "yesterday"], "not a date"),
    (["--until", "2022-13-01"], "not a date"),
    (["--since", "2022-03-21", "--until", "2022-03-20"], "is after"),
    (["--limit", "0"], "must be at least 1"),
    (["--to", "none"], "pull needs an archive"),
    (["--to", "pywb"], "pywb needs a collection URL"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, wanted):
    argv = ["--store", str(tmp_path / "ev"), "pull", "http://127.0.0.1:9/page",
            *(args if "--to" in args else ["--to", "ia", *args])]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own checks exit
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and wanted in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and not (tmp_path / "ev").exists()


def test_not_a_url(capsys, tmp_path):
    code, _, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", "ftp://x/", "--to", "ia")
    assert code == 2 and len(err.strip().splitlines()) == 1


# --- a date range --------------------------------------------------------------------------------

def test_a_date_range_is_asked_of_the_index_and_kept_locally(capsys, tmp_path, ia_env, web,
                                                             fast_reads):
    url = page_url(web)
    holds(ia_env, url, 2, day="20220319")
    day = holds(ia_env, url, 3, day="20220320")
    holds(ia_env, url, 2, day="20220321")
    store = tmp_path / "ev"
    code, items, err = cli(capsys, "--store", str(store), "pull", url, "--to", "ia",
                           "--since", "2022-03-20", "--until", "2022-03-20")
    assert code == 0, err
    assert [i["timestamp"] for i in items[:-1]] == day
    assert (items[-1]["since"], items[-1]["until"]) == ("2022-03-20T00:00:00Z",
                                                        "2022-03-20T23:59:59Z")
    [query] = [h.query for h in ia_env.hits("/cdx/")]
    assert "from=20220320000000" in query and "to=20220320235959" in query
    assert sorted(copies_fetched(ia_env, url)) == day
    # A time to the second, and --limit: the oldest N of the range.
    code, items, _ = cli(capsys, "--store", str(store), "pull", url, "--to", "ia",
                         "--since", "2022-03-20T10:01:00Z", "--limit", "3")
    assert [(i["timestamp"], i["status"]) for i in items[:-1]] == [
        (day[1], "had"), (day[2], "had"), ("20220321100000", "kept")]
    assert items[-1]["listed"] == 4 and code == 0


def test_the_range_is_kept_even_if_the_index_ignores_it(capsys, tmp_path, web, monkeypatch):
    """An index that answers every row whatever from/to say: only the range is pulled."""
    prefix = f"/wide-{random.randrange(1 << 30)}"
    url = page_url(web)
    table = ('[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],'
             f'["k","20220319100000","{url}","text/html","200","-","1"],'
             f'["k","20220320100000","{url}","text/html","200","-","1"]]').encode()
    web.add_route(f"{prefix}/cdx/search/cdx",
                  lambda h: send(h, 200, table, content_type="application/json"))
    monkeypatch.setenv("PROVENANCE_WAYBACK", web.url(prefix))
    monkeypatch.setenv("PROVENANCE_IA_READ_INTERVAL", "0")
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "pull", url, "--to", "ia",
                           "--since", "2022-03-20")
    assert [i.get("timestamp") for i in items[:-1]] == ["20220320100000"]
    assert code == 1 and "could not pull ia 2022-03-20T10:00:00Z" in err  # no raw copy there


# --- a real pywb, read through its TimeMap --------------------------------------------------------

def test_pull_from_a_real_pywb_timemap(capsys, tmp_path, pywb, web):
    url = web.url(f"/ru/utf8?pull={random.randrange(1 << 30)}")
    recorder = open_witness(WitnessSpec.parse(f"pywb={pywb.base}"), FAST)
    assert recorder.submit(url).status == "archived"
    time.sleep(1.1)  # one snapshot per second
    assert recorder.submit(url).status == "archived"
    listed = [row.timestamp for row in recorder.snapshots(url)]
    spec = f"memento={pywb.base}/timemap/link/"
    store = tmp_path / "ev"
    code, items, err = cli(capsys, "--store", str(store), "pull", url, "--to", spec)
    assert code == 0, err
    assert [i["timestamp"] for i in items[:-1]] == listed and len(listed) >= 2
    assert {i["status"] for i in items[:-1]} == {"kept"}
    assert all(i["memento_url"].startswith(pywb.base) for i in items[:-1])
    assert problems(store) == []
    code, items, _ = cli(capsys, "--store", str(store), "pull", url, "--to", spec,
                         "--since", listed[-1])
    assert code == 0 and [(i["timestamp"], i["status"]) for i in items[:-1]] == [
        (listed[-1], "had")]
    # The same collection through its CDX (from/to given to pywb): the same copies, kept
    # under the pywb source's own name.
    code, items, _ = cli(capsys, "--store", str(store), "pull", url, "--to",
                         f"pywb={pywb.base}", "--until", listed[0])
    assert code == 0 and [i["timestamp"] for i in items[:-1]] == [listed[0]]


def test_a_snapshot_listed_twice_is_fetched_and_kept_once(capsys, tmp_path, ia_env, web,
                                                          fast_reads):
    """The index lists one timestamp with two digests: the archive serves one copy at that
    time, so it is fetched once and kept as one record."""
    url = page_url(web)
    ia_env.snaps[url] = [Snap("20220320100000", url, 200, HTML, None, ORIGINAL),
                         Snap("20220320100000", url, 200, HTML, None, EDITED)]
    store = tmp_path / "ev"
    code, items, err = cli(capsys, "--store", str(store), "pull", url, "--to", "ia")
    assert code == 0, err
    assert [i["status"] for i in items[:-1]] == ["kept", "had"]
    assert items[0]["seq"] == items[1]["seq"]
    assert copies_fetched(ia_env, url) == ["20220320100000"]
    assert len(snapshot_records(store)) == 1


# --- one copy, one key: pull, history --fetch-witnesses and verify find each other's copies ---

def _held_as(wayback, ours: str, original: str, count: int) -> list[str]:
    """``count`` snapshots the index lists for ``ours`` under the archive's own spelling of
    the URL, ``original`` (its replay answers under that spelling, as the real one does)."""
    stamps = [f"20220320{10 + m:02d}0000" for m in range(count)]
    snaps = [Snap(ts, original, 200, HTML, None, (ORIGINAL if i % 2 else EDITED)
                  + str(i).encode()) for i, ts in enumerate(stamps)]
    wayback.snaps[ours] = snaps
    wayback.snaps[original] = snaps
    return stamps


def raw_fetches(wayback) -> list[str]:
    return [h.path for h in wayback.hits("/web/") if "id_/" in h.path]


@pytest.mark.parametrize("order", ["pull first", "history first"])
def test_pull_and_history_keep_a_copy_once_under_one_key(capsys, tmp_path, ia_env, web,
                                                         fast_reads, order):
    """The archive's original URL differs from ours only by a trailing slash: a copy kept by
    one command is found by the other (no second fetch, no second record)."""
    ours = page_url(web)
    stamps = _held_as(ia_env, ours, ours + "/", 3)
    store = tmp_path / "ev"
    pull = ["--store", str(store), "pull", ours, "--to", "ia"]
    history = ["--store", str(store), "history", ours, "--to", "ia", "--fetch-witnesses"]
    first, second = (pull, history) if order == "pull first" else (history, pull)
    code, _, err = cli(capsys, *first)
    assert code == 0, err
    assert len(raw_fetches(ia_env)) == 3
    code, items, err = cli(capsys, *second)
    assert code == 0, err
    assert len(raw_fetches(ia_env)) == 3, raw_fetches(ia_env)  # nothing fetched again
    records = snapshot_records(store)
    assert sorted(r["timestamp"] for r in records) == stamps  # one record per copy
    if second is pull:
        assert items[-1]["had"] == 3 and items[-1]["kept"] == 0
    with Ledger(Store(store, create=False, writable=False)) as ledger:
        assert {r.subject for r in ledger.records(kind="snapshot")} == {subject_of(ours)}
    assert problems(store) == []


def test_copies_an_earlier_version_filed_under_the_archives_url_are_not_fetched_again(
        capsys, tmp_path, ia_env, web, fast_reads):
    """Earlier versions of history filed a copy under the archive's spelling of the URL:
    pull, history and verify's lookup still find it there."""
    ours = page_url(web)
    stamps = _held_as(ia_env, ours, ours + "/", 2)
    store = tmp_path / "ev"
    witness = open_witness(WitnessSpec.parse("ia"), env={"PROVENANCE_WAYBACK": ia_env.base})
    with Ledger(Store(store)) as ledger:
        for row in witness.snapshots(ours):
            record, new = keep_snapshot(ledger.store, ledger, witness, row)  # no subject
            assert new and record.subject == subject_of(ours + "/")
    assert len(raw_fetches(ia_env)) == 2
    code, items, err = cli(capsys, "--store", str(store), "pull", ours, "--to", "ia")
    assert code == 0 and items[-1]["had"] == 2 and items[-1]["kept"] == 0, err
    code, _, err = cli(capsys, "--store", str(store), "history", ours, "--to", "ia",
                       "--fetch-witnesses")
    assert code == 0, err
    assert len(raw_fetches(ia_env)) == 2  # nothing fetched again
    assert sorted(r["timestamp"] for r in snapshot_records(store)) == stamps
