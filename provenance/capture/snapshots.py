"""An archive's copy of a page kept as evidence: a ``snapshot`` record, once per copy.

A snapshot in a witness archive (the Wayback Machine, a pywb, a Memento archive) is what
:func:`archive.snapshot.fetch_snapshot` fetched raw (``id_``). :func:`record_snapshot` keeps
it as a capture is kept: its WARC and its extracted text, content-addressed in the store,
then one ``snapshot`` ledger record::

    {archive, url, memento_url, raw_url, timestamp, memento_datetime, http_status,
     content_type, fetched_at, cdx_digest, payload_sha1, digest_check, digest_agrees,
     sha256, text_sha256, title, extractor, files: [warc, text]}

The record lists its files as a capture does, so ``provenance check`` re-hashes them and
checks the WARC's own digests. :func:`keep_snapshot` fetches a copy only if no record of it
exists (same archive, same original URL, same 14-digit timestamp): a copy is fetched once,
and verify and history work offline afterwards.

A copy is filed under the URL it was looked up as (``pull``, ``history --fetch-witnesses``
and ``verify --against URL`` all pass theirs), which may differ from the archive's own
spelling of it (``https://www.example.org/a/`` for ``http://example.org/a``). "Kept before"
is looked up under both keys (:func:`snapshot_keys`), so a copy filed by one command, or by
an earlier version under the archive's spelling, is never fetched again by another.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

from archive.blockpage import archived_headers
from archive.capture import blocked_page, start_text
from archive.cdx import CdxRow
from archive.errors import ArchiveError, FetchError
from archive.snapshot import SnapshotCopy
from archive.text import PageText
from archive.textpool import inline
from archive.urls import normalize_url
from archive.witness import Witness
from provenance.store.filestore import Store
from provenance.store.kinds import SNAPSHOT
from provenance.store.ledger import Ledger, Record
from provenance.store.records import SnapshotPayload

DECODED_LIMIT = 200_000_000  # decoding work allowed for a copy's text (a bomb stops here)


def subject_of(url: str) -> str:
    """The ledger subject of a snapshot: the original URL as captures name it."""
    try:
        return normalize_url(url)
    except ArchiveError:
        return url


def snapshot_keys(original: str, subject: str | None = None) -> list[str]:
    """The ledger subjects a copy of ``original`` may be filed under: the URL it was looked
    up as, then the archive's own original URL (normalised)."""
    return list(dict.fromkeys([subject or subject_of(original), subject_of(original)]))


def kept_snapshot(ledger: Ledger, archive: str, original: str, timestamp: str, *,
                  subject: str | None = None) -> Record | None:
    """The ``snapshot`` record of this copy, if it was kept before (under either key)."""
    for key in snapshot_keys(original, subject):
        for record in ledger.records(kind=SNAPSHOT, subject=key):
            data = record.data
            if data.get("archive") == archive and data.get("timestamp") == timestamp:
                return record
    return None


def snapshot_text(copy: SnapshotCopy) -> PageText:
    """The copy's text, made the one way a capture's is (:func:`archive.capture.start_text`,
    bounded decoding, the notes of a partial or failed extraction), from the URL its WARC
    holds it under: so the text kept now and the text ``history`` makes again from the WARC
    are one. A copy whose stream is cut or whose bytes do not decode has no text and a note
    (it is still what the archive served)."""
    final = copy.exchange
    try:
        return start_text(final.body, final.header("content-encoding"),
                          final.header("content-type"), final.url, DECODED_LIMIT, inline)()
    except FetchError as exc:
        return PageText(title=None, text="", note=f"no text: {exc}")


def record_snapshot(store: Store, ledger: Ledger, copy: SnapshotCopy, *,
                    subject: str | None = None) -> Record:
    """Write the copy's WARC and text, then its ``snapshot`` record (in that order).

    ``subject``: the URL it was looked up as (default: the original URL the index gives),
    so the copies of a URL are found again by that URL, offline too."""
    buffer = io.BytesIO()
    copy.write_warc(buffer)
    text = snapshot_text(copy)
    text_bytes = text.text.encode("utf-8")
    warc_file = store.put_bytes(buffer.getvalue(), role="warc", suffix=".warc.gz")
    text_file = store.put_bytes(text_bytes, role="text", suffix=".txt")
    ref = copy.ref
    payload = SnapshotPayload(
        archive=ref.archive,
        url=ref.original,
        memento_url=ref.memento_url,
        raw_url=ref.raw_url,
        timestamp=ref.timestamp,
        memento_datetime=copy.memento_datetime,
        http_status=copy.status,
        content_type=copy.exchange.header("content-type"),
        fetched_at=copy.result.fetched_at,
        cdx_digest=f"sha1:{ref.cdx_digest}" if ref.cdx_digest else None,
        payload_sha1=f"sha1:{copy.sha1_base32}",
        digest_check=copy.digest_check.value,
        digest_agrees=copy.agrees,
        sha256=copy.sha256,
        text_sha256=hashlib.sha256(text_bytes).hexdigest(),
        title=text.title,
        extractor=text.extractor.to_json(),
        files=[warc_file.to_json(), text_file.to_json()],
        text_note=text.note,  # only written when set
        warnings=list(copy.warnings),  # only written when there are some
        blocked=_blocked(copy, text),  # an archived bot check is no copy of the page
    )
    return ledger.append(SNAPSHOT, payload.to_json(),
                         subject=subject or subject_of(ref.original))


def _blocked(copy: SnapshotCopy, text: PageText) -> dict[str, str] | None:
    """The bot check or captcha the archive holds instead of the page, if it is one."""
    final = copy.exchange
    found = blocked_page(final, text, copy.status, archived_headers(final.headers))
    return found.to_json() if found else None


def keep_snapshot(store: Store, ledger: Ledger, witness: Witness, row: CdxRow, *,
                  subject: str | None = None) -> tuple[Record, bool]:
    """The record of ``row``'s copy: kept before (``False``), or fetched and kept now
    (``True``). Raises what :meth:`Witness.fetch_snapshot` raises (ExcludedByArchive,
    NotArchived, WitnessError); nothing is recorded then."""
    known = kept_snapshot(ledger, witness.name, row.original, row.timestamp, subject=subject)
    if known is not None:
        return known, False
    return record_snapshot(store, ledger, witness.fetch_snapshot(row), subject=subject), True


def snapshot_json(record: Record) -> dict[str, Any]:
    """How verify and history name a kept copy."""
    data = record.data
    return {"source": data.get("archive"), "kind": SNAPSHOT, "id": record.id,
            "seq": record.seq, "record_hash": record.record_hash,
            "time": data.get("memento_datetime"), "memento_url": data.get("memento_url"),
            "http_status": data.get("http_status"), "sha256": data.get("sha256"),
            "text_sha256": data.get("text_sha256"), "cdx_digest": data.get("cdx_digest"),
            "digest_agrees": data.get("digest_agrees"),
            "blocked": data.get("blocked")}  # an archived bot check: not the page
