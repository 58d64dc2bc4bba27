"""Witness records: what each witness archive did with a capture, and whether it agrees.

After a capture record, every ``--to`` witness gets the URL (:mod:`archive.witness`) and one
``witness`` record is appended per witness::

    {capture_seq, capture_hash, witness, status, url, archived_at, error, retryable,
     agrees, witness_sha256, payload_sha256, attempt, previous_seq,
     window_seconds, offset_seconds}

``agrees`` compares the SHA-256 of the witness's raw copy (``id_``) with the SHA-256 of our
capture's payload (``payload_sha256``: the final response body with Content-Encoding undone,
as the witness serves it): ``true``/``false``, or ``null`` when there was no copy to compare
(pending, failed, or a copy that could not be read) — could not check, never a guess.

A witness copy counts only if it was made within a window around our capture's
``fetched_at`` (``window_seconds``: ``{before, after}``, :mod:`archive.window`);
``offset_seconds`` is the snapshot's time minus ours. A witness naming an older snapshot is
``stale`` (retried: a fresh copy is asked for), a much later one ``late`` (final); neither
is compared, so ``agrees`` is null.

A witness that is down, refusing or slow never costs the capture: its record says
``pending``/``unknown``/``failed`` with a one-line error, and :func:`retry_pending` asks again
for every capture whose latest record for a witness is pending, unknown or a retryable
failure. Records are never changed: a retry is a new record naming the earlier one
(``previous_seq``) with ``attempt`` one higher.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.capture import Capture
from archive.errors import ArchiveError, WitnessError
from archive.fetch import decoded_body
from archive.memento import ARCHIVED, FAILED, PENDING, STALE, UNKNOWN
from archive.urls import normalize_url
from archive.window import parse_time
from archive.witness import (
    WitnessConfig,
    WitnessResult,
    WitnessSpec,
    shared_witness,
)
from provenance.errors import LedgerError
from provenance.store.filestore import Store
from provenance.store.hashing import CHUNK_SIZE
from provenance.store.kinds import CAPTURE, WITNESS
from provenance.store.ledger import Ledger, Record
from provenance.store.records import WitnessPayload, WitnessStatus
from provenance.store.rows import CheckContext, Checker, Problem, Row

RETRY_STATUSES = (PENDING, UNKNOWN, STALE)


def capture_payload_sha256(cap: Capture) -> str | None:
    """Our payload hash for a fresh capture: the final body with Content-Encoding undone."""
    try:
        return hashlib.sha256(decoded_body(cap.result.final)).hexdigest()
    except ArchiveError:
        return None  # a body we cannot decode cannot be compared: agrees stays null


def stored_payload_sha256(store: Store | None, capture_record: Record) -> str | None:
    """The same hash from the capture's stored WARC (warcio undoes Content-Encoding)."""

    warc = capture_record.file("warc")
    if store is None or warc is None:
        return None
    digest = None
    try:
        with store.open_object(str(warc["path"])) as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response":
                    hasher = hashlib.sha256()
                    stream = record.content_stream()
                    while block := stream.read(CHUNK_SIZE):
                        hasher.update(block)
                    digest = hasher.hexdigest()  # the last response is the final hop
    except (OSError, ValueError, ArchiveError, zlib.error):
        return None
    return digest


def witness_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's per-witness JSON (``witnesses`` list item) from a witness record."""
    keys = ("status", "url", "archived_at", "error", "agrees", "witness_sha256", "attempt",
            "retryable", "window_seconds", "offset_seconds")
    return {"name": data.get("witness"), **{k: data.get(k) for k in keys}}


