"""``provenance log``: every record, filtered by kind or subject, ids that export accepts."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from evalset import Passage, render
from webfixtures import ARTICLE, closed_port

from provenance.cli.main import EXIT_BROKEN_PIPE, main
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

REPO = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_log_lists_filters_and_gives_ids_export_accepts(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = web.url("/ru/utf8")
    _, [capture], _ = run(capsys, "--store", store, "archive", url)
    gone = f"http://127.0.0.1:{closed_port()}/gone"
    run(capsys, "--store", store, "archive", gone)
    code, items, _ = run(capsys, "--store", store, "log")
    assert code == 0
    assert [(i["seq"], i["kind"], i["subject"]) for i in items] == [
        (1, "capture", url), (2, "fetch_failed", gone)]
    assert items[0]["id"] == capture["id"] and items[0]["summary"].startswith("200 ")
    assert "refused" in items[1]["summary"]

    _, only, _ = run(capsys, "--store", store, "log", "--kind", "fetch_failed")
    assert [i["seq"] for i in only] == [2]
    # The URL as a person may type it: normalised the way archive normalised it.
    _, about, _ = run(capsys, "--store", store, "log", url.replace("http://", "HTTP://"))
    assert [i["seq"] for i in about] == [1]
    # A screenshot check against the capture is about the URL too.
    shot = tmp_path / "shot.png"
    render(Passage("web", "rus", ARTICLE[0], ARTICLE[1], ARTICLE[1], ARTICLE[2], ""),
           ARTICLE[1], "clean", random.Random(1)).save(shot)
    run(capsys, "--store", store, "verify", str(shot), "--against", capture["id"])
    _, about, _ = run(capsys, "--store", store, "log", url)
    assert [(i["seq"], i["kind"]) for i in about] == [(1, "capture"), (4, "verification")]
    code, none, err = run(capsys, "--store", store, "log", "http://127.0.0.1:9/never")
    assert (code, none) == (1, []) and "no records" in err

    bundle = str(tmp_path / "b.zip")
    assert main(["--store", store, "export", items[0]["id"], "--out", bundle]) == 0
    assert main(["check", "--bundle", bundle]) == 1  # sound, but nothing time-stamped


def test_a_reader_that_closes_early_is_not_a_traceback(tmp_path):
    """`provenance log --json | head -1` on a large store: exit 141, as git would, quietly."""
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        ledger.append_many([("capture", {"url": f"http://example.org/{n}", "http_status": 200,
                                         "title": "x" * 200}, f"http://example.org/{n}")
                            for n in range(3000)])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "provenance", "--store", str(store.root),
                             "--json", "log"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=30) == EXIT_BROKEN_PIPE
    assert json.loads(first)["seq"] == 1
    assert b"Traceback" not in err and b"Error" not in err


def _next_second() -> None:
    """Wait until the clock's second changes, so the next record has a later ledger time."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.05)


def test_log_since_until_and_n_use_the_ledger_record_time(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    first, second = web.url("/ru/utf8"), web.url("/gzip")
    run(capsys, "--store", store, "archive", "--to", "none", "--tsa", "none", first)
    _next_second()
    run(capsys, "--store", store, "archive", "--to", "none", "--tsa", "none", second)
    _, items, _ = run(capsys, "--store", store, "log")
    assert [i["subject"] for i in items] == [first, second]
    t1, t2 = items[0]["time"], items[1]["time"]
    assert t1 < t2

    def seqs(*argv: str) -> tuple[int, list[int]]:
        code, found, _ = run(capsys, "--store", store, "log", *argv)
        return code, [i["seq"] for i in found]

    assert seqs("--since", t2) == (0, [2])  # at or after
    assert seqs("--until", t2) == (0, [1])  # strictly before
    assert seqs("--since", t1, "--until", t2) == (0, [1])
    assert seqs("--since", t2.replace("Z", "+00:00")) == (0, [2])
    # A fraction of a second: the ledger keeps whole seconds, the boundary second is kept.
    assert seqs("--until", t1[:-1] + ".5Z") == (0, [1])
    # A date: --since from its start, --until through its end (the whole day included).
    day = t1[:10]
    assert seqs("--since", day, "--until", day) in ((0, [1, 2]), (0, [1]))
    assert seqs("--since", "2999-01-01") == (1, [])
    assert seqs("--until", "2000-01-01") == (1, [])
    # -n: the newest N that pass the other filters, listed oldest first.
    assert seqs("-n", "1") == (0, [2])
    assert seqs("-n", "5") == (0, [1, 2])
    assert seqs("-n", "1", "--until", t2) == (0, [1])
    assert seqs("-n", "1", first) == (0, [1])
    assert seqs("-n", "1", "--kind", "capture", "--since", t1) == (0, [2])


@pytest.mark.parametrize("argv", [
    ["--since", "yesterday"], ["--until", "2026-02-30"], ["--since", "2026-03-21T25:00:00Z"],
    ["--since", "2026-03-21T14:03:07+02:00"], ["--since", "2026-03-21 14:03"],
    ["-n", "0"], ["-n", "many"],
])
def test_log_bad_time_or_count_is_one_line_and_exit_2(tmp_path, capsys, argv):
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        ledger.append("capture", {"url": "http://example.org/"}, subject="http://example.org/")
    try:
        code = main(["--store", str(store.root), "log", *argv])
    except SystemExit as exc:  # argparse's own checks (-n) exit from the parser
        code = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provenance: "), err
