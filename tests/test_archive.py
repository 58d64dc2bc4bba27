"""`provenance archive` end to end: real pages on loopback, real WARC files, real kills.

Each capture is checked with independent tools where they exist (warcio's own ``check``
command for WARC digests), and every kind of damage to a real capture must fail ``check``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from webfixtures import ARTICLE, TITLE, closed_port, send

from provenance.capture import CAPTURE, FETCH_FAILED
from provenance.cli import main
from provenance.ledger import Ledger
from provenance.store import Store

REPO = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def stored_files(store: Path, item: dict, role: str) -> Path:
    """The stored file of one role (warc, text) of the capture a JSON line reports."""
    with Ledger(Store(store)) as ledger:
        record = ledger.find(item["id"])
    (entry,) = [f for f in record.files if f["role"] == role]
    return store / entry["path"]


def capture_records(store: Path) -> list:
    with Ledger(Store(store)) as ledger:
        return list(ledger.records(kind=CAPTURE))


@pytest.mark.parametrize("path", ["/ru/utf8", "/ru/cp1251", "/ru/koi8", "/gzip", "/redirect/3"])
def test_capture_is_a_valid_warc_and_readable_text(tmp_path, capsys, web, path):
    store = tmp_path / "ev"
    code, items, err = run(capsys, "--store", str(store), "archive", web.url(path))
    assert code == 0, err
    (item,) = items
    assert item["http_status"] == 200 and item["title"] == TITLE
    warc = stored_files(store, item, "warc")
    # warcio's own checker, not ours: every block and payload digest must match.
    checked = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(warc)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "digest pass" in checked.stdout and "digest fail" not in checked.stdout
    text = stored_files(store, item, "text").read_text(encoding="utf-8")
    assert ARTICLE[1] in text  # decoded Cyrillic, whatever the page's charset
    assert main(["--store", str(store), "check"]) == 0


def test_redirect_chain_is_recorded_hop_by_hop(tmp_path, capsys, web):
    store = tmp_path / "ev"
    code, (item,), _ = run(capsys, "--store", str(store), "archive", web.url("/redirect/3"))
    assert code == 0
    assert item["final_url"] == web.url("/ru/utf8")
    from warcio.archiveiterator import ArchiveIterator

    with open(stored_files(store, item, "warc"), "rb") as stream:
        responses = [r.rec_headers.get_header("WARC-Target-URI")
                     for r in ArchiveIterator(stream) if r.rec_type == "response"]
    assert responses == [web.url("/redirect/3"), web.url("/redirect/2"),
                         web.url("/redirect/1"), web.url("/ru/utf8")]


@pytest.mark.parametrize("role", ["warc", "text"])
def test_check_catches_a_changed_byte_in_a_real_capture(tmp_path, capsys, web, role):
    store = tmp_path / "ev"
    _, (item,), _ = run(capsys, "--store", str(store), "archive", web.url("/ru/cp1251"))
    target = stored_files(store, item, role)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(target, 0o644)
    target.write_bytes(bytes(data))
    code, problems, _ = run(capsys, "--store", str(store), "check")
    assert code == 1
    assert any(str(target.relative_to(store)) in json.dumps(p) for p in problems)


def test_check_catches_a_deleted_capture_file(tmp_path, capsys, web):
    store = tmp_path / "ev"
    _, (item,), _ = run(capsys, "--store", str(store), "archive", web.url("/ru/utf8"))
    stored_files(store, item, "warc").unlink()
    assert run(capsys, "--store", str(store), "check")[0] == 1


@pytest.mark.parametrize("path, reason", [
    ("/loop/a", "loop"), ("/endless", "bytes"), ("/big", "bytes"), ("/slow", "did not answer"),
    ("/to-file", "redirect"),
])
def test_fetch_failures_are_one_line_exit_1_and_recorded(tmp_path, capsys, web, path, reason):
    store = tmp_path / "ev"
    code, items, err = run(capsys, "--store", str(store), "archive", web.url(path),
                           "--timeout", "0.5", "--max-bytes", "100000")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert reason in err.lower()
    assert items and items[0]["url"] == web.url(path) and items[0]["reason"]
    with Ledger(Store(store)) as ledger:
        assert [r.kind for r in ledger.records()] == [FETCH_FAILED]
    assert main(["--store", str(store), "check"]) == 0


def test_connection_refused_is_exit_1(tmp_path, capsys):
    store = tmp_path / "ev"
    code, _, err = run(capsys, "--store", str(store), "archive",
                       f"http://127.0.0.1:{closed_port()}/")
    assert code == 1 and "refused" in err.lower() and len(err.strip().splitlines()) == 1


def test_a_404_is_captured_as_what_the_server_said(tmp_path, capsys, web):
    code, (item,), _ = run(capsys, "--store", str(tmp_path / "ev"), "archive", web.url("/404"))
    assert code == 0 and item["http_status"] == 404  # a 404 is evidence too: the page was gone


def test_rerun_skips_and_again_captures_anew(tmp_path, capsys, web):
    store = tmp_path / "ev"
    url = web.url("/page/7")
    run(capsys, "--store", str(store), "archive", url)
    before = web.hits("/page/7")
    (list_file := tmp_path / "urls.txt").write_text(f"# one page\n{url}\n")
    _, (item,), _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file))
    assert item["skipped"] is True and web.hits("/page/7") == before
    _, (item,), _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file), "--again")
    assert not item.get("skipped") and web.hits("/page/7") == before + 1
    assert len(capture_records(store)) == 2  # a new capture, the first one untouched
    assert main(["--store", str(store), "check"]) == 0


def _slow_page(h):
    time.sleep(0.03)
    n = h.path.rsplit("/", 1)[1]
    send(h, 200, f"<html><body><article><p>Slow page {n}</p></article></body></html>".encode())


def test_kill_9_mid_batch_then_resume_loses_nothing_and_repeats_nothing(tmp_path, web):
    """200 URLs, eight at a time; SIGKILL after 40 captures; the rerun does only the rest."""
    web.add_route("/slowpage/", _slow_page)
    urls = [web.url(f"/slowpage/{n}") for n in range(200)]
    (list_file := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = tmp_path / "ev"
    argv = [sys.executable, "-m", "provenance", "--json", "--store", str(store), "archive",
            "-i", str(list_file), "--jobs", "8", "--to", "none", "--tsa", "none"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    printed = []
    assert proc.stdout is not None
    for line in proc.stdout:
        printed.append(json.loads(line))
        if len(printed) == 40:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    recorded = {r.subject for r in capture_records(store)}
    assert {p["url"] for p in printed} <= recorded  # everything reported was kept
    assert len(recorded) < 200  # the kill really came mid-batch

    resumed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    lines = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert sum(1 for item in lines if item.get("skipped")) == len(recorded)
    subjects = [r.subject for r in capture_records(store)]
    assert sorted(subjects) == sorted(urls)  # every URL once: nothing lost, nothing twice
    assert subprocess.run([sys.executable, "-m", "provenance", "--store", str(store), "check"],
                          env=env, capture_output=True).returncode == 0


def test_rerun_with_a_witness_sends_what_the_first_run_did_not(tmp_path, capsys, web, ia_env):
    """Captured with --to none (or killed before the witness answered): the rerun of the
    list sends those captures to the witness without fetching the pages again."""
    store = tmp_path / "ev"
    (list_file := tmp_path / "urls.txt").write_text(
        f"{web.url('/page/21')}\n{web.url('/page/22')}\n")
    run(capsys, "--store", str(store), "archive", "-i", str(list_file), "--to", "none")
    hits = web.hits("/page/21")
    code, items, _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file),
                         "--to", "ia")
    assert code == 0 and web.hits("/page/21") == hits + 1  # once, by the witness only
    assert [w["status"] for i in items for w in i["witnesses"]] == ["archived", "archived"]
    assert all(w["agrees"] is True for i in items for w in i["witnesses"])
    code, items, _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file),
                         "--to", "ia")
    assert code == 0 and [i["witnesses"] for i in items] == [[], []]  # nothing sent twice
    assert main(["--store", str(store), "check"]) == 0


def test_an_archived_404_is_compared_too(tmp_path, capsys, web, ia_env):
    """A page already gone (404) is evidence; the witness's copy of the 404 is compared."""
    code, (item,), err = run(capsys, "--store", str(tmp_path / "ev"), "archive",
                             web.url("/404"), "--to", "ia")
    assert code == 0 and item["http_status"] == 404, err
    (witness,) = item["witnesses"]
    assert witness["status"] == "archived" and witness["agrees"] is True, witness