def _record_data(capture_record: Record, result: WitnessResult, *, capture_sha256: str | None,
                 attempt: int, previous_seq: int | None) -> dict[str, Any]:
    agrees = None
    if result.status == ARCHIVED and result.raw_sha256 and capture_sha256:
        agrees = result.raw_sha256 == capture_sha256
    return WitnessPayload(
        capture_seq=capture_record.seq,
        capture_hash=capture_record.record_hash,
        witness=result.name,
        status=WitnessStatus(result.status),
        url=result.url,
        archived_at=result.archived_at,
        error=result.error,
        retryable=result.retryable,
        job_id=result.job_id,
        agrees=agrees,
        witness_sha256=result.raw_sha256,
        payload_sha256=capture_sha256,
        attempt=attempt,
        previous_seq=previous_seq,
        window_seconds=result.window.to_json() if result.window else None,
        offset_seconds=result.offset_seconds,
    ).to_json()


def _submit(spec: WitnessSpec, capture_record: Record, config: WitnessConfig | None,
            env: Mapping[str, str]) -> WitnessResult:
    """Send the capture's URL; the witness's snapshot must fall in the window of its time,
    and its copy must have answered the status ours ended with to be compared."""
    url = str(capture_record.data.get("url") or capture_record.subject)
    captured_at = parse_time(capture_record.data.get("fetched_at"))
    status = capture_record.data.get("http_status")
    return shared_witness(spec, config, env).submit(
        url, captured_at=captured_at, status=status if isinstance(status, int) else None)


