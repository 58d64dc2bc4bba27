"""`provenance archive` end to end: real pages on loopback, real WARC files, real kills.

Each capture is checked with independent tools where they exist (warcio's own ``check``
command for WARC digests), and every kind of damage to a real capture must fail ``check``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from webfixtures import ARTICLE, TITLE, closed_port, send

from provenance.capture.capturer import CAPTURE, FETCH_FAILED
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

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


@pytest.mark.parametrize("path, reason, timeout", [
    ("/loop/a", "loop", "5"), ("/endless", "bytes", "20"), ("/big", "bytes", "5"),
    ("/slow", "did not answer", "0.5"), ("/to-file", "redirect", "5"),
])
def test_fetch_failures_are_one_line_exit_1_and_recorded(tmp_path, capsys, web, path, reason,
                                                         timeout):
    store = tmp_path / "ev"
    code, items, err = run(capsys, "--store", str(store), "archive", web.url(path),
                           "--timeout", timeout, "--max-bytes", "100000")
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


def test_a_finished_list_run_again_captures_anew(tmp_path, capsys, web):
    """A daily job: the same list every day is captured every day (issue 13); a capture
    made by another command never makes a list skip its URL."""
    store = tmp_path / "ev"
    url = web.url("/page/7")
    run(capsys, "--store", str(store), "archive", url)
    before = web.hits("/page/7")
    (list_file := tmp_path / "urls.txt").write_text(f"# one page\n{url}\n")
    _, (item,), _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file))
    assert not item.get("skipped") and web.hits("/page/7") == before + 1
    _, (item,), _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file))
    assert not item.get("skipped") and web.hits("/page/7") == before + 2
    _, (item,), _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file), "--again")
    assert not item.get("skipped") and web.hits("/page/7") == before + 3
    assert len(capture_records(store)) == 4  # new captures, the first one untouched
    assert not list((store / "runs").iterdir())  # no run of the list left in progress
    assert main(["--store", str(store), "check"]) == 0


def _slow_page(h):
    time.sleep(0.03)
    n = h.path.rsplit("/", 1)[1]
    send(h, 200, f"<html><body><article><p>Slow page {n}</p></article></body></html>".encode())


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_kill_9_mid_batch_then_resume_loses_nothing_and_repeats_nothing(tmp_path, web, sig,
                                                                         capsys):
    """200 URLs, eight at a time; SIGKILL (or Ctrl-C, while group commits are in flight)
    after 40 captures; the rerun does only the rest (in-process: the signal is the first
    process's, the rerun and the check need no process of their own)."""
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
            proc.send_signal(sig)
            break
    proc.wait(timeout=90)  # Ctrl-C finishes the captures in flight: slow on a loaded machine
    proc.stdout.close()
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    recorded = {r.subject for r in capture_records(store)}
    assert {p["url"] for p in printed} <= recorded  # everything reported was kept
    assert len(recorded) < 200  # the kill really came mid-batch

    code, lines, err = run(capsys, *argv[4:])
    assert code == 0, err
    assert sum(1 for item in lines if item.get("skipped")) == len(recorded)
    subjects = [r.subject for r in capture_records(store)]
    assert sorted(subjects) == sorted(urls)  # every URL once: nothing lost, nothing twice
    assert main(["--store", str(store), "check"]) == 0


def test_rerun_with_a_witness_sends_what_the_interrupted_run_did_not(tmp_path, capsys, web,
                                                                    ia_env):
    """Killed before a witness got its captures: the rerun of the list sends those
    captures to the witness without fetching the pages again."""
    store = tmp_path / "ev"
    web.add_route("/interrupts/", _interrupting_page)
    urls = [web.url("/page/21"), web.url("/page/22"), web.url("/interrupts/1")]
    (list_file := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    assert main(["--store", str(store), "archive", "-i", str(list_file), "--to", "none",
                 "--jobs", "1"]) == 130
    capsys.readouterr()
    hits = web.hits("/page/21")
    code, items, _ = run(capsys, "--store", str(store), "archive", "-i", str(list_file),
                         "--to", "ia", "--jobs", "1")
    assert code == 0 and web.hits("/page/21") == hits + 1  # once, by the witness only
    resumed = [i for i in items if i.get("skipped")]
    assert [i["url"] for i in resumed] == urls[:2]
    assert [w["status"] for i in resumed for w in i["witnesses"]] == ["archived", "archived"]
    assert all(w["agrees"] is True for i in resumed for w in i["witnesses"])
    assert main(["--store", str(store), "check"]) == 0


_INTERRUPTED: set[str] = set()


def _interrupting_page(h):
    """Ctrl-C to the (in-process) CLI the first time it is fetched: a real SIGINT."""
    if h.path not in _INTERRUPTED:
        _INTERRUPTED.add(h.path)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        time.sleep(0.5)
    send(h, 200, b"<html><body><article><p>Interrupting page</p></article></body></html>")


def test_an_archived_404_is_compared_too(tmp_path, capsys, web, ia_env):
    """A page already gone (404) is evidence; the witness's copy of the 404 is compared."""
    code, (item,), err = run(capsys, "--store", str(tmp_path / "ev"), "archive",
                             web.url("/404"), "--to", "ia")
    assert code == 0 and item["http_status"] == 404, err
    (witness,) = item["witnesses"]
    assert witness["status"] == "archived" and witness["agrees"] is True, witness


# --- issue 9: incomplete answers, ambiguous URLs, deadlines that hold, one bad page ----------


def _answers(*payloads: bytes):
    """A route that writes the next raw answer (status line, headers, body) on each hit."""
    todo = list(payloads)

    def handler(h):
        h.close_connection = True
        h.wfile.write(todo.pop(0) if len(todo) > 1 else todo[0])
        h.wfile.flush()
    return handler


FULL = ("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {n}\r\n"
        "Connection: close\r\n\r\n")
PAGE = f"<html><body><article><p>{ARTICLE[1]}</p></article></body></html>".encode()


@pytest.mark.parametrize("broken", [
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nX-Pad: ab",  # cut headers
    FULL.format(n=len(PAGE)).encode() + PAGE[:40],                               # short body
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n<html><body>",  # cut chunk
    (FULL.format(n=60).replace("Content-Type", "Content-Encoding: gzip\r\nContent-Type")
     .encode() + gzip.compress(PAGE)[:60]),                                       # cut gzip
], ids=["headers", "body", "chunked", "gzip"])
def test_an_incomplete_answer_is_a_failed_fetch_never_a_removal(tmp_path, capsys, web, broken):
    """Issue 9, item 4: a cut answer was recorded as a 200 with empty text, and history then
    said the page had removed its figures."""
    path = f"/cut/{len(broken)}"
    web.add_route(path, _answers(FULL.format(n=len(PAGE)).encode() + PAGE, broken))
    url, store = web.url(path), str(tmp_path / "ev")
    assert run(capsys, "--store", store, "archive", url)[0] == 0
    code, items, err = run(capsys, "--store", store, "archive", url)
    assert code == 1 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "incomplete" in err
    assert items[0]["reason"] == "incomplete" and "id" not in items[0]
    assert len(capture_records(Path(store))) == 1
    with Ledger(Store(Path(store))) as ledger:
        assert [r.kind for r in ledger.records()][-1] == FETCH_FAILED
    code, history, _ = run(capsys, "--store", store, "history", url, "--to", "none")
    assert code == 0 and "removed" not in json.dumps(history)
    assert main(["--store", store, "check"]) == 0


def test_a_url_with_a_backslash_is_refused_before_any_fetch(tmp_path, capsys):
    code, items, err = run(capsys, "--store", str(tmp_path / "ev"), "archive",
                           "http://127.0.0.1:18080\\@www.kp.ru/news/")
    assert code == 2 and items == [] and "backslash" in err
    assert len(err.strip().splitlines()) == 1


def test_timeout_is_a_total_per_page_even_when_headers_drip(tmp_path, capsys, web):
    """Issue 9, item 8: one header byte every 0.5 s used to hold `archive --timeout 5` for
    minutes; every byte came within the read timeout."""
    start = time.monotonic()
    code, items, err = run(capsys, "--store", str(tmp_path / "ev"), "archive",
                           web.url("/drip-head"), "--timeout", "1.5")
    assert time.monotonic() - start < 4
    assert code == 1 and items[0]["reason"] == "timeout" and "1.5 s" in err


def test_ctrl_c_stops_a_run_held_by_a_dripping_server(tmp_path, web):
    """SIGINT while two fetches drip their headers: the run ends at once, records nothing for
    the fetches it cut, and says so in one line."""
    store = tmp_path / "ev"
    argv = [sys.executable, "-m", "provenance", "--store", str(store), "archive",
            web.url("/drip-head"), web.url("/drip-head?2"), "--timeout", "120",
            "--to", "none", "--tsa", "none"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    hits = web.hits("/drip-head")
    deadline = time.monotonic() + 20
    while web.hits("/drip-head") < hits + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    try:
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert time.monotonic() - start < 5
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err
    with Ledger(Store(store)) as ledger:
        assert list(ledger.records()) == []  # a fetch we cut says nothing about the page


def test_a_bug_on_one_page_is_a_recorded_failure_and_the_batch_goes_on(tmp_path, web):
    """Issue 9, item 11: any unexpected exception for one URL used to escape the batch."""
    from archive.fetch import Fetcher
    from provenance.capture.batch import run_batch
    from provenance.capture.capturer import INTERNAL_ERROR, Capturer

    class Buggy(Fetcher):
        def fetch(self, url):
            if url.endswith("/page/2"):
                raise RecursionError("maximum recursion depth exceeded")
            return super().fetch(url)

    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        capturer = Capturer(store, ledger, Buggy())
        urls = [web.url(f"/page/{n}") for n in range(1, 4)]
        outcomes = {o.url: o for o in run_batch(capturer, urls, jobs=2)}
        assert [outcomes[u].ok for u in urls] == [True, False, True]
        bad = outcomes[urls[1]]
        assert bad.reason == INTERNAL_ERROR and "RecursionError" in (bad.error or "")
        assert "\n" not in (bad.error or "")
        (failed,) = ledger.records(kind=FETCH_FAILED)
        assert failed.subject == urls[1] and "RecursionError" in failed.data["error"]


def test_a_gzip_bomb_is_kept_byte_exact_and_read_in_bounded_memory(tmp_path):
    """Issue 9, item 9: ~300 KB of gzip inflating to 200 MB of nested <div> tags used 6 GB.
    Run in a child limited to 1 GB of address space: the capture must succeed in it."""
    import resource

    from warcio.archiveiterator import ArchiveIterator
    from webfixtures import WebServer, gzip_bomb

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    store = tmp_path / "ev"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with WebServer() as web:
        url = web.url("/gzip-bomb")
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "provenance", "--json", "--store",
                               str(store), "archive", url, "--to", "none", "--tsa", "none"],
                              capture_output=True, text=True, env=env, timeout=120,
                              preexec_fn=limit)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - start < 60
    (item,) = [json.loads(line) for line in done.stdout.splitlines()]
    with open(stored_files(store, item, "warc"), "rb") as stream:
        bodies = [r.raw_stream.read() for r in ArchiveIterator(stream)
                  if r.rec_type == "response"]
    assert bodies == [gzip_bomb()]  # as sent, still encoded
    with Ledger(Store(store)) as ledger:
        note = ledger.find(item["id"]).data["text_note"]
    assert "flat text extraction" in note and str(8 * 1024 * 1024) in note


def test_markup_the_html_parser_rejects_is_still_captured_with_its_text(tmp_path, capsys, web):
    """``<![foo[`` made html.parser raise out of the text extraction: the page's capture was
    lost as an internal error. Now it is kept, its text read by the flat scan and said so."""
    odd = (f"<html><head><title>{TITLE}</title></head><body><![foo[<div>Меню</div>"
           "<div>Страница удалена.</div></body></html>").encode()  # no article: the whole page
    web.add_route("/odd-markup", _answers(FULL.format(n=len(odd)).encode() + odd))
    store = str(tmp_path / "ev")
    code, items, err = run(capsys, "--store", store, "archive", web.url("/odd-markup"),
                           "--to", "none", "--tsa", "none")
    assert code == 0, err
    assert items[0]["id"] and items[0]["title"] == TITLE
    (record,) = capture_records(Path(store))
    assert "rejected" in (record.data.get("text_note") or "")
    assert main(["--store", store, "show", items[0]["id"], "--text"]) == 0
    assert "Страница удалена." in capsys.readouterr().out


def test_a_failing_text_extraction_never_costs_the_capture():
    """Whatever raises in extraction (a bug of ours), the fetched bytes are kept: no text,
    and a note that says why."""
    from archive.capture import _text_or_note

    def broken():
        raise ValueError("odd page\nsecond line")

    text = _text_or_note(broken)
    assert text.text == "" and "ValueError: odd page" in (text.note or "")
    assert "second line" not in (text.note or "")


def test_a_capture_with_no_text_never_reads_as_a_removal(tmp_path, capsys, web):
    """A forger's server answers the second time with bytes that do not decode (labelled gzip,
    not gzip): the bytes are kept as a capture with no text, and history qualifies the
    difference with that copy's note instead of letting the article read as removed."""
    garbage = b"not gzip at all, " * 20
    second = (FULL.format(n=len(garbage)).replace("Content-Type", "Content-Encoding: gzip\r\n"
                                                  "Content-Type").encode() + garbage)
    web.add_route("/turns-garbled", _answers(FULL.format(n=len(PAGE)).encode() + PAGE, second))
    url, store = web.url("/turns-garbled"), str(tmp_path / "ev")
    for _ in range(2):
        assert run(capsys, "--store", store, "archive", url, "--to", "none",
                   "--tsa", "none")[0] == 0
    records = capture_records(Path(store))
    assert len(records) == 2 and "no text" in (records[1].data.get("text_note") or "")
    code, history, _ = run(capsys, "--store", store, "history", url, "--to", "none")
    assert code == 0
    notes = history[1]["diff"]["text_notes"]
    assert notes and notes[0]["copy"] == "this" and "no text" in notes[0]["note"]
    assert history[1]["diff"]["added"] == []  # the undecoded bytes are never read as its text
    assert main(["--store", store, "history", url, "--to", "none"]) == 0
    changed = [line for line in capsys.readouterr().out.splitlines() if "CHANGED" in line]
    assert len(changed) == 1 and "compare with care" in changed[0]


@pytest.mark.parametrize("path", ["/ru/utf8", "/ru/cp1251", "/ru/koi8", "/gzip",
                                  "/ru/cp1251-undeclared"])
def test_a_warc_read_again_gives_the_capture_s_own_text(web, path):
    """History re-extracts a capture's text from its WARC: made the one way a capture makes
    it (the payload as received, decoded by us), it is the capture's text and note."""
    from archive.capture import capture
    from archive.fetch import Fetcher
    from archive.reextract import text_from_warc

    cap = capture(web.url(path), Fetcher())
    again = text_from_warc(io.BytesIO(cap.warc), cap.result.final_url)
    assert again is not None and again.text == cap.text.text and cap.text.text
    assert (again.note, again.charset, again.title) == (cap.text.note, cap.text.charset,
                                                         cap.text.title)
