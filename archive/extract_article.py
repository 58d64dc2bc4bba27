"""The article's text by trafilatura, the field's reference extractor (pinned in pyproject).

On trafilatura's own evaluation set of 990 real pages it keeps far less chrome than our tree
walk (10.8 % of chrome snippets leak instead of 44.4 %) for the same main-text recall, so it
makes the text whenever it finds an article; :mod:`archive.text` falls back to its own walk,
then to the whole visible text, when it does not.

Bounds: it is only called on markup that :mod:`archive.text` has already bounded in size
(:data:`archive.text.MAX_HTML_BYTES`), nesting and tag count, which makes lxml's parse and
trafilatura's passes linear in the page (at most 0.6 s a page on the 990-page set); a page
past :data:`MAX_MARKUP_CHARS` is not given to it at all.

trafilatura parses the page itself (``load_html``), apart from our parse
(:func:`archive.article_refine.parse`): the two trees are not the same page. Its parser
reads a Python string and drops control characters and the noncharacters U+FFFE/U+FFFF,
where ours reads UTF-8 bytes and keeps them as U+FFFD (a title ``A\x00B`` reads ``AB``
there, ``A\ufffdB`` here); it also drops comments and turns a fragment into a ``div``.
So the page stays parsed twice (measured in issue 16: sharing its tree saved nothing on
the 990 real pages, 0.05 ms on the 10 KB benchmark page).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from importlib import metadata

import trafilatura
from lxml import etree
from trafilatura.settings import Extractor as TrafilaturaOptions

from archive.article_refine import REFINE_VERSION, refine
from archive.boilerplate import without_server_errors

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


_OPTIONS = TrafilaturaOptions(comments=False, tables=True, dedup=False)
"""trafilatura's options for our calls (``extract(include_comments=False,
include_tables=True, deduplicate=False)``), read from its configuration once: building
them on every call, as ``extract`` does when given none, read a dozen settings from its
ConfigParser and cost a tenth of the page's text time (issue 16)."""


def options_for(url: str | None) -> TrafilaturaOptions:
    """The options ``extract(markup, url=url, ...)`` would build, without reading the
    configuration again: a copy of :data:`_OPTIONS` with the page's URL set as trafilatura's
    own ``__init__`` sets it (a test compares every field with a freshly built one)."""
    options = copy.copy(_OPTIONS)
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return options


def trafilatura_text(markup: str, url: str | None,
                     root: etree._Element | None = None) -> str | None:
    """The article's text, one paragraph a line, or None when none is found (or too big).
    ``root``: the page's tree by :func:`archive.article_refine.parse`, if parsed already
    (it is changed)."""
    if len(markup) > MAX_MARKUP_CHARS:
        return None
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        # the server's error output is no article, however much of it there is
        text = trafilatura.extract(without_server_errors(markup), options=options_for(url))
    except (ValueError, TypeError, RecursionError, MemoryError):
        return None  # a page it cannot read is a page our own walk reads
    return refine(text, markup, root, url) if text else None
