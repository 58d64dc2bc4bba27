"""One page in the browser: load it under a fixed, bounded policy and keep what a reader saw.

The policy (:class:`LoadingPolicy`) is recorded with every capture, because what a browser
shows depends on it: the viewport and user agent, how long we waited for the network to go
quiet, how far we scrolled to make lazy content load. Every wait has a limit; a limit that
was reached is said in :attr:`Rendered.limits_hit`, so a reader knows the page may have held
more. Dialogs are dismissed, downloads refused, pop-ups closed (and counted).

This module runs inside a pool slot's thread (:mod:`archive.browser.pool`), which owns the
Playwright objects; a page that hangs the renderer is ended from outside by killing the
browser, never waited for here.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from PIL import Image

from archive.browser.proxy import REFUSED_HEADER, TOKEN_HEADER, Recording
from archive.fetch import TOOL_VERSION, Exchange, utc_now
from archive.text import PageText, extract_text
from archive.warc import SOFTWARE, new_writer, write_exchange, write_metadata

POLL_MS = 100
CRASH_GRACE_MS = 500
READ_TRIES = 3
MAX_DOM_BYTES = 32 * 1024 * 1024


class RenderStatus(str, Enum):
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True)
class LoadingPolicy:
    """How a page is loaded; recorded with the capture (``to_json``)."""

    viewport_width: int = 1280
    viewport_height: int = 900
    user_agent: str = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       f"Chrome/120.0.0.0 Safari/537.36 provenance/{TOOL_VERSION}")
    navigation_timeout: float = 30.0  # until the document has arrived (DOMContentLoaded)
    quiet_ms: int = 500  # the network counts as quiet after this long with nothing in flight
    quiet_limit: float = 15.0  # the longest wait for quiet, after load
    scroll_steps: int = 20  # screens scrolled down at most, to load lazy content
    step_quiet_limit: float = 2.0  # wait for quiet after each scroll step
    max_height: int = 16_000  # px of page kept in the screenshot
    page_limit: float = 90.0  # the whole render; past it the browser is killed
    max_bytes: int = 50_000_000  # all the browser loads, through the proxy

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Rendered:
    """What the browser made of one page. ``status`` failed: ``reason`` and ``error`` say
    why; whatever was recorded before the failure (the WARC) is still kept."""

    url: str
    status: RenderStatus
    policy: LoadingPolicy
    started_at: str
    reason: str | None = None
    error: str | None = None
    final_url: str | None = None
    http_status: int | None = None  # of the page's own document, as the browser got it
    title: str | None = None
    screenshot: bytes | None = None  # PNG
    width: int | None = None
    height: int | None = None
    page_height: int | None = None  # of the whole page, which may be more than kept
    dom: bytes | None = None  # UTF-8 HTML after scripts ran
    text: PageText | None = None
    warc: bytes = b""
    exchanges: int = 0
    proxy_errors: list[str] = field(default_factory=list)
    limits_hit: list[str] = field(default_factory=list)
    popups: int = 0
    dialogs: int = 0
    downloads: int = 0
    elapsed: float = 0.0
    browser_version: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is RenderStatus.OK

    def fail(self, reason: str, error: str) -> Rendered:
        self.status, self.reason, self.error = RenderStatus.FAILED, reason, error
        self.screenshot = self.dom = None
        self.text = None
        return self

    def summary(self) -> dict[str, Any]:
        """What the capture record says of the render (files are named separately)."""
        return {
            "status": self.status.value, "reason": self.reason, "error": self.error,
            "final_url": self.final_url, "http_status": self.http_status, "title": self.title,
            "started_at": self.started_at,
            "elapsed": round(self.elapsed, 3), "width": self.width, "height": self.height,
            "page_height": self.page_height, "requests": self.exchanges,
            "limits_hit": self.limits_hit, "popups": self.popups, "dialogs": self.dialogs,
            "downloads": self.downloads, "proxy_errors": self.proxy_errors[:20],
            "browser": self.browser_version, "policy": self.policy.to_json(),
        }


class _Watch:
    """Counts what the page and its context do, from Playwright's events."""

    def __init__(self) -> None:
        self.inflight = 0
        self.last_change = time.monotonic()
        self.crashed = False
        self.popups: list[Any] = []
        self.popup_count = 0
        self.dialogs = 0
        self.downloads = 0

    def started(self, _request: Any) -> None:
        self.inflight += 1
        self.last_change = time.monotonic()

    def ended(self, _request: Any) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.last_change = time.monotonic()

    def popup(self, page: Any) -> None:
        self.popups.append(page)

    def dialog(self, dialog: Any) -> None:
        self.dialogs += 1
        try:
            dialog.dismiss()
        except Exception:  # noqa: BLE001 - a dialog gone by itself needs no dismissing
            pass

    def download(self, download: Any) -> None:
        self.downloads += 1
        try:
            download.cancel()
        except Exception:  # noqa: BLE001 - refused already (accept_downloads=False)
            pass

    def crash(self, _page: Any) -> None:
        self.crashed = True


