"""``provenance watch``: rounds on a schedule, changes printed as they happen, and a clean stop
on SIGINT/SIGTERM in a real subprocess (the ledger stays valid, nothing half-written)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from webfixtures import send

from provenance.changes.timeline import CHANGED
from provenance.changes.watch import next_delay, parse_duration
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
KP = "Россия потеряла 9 861 человек убитыми, 16 153 ранеными."


def page(lead: str | None, n: int) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in ([lead] if lead else []) + [
        "В ведомстве подчеркнули, что эти сведения уточняются.", f"Обновлено 14:{n:02d}"])
    return f"<html><body><article>{body}</article></body></html>".encode()


def test_durations():
    assert parse_duration("10m") == 600 and parse_duration("0.2s") == 0.2
    assert parse_duration("1h30m") == 5400 and parse_duration("90") == 90
    assert parse_duration("250ms") == 0.25
    assert all(0.9 * 60 <= next_delay(60, 0.1) <= 1.1 * 60 for _ in range(200))


@pytest.mark.parametrize("argv,message", [
    (["--every", "soon"], "--every 'soon' is not a duration"),
    (["--every", "0s"], "must be more than 0"),
    (["--every=-5m"], "not a duration"),
    (["--every", "1m", "--for", "6 parsecs"], "--for"),
    (["--every", "1m", "--url-typo"], "unrecognized"),
    ([], "--every"),
])
def test_bad_input_is_one_line_exit_2_and_no_store(tmp_path, capsys, argv, message):
    store = tmp_path / "ev"
    try:
        code = main(["--store", str(store), "watch", "http://127.0.0.1:9/x", *argv])
    except SystemExit as exc:  # argparse's own errors (same one line, same code)
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not store.exists()


def test_bad_url_is_one_line_exit_2(tmp_path, capsys):
    assert main(["--store", str(tmp_path / "ev"), "watch", "ftp://x/", "--every", "1m"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_watch_records_and_prints_each_change_as_it_happens(tmp_path, capsys, web):
    served = itertools.count()

    def handler(h):
        n = next(served)
        lead = KP if n < 2 else None if n < 4 else KP.replace("9 861", "10 152")
        send(h, 200, page(lead, n), content_type="text/html; charset=utf-8")

    web.add_route("/watch/kp", handler)
    store = str(tmp_path / "ev")
    started = time.monotonic()
    code = main(["--json", "--store", store, "watch", web.url("/watch/kp"),
                 "--every", "0.2s", "--for", "1.5s", "--tsa", "none"])
    elapsed = time.monotonic() - started
    assert code == 0 and elapsed < 5
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert 5 <= len(lines) <= 9, len(lines)  # about 1.5 / 0.2 rounds, give or take jitter
    assert [line["round"] for line in lines] == list(range(1, len(lines) + 1))
    changes = [line["changed"] for line in lines if line["changed"]]
    assert len(changes) == 2  # the figures went, then a different figure came
    assert changes[0]["removed"] == [KP]
    assert [(f["old"], f["new"]) for f in changes[1]["figures"]] == [(None, "10152"),
                                                                   (None, "16153")]
    with Ledger(Store(store)) as ledger:
        assert len(list(ledger.records(kind=CHANGED))) == 2
    assert main(["--store", store, "check"]) == 0


def test_watch_prints_changes_for_people(tmp_path, capsys, web):
    served = itertools.count()
    web.add_route("/watch/human", lambda h: send(
        h, 200, page(KP if next(served) == 0 else None, 1),
        content_type="text/html; charset=utf-8"))
    store = str(tmp_path / "ev")
    assert main(["--store", store, "watch", web.url("/watch/human"), "--every", "0.1s",
                 "--for", "0.35s", "--tsa", "none"]) == 0
    captured = capsys.readouterr()
    assert "CHANGED since" in captured.out and f"    - {KP}" in captured.out
    assert "figure 9 861 -> (gone)" in captured.out
    assert "first capture" in captured.err and "stopped after" in captured.err


def _slow_page(h):
    time.sleep(0.8)
    try:
        send(h, 200, page(KP, 3), content_type="text/html; charset=utf-8")
    except OSError:
        pass


def start_watch(store, url):
    """``provenance watch`` in a real process of its own, as a user runs it."""
    env = {**os.environ, "PROVENANCE_TO": "none", "PROVENANCE_TSA": "none",
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "provenance", "--json", "--store", str(store), "watch", url,
         "--every", "0.1s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_finishes_the_capture_in_progress_then_stops(tmp_path, web, sig):
    web.add_route("/watch/slow", _slow_page)
    store = tmp_path / "ev"
    proc = start_watch(store, web.url("/watch/slow"))
    try:
        first = proc.stdout.readline()          # one capture done, the next one in flight
        assert json.loads(first)["round"] == 1
        time.sleep(0.3)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopping after the capture in progress" in err
    rounds = [json.loads(line)["round"] for line in [first, *out.splitlines()]]
    assert rounds == [1, 2]                       # the capture in flight was finished
    with Ledger(Store(store)) as ledger:
        assert [r.kind for r in ledger.records()] == ["capture", "capture"]
    assert not list((store / "tmp").iterdir())   # nothing half-written
    assert main(["--store", str(store), "check"]) == 0


def test_a_second_signal_abandons_the_capture_and_the_ledger_stays_valid(tmp_path, web):
    web.add_route("/watch/slow2", _slow_page)
    store = tmp_path / "ev"
    proc = start_watch(store, web.url("/watch/slow2"))
    try:
        proc.stdout.readline()
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    with Ledger(Store(store)) as ledger:
        assert [r.kind for r in ledger.records()] == ["capture"]
    assert main(["--store", str(store), "check"]) == 0


def test_an_error_status_is_said_when_it_first_appears_or_changes_not_every_round(
        tmp_path, capsys, web):
    """A page that stays dead is said once, not once a round; a new status is said again."""
    served = itertools.count()

    def handler(h):
        n = next(served)
        status = 404 if n < 3 else 410 if n < 5 else 200
        send(h, status, page(KP, n), content_type="text/html; charset=utf-8")

    web.add_route("/watch/dead", handler)
    store = str(tmp_path / "ev")
    code = main(["--json", "--store", store, "watch", web.url("/watch/dead"),
                 "--every", "0.05s", "--for", "1.5s", "--tsa", "none", "--to", "none"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    statuses = [json.loads(line)["http_status"] for line in captured.out.splitlines()]
    assert statuses[:6] == [404, 404, 404, 410, 410, 200], statuses  # every round recorded
    said = [line for line in captured.err.splitlines() if "the server answered" in line]
    assert len(said) == 2, said
    assert "HTTP 404 Not Found" in said[0] and "HTTP 410 Gone" in said[1]
