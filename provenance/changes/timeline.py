"""A URL across time: ``changed`` records, the diffed history, a screenshot against every capture.

When a capture of a URL is recorded and an earlier capture of that URL exists,
:func:`record_change` compares their extracted texts (:mod:`provenance.changes.diff`) and, only if
something changed, appends one ``changed`` record::

    {url, from: {seq, record_hash, id, fetched_at, http_status, text_sha256},
     to: {…the same for the new capture…}, removed: [passage…], added: [passage…],
     figures: [{old, new, old_text, new_text, passage}…], http_status: {from, to} | absent,
     final_url: {from, to} | absent, differ, ignore | absent,
     text_notes: [{copy: earlier|this, note}] | absent,
     hidden: [passage…] | absent, shown: [passage…] | absent,
     style_sheets_unread: N | absent}

``hidden`` and ``shown``: passages still in the later page that its own style now hides, or
hidden before and shown now (:mod:`provenance.changes.hiding`); they are not in ``removed``
or ``added``. No record means no change. Records are never changed later: a ``changed`` record is a
statement made when the later capture was taken, with both captures named by hash.

:func:`timeline` is what ``provenance history`` shows: :func:`provenance.capture.witnessing.history`
(local captures and witness CDX snapshots), with each item that has a text diffed against the
previous one. Witness snapshots get a text only with ``fetch_witnesses``: their raw copies
(``id_``) are fetched, at the witness's read rate, and their text extracted exactly as for our
own captures, so an edit seen only by the Wayback Machine shows up too.

:func:`screenshot_timeline` runs one verification (a screenshot against a page text) on every
capture of a URL: "shown at T1, absent at T2 and later".
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from archive.blockpage import BlockPage, archived_headers, detect
from archive.capture import blocked_page
from archive.cdx import CdxRow
from archive.errors import ArchiveError
from archive.fetch import Fetcher
from archive.memento import ts_from_url
from archive.ratelimit import RateLimiter
from archive.reextract import text_from_warc
from archive.snapshot import fetch_snapshot
from archive.text import PageText
from archive.urls import normalize_url
from archive.witness import WitnessConfig, WitnessSpec, shared_witness
from provenance.capture.rendered import SERVER_TEXT, text_role
from provenance.capture.snapshots import keep_snapshot, snapshot_text
from provenance.capture.witnessing import history
from provenance.changes.diff import DIFFER, Ignore, diff_texts, passages
from provenance.changes.hiding import Looks, any_change, looks, restyle
from provenance.errors import StoreError
from provenance.screens.chrome import warc_url
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE, CHANGED
from provenance.store.ledger import Ledger, Record
from provenance.store.records import ChangedPayload, Verdict


def capture_ref(record: Record) -> dict[str, Any]:
    """How a ``changed`` record names a capture: by seq and hash, with what was seen."""
    data = record.data
    return {"seq": record.seq, "record_hash": record.record_hash, "id": record.id,
            "fetched_at": data.get("fetched_at"), "http_status": data.get("http_status"),
            "text_sha256": data.get("text_sha256")}


def capture_text(store: Store, record: Record, role: str | None = None) -> str | None:
    """A capture's stored text, re-hashed first; None if missing or altered (``check`` says
    which). Never a text that does not match its record. ``role``: which text (default: the
    one the capture is compared with, :func:`provenance.capture.rendered.text_role`)."""
    entry = record.file(role or text_role(record.data))
    if entry is None:
        return None
    try:
        data = store.read_verified(entry)
    except StoreError:
        return None
    return data.decode("utf-8", errors="replace")


def server_failed(status: Any) -> bool:
    """An HTTP status that says the server did not give the page (408, 429, 5xx): what it
    sent (an outage notice, "too many requests", a challenge page) is not the page's text.
    Such a capture is compared with nothing: an outage is neither a removal nor, when the
    page comes back, an addition. A 404 or 410 does say the page is gone, and is compared."""
    return isinstance(status, int) and (status in (408, 429) or status >= 500)


def not_compared(status: Any) -> str:
    """Why a capture with a :func:`server_failed` status was not compared, in one line."""
    return (f"not compared: the server answered HTTP {status}, which says nothing about "
            "the page's text")


def blocked(data: Mapping[str, Any], text: str | None) -> BlockPage | None:
    """The bot check, captcha or "access denied" page a capture or archive copy is: its
    record's word (``blocked``, judged with the headers and markup when it was made), else
    judged again from its status, title and stored text (records made before, copies).
    A capture compared by its ``--browser`` render's text (the browser may have passed the
    check the server's answer was) is judged by that text alone."""
    if isinstance(data.get("browser"), dict) and text_role(dict(data)) != SERVER_TEXT:
        return detect(None, None, text) if text is not None else None
    said = BlockPage.from_json(data.get("blocked"))
    if said is not None or text is None:
        return said
    status = data.get("http_status")
    title = data.get("title")
    return detect(status if isinstance(status, int) else None,
                  title if isinstance(title, str) else None, text)


