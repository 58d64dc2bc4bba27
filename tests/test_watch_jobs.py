"""``provenance watch --jobs``: rounds over many URLs fetched at once, and the overrun rule
(a round still running when the next is due starts nothing more, says so, and the next
round begins with the URLs it left), through the CLI against a loopback server."""

from __future__ import annotations

import json
import threading
import time

from webfixtures import send

from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE
from provenance.store.ledger import Ledger


class SlowPages:
    """``/slow/<n>``: a distinct page after ``delay`` seconds; counts requests in flight."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def __call__(self, h) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.delay)
            n = h.path.rsplit("/", 1)[-1]
            send(h, 200, f"<html><body><article><p>Page {n} of the list.</p></article>"
                 "</body></html>".encode(), content_type="text/html; charset=utf-8")
        except OSError:
            pass
        finally:
            with self.lock:
                self.running -= 1


def _watch(tmp_path, capsys, urls, *args):
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    store = str(tmp_path / "ev")
    started = time.monotonic()
    code = main(["--json", "--store", store, "watch", "-i", str(listing), "--tsa", "none",
                 "--to", "none", *args])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return code, elapsed, lines, captured.err, store


def test_jobs_fetch_a_round_at_once(tmp_path, capsys, web):
    pages = SlowPages(0.4)
    web.add_route("/slow/", pages)
    urls = [web.url(f"/slow/{n}") for n in range(20)]
    code, elapsed, lines, err, store = _watch(tmp_path, capsys, urls, "--jobs", "10",
                                              "--every", "20s", "--for", "1s")
    # One at a time, 20 pages of 0.4 s take 8 s; ten at a time, about one second.
    assert code == 0 and elapsed < 5, (elapsed, err)
    assert pages.most > 1
    assert sorted(line["url"] for line in lines) == sorted(urls)
    assert all(line["round"] == 1 and line["record_hash"] for line in lines)
    assert "overran" not in err
    with Ledger(Store(store)) as ledger:
        assert sorted(r.subject for r in ledger.records(kind=CAPTURE)) == sorted(urls)
    assert main(["--store", store, "check"]) == 0


def test_a_round_that_overruns_says_so_and_the_next_takes_the_urls_left_first(
        tmp_path, capsys, web):
    pages = SlowPages(0.5)
    web.add_route("/slow/", pages)
    urls = [web.url(f"/slow/{n}") for n in range(12)]
    # Two at a time, 0.5 s each: a round of 12 needs 3 s but may last 1 s.
    code, elapsed, lines, err, store = _watch(tmp_path, capsys, urls, "--jobs", "2",
                                              "--every", "1s", "--for", "2.5s")
    assert code == 0, err
    assert elapsed < 6, elapsed  # no pile-up: the rounds never ran on to capture all 12
    assert pages.most <= 2
    overruns = [line for line in err.splitlines() if "overran" in line]
    assert overruns and overruns[0].startswith("provenance: round 1 overran --every (1s)")
    assert "left for round 2, which starts now" in overruns[0]
    first = [line["url"] for line in lines if line["round"] == 1]
    second = [line["url"] for line in lines if line["round"] == 2]
    assert 1 <= len(first) < 12 and second
    assert len(set(first)) == len(first) and len(set(second)) == len(second)
    # The URLs the first round left go first in the second: none is captured twice
    # before every URL was captured once.
    assert len(first) + len(second) <= 12 and not set(first) & set(second), (first, second)
    assert {line["round"] for line in lines} <= {1, 2, 3}  # 3 if round 2 ended early
    assert "round(s) overran --every" in err.splitlines()[-1]
    with Ledger(Store(store)) as ledger:
        assert len(list(ledger.records(kind=CAPTURE))) == len(lines)
    assert main(["--store", store, "check"]) == 0


def test_every_round_begins_a_capture_even_when_it_is_over_at_once(tmp_path, capsys, web):
    """An interval shorter than one capture: each round still captures (one URL), and the
    URLs are taken in turn, never the first one again and again."""
    pages = SlowPages(0.2)
    web.add_route("/slow/", pages)
    urls = [web.url(f"/slow/turn-{n}") for n in range(3)]
    code, _, lines, err, _ = _watch(tmp_path, capsys, urls, "--jobs", "1", "--every", "0.01s",
                                    "--for", "2s")
    assert code == 0, err
    rounds = [line["round"] for line in lines]
    assert len(lines) >= 2 and rounds == sorted(set(rounds)), rounds  # one capture a round
    taken = [line["url"] for line in lines]
    assert taken[:3] == urls[:len(taken[:3])], taken  # in turn
    assert "overran" in err


def test_jobs_must_be_a_positive_number(tmp_path, capsys):
    try:
        code = main(["--store", str(tmp_path / "ev"), "watch", "http://127.0.0.1:9/x",
                     "--every", "1m", "--jobs", "0"])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--jobs" in err[0]
    assert not (tmp_path / "ev").exists()
