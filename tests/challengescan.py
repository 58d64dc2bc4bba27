"""One saved page read as ``archive`` reads it and asked whether it is a challenge: the body
of the real-pages test in test_blockpages, in a module light enough for a spawned process
(the pages are shared out over the cores; fork is not safe beside the session's threads)."""

from __future__ import annotations

import gzip
from pathlib import Path

from archive.blockpage import BlockPage, detect
from archive.text import extract_text


def challenges_in(path: Path) -> list[tuple[str, int, BlockPage]]:
    """The statuses under which one saved page (``.html.gz``) would be taken for a
    challenge."""
    body = gzip.decompress(path.read_bytes())
    page = extract_text(body, "text/html", f"https://example.org/{path.name}")
    return [(path.name, status, found) for status in (200, 403, 503)
            if (found := detect(status, page.title, page.text, markup=body)) is not None]
