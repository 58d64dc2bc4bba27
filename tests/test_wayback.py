"""The Internet Archive witness against a loopback server speaking the Wayback protocols."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from waybackserver import TAMPER_MARK
from webfixtures import GZIP_HTML, RU_UTF8, closed_port, page_body

from archive.errors import WitnessError
from archive.memento import API_MAX_BODY, http_date_to_ts
from archive.ratelimit import Backoff
from archive.wayback import DEFAULT_BASE, KEYS_PAGE, Keys, WaybackClient, resolve_base
from archive.window import SnapshotWindow
from archive.witness import BadWitnessSpec, WitnessConfig, WitnessSpec, open_witness, submit

KEYS = ("test-access", "test-secret")
FAST = Backoff(tries=3, base=0.05, cap=0.2)


def config(**overrides):
    values = dict(ia_save_interval=0.0, ia_read_interval=0.0, ia_poll_interval=0.02,
                  ia_job_deadline=5.0, backoff=FAST, timeout=(2, 10))
    values.update(overrides)
    return WitnessConfig(**values)


def ia(wayback, *, keys=None, **overrides):
    env = {"PROVENANCE_WAYBACK": wayback.base}
    if keys:
        env.update(IA_ACCESS_KEY=keys[0], IA_SECRET_KEY=keys[1])
    return open_witness(WitnessSpec.parse("ia"), config(**overrides), env=env)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_base_url_comes_from_the_environment():
    assert resolve_base(None, {}) == DEFAULT_BASE
    assert resolve_base(None, {"PROVENANCE_WAYBACK": "http://127.0.0.1:9/"}) == \
        "http://127.0.0.1:9"
    assert resolve_base("http://127.0.0.1:8/", {"PROVENANCE_WAYBACK": "x"}) == \
        "http://127.0.0.1:8"


def test_anonymous_save_reads_the_memento_and_hashes_the_raw_copy(wayback, web):
    url = web.url("/ru/utf8")
    result = ia(wayback).submit(url)
    assert result.status == "archived", result.error
    assert result.error is None
    assert result.url.startswith(f"{wayback.base}/web/")
    assert result.archived_at.endswith("Z") and "T" in result.archived_at
    assert result.raw_sha256 == sha(RU_UTF8)
    assert [h.method for h in wayback.hits("/save/")] == ["GET"]
    assert len(wayback.hits("/web/")) == 1  # exactly one id_ fetch
    assert wayback.hits("/web/")[0].path.split("/")[2].endswith("id_")


def test_gzip_page_is_compared_decoded(wayback, web):
    result = ia(wayback).submit(web.url("/gzip"))
    assert result.status == "archived"
    assert result.raw_sha256 == sha(GZIP_HTML)


def test_an_anonymous_saves_progress_page_is_followed_to_its_job(wayback, web):
    """web.archive.org answers an anonymous save with Save Page Now's HTML page (no
    Content-Location, palewire/savepagenow#26 and #65), whose script watches the job: the
    job is polled to its snapshot (it was 'unknown' forever, sent again and again)."""
    wayback.anonymous_progress = True
    url = web.url("/page/63")
    result = ia(wayback).submit(url)
    assert result.status == "archived", result.error
    (snap,) = wayback.snapshots(url)
    assert result.url == f"{wayback.base}/web/{snap.timestamp}/{url}"
    assert result.raw_sha256 == sha(page_body(63)) and result.job_id.startswith("spn2-")
    assert len(wayback.hits("/save/", method="GET")) == 1 + len(wayback.hits("/save/status/"))


def test_an_anonymous_saves_same_snapshot_page_is_looked_up(wayback, web):
    wayback.anonymous_progress = True
    wayback.same_snapshot = True
    wayback.snapshot_age = 3 * 60
    url = web.url("/page/64")
    result = ia(wayback).submit(url)
    assert result.status == "archived", result.error
    (snap,) = wayback.snapshots(url)
    assert result.url == f"{wayback.base}/web/{snap.timestamp}/{url}"


def test_an_anonymous_job_whose_status_needs_keys_stays_pending(wayback, web):
    wayback.anonymous_progress = True
    wayback.fail_next(401, path="/save/status/")
    result = ia(wayback).submit(web.url("/page/65"))
    assert result.status == "pending" and result.retryable
    assert "IA_ACCESS_KEY" in result.error and "\n" not in result.error


@pytest.mark.parametrize("code", [401, 429])
def test_anonymous_refusal_says_keys_are_needed_and_stays_pending(wayback, web, code):
    wayback.anonymous_status = code
    result = ia(wayback).submit(web.url("/page/1"))
    assert result.status == "pending"
    assert result.retryable
    assert "IA_ACCESS_KEY" in result.error and KEYS_PAGE in result.error
    assert "\n" not in result.error
    assert len(wayback.hits("/save/")) == 1  # tried once, never hammered
    assert result.url is None and result.raw_sha256 is None


def test_keys_use_spn2_with_authorization_and_polling(wayback, web):
    wayback.keys = KEYS
    wayback.pending_polls = 3
    url = web.url("/page/2")
    result = ia(wayback, keys=KEYS).submit(url)
    assert result.status == "archived", result.error
    assert result.raw_sha256 == sha(page_body(2))
    posts = wayback.hits("/save", method="POST")
    assert len(posts) == 1 and posts[0].authorization == "LOW test-access:test-secret"
    assert len(wayback.hits("/save/status/")) == 4  # 3 pending, then success
    assert wayback.hits("/save/status/")[0].authorization == posts[0].authorization
    assert result.url == f"{wayback.base}/web/{wayback.snapshots(url)[0].timestamp}/{url}"


def test_wrong_keys_fail_with_one_line(wayback, web):
    wayback.keys = KEYS
    result = ia(wayback, keys=("nope", "nope")).submit(web.url("/page/3"))
    assert result.status == "failed" and not result.retryable
    assert "refused the keys" in result.error and "\n" not in result.error


def test_keyed_429_is_retried_after_retry_after(wayback, web):
    wayback.keys = KEYS
    wayback.fail_next(429, path="/save", retry_after="1")
    result = ia(wayback, keys=KEYS).submit(web.url("/page/4"))
    assert result.status == "archived", result.error
    posts = wayback.hits("/save", method="POST")
    assert len(posts) == 2
    assert posts[1].time - posts[0].time >= 0.95


def test_keyed_429_past_the_tries_stays_pending(wayback, web):
    wayback.keys = KEYS
    wayback.fail_next(429, times=10, path="/save", retry_after="0")
    result = ia(wayback, keys=KEYS).submit(web.url("/page/4"))
    assert result.status == "pending" and result.retryable
    assert "429" in result.error
    assert len(wayback.hits("/save", method="POST")) == 3


def test_5xx_then_success(wayback, web):
    wayback.fail_next(503, path="/save/")
    wayback.fail_next(520, path="/save/")
    result = ia(wayback).submit(web.url("/page/5"))
    assert result.status == "archived", result.error
    assert len(wayback.hits("/save/")) == 3


@pytest.mark.parametrize("code,status,retryable", [
    ("error:not-found", "failed", False),
    ("error:service-unavailable", "pending", True),
    ("error:host-crawling-paused", "pending", True),  # "try again in ~10 min"
    ("error:no-captures", "pending", True),
    ("error:blocked-url", "failed", False),
])
def test_spn2_job_errors(wayback, web, code, status, retryable):
    wayback.keys = KEYS
    wayback.job_error = code
    result = ia(wayback, keys=KEYS).submit(web.url("/page/6"))
    assert (result.status, result.retryable) == (status, retryable)
    assert code in result.error


def test_spn2_job_that_never_finishes_is_unknown(wayback, web):
    wayback.keys = KEYS
    wayback.job_never_ends = True
    result = ia(wayback, keys=KEYS, ia_job_deadline=0.3).submit(web.url("/page/7"))
    assert result.status == "unknown" and result.retryable
    assert "still pending" in result.error
    assert result.job_id and result.job_id.startswith("spn2-")
    assert 5 <= len(wayback.hits("/save/status/")) <= 20


def test_down_witness_is_pending():
    down = f"http://127.0.0.1:{closed_port()}"
    env = {"PROVENANCE_WAYBACK": down}
    witness = open_witness(WitnessSpec("ia"), config(), env=env)
    result = witness.submit("http://127.0.0.1:9/page")
    assert result.status == "pending" and result.retryable
    assert "refused" in result.error


def test_tampering_witness_hash_differs(wayback, web):
    wayback.tamper = True
    result = ia(wayback).submit(web.url("/ru/utf8"))
    assert result.status == "archived"
    assert result.raw_sha256 is not None and result.raw_sha256 != sha(RU_UTF8)
    assert TAMPER_MARK in wayback.snapshots(web.url("/ru/utf8"))[0].body


def test_raw_copy_unreadable_is_archived_without_a_hash(wayback, web):
    wayback.fail_next(503, times=5, path="/web/")
    result = ia(wayback).submit(web.url("/page/8"))
    assert result.status == "archived"
    assert result.raw_sha256 is None
    assert "could not be read" in result.error


def test_availability_and_cdx(wayback, web):
    url = web.url("/page/9")
    client = WaybackClient(wayback.base, read_throttle=None)
    client.read_throttle.limiter.min_interval = 0.0
    assert client.available(url) is None
    assert client.snapshots(url) == []
    witness = ia(wayback)
    witness.submit(url)
    witness.submit(url)
    rows = client.snapshots(url)
    assert len(rows) == 2 and rows[0].timestamp < rows[1].timestamp
    assert rows[0].original == url and rows[0].statuscode == 200
    assert rows[0].mimetype == "text/html" and rows[0].length == len(page_body(9))
    closest = client.available(url)
    assert closest is not None and closest.timestamp == rows[-1].timestamp


def test_submit_shares_one_limiter_per_witness(wayback, web):
    """40 URLs from 4 threads: the server saw saves no closer than the interval.

    The interval is long beside a loaded machine's scheduling delays (tens of ms), which
    shift the server's arrival times but not the limiter's grants."""
    interval = 0.08
    cfg = config(ia_save_interval=interval)
    env = {"PROVENANCE_WAYBACK": wayback.base}
    urls = [web.url(f"/page/{n}") for n in range(40)]
    results = []
    lock = threading.Lock()

    def worker(chunk):
        for url in chunk:
            result = submit("ia", url, config=cfg, env=env)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker, args=(urls[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and all(r.status == "archived" for r in results)
    times = sorted(h.time for h in wayback.hits("/save/"))
    assert len(times) == 40
    # Arrival times carry the server's thread scheduling (a few ms, more on a loaded
    # machine), so assert the rate over windows, with one request's worth of slack as the
    # batch test does: unthrottled, 40 loopback saves take well under 1 s.
    assert times[-1] - times[0] >= 39 * interval - 0.01
    windows = [times[i + 10] - times[i] for i in range(len(times) - 10)]
    assert min(windows) >= 10 * interval - interval, min(windows)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= interval / 2, min(gaps)


def test_keys_from_env_need_both_halves():
    assert Keys.from_env({"IA_ACCESS_KEY": "a"}) is None
    keys = Keys.from_env({"IA_ACCESS_KEY": "a", "IA_SECRET_KEY": "s"})
    assert keys is not None and keys.header == "LOW a:s"
    assert "s" not in repr(keys).replace("access", "").replace("Keys", "")


def _ini(path, access="file-access", secret="file-secret"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[s3]\naccess = {access}\nsecret = {secret}\n")
    return path


def test_keys_from_config_files_env_wins(tmp_path):
    from archive.errors import ConfigError

    home = tmp_path / "home"
    env = {"HOME": str(home)}
    assert Keys.load(env) is None
    # The `ia` command's file (ia configure) is used when ours is absent...
    _ini(home / ".config/internetarchive/ia.ini", "ia-tool", "s1")
    assert Keys.load(env) == Keys("ia-tool", "s1")
    # ...ours (~/.config/provenance/ia.ini, or under $XDG_CONFIG_HOME) comes first...
    _ini(home / ".config/provenance/ia.ini")
    assert Keys.load(env) == Keys("file-access", "file-secret")
    xdg = tmp_path / "xdg"
    _ini(xdg / "provenance/ia.ini", "xdg", "s2")
    assert Keys.load({**env, "XDG_CONFIG_HOME": str(xdg)}) == Keys("xdg", "s2")
    explicit = _ini(tmp_path / "elsewhere.ini", "explicit", "s3")
    assert Keys.load({**env, "PROVENANCE_IA_CONFIG": str(explicit)}) == Keys("explicit", "s3")
    # ...and the environment wins over every file.
    assert Keys.load({**env, "IA_ACCESS_KEY": "e", "IA_SECRET_KEY": "s"}) == Keys("e", "s")
    assert "file-secret" not in repr(Keys.load(env))
    # A file that is there but unusable is said, in one line, never silently ignored.
    (home / ".config/provenance/ia.ini").write_text("[s3]\naccess = only-half\n")
    with pytest.raises(ConfigError, match=r"under \[s3\]"):
        Keys.load(env)
    (home / ".config/provenance/ia.ini").write_text("not an ini file")
    with pytest.raises(ConfigError, match="cannot read"):
        Keys.load(env)
    with pytest.raises(ConfigError, match="no such file"):
        Keys.load({**env, "PROVENANCE_IA_CONFIG": str(tmp_path / "missing.ini")})


# --- the snapshot's date: a copy counts only within the window of our capture (issue 9.6) ---

YEARS_AGO = (datetime.now(timezone.utc) - datetime(1999, 6, 1, tzinfo=timezone.utc)
             ).total_seconds()


def test_an_anonymous_save_naming_a_1999_snapshot_is_stale_not_archived(wayback, web):
    wayback.snapshot_age = YEARS_AGO
    result = ia(wayback).submit(web.url("/page/40"), captured_at=datetime.now(timezone.utc))
    assert result.status == "stale" and result.retryable
    assert result.archived_at.startswith("1999-")
    assert result.raw_sha256 is None and not wayback.hits("/web/")  # never compared
    assert "older snapshot" in result.error and "years before" in result.error
    assert "\n" not in result.error
    assert result.offset_seconds < -20 * 365 * 86400
    assert result.window == SnapshotWindow()


def test_an_spn2_job_naming_an_old_snapshot_is_stale(wayback, web):
    wayback.keys = KEYS
    wayback.snapshot_age = YEARS_AGO
    result = ia(wayback, keys=KEYS).submit(web.url("/page/41"))  # without captured_at: now
    assert result.status == "stale" and result.retryable and result.archived_at[:4] == "1999"


@pytest.mark.parametrize("age,status", [(YEARS_AGO, "stale"), (3 * 60, "archived")])
def test_same_snapshot_made_ago_counts_only_when_recent(wayback, web, age, status):
    """SPN2's "The same snapshot had been made N ago" names an existing snapshot; one made
    3 minutes before our capture is a copy of the same page, one made years ago is not."""
    wayback.keys = KEYS
    wayback.same_snapshot = True
    wayback.snapshot_age = age
    url = web.url("/page/42")
    result = ia(wayback, keys=KEYS).submit(url, captured_at=datetime.now(timezone.utc))
    assert result.status == status, result.error
    assert not wayback.hits("/save/status/")
    if status == "archived":
        assert result.raw_sha256 == sha(page_body(42)) and -200 < result.offset_seconds < -170


def test_a_copy_made_long_after_our_capture_is_late_and_final(wayback, web):
    three_days_ago = datetime.now(timezone.utc) - timedelta(days=3)
    result = ia(wayback).submit(web.url("/page/43"), captured_at=three_days_ago)
    assert result.status == "late" and not result.retryable
    assert "3 days after" in result.error and result.raw_sha256 is None


def test_a_snapshot_from_the_future_is_unknown(wayback, web):
    wayback.snapshot_age = -2 * 86400
    result = ia(wayback).submit(web.url("/page/44"))
    assert result.status == "unknown" and result.retryable and "future" in result.error


def test_the_window_is_configurable(wayback, web):
    wayback.snapshot_age = 3 * 3600
    wide = ia(wayback, window=SnapshotWindow(before=4 * 3600, after=60))
    assert wide.submit(web.url("/page/45")).status == "archived"
    assert ia(wayback).submit(web.url("/page/45")).status == "stale"  # 30 min by default
    assert WitnessConfig.from_env({"PROVENANCE_WITNESS_WINDOW": "60,120"}).window == \
        SnapshotWindow(60, 120)
    assert WitnessConfig.from_env({"PROVENANCE_WITNESS_WINDOW": "600"}).window == \
        SnapshotWindow(600, 600)
    for bad in ("soon", "-5", "1,2,3", "inf", "nan"):
        with pytest.raises(BadWitnessSpec, match="PROVENANCE_WITNESS_WINDOW"):
            WitnessConfig.from_env({"PROVENANCE_WITNESS_WINDOW": bad})


def test_an_unreadable_memento_datetime_on_the_raw_copy_is_not_a_copy(wayback, web):
    wayback.raw_memento_datetime = "yesterday, more or less"
    result = ia(wayback).submit(web.url("/page/46"))
    assert result.status == "archived" and result.raw_sha256 is None
    assert "Memento-Datetime" in result.error


def test_a_raw_copy_dated_otherwise_is_not_a_copy(wayback, web):
    wayback.raw_memento_datetime = "Sun, 27 Apr 1997 19:19:25 GMT"  # as the IA writes it
    result = ia(wayback).submit(web.url("/page/47"))
    assert result.raw_sha256 is None and "got 19970427191925" in result.error


def test_a_memento_datetime_with_an_offset_is_read_in_utc(wayback, web):
    """The same instant written as +0200 names the same snapshot (and 2 hours off does not)."""
    url = web.url("/page/48")
    result = ia(wayback).submit(url)
    snap = datetime.strptime(wayback.snapshots(url)[0].timestamp, "%Y%m%d%H%M%S")
    wayback.raw_memento_datetime = format_datetime(
        snap.replace(tzinfo=timezone(timedelta(hours=2))) + timedelta(hours=2))
    again = ia(wayback).client.raw(wayback.snapshots(url)[0].timestamp, url)
    assert again.sha256 == result.raw_sha256 == sha(page_body(48))
    assert http_date_to_ts("Fri, 24 Nov 2017 17:13:15 +0200") == "20171124151315"
    assert http_date_to_ts("Fri, 24 Nov 2017 15:13:15 GMT") == "20171124151315"
    assert http_date_to_ts("not a date") is None


def test_a_raw_copy_redirected_to_the_closest_other_snapshot_is_not_a_copy(wayback, web):
    """The Wayback Machine answers a raw copy it cannot replay with a 302 to the closest
    snapshot, which may be weeks away (recorded: /web/20171101000000id_/… → 302 to
    /web/20171124151315id_/…)."""
    url = web.url("/page/49")
    client = ia(wayback).client
    client.save(url)
    (snap,) = wayback.snapshots(url)
    with pytest.raises(WitnessError, match=f"got {snap.timestamp}"):
        client.raw("20171101000000", url)


# --- total deadlines and caps at the witness level (issue 9.8, 9.9) -------------------------

def test_a_dripping_save_ends_at_the_request_deadline(wayback, web):
    wayback.slow("/save/", "drip")
    began = time.monotonic()
    result = ia(wayback, total_timeout=1.0).submit(web.url("/page/50"))
    assert time.monotonic() - began < 6  # 3 tries of 1 s and short backoffs
    assert result.status == "pending" and result.retryable
    assert "within 1 s" in result.error and "\n" not in result.error


def test_the_whole_submission_has_a_deadline(wayback, web):
    """Per request 30 s, but one page's submission may take 2 s in all: the dripping save is
    cut when the page's time is up, not after 3 tries of 30 s."""
    wayback.slow("/save/", "drip")
    began = time.monotonic()
    result = ia(wayback, total_timeout=30.0, submit_deadline=2.0).submit(web.url("/page/51"))
    assert time.monotonic() - began < 3.5
    assert result.status == "pending" and result.retryable


