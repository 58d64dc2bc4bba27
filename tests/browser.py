"""A real headless Chromium for tests: Debian's /usr/bin/chromium driven by Playwright.

Playwright's own browser download is never used (no ``playwright install``): the flags
keep Chromium off the network (no component updates, sync, QUIC or background requests),
and Playwright gives it a fresh profile folder per launch.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("PROVENANCE_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
"""Screenshots of the pages the browser tests open (gitignored): look at them."""


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser, or the test is skipped where Chromium or Playwright is missing."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e '.[dev]')")
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def snap(page: Any, name: str) -> Path:
    """A screenshot under tests/artifacts/serve/: of the whole page, or of one element (a
    Playwright locator)."""
    folder = ARTIFACTS / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if hasattr(page, "goto"):
        page.screenshot(path=str(path), full_page=True)
    else:
        page.screenshot(path=str(path))
    return path
