"""Rendering pages in headless Chromium, every byte it loads recorded (``--browser``).

- :mod:`archive.browser.chromium`: which binary, which flags; a missing one said in one line
- :mod:`archive.browser.proxy`: the recording proxy (and :mod:`archive.browser.mitm`, its CA)
- :mod:`archive.browser.render`: one page under the loading policy: screenshot, DOM, text
- :mod:`archive.browser.pool`: a few browsers shared by capture threads, with a hard limit

Playwright (the ``browser`` extra) is imported only where a page is driven, so the rest of
the tool works without it.
"""