def not_blocked_note(page: BlockPage) -> str:
    """Why a block page was not compared, in one line."""
    return (f"not compared: the server sent {page.words} instead of the page, which says "
            "nothing about the page's text")


def skip_reason(data: Mapping[str, Any], text: str | None) -> str | None:
    """Why a capture or copy is compared with nothing (its server failed, or it is a bot
    check: neither a removal nor, when the page comes back, an addition); None if it is
    compared."""
    status = data.get("http_status")
    if server_failed(status):
        return not_compared(status)
    page = blocked(data, text)
    return not_blocked_note(page) if page is not None else None


TextReader = Callable[[Record, str | None], str | None]
"""Reads a capture's text for a role (None: the compared one), as :func:`capture_text`."""


def text_reader(store: Store) -> TextReader:
    """:func:`capture_text` that reads (and re-hashes) each capture's text once, for one
    comparison: asking whether a capture is skipped, then comparing it, reads it twice."""
    memo: dict[tuple[int, str], str | None] = {}

    def read(record: Record, role: str | None = None) -> str | None:
        key = (record.seq, role or text_role(record.data))
        if key not in memo:
            memo[key] = capture_text(store, record, key[1])
        return memo[key]
    return read


def record_skipped(store: Store, record: Record,
                   read: TextReader | None = None) -> str | None:
    """:func:`skip_reason` of a capture record, its compared text read (re-hashed) only when
    its status and record do not already say (by ``read``, when given)."""
    data = record.data
    if server_failed(data.get("http_status")) or (
            data.get("blocked") and text_role(data) == SERVER_TEXT):
        return skip_reason(data, None)
    return skip_reason(data, read(record, None) if read else capture_text(store, record))


def previous_capture(ledger: Ledger, record: Record, store: Store | None = None,
                     read: TextReader | None = None) -> Record | None:
    """The latest capture of the same URL recorded before ``record`` whose server gave the
    page (:func:`server_failed`: an outage in between is skipped; with ``store``, a bot check
    too, :func:`blocked`), one row at a time by the kind-and-subject index: not every
    capture of the URL."""
    before = record.seq
    while True:
        found = ledger.select("kind = ? AND subject = ? AND seq < ?",
                              (CAPTURE, record.subject, before), newest_first=True, limit=1)
        if not found:
            return None
        skipped = (record_skipped(store, found[0], read) if store is not None
                   else server_failed(found[0].data.get("http_status")))
        if not skipped:
            return found[0]
        before = found[0].seq


Pages = tuple["Record | None", "Record | None"]
"""The records whose WARCs hold the two pages compared (None: no page to read)."""


def compare(old: Mapping[str, Any], new: Mapping[str, Any], old_text: str,
            new_text: str, ignore: Ignore = (), store: Store | None = None,
            pages: Pages = (None, None)) -> dict[str, Any] | None:
    """What changed between two captures' data and texts; None when nothing did. With
    ``store``, passages hidden or shown again by the pages' own styles too
    (:mod:`provenance.changes.hiding`), read from ``pages``' WARCs."""
    changes = diff_texts(old_text, new_text, ignore)
    result: dict[str, Any] = changes.to_json()
    for key in ("http_status", "final_url"):  # a witness copy has no final URL of its own
        if key in old and key in new and old[key] != new[key]:
            result[key] = {"from": old.get(key), "to": new.get(key)}
    if store is not None:
        a, b = passages(old_text, ignore), passages(new_text, ignore)
        if _same_bytes(*pages):  # one page: it hides and shows the same (nothing read)
            result = restyle(result, a, b, Looks(read=False), Looks(read=False))
        else:
            result = restyle(result, a, b, _looks(store, pages[0], a),
                             _looks(store, pages[1], b))
        return result if any_change(result) else None
    if not changes and len(result) == 3:
        return None
    return result


