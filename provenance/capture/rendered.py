"""A ``--browser`` render kept as evidence: its files in the store, its part of the record.

:mod:`archive.browser` renders the page; this module stores what came of it (the browser's
WARC, the full-page screenshot, the DOM after scripts and its text), each content-addressed
and named in the capture record's ``files``, so ``check``, ``export`` and time-stamps cover
them like the server capture. A failed render still keeps the WARC of what the browser
loaded before it failed, and says why in :class:`BrowserPart`.

Which text a capture is compared with (``verify --against``, ``history``, changes) is decided
once, when it is recorded (:attr:`BrowserPart.prefer_text`): the browser's text when the
server's HTML had no article text and the render has one, else the server's, as always.
"""

from __future__ import annotations

from typing import Any

from archive.browser.chromium import BrowserMissing
from archive.browser.pool import BrowserPool
from archive.browser.render import LoadingPolicy, Rendered
from archive.text import has_article_text
from provenance.errors import UsageError
from provenance.store.filestore import Store
from provenance.store.records import BrowserPart, BrowserStatus

BROWSER_WARC = "browser-warc"
BROWSER_SCREENSHOT = "browser-screenshot"
BROWSER_DOM = "browser-dom"
BROWSER_TEXT = "browser-text"
SERVER_TEXT = "text"


def open_pool(browser: bool | LoadingPolicy, *, jobs: int, timeout: float,
              max_bytes: int) -> BrowserPool | None:
    """The browser pool for ``--browser`` (None without it). A missing Chromium or driver is
    a usage error (exit 2), said before anything is captured."""
    if browser is False:
        return None
    policy = browser if isinstance(browser, LoadingPolicy) else LoadingPolicy(
        navigation_timeout=timeout, max_bytes=max_bytes)
    try:
        return BrowserPool(size=jobs, policy=policy)
    except BrowserMissing as exc:
        raise UsageError(str(exc)) from None


def store_render(store: Store, rendered: Rendered,
                 server_text: str) -> tuple[list[dict[str, Any]], BrowserPart]:
    """Write the render's files; the file entries for the record, and its browser part."""
    files: list[dict[str, Any]] = []
    part = BrowserPart(status=BrowserStatus.OK if rendered.ok else BrowserStatus.FAILED,
                       reason=rendered.reason, error=rendered.error,
                       render=rendered.summary())
    if rendered.warc:
        warc = store.put_bytes(rendered.warc, role=BROWSER_WARC, suffix=".warc.gz")
        files.append(warc.to_json())
        part.warc_sha256 = warc.sha256
    if rendered.ok and rendered.screenshot is not None:
        shot = store.put_bytes(rendered.screenshot, role=BROWSER_SCREENSHOT, suffix=".png")
        files.append(shot.to_json())
        part.screenshot_sha256 = shot.sha256
    if rendered.ok and rendered.dom is not None:
        dom = store.put_bytes(rendered.dom, role=BROWSER_DOM, suffix=".html")
        files.append(dom.to_json())
        part.dom_sha256 = dom.sha256
    if rendered.ok and rendered.text is not None:
        text = rendered.text.text
        stored = store.put_bytes(text.encode("utf-8"), role=BROWSER_TEXT, suffix=".txt")
        files.append(stored.to_json())
        part.text_sha256 = stored.sha256
        part.prefer_text = not has_article_text(server_text) and has_article_text(text)
    return files, part


def text_role(data: dict[str, Any]) -> str:
    """The role of the text file a capture is compared with (see the module docstring)."""
    part = browser_part(data)
    if part is not None and part.status is BrowserStatus.OK and part.prefer_text:
        return BROWSER_TEXT
    return SERVER_TEXT


def browser_part(data: dict[str, Any]) -> BrowserPart | None:
    value = data.get("browser")
    return BrowserPart.from_json(value) if isinstance(value, dict) else None


def compared_text_sha256(data: dict[str, Any]) -> str | None:
    """The SHA-256 of the text :func:`text_role` names."""
    if text_role(data) == BROWSER_TEXT:
        part = browser_part(data)
        return part.text_sha256 if part is not None else None
    value = data.get("text_sha256")
    return value if isinstance(value, str) else None
