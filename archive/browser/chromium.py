"""Which Chromium, with which flags: Debian's ``chromium`` unless ``PROVENANCE_CHROMIUM``
names another binary. Nothing is ever downloaded: a missing browser is said in one line.

The flags keep a headless Chromium from talking to anything but the page: no background
networking, component updates, sync or QUIC (which would bypass the recording proxy), and
``<-loopback>`` so even 127.0.0.1 goes through the proxy. ``--no-sandbox`` because captures
often run as root in containers, where Chromium's sandbox cannot start.
"""

from __future__ import annotations

import os
import shutil

from archive.errors import ArchiveError

CHROMIUM_ENV = "PROVENANCE_CHROMIUM"
DEFAULT_BINARY = "/usr/bin/chromium"
INSTALL_HINT = "install Debian's chromium (apt-get install chromium) or set PROVENANCE_CHROMIUM"
RENDERER_HEAP_MB = 1024  # a page's JavaScript heap; an endless allocation crashes the tab

BASE_FLAGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage",
    "--mute-audio", "--hide-scrollbars", "--disable-breakpad", "--no-default-browser-check",
    "--disable-client-side-phishing-detection", "--disable-field-trial-config",
    "--metrics-recording-only", "--no-service-autorun", "--password-store=basic",
    "--use-mock-keychain", "--disable-search-engine-choice-screen", "--disable-popup-blocking",
    "--disable-features=Translate,MediaRouter,OptimizationHints,InterestFeedContentSuggestions",
    f"--js-flags=--max-old-space-size={RENDERER_HEAP_MB}",
)


class BrowserMissing(ArchiveError):
    """No usable Chromium (or no Playwright to drive it): a setup problem, not a page's."""


def chromium_binary() -> str:
    """The Chromium to run: ``$PROVENANCE_CHROMIUM`` or Debian's; BrowserMissing if absent."""
    named = os.environ.get(CHROMIUM_ENV, "").strip()
    candidate = named or DEFAULT_BINARY
    found = candidate if os.path.isfile(candidate) else shutil.which(candidate)
    if not named and found is None:
        found = shutil.which("chromium")
    if found is None or not os.access(found, os.X_OK):
        where = f"{CHROMIUM_ENV}={named}" if named else DEFAULT_BINARY
        raise BrowserMissing(f"no Chromium at {where} to render pages: {INSTALL_HINT}")
    return found


def require_driver() -> None:
    """Playwright drives the browser; without it no page can be rendered."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise BrowserMissing("rendering pages needs the Python package playwright: pip install "
                             "'provenance[browser]' (no browser download is needed: "
                             f"{INSTALL_HINT})") from None


def proxy_flags(proxy: str, spki: str) -> list[str]:
    """Everything through the recording proxy, and its certificates accepted (only its key)."""
    return [f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>",
            f"--ignore-certificate-errors-spki-list={spki}"]
