"""How a batch capture spends its CPU, kept honest (issue 16, capture cost).

Texts are extracted in worker processes (:mod:`archive.textpool`) so that fetching never
waits on parsing. These tests hold what that must never cost: the same text, byte for byte,
as extraction in the capturing thread; a worker that dies never costs a page; a parent
killed with ``kill -9`` leaves no worker behind; Ctrl-C at the terminal is the parent's
alone. No timings here: ``benchmarks/capture.py`` holds the figures.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from webfixtures import article_html

from archive.text import extract_text
from archive.textpool import TextPool
from provenance.api import TEXT_POOL_MIN_URLS, Evidence

REPO = Path(__file__).resolve().parent.parent
PAGES = [
    (article_html().encode("utf-8"), "text/html; charset=utf-8", "https://example.ru/a"),
    (article_html("windows-1251").encode("cp1251"), "text/html", "https://example.ru/b"),
    (b"plain text\nsecond line", "text/plain", "https://example.org/c.txt"),
    (b"<html><body>" + b"<div>" * 300 + b"deep" + b"</div>" * 300 + b"</body></html>",
     "text/html", "https://example.org/deep"),  # the flat fallback
    (b"\x89PNG\r\n\x1a\n\0\0", "image/png", "https://example.org/i.png"),
]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by a dead parent's init) is gone too
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fresh"])
def test_the_pool_gives_the_same_text_as_the_thread(fork):
    with TextPool(2, fork=fork) as pool:
        for body, content_type, url in PAGES:
            assert pool.extract(body, content_type, url) == extract_text(body, content_type,
                                                                          url)


def test_the_pool_gives_the_same_text_on_real_pages():
    """Real pages of trafilatura's evaluation set: every field, byte for byte."""
    folder = REPO.parent.parent / "shared" / "realworld" / "trafilatura-eval" / "pages"
    if not folder.is_dir():
        folder = Path("/work/shared/realworld/trafilatura-eval/pages")
    pages = sorted(folder.glob("*.html.gz"))[:30]
    if not pages:
        pytest.skip("the real-world pages are not on this machine")
    with TextPool(2) as pool:
        for page in pages:
            body = gzip.decompress(page.read_bytes())
            url = f"https://example.org/{page.name}"
            assert pool.extract(body, "text/html", url) == extract_text(body, "text/html", url)


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fresh"])
def test_a_killed_worker_costs_no_page_and_is_replaced(fork):
    body, content_type, url = PAGES[0]
    expected = extract_text(body, content_type, url)
    with TextPool(1, fork=fork) as pool:
        (worker,) = pool._all
        pending = pool.start(body, content_type, url)
        worker.kill()  # dies with the page in hand
        assert pending() == expected  # extracted in this thread instead
        (fresh,) = pool._all
        assert fresh is not worker and fresh.alive() and not worker.alive()
        assert pool.extract(body, content_type, url) == expected


def test_with_every_worker_gone_pages_are_extracted_in_the_thread():
    body, content_type, url = PAGES[0]
    expected = extract_text(body, content_type, url)
    with TextPool(2) as pool:
        pool._restarts = 10**6  # no more replacements
        for worker in list(pool._all):
            worker.kill()
        for _ in range(4):  # never waits for a worker that will not come back
            assert pool.extract(body, content_type, url) == expected
        assert pool._all == []


def test_a_worker_error_is_raised_in_the_thread_as_without_a_pool():
    """A bug in extraction is not hidden by the pool: the page is extracted again inline,
    where it raises as it always did."""
    with TextPool(1) as pool:
        (worker,) = pool._all
        with pytest.raises(TypeError):
            pool.extract("not bytes", "text/html", "https://example.org/")  # type: ignore[arg-type]
        body, content_type, url = PAGES[0]
        assert pool.extract(body, content_type, url) == extract_text(body, content_type, url)
        assert pool._all == [worker]  # the worker itself was fine


PARENT = """
import sys, time
from archive.textpool import TextPool
pool = TextPool(2, fork={fork})
print(" ".join(str(w.pid) for w in pool._all), flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("fork", [True, False, None], ids=["forked", "fresh", "auto"])
def test_kill_9_of_the_parent_leaves_no_worker(tmp_path, fork):
    """Each worker leaves when the parent dies, also when forked from it (a forked worker
    holding another worker's pipe, or the ledger, would outlive it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT.format(fork=fork)],
                              stdout=subprocess.PIPE, env=env, text=True)
    assert parent.stdout is not None
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    started = {Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids}
    if fork is False:  # a fresh interpreter; else (this parent runs one thread) a fork of it
        assert all(b"archive.textpool" in line for line in started)
    else:
        assert started == {Path(f"/proc/{parent.pid}/cmdline").read_bytes()}
    # each worker runs in a session of its own: a Ctrl-C at the terminal is the parent's
    # (a forked one calls setsid() as it starts: give it the moment)
    deadline = time.monotonic() + 10
    while (any(os.getsid(pid) == os.getsid(parent.pid) for pid in pids)
           and time.monotonic() < deadline):
        time.sleep(0.02)
    assert all(os.getsid(pid) != os.getsid(parent.pid) for pid in pids)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    parent.stdout.close()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)


def test_a_list_run_with_the_pool_records_the_texts_of_a_run_without(tmp_path, web):
    """The same pages captured with worker processes (a list, several jobs) and without
    (one at a time): the same text hashes, titles and extractors in the ledger."""
    urls = [web.url(p) for p in ("/ru/utf8", "/ru/cp1251", "/ru/koi8", "/gzip")]
    urls += [web.url(f"/page/{n}") for n in range(TEXT_POOL_MIN_URLS)]
    fields = ("text_sha256", "title", "extractor", "text_note", "charset")

    def texts(folder: str, jobs: int) -> dict[str, tuple]:
        with Evidence(tmp_path / folder) as evidence:
            run = evidence.archive(urls, jobs=jobs)
        assert not run.failures
        return {o.url: tuple(json.dumps(o.record.data.get(f), sort_keys=True) for f in fields)
                for o in run.outcomes if o.record is not None}

    pooled = texts("pooled", 4)
    assert texts("inline", 1) == pooled and len(pooled) == len(urls)


def test_counting_letters_in_one_pass_counts_what_isalnum_counts():
    """archive.text counts letters with a regular expression; it must agree with
    ``str.isalnum`` on every code point, or a page's article could be judged by another
    measure than before."""
    from archive.text import _letters

    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert _letters(every) == sum(1 for ch in every if ch.isalnum())
    assert _letters("9 861 человек_убит!") == 15