def _same_bytes(old: Record | None, new: Record | None) -> bool:
    """Two captures of one page with the same body and no browser render: what one page
    shows, the other does (a watch of a page that did not change reads neither)."""
    if old is None or new is None or old.kind != CAPTURE or new.kind != CAPTURE:
        return False
    digest = old.data.get("sha256")
    return (bool(digest) and digest == new.data.get("sha256")
            and not old.data.get("browser") and not new.data.get("browser"))


def _looks(store: Store, record: Record | None, compared: list[str]) -> Looks:
    return looks(store, record, compared) if record is not None else Looks(read=False)


def unread_sheets(store: Store, record: Record | None, text: str, ignore: Ignore = ()) -> int:
    """The style sheets of ``record``'s page not read (read once, :func:`looks`)."""
    return _looks(store, record, passages(text, ignore)).unread


def record_change(store: Store, ledger: Ledger, record: Record,
                  ignore: Ignore = ()) -> dict[str, Any] | None:
    """Compare a new capture with the previous one; append a ``changed`` record if they differ.

    Returns the capture JSON's ``changed`` value: None (first capture, or nothing changed, or
    a previous text that is missing or altered — ``check`` reports that, or a capture whose
    server failed, :func:`server_failed`, or that is a bot check, :func:`blocked`: not
    compared at all), else the change. The previous capture is the last one whose server
    gave the page.
    """
    read = text_reader(store)  # each text read once, however often it is asked about
    if server_failed(record.data.get("http_status")):
        return None  # compared with nothing (record_skipped says so without reading)
    # The previous capture first: a URL's first capture (every page of a new list) is
    # compared with nothing, and its text need not be read and re-hashed to know it.
    previous = previous_capture(ledger, record, store, read)
    if previous is None or record_skipped(store, record, read):
        return None
    role = text_role(record.data)
    if text_role(previous.data) != role:
        role = SERVER_TEXT  # a rendered text against a served one would be a false change
    old_text, new_text = read(previous, role), read(record, role)
    if old_text is None or new_text is None:
        return None
    notes = text_notes(previous.data, record.data)
    if previous.data.get("extractor") != record.data.get("extractor"):
        old_page, new_page = reextracted_page(store, previous), reextracted_page(store, record)
        if old_page is None or new_page is None:
            return None  # never a diff of two extractors' texts
        old_text, new_text = old_page.text, new_page.text
        notes = text_notes({"text_note": old_page.note}, {"text_note": new_page.note})
    found = compare(previous.data, record.data, old_text, new_text, ignore, store,
                    (previous, record))
    if found is None:
        return None
    if notes:  # as history says it: the change may be the extraction's, not the page's
        found["text_notes"] = notes
    payload = ChangedPayload(
        url=record.subject, from_=capture_ref(previous), to=capture_ref(record),
        removed=found["removed"], added=found["added"], figures=found["figures"],
        hidden=found["hidden"] or None, shown=found["shown"] or None,
        style_sheets_unread=found.get("style_sheets_unread"),
        differ=DIFFER, http_status=found.get("http_status"), final_url=found.get("final_url"),
        # what the comparison was told to disregard is part of what it says
        ignore=[p.pattern for p in ignore] or None, text_notes=notes or None)
    written = ledger.append(CHANGED, payload.to_json(), subject=record.subject)
    return {"since": previous.id, "since_seq": previous.seq, **found,
            "ledger_seq": written.seq, "id": written.id}


# --- one extractor on both sides (a new extractor alone must never look like an edit) -----------

def reextracted_page(store: Store, record: Record) -> PageText | None:
    """A capture's text made again from its WARC (re-hashed first) by today's extractor, with
    what that extractor says of it (``note``: a fallback or a partial text).
    A ``snapshot``'s WARC holds the copy under the URL it was fetched at."""
    entry = next((f for f in record.files if f.get("role") == "warc"), None)
    url = warc_url(record)
    if entry is None or url is None:
        return None
    try:
        data = store.read_object(str(entry["path"]))
    except (OSError, StoreError, KeyError):
        return None
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        return None
    try:
        return text_from_warc(io.BytesIO(data), str(url))
    except (OSError, ValueError, EOFError):  # an unreadable WARC: no text to compare
        return None


FRESH = "today's extractor"  # marks a text extracted in this run (a witness copy, a WARC)


