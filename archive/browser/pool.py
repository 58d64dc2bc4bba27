"""A small pool of headless Chromiums, each behind its own recording proxy.

Each slot is a thread that owns its Playwright driver, its Chromium process and its proxy,
and renders one page at a time (Playwright's objects belong to the thread that made them).
Capture threads hand pages to the pool and wait for the result. We start Chromium ourselves
and connect over CDP, so that a page that hangs the renderer (an endless loop, a page that
never finishes) is ended by killing the process group when :attr:`LoadingPolicy.page_limit`
has passed: never a hang, and the next page gets a fresh browser.
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from archive.browser.chromium import (
    BASE_FLAGS,
    BrowserMissing,
    chromium_binary,
    proxy_flags,
    require_driver,
)
from archive.browser.proxy import RecordingProxy
from archive.browser.render import LoadingPolicy, Rendered, RenderStatus, finish, render_page
from archive.fetch import utc_now

START_LIMIT = 30.0  # s for Chromium to start and accept the driver
RESTART_EVERY = 100  # pages per browser process: memory a long run gathers is given back
DRAIN_WAIT = 2.0  # s the proxy waits for exchanges in flight when a page is done
MAX_SLOTS = 3


@dataclass
class _Job:
    url: str
    started_at: str
    done: threading.Event = field(default_factory=threading.Event)
    taken_at: float | None = None  # monotonic time a slot began it
    result: Rendered | None = None


_LIVE: set[int] = set()  # process groups of running browsers, ended at exit whatever happens
_LIVE_LOCK = threading.Lock()


@atexit.register
def _end_all() -> None:
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass


class BrowserPool:
    """``size`` browsers shared by all capture threads; use as a context manager."""

    def __init__(self, size: int = 1, policy: LoadingPolicy | None = None,
                 binary: str | None = None) -> None:
        require_driver()
        self.binary = binary or chromium_binary()
        self.policy = policy or LoadingPolicy()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._slots = [_Slot(self, n) for n in range(max(1, min(size, MAX_SLOTS)))]
        for slot in self._slots:
            slot.thread.start()

    def render(self, url: str) -> Rendered:
        """Render ``url``; always returns (a failed render says why), within the page limit."""
        job = _Job(url, utc_now())
        self._jobs.put(job)
        limit = self.policy.page_limit + START_LIMIT + DRAIN_WAIT + 30
        while not job.done.wait(0.5):  # the limit counts from when a slot takes the page
            late = job.taken_at is not None and time.monotonic() - job.taken_at > limit
            if late or not any(slot.thread.is_alive() for slot in self._slots):
                return failed(url, self.policy, job.started_at, "time-limit",
                              "the browser pool did not answer in time")
        assert job.result is not None
        return job.result

    def close(self) -> None:
        for _ in self._slots:
            self._jobs.put(None)
        for slot in self._slots:
            slot.thread.join(timeout=10)
            if slot.thread.is_alive():  # stuck: its browser is ended from here
                slot._kill()
            slot.proxy.close()

    def __enter__(self) -> BrowserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def failed(url: str, policy: LoadingPolicy, started_at: str, reason: str,
           error: str) -> Rendered:
    return Rendered(url, RenderStatus.FAILED, policy, started_at, reason=reason, error=error)


class _Slot:
    """One thread, one proxy, one Chromium (started on first use, restarted after trouble)."""

    def __init__(self, pool: BrowserPool, number: int) -> None:
        self.pool = pool
        self.proxy = RecordingProxy(timeout=min(pool.policy.navigation_timeout, 30.0))
        self.process: subprocess.Popen[bytes] | None = None
        self.profile: str | None = None
        self.browser: Any = None
        self.pages = 0
        self.killed = False
        self.thread = threading.Thread(target=self._run, name=f"browser-{number}",
                                       daemon=True)

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as driver:
            while (job := self.pool._jobs.get()) is not None:
                job.taken_at = time.monotonic()
                try:
                    job.result = self._render(driver, job)
                except Exception as exc:  # noqa: BLE001 - a slot must answer every job
                    job.result = failed(job.url, self.pool.policy, job.started_at,
                                        "browser-error", f"{type(exc).__name__}: "
                                        f"{str(exc).strip()[:300]}")
                    self.stop_browser()
                job.done.set()
            self.stop_browser()

    def _render(self, driver: Any, job: _Job) -> Rendered:
        policy = self.pool.policy
        try:
            browser = self._browser(driver)
        except BrowserMissing as exc:
            self.stop_browser()
            return failed(job.url, policy, job.started_at, "browser-start", str(exc))
        recording = self.proxy.begin(policy.max_bytes)
        self.killed = False
        timer = threading.Timer(policy.page_limit, self._kill)
        timer.start()
        try:
            result = render_page(browser, recording, job.url, policy, job.started_at)
        finally:
            timer.cancel()
            self.proxy.end(recording, DRAIN_WAIT)
        if self.killed:
            result.fail("time-limit", f"the page was still busy after {policy.page_limit:g} s: "
                        "the browser was stopped")
        self.pages += 1
        if self.killed or result.reason == "renderer-crashed" or self.pages >= RESTART_EVERY:
            self.stop_browser()
        return finish(result, recording)

    def _browser(self, driver: Any) -> Any:
        if self.browser is not None and self.browser.is_connected():
            return self.browser
        self.stop_browser()
        self.profile = tempfile.mkdtemp(prefix="provenance-chromium-")
        args = [self.pool.binary, "--headless", f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                *BASE_FLAGS,
                *proxy_flags(f"127.0.0.1:{self.proxy.port}",
                             self.proxy.authority.spki_hash()),
                "about:blank"]
        try:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL,
                                            start_new_session=True)
        except OSError as exc:
            raise BrowserMissing(f"cannot start {self.pool.binary}: {exc.strerror}") from None
        with _LIVE_LOCK:
            _LIVE.add(self.process.pid)
        port = self._devtools_port()
        self.browser = driver.chromium.connect_over_cdp(f"http://127.0.0.1:{port}",
                                                        timeout=START_LIMIT * 1000)
        self.pages = 0
        return self.browser

    def _devtools_port(self) -> int:
        """Chromium writes the port it chose into its profile; wait for it, bounded."""
        assert self.process is not None and self.profile is not None
        marker = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + START_LIMIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserMissing(f"{self.pool.binary} exited at start (code "
                                     f"{self.process.returncode})")
            try:
                with open(marker, encoding="ascii") as handle:
                    first = handle.readline().strip()
                if first.isdigit():
                    return int(first)
            except OSError:
                pass
            time.sleep(0.05)
        raise BrowserMissing(f"{self.pool.binary} did not start within {START_LIMIT:g} s")

    def _kill(self) -> None:
        """From the watchdog timer: end the browser (the render then fails at once)."""
        self.killed = True
        process = self.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass

    def stop_browser(self) -> None:
        browser, self.browser = self.browser, None
        if browser is not None:
            try:
                browser.close()
            except Exception:  # noqa: BLE001 - a browser already gone
                pass
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            with _LIVE_LOCK:
                _LIVE.discard(process.pid)
        profile, self.profile = self.profile, None
        if profile is not None:
            singleton = _singleton_folder(profile)
            shutil.rmtree(profile, ignore_errors=True)
            if singleton is not None:
                _remove_singleton(singleton)


_SINGLETON_FILES = ("SingletonSocket", "SingletonCookie")
_SINGLETON_PREFIX = "org.chromium.Chromium."


def _singleton_folder(profile: str) -> str | None:
    """The folder Chromium made under the temporary directory for its single-instance
    socket (linked from the profile as ``SingletonSocket``). Chromium removes it only when
    it exits on its own; a browser we kill would leave one in ``/tmp`` per run. Only a
    folder of Chromium's own name, right in the temporary directory, is ever named."""
    try:
        target = os.readlink(os.path.join(profile, "SingletonSocket"))
    except OSError:
        return None
    folder = os.path.dirname(target)
    if (os.path.basename(target) != "SingletonSocket"
            or not os.path.basename(folder).startswith(_SINGLETON_PREFIX)
            or os.path.realpath(os.path.dirname(folder))
            != os.path.realpath(tempfile.gettempdir())):
        return None
    return folder


def _remove_singleton(folder: str) -> None:
    """Remove Chromium's socket folder: its two files, then the folder only if that left it
    empty (never a tree: whatever else is there is not ours to remove)."""
    for name in _SINGLETON_FILES:
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass
    try:
        os.rmdir(folder)
    except OSError:
        pass