class PageCrashed(Exception):
    pass


def render_page(browser: Any, recording: Recording, url: str, policy: LoadingPolicy,
                started_at: str | None = None) -> Rendered:
    """Load ``url`` in a fresh context of ``browser`` (its traffic into ``recording``)."""
    from playwright.sync_api import Error as PlaywrightError

    began = time.monotonic()
    result = Rendered(url, RenderStatus.OK, policy, started_at or utc_now(),
                      browser_version=getattr(browser, "version", None))
    watch = _Watch()
    context = browser.new_context(
        viewport={"width": policy.viewport_width, "height": policy.viewport_height},
        user_agent=policy.user_agent, accept_downloads=False, java_script_enabled=True,
        service_workers="block", bypass_csp=False,
        extra_http_headers={TOKEN_HEADER: recording.token})
    try:
        context.on("request", watch.started)
        context.on("requestfinished", watch.ended)
        context.on("requestfailed", watch.ended)
        context.on("page", watch.popup)
        page = context.new_page()
        watch.popups.clear()
        page.on("dialog", watch.dialog)
        page.on("download", watch.download)
        page.on("crash", watch.crash)
        try:
            _load(page, url, policy, watch, result)
        except _TooLarge as exc:
            result.fail("too-large", str(exc))
        except _Refused as exc:
            result.fail("not-loaded", str(exc))
        except PageCrashed:
            result.fail("renderer-crashed", f"the browser's renderer crashed while showing {url}")
        except PlaywrightError as exc:
            if not watch.crashed:  # a crash is often reported just after the call it broke
                try:
                    page.wait_for_timeout(CRASH_GRACE_MS)
                except PlaywrightError:
                    pass
            if watch.crashed:
                result.fail("renderer-crashed",
                            f"the browser's renderer crashed while showing {url}")
            else:
                result.fail(_reason(exc), _first_line(exc))
    finally:
        result.popups = watch.popup_count + len(watch.popups)
        result.dialogs, result.downloads = watch.dialogs, watch.downloads
        try:
            context.close()
        except PlaywrightError:
            pass
    result.elapsed = time.monotonic() - began
    return result


def _load(page: Any, url: str, policy: LoadingPolicy, watch: _Watch, result: Rendered) -> None:
    response = page.goto(url, wait_until="domcontentloaded",
                         timeout=policy.navigation_timeout * 1000)
    if response is None and url != "about:blank":
        result.limits_hit.append("no-response")
    refused = response.headers.get(REFUSED_HEADER.lower()) if response is not None else None
    if refused:  # the page itself never came: what the browser shows is our error text
        raise _Refused(f"the page could not be loaded through the recording proxy: {refused}")
    result.http_status = response.status if response is not None else None
    _settle(page, watch, policy.quiet_limit, policy, result, "network-quiet")
    _scroll(page, watch, policy, result)
    _check(page, watch)
    result.final_url = page.url
    result.title = _steady(page, watch, page.title)
    dom = _steady(page, watch, page.content).encode("utf-8")
    if len(dom) > MAX_DOM_BYTES:
        raise _TooLarge(f"the rendered HTML is {len(dom)} bytes, over {MAX_DOM_BYTES}")
    result.dom = dom
    _screenshot(page, watch, policy, result)
    result.text = extract_text(dom, "text/html; charset=utf-8", result.final_url or url)


def _steady(page: Any, watch: _Watch, read: Any) -> Any:
    """``read()``, again after the page settles if a script navigated it meanwhile (the
    document it was reading is gone); at most :data:`READ_TRIES` times."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(READ_TRIES):
        try:
            return read()
        except PlaywrightError as exc:
            if "navigat" not in str(exc).lower() and "context was destroyed" not in str(exc):
                raise
            if attempt == READ_TRIES - 1:
                raise
            _check(page, watch)
            page.wait_for_load_state("domcontentloaded", timeout=5000)
    raise AssertionError("unreachable")


class _TooLarge(Exception):
    pass


class _Refused(Exception):
    pass


def _settle(page: Any, watch: _Watch, limit: float, policy: LoadingPolicy, result: Rendered,
            what: str) -> None:
    """Wait until nothing has been in flight for ``policy.quiet_ms``, at most ``limit`` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        _check(page, watch)
        quiet_for = time.monotonic() - watch.last_change
        if watch.inflight == 0 and quiet_for * 1000 >= policy.quiet_ms:
            return
        page.wait_for_timeout(POLL_MS)
    if what not in result.limits_hit:
        result.limits_hit.append(what)