def test_job_polling_stops_at_the_submission_deadline(wayback, web):
    wayback.keys = KEYS
    wayback.job_never_ends = True
    began = time.monotonic()
    result = ia(wayback, keys=KEYS, ia_job_deadline=600.0, ia_poll_interval=0.2,
                submit_deadline=1.5).submit(web.url("/page/52"))
    assert time.monotonic() - began < 2.5
    assert result.status == "unknown" and result.retryable and result.job_id
    assert "allowed for this page ran out" in result.error


def test_a_long_retry_after_is_not_waited_out_past_the_submission_deadline(wayback, web):
    wayback.fail_next(503, path="/save/", retry_after="120")
    began = time.monotonic()
    result = ia(wayback, submit_deadline=3.0).submit(web.url("/page/53"))
    assert time.monotonic() - began < 2
    assert result.status == "pending" and "503" in result.error
    assert len(wayback.hits("/save/")) == 1


@pytest.mark.parametrize("path,keys", [("/save/", None), ("/save/status/", KEYS),
                                       ("/web/", None)])
def test_an_endless_answer_stops_at_the_cap(wayback, web, path, keys):
    wayback.keys = keys
    wayback.slow(path, "endless")
    result = ia(wayback, keys=keys, max_body=1_000_000).submit(web.url("/page/54"))
    assert "cap" in result.error and "\n" not in result.error
    assert result.raw_sha256 is None and result.retryable == (path != "/web/")
    assert len(wayback.hits(path)) == 1  # a flood is not asked for again at once


def test_json_answers_have_a_smaller_cap_than_raw_copies(wayback, web):
    wayback.slow("/cdx/", "endless")
    witness = ia(wayback)  # raw copies up to 100 MB; a CDX answer far less
    with pytest.raises(WitnessError, match=f"{API_MAX_BODY}-byte cap"):
        witness.snapshots(web.url("/page/55"))
