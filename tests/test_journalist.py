"""Issue 13, "what a journalist sees": what the CLI prints and writes, read as a new user
reads it. Each test goes through the real CLI against loopback servers."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from evalset import Passage, render
from test_scenario import CLAIM, EDITED, FIGURES_PARAGRAPH, NOT_FOUND, ORIGINAL, cli
from webfixtures import ARTICLE, send

from archive.ratelimit import RateLimiter
from archive.waits import listen
from provenance.cli.main import main
from provenance.screens.match import excerpt

HTML = "text/html; charset=windows-1251"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def shot(tmp_path):
    passage = Passage("kp", "rus", ARTICLE[0], FIGURES_PARAGRAPH, CLAIM, ARTICLE[2], "")
    path = tmp_path / "shot.png"
    render(passage, FIGURES_PARAGRAPH, "clean", random.Random(1)).save(path)
    return str(path)


@pytest.fixture
def served(web):
    """A page whose status and body the test sets; returns (state, url)."""
    state = {"status": 200, "body": ORIGINAL}
    path = f"/news/{random.randrange(1 << 30)}/"
    web.add_route(path, lambda h: send(h, state["status"], state["body"], content_type=HTML))
    return state, web.url(path)


# --- 1. a report that stands alone -----------------------------------------------------------

def test_report_against_url_stands_alone(capsys, tmp_path, served, shot):
    state, url = served
    base = ["--store", str(tmp_path / "ev")]
    for body in (ORIGINAL, ORIGINAL, ORIGINAL, EDITED, EDITED):
        state["body"] = body
        code, _, err = cli(capsys, *base, "archive", url, "--tsa", "none")
        assert code == 0, err
    report = tmp_path / "check.html"
    code, [item], err = cli(capsys, *base, "verify", shot, "--against", url, "--to", "none",
                            "--tsa", "none", "--report", str(report))
    assert code == 0, err
    page = report.read_text(encoding="utf-8")
    against, timeline = item["against"], item["timeline"]
    # What was checked against what, when: the URL, the copy (id, time, hashes)...
    assert url in page and against["capture"] in page
    assert against["fetched_at"] and against["fetched_at"] in page
    assert against["sha256"] == hashlib.sha256(ORIGINAL).hexdigest() and against["sha256"] in page
    assert against["text_sha256"] in page
    # ...the timeline, and the ledger record of this very check, to find it in a bundle.
    assert timeline["summary"].startswith("shown at ") and "(3 of 5 copies)" in page
    assert "not shown from" in page
    assert item["id"] in page and item["record_hash"] in page
    # The screenshot is what is looked for: not presented as the page's "Claim".
    assert "<h2>Claim</h2>" not in page and "the claim has no figures" not in page
    assert "looked for on the page" in page

    # The human output names the copy and the record too.
    assert main([*base, "verify", shot, "--against", url, "--to", "none",
                 "--tsa", "none"]) == 0
    human = capsys.readouterr().out
    assert f"against our capture #{against['seq']} {against['capture']} of {url}" in human
    assert re.search(r"verification record #\d+ [0-9a-f]{12} ", human), human
    assert against["sha256"] in human


# --- the screenshot: line ---------------------------------------------------------------------

def test_screenshot_line_for_absent_multiline_and_cut_at_words(capsys, tmp_path, served, shot):
    state, url = served
    state["body"] = NOT_FOUND.encode("cp1251")
    base = ["--store", str(tmp_path / "ev")]
    assert main([*base, "verify", shot, "--against", url, "--to", "none",
                 "--tsa", "none"]) == 1
    human = capsys.readouterr().out
    lines = human.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("  screenshot: ")]
    assert lines[at] != "  screenshot: " and "Потери России" in lines[at]
    # Every further line of the screenshot's text is indented under it, not at column 0.
    assert all(line.startswith("  ") for line in lines[1:]), human
    assert lines[at + 1].startswith("      ") and "Министерства" in lines[at + 1]
    # A quoted paragraph is cut at a word, never mid-word.
    quotes = [line for line in lines if "not on the page:" in line]
    assert quotes
    for line in quotes:
        quoted = line.split("not on the page: ", 1)[1].strip('"')
        assert quoted.endswith("…") or len(quoted) <= 80
        # The quote is a run of whole words of the screenshot's text.
        words = quoted.rstrip("…").split()
        whole = {w.strip(".,:") for w in " ".join([ARTICLE[0], FIGURES_PARAGRAPH,
                                                  ARTICLE[2]]).split()}
        assert all(w.strip(".,:") in whole for w in words), line
    assert any(line.endswith('…"') for line in quotes), human  # the long paragraph, cut


def test_excerpt_cuts_at_words():
    text = "Россия потеряла 9 861 человек убитыми, 16 153 ранеными " * 3
    cut = excerpt(text, 80)
    assert cut.endswith("…") and len(cut) <= 81
    assert text.startswith(cut[:-1]) and text[len(cut) - 1] in " ,"


# --- 2. archive says what each witness and time-stamp did -------------------------------------

def test_archive_says_each_witness_and_stamp(capsys, tmp_path, served, ia_env, tsa):
    _, url = served
    base = ["--store", str(tmp_path / "ev")]
    assert main([*base, "archive", url, "--to", "ia", "--tsa", tsa.url]) == 0
    out = capsys.readouterr().out
    [memento] = [s for s in ia_env.snapshots(url)]
    line = next(line for line in out.splitlines() if "witness ia:" in line)
    assert line.strip().startswith("witness ia: archived, holds the same copy as ours, ")
    assert line.endswith(f"/web/{memento.timestamp}/{url}"), out
    assert f"from {tsa.url}: granted" in out, out
    # JSON: the capture line carries its witnesses, each stamp is its own typed line.
    code, items, _ = cli(capsys, *base, "archive", url, "--to", "ia", "--tsa", tsa.url)
    assert code == 0 and [i["type"] for i in items] == ["capture", "stamp"]
    [w] = items[0]["witnesses"]
    assert (w["name"], w["status"], w["agrees"]) == ("ia", "archived", True) and w["url"]


# --- 3. an error page is captured, and said --------------------------------------------------

@pytest.mark.parametrize("status", [404, 503])
def test_an_error_page_is_said_plainly(capsys, tmp_path, served, shot, status):
    state, url = served
    state["status"], state["body"] = status, NOT_FOUND.encode("cp1251")
    base = ["--store", str(tmp_path / "ev")]
    code, [item], err = cli(capsys, *base, "archive", url, "--tsa", "none")
    assert code == 0 and item["http_status"] == status  # kept: an error page is evidence too
    assert f"{url}: the server answered HTTP {status} " in err, err
    assert main([*base, "archive", url, "--tsa", "none"]) == 0
    assert f"HTTP {status}" in capsys.readouterr().err


def test_verify_against_a_url_that_answered_404_says_so_first(capsys, tmp_path, served, shot):
    state, url = served
    state["status"], state["body"] = 404, NOT_FOUND.encode("cp1251")
    base = ["--store", str(tmp_path / "ev")]
    report = tmp_path / "r.html"
    assert main([*base, "verify", shot, "--against", url, "--to", "none", "--tsa", "none",
                 "--report", str(report)]) == 1
    out, err = capsys.readouterr()
    assert "the server answered HTTP 404 Not Found when captured (#" in err, err
    assert out.startswith("ABSENT") and "HTTP 404" in out
    assert "answered HTTP 404" in report.read_text(encoding="utf-8")


# --- 4. a long wait is said ----------------------------------------------------------------

def test_a_witness_backoff_says_what_it_waits_for(capsys, tmp_path, served, ia_env):
    _, url = served
    ia_env.fail_next(503, retry_after="3")
    started = time.monotonic()
    assert main(["--store", str(tmp_path / "ev"), "archive", url, "--to", "ia",
                 "--tsa", "none"]) == 0
    assert time.monotonic() - started >= 3
    err = capsys.readouterr().err
    assert "waiting 3 s before trying again (Wayback Machine save: HTTP 503" in err, err


def test_a_rate_limit_wait_is_said_and_a_short_one_is_not():
    heard: list[str] = []
    now = [0.0]
    limiter = RateLimiter(10.0, clock=lambda: now[0],
                          sleep=lambda s: now.__setitem__(0, now[0] + s))
    with listen(heard.append):
        limiter.wait(what="before the next save")
        limiter.wait(what="before the next save")
        now[0] += 9
        limiter.wait(what="before the next save")  # 1 s: not worth a line
    assert heard == ["waiting 10 s before the next save"]
    limiter.wait(what="after")  # nobody listening any more
    assert len(heard) == 1


# --- 5. one capture, one time ------------------------------------------------------------------

def test_history_and_log_show_the_same_time_for_a_capture(capsys, tmp_path, web):
    path = f"/slow/{random.randrange(1 << 30)}"

    def slow(h):
        time.sleep(1.2)  # the record is written a second or more after the fetch began
        send(h, 200, ORIGINAL, content_type=HTML)

    web.add_route(path, slow)
    url = web.url(path)
    base = ["--store", str(tmp_path / "ev")]
    code, [item], _ = cli(capsys, *base, "archive", url, "--tsa", "none")
    assert code == 0
    assert main([*base, "history", url, "--to", "none"]) == 0
    history = capsys.readouterr().out
    assert history.startswith(item["fetched_at"]), history
    assert main([*base, "log", url]) == 0
    log = capsys.readouterr().out
    assert f"fetched {item['fetched_at']}" in log, log


# --- 6. watch goes on from the store ---------------------------------------------------------

def test_watch_starts_from_the_latest_capture(capsys, tmp_path, served, ia_env):
    state, url = served
    base = ["--store", str(tmp_path / "ev")]
    code, [first], err = cli(capsys, *base, "archive", url, "--to", "ia", "--tsa", "none")
    assert code == 0 and first["witnesses"][0]["status"] == "archived", err
    saves = len(ia_env.hits("/save", method="POST")) + len(ia_env.hits("/save", method="GET"))
    assert main([*base, "watch", url, "--every", "0.1s", "--for", "0.15s", "--to", "ia",
                 "--tsa", "none"]) == 0
    err = capsys.readouterr().err
    assert f"no change since #{first['ledger_seq']}" in err and "first capture" not in err, err
    # An unchanged page is not sent to the witness again.
    assert len(ia_env.hits("/save", method="POST")) + len(
        ia_env.hits("/save", method="GET")) == saves
    # A change names the new capture.
    state["body"] = EDITED
    assert main([*base, "watch", url, "--every", "5s", "--for", "0.1s", "--to", "none",
                 "--tsa", "none"]) == 0
    out = capsys.readouterr().out
    code, captures, _ = cli(capsys, *base, "log", url, "--kind", "capture")
    new = captures[-1]
    assert f"CHANGED since #{captures[-2]['seq']} " in out, out
    assert f": new capture #{new['seq']} {new['id']} " in out, out


# --- 7. a daily list is captured daily; only an interrupted run resumes ---------------------

def _slowish(slow: list[float]):
    """Pages that take ``slow[0]`` seconds: only the run that is killed needs them slow."""
    def handler(h):
        time.sleep(slow[0])
        send(h, 200,
             f"<html><body><article><p>Page {h.path}</p></article></body></html>".encode())
    return handler


def test_a_list_resumes_only_an_interrupted_run(capsys, tmp_path, web):
    tag = random.randrange(1 << 30)
    slow = [0.0]
    web.add_route(f"/daily{tag}/", _slowish(slow))
    urls = [web.url(f"/daily{tag}/{n}") for n in range(10)]
    (listed := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = tmp_path / "ev"
    argv = ["--store", str(store), "archive", "-i", str(listed), "--jobs", "1",
            "--to", "none", "--tsa", "none"]

    def captures() -> list[str]:
        return [i["subject"] for i in cli(capsys, "--store", str(store), "log",
                                          "--kind", "capture")[1]]

    # Day one, day two: the whole list each time.
    assert cli(capsys, *argv)[0] == 0
    assert cli(capsys, *argv)[0] == 0
    assert sorted(captures()) == sorted(urls * 2)

    # Day three is killed (SIGKILL, no chance to tidy up) after three captures...
    slow[0] = 0.15  # ...of pages slow enough that the kill lands before the tenth
    proc = subprocess.Popen([sys.executable, "-m", "provenance", "--json", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    assert proc.stdout is not None
    printed = [json.loads(proc.stdout.readline()) for _ in range(3)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    slow[0] = 0.0
    killed = [u for u in captures()[20:]]
    assert 3 <= len(killed) < 10 and {p["url"] for p in printed} <= set(killed)

    # ...so its rerun captures only the rest, once each.
    code, items, _ = cli(capsys, *argv)
    assert code == 0
    assert sorted(i["url"] for i in items if i.get("skipped")) == sorted(killed)
    assert sorted(captures()[20:]) == sorted(urls)
    # Day four: the list again, whole.
    code, items, _ = cli(capsys, *argv)
    assert code == 0 and not any(i.get("skipped") for i in items) and len(items) == 10


# --- 8. what the user shares gets the user's umask; the store stays read-only ----------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_for_sharing_follow_the_umask(capsys, tmp_path, served, shot, umask, mode):
    _, url = served
    base = ["--store", str(tmp_path / "ev")]
    previous = os.umask(umask)
    try:
        code, [item], err = cli(capsys, *base, "verify", shot, "--against", url, "--to", "none",
                                "--tsa", "none", "--report", str(tmp_path / "r.html"),
                                "--annotate", str(tmp_path / "a.png"))
        assert code == 0, err
        assert main([*base, "history", url, "--to", "none", "--report",
                     str(tmp_path / "t.html")]) == 0
        assert main([*base, "export", item["id"], "--out", str(tmp_path / "b.zip")]) == 0
    finally:
        os.umask(previous)
    for name in ("r.html", "a.png", "t.html", "b.zip"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    objects = [p for p in (tmp_path / "ev" / "objects").rglob("*") if p.is_file()]
    assert objects and all(p.stat().st_mode & 0o222 == 0 for p in objects)


# --- 9. messages a new user can act on --------------------------------------------------------

def test_no_store_says_how_to_make_one(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    assert main(["--store", str(missing), "log"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"no evidence store at {missing}" in line
    assert f"provenance --store {missing} archive URL' creates one" in line


@pytest.mark.parametrize("typed, meant", [("archiv", "archive"), ("verfy", "verify"),
                                          ("hisotry", "history")])
def test_an_unknown_command_suggests_the_nearest(capsys, typed, meant):
    with pytest.raises(SystemExit) as exited:
        main([typed, "x"])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"unknown command '{typed}': did you mean {meant}?" in line


def test_a_refused_witness_is_said_without_guessing(capsys, tmp_path, served):
    _, url = served  # PROVENANCE_WAYBACK points at a closed port (conftest)
    assert main(["--store", str(tmp_path / "ev"), "archive", url, "--to", "ia",
                 "--tsa", "none"]) == 0
    err = capsys.readouterr().err
    assert "connection refused" in err and "is it running" not in err, err


def test_check_bundle_of_a_file_that_is_not_a_zip_is_a_usage_error(capsys, tmp_path):
    notes = tmp_path / "notes.html"
    notes.write_text("<html><body>my notes</body></html>")
    assert main(["check", "--bundle", str(notes)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "DAMAGED" not in err
    assert err.splitlines() == [f"provenance: {notes} is not a zip file: a bundle is the .zip "
                                "'provenance export' writes"]
    # A zip that is damaged is still damage (exit 1), never a usage error.
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    assert main(["check", "--bundle", str(broken)]) == 1
    assert "DAMAGED" in capsys.readouterr().out


# --- 10. history's witness lines say whether the witness holds our copy ----------------------

def test_history_says_which_witness_copy_is_ours(capsys, tmp_path, served, ia_env):
    _, url = served
    base = ["--store", str(tmp_path / "ev")]
    code, [item], err = cli(capsys, *base, "archive", url, "--to", "ia", "--tsa", "none")
    assert code == 0, err
    assert main([*base, "history", url, "--to", "ia"]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "  ia  " in line]
    assert line.endswith(f"  same copy as our #{item['ledger_seq']}"), out
    assert f"sha256:{item['sha256']}" in out  # the full hash, not cut
    code, rows, _ = cli(capsys, *base, "history", url, "--to", "ia")
    [witnessed] = [r for r in rows if r["source"] == "ia"]
    assert (witnessed["capture_seq"], witnessed["agrees"]) == (item["ledger_seq"], True)


# --- 10. the README and the bundle's VERIFY.md agree --------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_verify_md_names_the_bundle_as_the_readme_does(capsys, tmp_path, served, tsa):
    _, url = served
    base = ["--store", str(tmp_path / "ev")]
    code, items, err = cli(capsys, *base, "archive", url, "--tsa", tsa.url)
    assert code == 0, err
    bundle = tmp_path / "evidence.zip"
    assert main([*base, "export", str(items[0]["id"]), "--out", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as z:
        verify_md = z.read("VERIFY.md").decode("utf-8")
    unzip = "unzip evidence.zip -d evidence && cd evidence"
    assert unzip in verify_md and unzip in README
    assert "is not a CA cert" in verify_md and "is not a CA cert" in README


def test_readme_agrees_with_the_code(capsys):
    assert "four at a time unless\n`--jobs N`" in README
    with pytest.raises(SystemExit):
        main(["archive", "--help"])
    assert "(default 4)" in " ".join(capsys.readouterr().out.split())
    assert "provenance --version" in README
    assert "--to none" in README and "`history` and\n`verify --against URL` ask" in README
