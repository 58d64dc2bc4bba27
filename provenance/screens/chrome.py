"""What a capture's page shows: its HTML's every text, with and without what its own
style sheets hide (:func:`page_chrome`), read from its WARC re-hashed first.

Read by ``verify --against`` (the page's chrome: menus, captions, what a screenshot shows
beside the article) and by ``history`` and the change records (a passage withdrawn by
hiding it, :mod:`provenance.changes.hiding`); a module of its own so that the timeline,
which the screenshot checks import, can read it too.
"""

from __future__ import annotations

import io

from archive.reextract import markup_from_warc
from provenance.capture.rendered import BROWSER_DOM, BROWSER_WARC, browser_part
from provenance.screens.pagetext import MAX_HTML_CHARS, PageShown, page_shown
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE
from provenance.store.ledger import Record
from provenance.store.records import BrowserStatus
from provenance.web.replay import MAX_INDEX_BYTES, WarcIndex, style_sheet
from provenance.web.rewrite import absolute

MAX_WARC_BYTES = 4 * MAX_HTML_CHARS


def warc_url(record: Record) -> str | None:
    """The URL a record's WARC holds its page's response under: a capture's after its
    redirects, a ``snapshot``'s the one it was fetched at."""
    fields = record.data
    url = (fields.get("final_url") or (fields.get("raw_url") if record.kind != CAPTURE
                                         else None) or record.subject)
    return str(url) if url else None


def page_chrome(store: Store, record: Record, *, every: bool = False) -> PageShown:
    """Every text the copy's HTML shows (:func:`page_shown`: with and without what its
    own style sheets hide), from its WARC re-hashed first and decoded as its text was;
    empty when there is no readable HTML (then only the article text is compared). A
    ``--browser`` capture is read as the browser left it: its DOM after scripts, with the
    style sheets its WARC recorded. ``every``: :attr:`PageShown.every` too."""
    url = warc_url(record)
    if url is None:
        return PageShown("")
    rendered = _rendered(store, record, url, every)
    if rendered is not None:
        return rendered
    entry = record.file("warc")
    if entry is None:
        return PageShown("")
    try:
        warc = store.read_verified(entry, limit=MAX_WARC_BYTES)
        markup = markup_from_warc(io.BytesIO(warc), url)
    except Exception:  # noqa: BLE001 - a missing, altered or unreadable WARC (warcio's own
        return PageShown("")  # errors too): no chrome, never a crash
    return page_shown(markup or "", every=every)


def _rendered(store: Store, record: Record, url: str, every: bool) -> PageShown | None:
    """:func:`page_chrome` of a ``--browser`` render that succeeded; None without one, or
    when its files cannot be read (the server's HTML is read then)."""
    part = browser_part(record.data)
    dom, warc = record.file(BROWSER_DOM), record.file(BROWSER_WARC)
    if part is None or part.status is not BrowserStatus.OK or dom is None or warc is None:
        return None
    try:
        markup = store.read_verified(dom, limit=MAX_HTML_CHARS).decode("utf-8", "replace")
        index = WarcIndex.from_warc(store.read_verified(warc, limit=MAX_INDEX_BYTES))
    except Exception:  # noqa: BLE001 - as page_chrome: an unreadable render is no crash
        return None

    def linked(href: str) -> str | None:
        target = absolute(href, url)
        return style_sheet(index.resource(target)) if target is not None else None

    return page_shown(markup, linked, every=every)