def _fresh(ledger: Ledger, store: Store, item: Mapping[str, Any], text: str,
           data: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """An item's text by today's extractor: as is if it was just made, else from its WARC
    (a local capture's, or a kept archive copy's), with today's note about it."""
    if data.get("extractor") == FRESH:
        return text, dict(data)
    kept = item.get("snapshot")
    seq = item.get("ledger_seq") if item.get("source") == "local" else (
        kept.get("seq") if isinstance(kept, Mapping) else None)
    record = ledger.get(int(seq)) if seq is not None else None
    again = reextracted_page(store, record) if record is not None else None
    if again is None:
        return None
    fresh = {k: v for k, v in data.items() if k != "text_note"}
    return again.text, {**fresh, "extractor": FRESH,
                        **({"text_note": again.note} if again.note else {})}


def text_notes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, str]]:
    """What the record of either text says about it (``text_note``: the whole visible text
    kept for want of an article, a flat scan of a page too deep to walk, a page read only in
    part). A change measured against such a text may be the extraction's, not the page's:
    a diff says so instead of reading like one of two articles."""
    return [{"copy": side, "note": str(data["text_note"])}
            for side, data in (("earlier", old), ("this", new)) if data.get("text_note")]


def changed_records(ledger: Ledger, url: str) -> dict[int, Record]:
    """``changed`` records of ``url`` by the seq of their later capture."""
    return {int(r.data.get("to", {}).get("seq", 0)): r
            for r in ledger.records(kind=CHANGED, subject=url)}


# --- history with diffs ----------------------------------------------------------------------

