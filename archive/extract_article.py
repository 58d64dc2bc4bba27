"""The article's text by trafilatura, the field's reference extractor (pinned in pyproject).

On trafilatura's own evaluation set of 990 real pages it keeps far less chrome than our tree
walk (10.8 % of chrome snippets leak instead of 44.4 %) for the same main-text recall, so it
makes the text whenever it finds an article; :mod:`archive.text` falls back to its own walk,
then to the whole visible text, when it does not.

Bounds: it is only called on markup that :mod:`archive.text` has already bounded in size
(:data:`archive.text.MAX_HTML_BYTES`), nesting and tag count, which makes lxml's parse and
trafilatura's passes linear in the page (at most 0.6 s a page on the 990-page set); a page
past :data:`MAX_MARKUP_CHARS` is not given to it at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata

import trafilatura
from lxml import etree

from archive.article_refine import REFINE_VERSION, refine

MAX_MARKUP_CHARS = 4 * 1024 * 1024  # a real article page is well under 1 MiB of markup


@dataclass(frozen=True)
class Extractor:
    """What made a text: comparing two texts is only fair when this is the same."""

    name: str
    version: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}


def _version() -> str:
    try:
        return metadata.version("trafilatura")
    except metadata.PackageNotFoundError:
        return "unknown"


# trafilatura's text as refined by :mod:`archive.article_refine`: both versions make the text
TRAFILATURA = Extractor("trafilatura", f"{_version()}+archive.{REFINE_VERSION}")


def trafilatura_text(markup: str, url: str | None,
                     root: etree._Element | None = None) -> str | None:
    """The article's text, one paragraph a line, or None when none is found (or too big).
    ``root``: the page's tree by :func:`archive.article_refine.parse`, if parsed already
    (it is changed)."""
    if len(markup) > MAX_MARKUP_CHARS:
        return None
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        text = trafilatura.extract(markup, url=url, include_comments=False,
                                   include_tables=True, deduplicate=False)
    except (ValueError, TypeError, RecursionError, MemoryError):
        return None  # a page it cannot read is a page our own walk reads
    return refine(text, markup, root, url) if text else None
