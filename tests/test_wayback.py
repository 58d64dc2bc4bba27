"""The Internet Archive witness against a loopback server speaking the Wayback protocols."""

from __future__ import annotations

import hashlib
import threading

import pytest
from waybackserver import TAMPER_MARK
from webfixtures import GZIP_HTML, RU_UTF8, closed_port, page_body

from archive.ratelimit import Backoff
from archive.wayback import DEFAULT_BASE, KEYS_PAGE, Keys, WaybackClient, resolve_base
from archive.witness import WitnessConfig, WitnessSpec, open_witness, submit

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
    """100 URLs from 4 threads: the server saw saves no closer than the interval."""
    interval = 0.03
    cfg = config(ia_save_interval=interval)
    env = {"PROVENANCE_WAYBACK": wayback.base}
    urls = [web.url(f"/page/{n}") for n in range(100)]
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
    assert len(results) == 100 and all(r.status == "archived" for r in results)
    times = sorted(h.time for h in wayback.hits("/save/"))
    assert len(times) == 100
    # Arrival times carry the server's thread scheduling (a few ms on a busy machine), so
    # assert the rate over windows: unthrottled, 100 loopback saves take well under 1 s.
    assert times[-1] - times[0] >= 99 * interval - 0.01
    windows = [times[i + 10] - times[i] for i in range(len(times) - 10)]
    assert min(windows) >= 10 * interval - 0.01, min(windows)
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