def timeline(
    ledger: Ledger,
    store: Store,
    url: str,
    specs: Iterable[WitnessSpec],
    *,
    fetch_witnesses: bool = False,
    fetcher: Any = None,
    ignore: Ignore = (),
    config: WitnessConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """:func:`provenance.capture.witnessing.history`, each item with a text diffed against the last.

    Items that were compared get ``diff``: None when nothing changed, else ``since``
    (the earlier item's source, time and id or address), ``removed``, ``added``,
    ``hidden``, ``shown``, ``figures``, ``style_sheets_unread`` (when some) and, for two
    local captures, ``ledger`` (the ``changed`` record's seq and id, or None for captures
    made before changes were recorded); an item whose ``diff`` is None gets
    ``style_sheets_unread`` itself when its page has some. A witness copy that
    could not be fetched gets ``fetch_error`` and is skipped by the comparison; a copy
    whose server failed (:func:`server_failed`) gets ``not_compared`` and is skipped too,
    so the next copy is compared with the last one that showed the page.
    """

    env = os.environ if env is None else env
    specs = list(specs)
    try:
        url = normalize_url(url)
    except ArchiveError:
        pass
    items = history(ledger, url, specs, config=config, env=env)
    recorded = changed_records(ledger, url)
    reader = _WitnessReader(specs, fetcher, config, env) if fetch_witnesses else None
    if reader is not None and ledger.writable:  # each copy read is kept (capture.snapshots)
        reader.keep_in = (store, ledger, url)
    last: tuple[dict[str, Any], str, dict[str, Any]] | None = None
    for item in items:
        if item.get("error"):
            continue
        if server_failed(item.get("status")):  # an outage: compared with nothing
            item["not_compared"] = not_compared(item["status"])
            continue
        if item["source"] == "local":
            record = ledger.get(int(item["ledger_seq"]))
            text = capture_text(store, record) if record is not None else None
            data = {**record.data, _ROLE: text_role(record.data)} if record is not None else {}
        elif reader is not None:
            text, data = reader.text(item)
        else:
            continue
        if text is None:
            continue
        skipped = skip_reason(data, text)  # the copy says so, not the index
        if skipped:  # an outage, or a bot check: compared with nothing
            item["not_compared"] = skipped
            continue
        if last is not None:
            before, before_text, before_data = last
            own_text: str | None = None  # this item's text, if it is compared by another
            own_data = data
            if before_data.get(_ROLE, SERVER_TEXT) != data.get(_ROLE, SERVER_TEXT):
                # a rendered text against a served one: both compared as served
                old_served = _served(ledger, store, before, before_text, before_data)
                new_served = _served(ledger, store, item, text, data)
                if old_served is None or new_served is None:
                    last = (item, text, data)
                    continue
                own_text, own_data = text, data
                before_text, text = old_served, new_served
            if before_data.get("extractor") != data.get("extractor"):
                # texts by two extractors: both made again from the WARCs by today's
                pair = _fresh(ledger, store, before, before_text, before_data), \
                    _fresh(ledger, store, item, text, data)
                if pair[0] is None or pair[1] is None:
                    last = (item, own_text or text, data)
                    continue  # never a diff of two extractors' texts
                (before_text, before_data), (text, data) = pair[0], pair[1]
            pages = (_page(ledger, before), _page(ledger, item))
            found = compare(before_data, data, before_text, text, ignore, store, pages)
            item["diff"] = None if found is None else {"since": _since(before), **found}
            unread = unread_sheets(store, pages[1], text, ignore) if found is None else 0
            if unread:  # nothing changed that could be seen: what could not be is said
                item["style_sheets_unread"] = unread
            notes = text_notes(before_data, data)
            if found is not None and notes:
                item["diff"]["text_notes"] = notes
            if found is not None and item["source"] == before["source"] == "local":
                rec = recorded.get(int(item["ledger_seq"]))
                item["diff"]["ledger"] = {"seq": rec.seq, "id": rec.id} if rec else None
            if own_text is not None:
                text, data = own_text, own_data
        last = (item, text, data)
    return items


_ROLE = "_compared_text"  # in a local item's data: which of its texts it was compared by


def _page(ledger: Ledger, item: Mapping[str, Any]) -> Record | None:
    """The record whose WARC holds an item's page: a local capture's, or a kept archive
    copy's (``snapshot``); None for a copy read and not kept."""
    kept = item.get("snapshot")
    seq = item.get("ledger_seq") if item.get("source") == "local" else (
        kept.get("seq") if isinstance(kept, Mapping) else None)
    return ledger.get(int(seq)) if seq is not None else None


def _served(ledger: Ledger, store: Store, item: Mapping[str, Any], text: str,
            data: Mapping[str, Any]) -> str | None:
    """The server's text of a local capture compared by its rendered text; else ``text``."""
    if data.get(_ROLE, SERVER_TEXT) == SERVER_TEXT:
        return text
    record = ledger.get(int(item["ledger_seq"]))
    return capture_text(store, record, SERVER_TEXT) if record is not None else None


def _since(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"source": item["source"], "time": item["time"],
            "id": item.get("id") or item.get("where")}


class _WitnessReader:
    """Fetches witness raw copies (``id_``) and extracts their text, each copy once."""

    def __init__(self, specs: list[WitnessSpec], fetcher: Any, config: WitnessConfig | None,
                 env: Mapping[str, str]) -> None:

        self.config = config or WitnessConfig.from_env(env)
        self.witnesses = {spec.name: shared_witness(spec, self.config, env) for spec in specs}
        self.fetcher = fetcher or Fetcher()
        self.limiters = {name: RateLimiter(self.config.ia_read_interval if w.spec.kind == "ia"
                                           else self.config.pywb_interval)
                         for name, w in self.witnesses.items()}
        self.keep_in: tuple[Store, Ledger, str] | None = None  # and the URL asked for

    def text(self, item: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:

        witness = self.witnesses.get(item["source"])
        found = ts_from_url(item.get("where"))
        if witness is None or found is None:
            return None, {}
        if self.keep_in is not None:
            return kept_text(*self.keep_in, witness, item, found)
        # Each copy is fetched: two rows the index gives one digest are the index's word
        # that the copies are equal, and a copy is never read from the index's word.
        # Judged as pull and verify judge a copy (archive.snapshot): the archive's own
        # "not archived" or exclusion page, its redirect to another snapshot, another
        # page or the live site, is no copy, and its words are never the page's text.
        row = CdxRow(timestamp=found[0], original=found[1], statuscode=None,
                     digest=None, mimetype=None, length=None)
        try:
            copy = fetch_snapshot(witness.snapshot_ref(row), fetcher=self.fetcher,
                                  limiter=self.limiters[item["source"]])
        except ArchiveError as exc:
            item["fetch_error"] = str(exc)
            return None, {}
        page = snapshot_text(copy)
        text = page.text
        served = blocked_page(copy.exchange, page, copy.status,
                         archived_headers(copy.exchange.headers))
        data = {"http_status": copy.status, "extractor": FRESH, "title": page.title,
                **({"text_note": page.note} if page.note else {}),
                **({"blocked": served.to_json()} if served else {})}
        item["raw_url"] = witness.client.raw_url(*found)
        item["text_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return text, data


def kept_text(store: Store, ledger: Ledger, subject: str, witness: Any, item: dict[str, Any],
              found: tuple[str, str]) -> tuple[str | None, dict[str, Any]]:
    """A witness copy's text from its ``snapshot`` record: kept before, or fetched once now,
    filed under ``subject`` (the URL asked for, as ``pull`` and ``verify`` file it)."""
    digest = str(item.get("digest") or "")
    row = CdxRow(timestamp=found[0], original=found[1], statuscode=None,
                 digest=digest[5:] if digest.startswith("sha1:") else None,
                 mimetype=None, length=None)
    try:
        record, _ = keep_snapshot(store, ledger, witness, row, subject=subject)
    except ArchiveError as exc:
        item["fetch_error"] = str(exc)
        return None, {}
    text = capture_text(store, record)
    item["raw_url"] = record.data.get("raw_url")
    item["text_sha256"] = record.data.get("text_sha256")
    item["snapshot"] = {"seq": record.seq, "id": record.id}
    note = record.data.get("text_note")
    return text, {"http_status": record.data.get("http_status"),
                  "extractor": record.data.get("extractor"), "title": record.data.get("title"),
                  **({"text_note": note} if note else {}),
                  **({"blocked": record.data["blocked"]} if record.data.get("blocked") else {})}


# --- a screenshot across time ----------------------------------------------------------------

def screenshot_timeline(
    ledger: Ledger,
    store: Store,
    verification_fn: Callable[[str], Any],
    url: str,
) -> dict[str, Any]:
    """Run ``verification_fn(page_text)`` on every local capture of ``url``, oldest first.

    ``verification_fn`` is e.g. ``lambda text: verify_against_text(ocr, text)``; it returns a
    :class:`provenance.screens.match.Verification` (or anything with ``verdict``, ``score`` and
    ``found``). Returns ``{"url", "captures": [{id, seq, record_hash, time, http_status,
    text_sha256, verdict, score, found}…], "shown": [times], "first_shown", "last_shown",
    "absent_since", "summary"}`` where ``absent_since`` is the first capture after the last
    one that showed the text (None if it is still shown or never was), and ``summary`` one
    sentence such as "shown at 2022-03-20T16:10:00Z; not shown from 2022-03-20T19:40:00Z on".
    A capture whose stored text is missing or altered gets verdict None (could not check),
    and so does one whose server failed or that is a bot check (``not_compared``): an
    outage or a captcha never reads as "not shown".
    """
    try:
        url = normalize_url(url)
    except ArchiveError:
        pass
    rows: list[dict[str, Any]] = []
    for record in ledger.records(kind=CAPTURE, subject=url):
        text = capture_text(store, record)
        row = {"id": record.id, "seq": record.seq, "record_hash": record.record_hash,
               "time": record.data.get("fetched_at"),
               "http_status": record.data.get("http_status"),
               "text_sha256": record.data.get("text_sha256"),
               "verdict": None, "score": None, "found": None}
        skipped = skip_reason(record.data, text)
        if skipped:  # an outage or a bot check: neither shown nor not
            row["not_compared"] = skipped
        elif text is not None:
            result = verification_fn(text)
            row.update(verdict=result.verdict, score=round(float(result.score), 3),
                       found=result.found)
        rows.append(row)
    # Shown means the capture holds what the screenshot shows, figures included: a
    # mismatch (a figure differs, or the paragraph with the figures is gone) is not shown.
    shown = [r["time"] for r in rows if r["verdict"] == Verdict.MATCH]
    last_shown = max((i for i, r in enumerate(rows) if r["verdict"] == Verdict.MATCH), default=None)
    absent_since = None
    if last_shown is not None:
        gone = (Verdict.ABSENT, Verdict.MISMATCH)
        after = [r for r in rows[last_shown + 1:] if r["verdict"] in gone]
        absent_since = after[0]["time"] if after else None
    return {"url": url, "captures": rows, "shown": shown,
            "first_shown": shown[0] if shown else None,
            "last_shown": shown[-1] if shown else None, "absent_since": absent_since,
            "summary": _screenshot_summary(rows, shown, absent_since)}


def _screenshot_summary(rows: list[dict[str, Any]], shown: list[str],
                        absent_since: str | None) -> str:
    if not rows:
        return "no captures of this URL"
    mismatched = [r["time"] for r in rows if r["verdict"] == Verdict.MISMATCH]
    differ = f"; figures differ or are missing at {', '.join(mismatched)}" if mismatched else ""
    if not shown:
        return f"not shown in any of {len(rows)} captures{differ}"
    span = shown[0] if len(shown) == 1 else f"{shown[0]} to {shown[-1]}"
    text = f"shown at {span} ({len(shown)} of {len(rows)} captures){differ}"
    if absent_since:
        text += f"; not shown from {absent_since} on"
    return text