def _check(page: Any, watch: _Watch) -> None:
    """Close pop-ups as they come; stop at a crash."""
    if watch.crashed:
        raise PageCrashed()
    while watch.popups:
        popup = watch.popups.pop()
        if popup is page:
            continue
        watch.popup_count += 1
        try:
            popup.close()
        except Exception:  # noqa: BLE001 - a pop-up that closed itself
            pass


def _scroll(page: Any, watch: _Watch, policy: LoadingPolicy, result: Rendered) -> None:
    """Scroll a screen at a time so lazy images and text load; then back to the top."""
    for _ in range(policy.scroll_steps):
        # The page's scroll handlers run at its next frame, not at scrollBy: the bottom is
        # judged after two frames (at most 250 ms), or an endless feed on a busy machine
        # looks finished before it has added a screen.
        at_bottom, height = page.evaluate(
            "() => new Promise(done => {"
            " const e = document.scrollingElement || document.documentElement;"
            " window.scrollBy(0, window.innerHeight);"
            " const measure = () => done([window.scrollY + window.innerHeight >="
            " e.scrollHeight - 2, e.scrollHeight]);"
            " const timer = setTimeout(measure, 250);"
            " requestAnimationFrame(() => requestAnimationFrame(() => {"
            " clearTimeout(timer); measure(); })); })")
        _settle(page, watch, policy.step_quiet_limit, policy, result, "scroll-quiet")
        if height > policy.max_height:
            result.limits_hit.append("max-height")
            break
        if at_bottom:
            break
    else:
        result.limits_hit.append("scroll-steps")
    page.evaluate("() => window.scrollTo(0, 0)")
    _settle(page, watch, policy.step_quiet_limit, policy, result, "scroll-quiet")


def _screenshot(page: Any, watch: _Watch, policy: LoadingPolicy, result: Rendered) -> None:
    height = int(page.evaluate(
        "() => Math.max(document.documentElement.scrollHeight,"
        " document.body ? document.body.scrollHeight : 0)"))
    result.page_height = height
    options: dict[str, Any] = {"full_page": True, "type": "png",
                               "timeout": policy.navigation_timeout * 1000, "animations":
                               "disabled", "caret": "hide"}
    if height > policy.max_height:
        if "max-height" not in result.limits_hit:
            result.limits_hit.append("max-height")
        options["clip"] = {"x": 0, "y": 0, "width": policy.viewport_width,
                           "height": policy.max_height}
    png = page.screenshot(**options)
    _check(page, watch)
    with Image.open(io.BytesIO(png)) as image:
        result.width, result.height = image.size
    result.screenshot = png


def finish(result: Rendered, recording: Recording) -> Rendered:
    """Write the recording's WARC into the result; a recording over its budget fails it."""
    result.exchanges = len(recording.exchanges)
    result.proxy_errors = list(recording.errors)
    result.warc = browser_warc(recording.exchanges, result)
    if recording.overflow and result.ok:
        result.fail("too-large", f"the page loaded more than {recording.max_bytes} bytes "
                    "(raise the byte cap to keep it)")
    return result


def browser_warc(exchanges: list[Exchange], result: Rendered) -> bytes:
    """Every exchange the browser made, as a WARC in the format of a server capture, closed
    by a metadata record holding the render's summary and the hashes of its other files."""
    buffer = io.BytesIO()
    writer = new_writer(buffer, result.policy.user_agent)
    last = None
    for ex in sorted(exchanges, key=lambda e: e.started_at):
        last = write_exchange(writer, ex)
    doc = {"software": SOFTWARE, "kind": "browser", "url": result.url,
           "render": result.summary(),
           "screenshot_sha256": _sha(result.screenshot), "dom_sha256": _sha(result.dom)}
    write_metadata(writer, doc, last, result.started_at)
    return buffer.getvalue()


def _sha(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Timeout" in type(exc).__name__ or "Timeout" in text:
        return "timeout"
    if "closed" in text.lower():
        return "browser-closed"
    return "browser-error"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
