"""Passages withdrawn by hiding them: still in the page's HTML, no longer shown.

A site can withdraw a paragraph without deleting it: a class and a ``<style>`` rule
``.withdrawn { display: none }``, an inline ``style="display: none"`` or the ``hidden``
attribute. Its HTML still holds the text; a reader no longer sees it. The article texts
:mod:`provenance.changes.diff` compares keep what a style sheet hides (and drop what an
element's own attributes hide), so a text diff alone says "unchanged" for the first and
"removed" for the others: the one a false "unchanged", the other a false "removed" (the
text is still in the page).

:func:`restyle` corrects a text diff by what each capture's page shows
(:func:`provenance.screens.chrome.page_chrome`, the same reading ``verify --against``
makes, from the WARC re-hashed first, with :mod:`archive.css_hidden`'s rules: hidden only
when surely hidden, never under ``@media`` or ``:hover``):

* ``hidden``: passages the earlier page showed that the later page still holds but hides
  (taken out of ``removed``);
* ``shown``: passages the earlier page held hidden that the later page shows (taken out of
  ``added``);
* ``style_sheets_unread``: the later page's style sheets not read (linked ones of a plain
  capture, ``@import``): they may hide or show what is said here.

Each capture's reading is kept in a bounded cache by its record hash, so a watch or a
history reads each page once, not once as the later and once as the earlier page.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from provenance.changes.diff import FigureChange, normalize_space
from provenance.screens.chrome import page_chrome
from provenance.store.filestore import Store
from provenance.store.ledger import Record

MAX_SECONDS = 2.0
"""Time to find a page's hidden lines in its shown text (a page of 16 MB with thousands of
hidden lines); past it the page is taken as not read: nothing is said hidden or shown."""
MAX_CACHED = 4096
"""Captures' readings kept (each a few sets of lines): a watch of thousands of URLs reads
each page once."""


@dataclass(frozen=True)
class Looks:
    """What one capture's page shows of the passages its HTML holds."""

    read: bool
    """False: no HTML could be read (a missing or altered WARC, no HTML): nothing is known."""
    unseen: frozenset[bytes] = frozenset()
    """Lines of the page's HTML (its every text, one block a line) that it does not show,
    by :func:`line_digest` (a cache of thousands of pages holds digests, not menus)."""
    copies: Mapping[bytes, int] = field(default_factory=dict)
    """Lines the page's HTML holds more often than it shows them (a hidden copy of a shown
    paragraph, a share box's), by :func:`line_digest`: how many copies are hidden."""
    hidden: frozenset[str] = frozenset()
    """Passages of the capture's own article text that its page holds and does not show."""
    unread: int = 0
    """Its style sheets not read (they may show or hide more)."""


_cache: OrderedDict[str, Looks] = OrderedDict()
_lock = Lock()


def looks(store: Store, record: Record, passages: Iterable[str]) -> Looks:
    """What ``record``'s page shows (cached by its record hash and ``passages``: those of
    its own article text that were compared, :func:`provenance.changes.diff.passages`)."""
    passages = list(passages)
    key = record.record_hash + hashlib.sha256("\n".join(passages).encode()).hexdigest()
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    found = _read(store, record, passages)
    with _lock:
        _cache[key] = found
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
    return found


def _read(store: Store, record: Record, passages: Iterable[str]) -> Looks:
    page = page_chrome(store, record, every=True)
    if not page.every:
        return Looks(read=False)
    visible = [normalize_space(line) for line in page.visible.splitlines()]
    shown = "\n".join(visible)
    lines = [line for line in (normalize_space(x) for x in page.every.splitlines()) if line]
    extra = Counter(lines) - Counter(visible)
    deadline = time.monotonic() + MAX_SECONDS
    unseen: list[str] = []
    for line in extra:  # each searched in the whole shown text: bounded in time
        if time.monotonic() > deadline:
            return Looks(read=False)
        if line not in shown:
            unseen.append(line)
    held = "\n".join(unseen)
    hidden: set[str] = set()
    for passage in passages:
        if time.monotonic() > deadline:
            return Looks(read=False)
        if passage and passage not in shown and passage in held:
            hidden.add(passage)
    return Looks(True, frozenset(map(line_digest, unseen)),
                 {line_digest(line): n for line, n in extra.items()}, frozenset(hidden),
                 page.unread)


def line_digest(line: str) -> bytes:
    """A line of page text as :attr:`Looks.unseen` keeps it."""
    return hashlib.blake2b(line.encode("utf-8"), digest_size=16).digest()


def restyle(found: dict[str, Any], old: list[str], new: list[str], before: Looks,
            after: Looks) -> dict[str, Any]:
    """``found`` (a change as :func:`provenance.changes.timeline.compare` makes it, or an
    empty one) with ``hidden``, ``shown`` and ``style_sheets_unread``; ``old`` and ``new``:
    the passages each text diff compared."""
    in_old, in_new = set(old), set(new)
    removed, added = list(found.get("removed") or []), list(found.get("added") or [])
    was_removed, was_added = set(removed), set(added)
    hidden: dict[str, None] = {}  # in order, each once
    shown: dict[str, None] = {}
    if after.read:
        # shown in the earlier page (its article text holds it and its page shows it, or its
        # page was not read: then only a passage its text lost can be called hidden) ...
        for passage in old:
            if passage in before.hidden or passage in hidden:
                continue
            if passage in in_new:  # kept in the text: hidden only if its page hides it now
                if before.read and passage in after.hidden:
                    hidden[passage] = None
            elif passage in was_removed and _hid_a_copy(line_digest(passage), before, after):
                hidden[passage] = None  # its text lost it, its page still holds it
    if before.read and after.read:
        for passage in new:
            if passage in after.hidden or passage in shown:
                continue
            if passage in in_old:
                if passage in before.hidden:
                    shown[passage] = None
            elif passage in was_added and line_digest(passage) in before.unseen:
                shown[passage] = None
    gone, came = set(hidden), set(shown)
    result = dict(found)
    # a passage that only moved is in both lists: hidden, it was neither; shown, neither
    result["removed"] = [p for p in removed if p not in gone and p not in came]
    result["added"] = [p for p in added if p not in came and p not in gone]
    result["hidden"], result["shown"] = list(hidden), list(shown)
    # a figure of a passage hidden (or shown again) did not leave (or come to) the page
    result["figures"] = [f for f in found.get("figures") or []
                         if not _moved(f, gone, came)]
    if after.read and after.unread:
        result["style_sheets_unread"] = after.unread
    return result


def _hid_a_copy(digest: bytes, before: Looks, after: Looks) -> bool:
    """Does the later page hide a copy the earlier one showed? It shows none and hides more
    copies than before: a hidden copy it held all along (a share box's) is no withdrawal,
    and the copy readers saw was then deleted."""
    return digest in after.unseen and after.copies.get(digest, 0) > before.copies.get(digest, 0)


def _moved(figure: dict[str, Any] | FigureChange, gone: set[str], came: set[str]) -> bool:
    change = figure if isinstance(figure, FigureChange) else FigureChange(
        figure.get("old"), figure.get("new"), passage=figure.get("passage") or "")
    return ((change.new is None and change.passage in gone)
            or (change.old is None and change.passage in came))


def any_change(found: dict[str, Any]) -> bool:
    """Does a restyled change say anything but its style sheets left unread?"""
    return any(found.get(key) for key in ("removed", "added", "figures", "hidden", "shown",
                                           "http_status", "final_url"))