def record_witnesses(
    ledger: Ledger,
    capture_record: Record,
    specs: Iterable[WitnessSpec],
    *,
    capture_sha256: str | None,
    config: WitnessConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Send one capture to every witness; append one ``witness`` record each; their JSON.

    ``capture_sha256`` is our payload hash (Content-Encoding undone) to compare with.
    """
    env = os.environ if env is None else env
    out = []
    for spec in specs:
        result = _submit(spec, capture_record, config, env)
        data = _record_data(capture_record, result, capture_sha256=capture_sha256,
                            attempt=1, previous_seq=None)
        record = ledger.append(WITNESS, data, subject=capture_record.subject)
        out.append({**witness_json(data), "ledger_seq": record.seq})
    return out


def witness_step(specs: list[WitnessSpec], config: WitnessConfig | None = None,
                 env: Mapping[str, str] | None = None
                 ) -> Callable[[Ledger, Record, Capture], list[dict[str, Any]]]:
    """The :class:`provenance.capture.capturer.Capturer` hook that witnesses each new capture."""

    def step(ledger: Ledger, record: Record, cap: Capture) -> list[dict[str, Any]]:
        return record_witnesses(ledger, record, specs, capture_sha256=capture_payload_sha256(cap),
                                config=config, env=env)

    return step


def witness_unsent(
    ledger: Ledger,
    store: Store | None,
    captures: Iterable[Record],
    specs: list[WitnessSpec],
    *,
    config: WitnessConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Send earlier captures to the witnesses that never got them; per capture seq, their JSON.

    A run killed between recording a capture and its witness record, or a capture made with
    ``--to none``, is resumed with a witness: the rerun of the batch delivers it.
    """
    out: dict[int, list[dict[str, Any]]] = {}
    for capture_record in captures:
        sent = {str(w.data.get("witness")) for w in ledger.witnesses_of(capture_record.seq)}
        missing = [s for s in specs if s.name not in sent]
        if missing:
            out[capture_record.seq] = record_witnesses(
                ledger, capture_record, missing,
                capture_sha256=stored_payload_sha256(store, capture_record),
                config=config, env=env)
    return out


def open_witness_records(ledger: Ledger) -> dict[tuple[int, str], Record]:
    """Per (capture seq, witness name), the newest ``witness`` record when it may need
    asking again (:func:`needs_retry`): read by index, never every witness record."""
    latest: dict[tuple[int, str], Record] = {}
    for record in ledger.latest_witnesses([*RETRY_STATUSES, FAILED]):
        seq = record.data.get("capture_seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            latest[(seq, str(record.data.get("witness")))] = record
    return latest


def needs_retry(data: Mapping[str, Any]) -> bool:
    status = data.get("status")
    return status in RETRY_STATUSES or (status == FAILED and bool(data.get("retryable")))


def retry_pending(
    ledger: Ledger,
    store: Store | None = None,
    *,
    config: WitnessConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Ask each witness again for every capture it has not confirmed; yields each outcome."""
    env = os.environ if env is None else env
    for (capture_seq, name), previous in sorted(open_witness_records(ledger).items()):
        if not needs_retry(previous.data):
            continue
        capture_record = ledger.get(capture_seq)
        if capture_record is None or capture_record.kind != CAPTURE:
            raise LedgerError(f"witness record #{previous.seq} names capture #{capture_seq}, "
                              "which is not a capture record")
        try:
            spec = WitnessSpec.parse(name)
        except ValueError:
            continue  # a witness this version no longer knows: leave its record as it is
        ours = previous.data.get("payload_sha256") or stored_payload_sha256(store,
                                                                            capture_record)
        url = str(capture_record.data.get("url") or capture_record.subject)
        result = _submit(spec, capture_record, config, env)
        data = _record_data(capture_record, result, capture_sha256=ours,
                            attempt=int(previous.data.get("attempt") or 1) + 1,
                            previous_seq=previous.seq)
        record = ledger.append(WITNESS, data, subject=capture_record.subject)
        yield {**witness_json(data), "url_captured": url, "capture_seq": capture_seq,
               "capture_id": capture_record.id, "ledger_seq": record.seq}


# --- check --------------------------------------------------------------------------------

class _Witnesses:
    """``check`` step: each witness record names an earlier capture record by its seq and its
    record hash, a retry names an earlier record of the same witness for the same capture,
    ``agrees`` says what its two hashes say, and an ``archived`` snapshot lies within the
    window it states around the capture's time. The records named are looked up by seq."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx

    def finish(self) -> tuple[Problem, ...]:
        return ()

    def visit(self, row: Row) -> Iterator[Problem] | tuple[()]:
        if row.kind != WITNESS or row.parsed is None:
            return ()
        return self._visit(row)

    def _visit(self, row: Row) -> Iterator[Problem]:
        data = (row.parsed or {}).get("data")
        if not isinstance(data, dict):
            yield Problem("witness record has no data", row.seq)
            return
        seq, previous = data.get("capture_seq"), data.get("previous_seq")
        by_seq = self.ctx.rows_at([s for s in (seq, previous) if isinstance(s, int)])
        capture = by_seq.get(seq) if isinstance(seq, int) else None
        if capture is None or capture.kind != CAPTURE or capture.seq >= row.seq:
            yield Problem(f"witness record names capture {seq!r}, which is not an earlier "
                          "capture record", row.seq)
            return
        if data.get("capture_hash") != capture.record_hash:
            yield Problem(f"witness record names capture {seq} by another hash", row.seq,
                          expected=capture.record_hash, found=str(data.get("capture_hash")))
        if row.subject != capture.subject:
            yield Problem(f"witness record's URL is not capture {seq}'s", row.seq,
                          expected=capture.subject, found=row.subject)
        if previous is not None:
            earlier = by_seq.get(previous) if isinstance(previous, int) else None
            earlier_data = ((earlier.parsed or {}).get("data") or {}) if earlier else {}
            if (earlier is None or earlier.kind != WITNESS or earlier.seq >= row.seq
                    or earlier_data.get("capture_seq") != seq
                    or earlier_data.get("witness") != data.get("witness")):
                yield Problem(f"witness retry names record {previous!r}, which is not an "
                              f"earlier {data.get('witness')} record for capture {seq}",
                              row.seq)
        agrees, theirs, ours = (data.get("agrees"), data.get("witness_sha256"),
                                data.get("payload_sha256"))
        comparable = data.get("status") == ARCHIVED and bool(theirs) and bool(ours)
        if agrees != ((theirs == ours) if comparable else None):
            yield Problem("witness record's 'agrees' contradicts its hashes", row.seq,
                          expected=str((theirs == ours) if comparable else None),
                          found=str(agrees))
        outside = _outside_window(data, (capture.parsed or {}).get("data") or {})
        if outside:
            yield Problem(outside, row.seq)




check_witnesses = Checker("check_witnesses", _Witnesses)


def _outside_window(data: Mapping[str, Any], capture: Mapping[str, Any]) -> str | None:
    """Why an ``archived`` record's snapshot is not within its stated window of the capture."""
    window = data.get("window_seconds")
    if data.get("status") != ARCHIVED or window is None:
        return None  # records made before windows were recorded are not judged by one
    snapshot, ours = parse_time(data.get("archived_at")), parse_time(capture.get("fetched_at"))
    try:
        before, after = float(window["before"]), float(window["after"])
    except (KeyError, TypeError, ValueError):
        return "witness record's window_seconds is unreadable"
    if snapshot is None or ours is None:
        return "witness record says archived but its time or its capture's cannot be read"
    if not -before <= (snapshot - ours).total_seconds() <= after:
        return (f"witness record says archived, but its snapshot ({data.get('archived_at')}) "
                f"is outside its window of the capture ({capture.get('fetched_at')})")
    return None


def history(
    ledger: Ledger,
    url: str,
    specs: Iterable[WitnessSpec],
    *,
    config: WitnessConfig | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every local capture and every witness snapshot of ``url``, oldest first.

    Each item: ``source`` (``local`` or the witness name), ``time`` (RFC 3339), ``status``
    (HTTP), ``digest`` (``sha256:…`` for ours, the witness's ``sha1:…`` CDX digest), ``where``
    (store path or memento URL). Local captures also say what ``changed`` since the
    previous local capture. A witness whose index cannot be read gives one item with
    ``error`` (and no ``time``), listed last.
    """
    env = os.environ if env is None else env
    try:
        url = normalize_url(url)
    except ArchiveError:
        pass
    items: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for record in ledger.records(kind=CAPTURE, subject=url):
        data = record.data
        warc = (record.file("warc") or {}).get("path")
        item: dict[str, Any] = {
            "source": "local", "time": data.get("fetched_at"), "status": data.get("http_status"),
            "digest": f"sha256:{data.get('sha256')}", "where": warc, "id": record.id,
            "ledger_seq": record.seq, "final_url": data.get("final_url"),
            "text_sha256": data.get("text_sha256"),
        }
        if previous is not None:
            item["changed"] = {
                "body": previous["sha256"] != data.get("sha256"),
                "text": previous["text_sha256"] != data.get("text_sha256"),
                "status": previous["http_status"] != data.get("http_status"),
                "final_url": previous["final_url"] != data.get("final_url"),
                "since_id": previous["id"],
            }
        previous = {**data, "id": record.id}
        items.append(item)
    # Which snapshots hold a capture of ours, and whether the witness's copy was ours.
    ours: dict[str, dict[str, Any]] = {}
    for record in ledger.records(kind=WITNESS, subject=url):
        where = record.data.get("url")
        if where and record.data.get("status") == WitnessStatus.ARCHIVED:
            ours[str(where)] = record.data  # the latest answer about that snapshot wins
    errors = []
    for spec in specs:
        witness = shared_witness(spec, config, env)
        try:
            rows = witness.snapshots(url)
        except WitnessError as exc:
            errors.append({"source": spec.name, "time": None, "error": str(exc)})
            continue
        for row in rows:
            where = witness.snapshot_url(row)
            item = {
                "source": spec.name, "time": row.captured_at, "status": row.statuscode,
                "digest": f"sha1:{row.digest}" if row.digest else None,
                "where": where, "mimetype": row.mimetype, "length": row.length,
                "capture_seq": None, "agrees": None,
            }
            known = ours.get(where)
            if known is not None:  # our submission: was the witness's copy what we got?
                item["capture_seq"], item["agrees"] = known.get("capture_seq"), known.get("agrees")
            items.append(item)
    items.sort(key=lambda item: (item["time"] or "", item["source"] != "local"))
    return items + errors
