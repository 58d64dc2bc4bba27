"""Capturing a URL into the store: fetch, keep the WARC and text, append the ledger record.

:func:`archive.capture.capture` does the web part; this module makes it evidence. A capture
is recorded only once its files are safely on disk, so a run killed at any point leaves
either a complete capture or none (half-written files stay in ``tmp/`` and are cleared).
Witness archives and time-stamps come after the capture record and are records of their
own: a witness or TSA that fails never costs the local capture.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from archive.browser.render import Rendered
from archive.capture import Capture, capture
from archive.errors import ArchiveError
from archive.fetch import Fetcher
from archive.textpool import TextPool
from provenance.capture.rendered import store_render
from provenance.changes.timeline import record_change
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE, FETCH_FAILED
from provenance.store.ledger import Ledger, Record
from provenance.store.records import CapturePayload, FetchFailedPayload

INTERNAL_ERROR = "internal-error"  # the reason of a failure that is a bug of ours
ABORTED = "aborted"  # archive.fetch: we cut the fetch ourselves (abort_all)


@dataclass
class CaptureOutcome:
    """What happened to one URL: a capture record, or the error that prevented one."""

    url: str
    record: Record | None = None
    error: str | None = None
    reason: str | None = None
    skipped: bool = False
    witnesses: list[dict[str, Any]] = field(default_factory=list)
    timestamps: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[str, Any] | None = None  # vs the previous capture (provenance.changes.timeline)

    @property
    def ok(self) -> bool:
        return self.record is not None

    def to_json(self) -> dict[str, Any]:
        if self.record is None:
            return {"url": self.url, "error": self.error, "reason": self.reason}
        return {**capture_json(self.record, witnesses=self.witnesses,
                               timestamps=self.timestamps, skipped=self.skipped),
                "changed": self.changed}


def capture_json(record: Record, *, witnesses: list[dict[str, Any]] | None = None,
                 timestamps: list[dict[str, Any]] | None = None,
                 skipped: bool = False) -> dict[str, Any]:
    """The contract's JSON for one capture record."""
    data = record.data
    warc = (record.file("warc") or {}).get("path")
    result: dict[str, Any] = {
        "id": record.id,
        "url": data.get("url"),
        "final_url": data.get("final_url"),
        "http_status": data.get("http_status"),
        "fetched_at": data.get("fetched_at"),
        "sha256": data.get("sha256"),
        "warc": warc,
        "text_sha256": data.get("text_sha256"),
        "title": data.get("title"),
        "witnesses": witnesses or [],
        "timestamps": timestamps or [],
        "ledger_seq": record.seq,
        "record_hash": record.record_hash,
    }
    if skipped:
        result["skipped"] = True
    if isinstance(data.get("browser"), dict):
        browser = data["browser"]
        result["browser"] = {key: browser.get(key) for key in (
            "status", "reason", "error", "warc_sha256", "screenshot_sha256", "text_sha256",
            "prefer_text")}
    return result


def record_capture(store: Store, ledger: Ledger, cap: Capture, *,
                   batch: str | None = None, rendered: Rendered | None = None) -> Record:
    """Write a capture's files, then its ledger record (in that order, always); with
    ``rendered``, the browser's files too (:func:`provenance.capture.rendered.store_render`).
    The WARC and text go in one :meth:`Store.put_many`: both durable under their names
    before the record is appended, both renamed before either folder is flushed (the
    first folder flush commits both names)."""
    warc, text = store.put_many([(cap.warc, "warc", ".warc.gz"),
                                 (cap.text.text.encode("utf-8"), "text", ".txt")])
    browser_files, browser = (store_render(store, rendered, cap.text.text)
                              if rendered is not None else ([], None))
    result = cap.result
    final = result.final
    payload = CapturePayload(
        url=result.url,
        final_url=result.final_url,
        redirects=list(result.redirects),
        http_status=final.status,
        content_type=_header(final.headers, "content-type"),
        fetched_at=result.fetched_at,
        ip_address=final.ip_address,
        sha256=cap.sha256,
        text_sha256=cap.text_sha256,
        title=cap.text.title,
        canonical_url=cap.text.canonical_url,
        published=cap.text.published,
        modified=cap.text.modified,
        charset=cap.text.charset,
        files=[warc.to_json(), text.to_json(), *browser_files],
        text_note=cap.text.note,  # partial or flat text: a change measured against it is suspect
        batch=batch,
        browser=browser,
        extra={"extractor": cap.text.extractor.to_json()},  # diffs compare one extractor's
    )
    data = payload.to_json()
    return ledger.append(CAPTURE, data, subject=result.url)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


WitnessStep = Callable[[Ledger, Record, Capture], list[dict[str, Any]]]
Renderer = Callable[[str], Rendered]  # archive.browser.pool.BrowserPool.render


class Capturer:
    """Captures URLs into one store; :meth:`capture_one` is safe to call from many threads."""

    def __init__(self, store: Store, ledger: Ledger, fetcher: Fetcher, *,
                 witness_step: WitnessStep | None = None,
                 record_failures: bool = True,
                 ignore: Sequence[re.Pattern[str]] = (),
                 renderer: Renderer | None = None,
                 texts: TextPool | None = None,
                 after_record: Callable[[Record], None] | None = None) -> None:
        self.store = store
        self.texts = texts  # text extraction in worker processes (None: in the thread)
        self.after_record = after_record  # tests: a worker killed between capture and change
        self.renderer = renderer  # --browser: each page also rendered, beside the fetch
        self.ledger = ledger
        self.fetcher = fetcher
        self.witness_step = witness_step
        self.record_failures = record_failures
        self.ignore = tuple(ignore)  # passages a change never counts (``--ignore``)

    def capture_one(self, url: str, *, batch: str | None = None) -> CaptureOutcome:
        try:
            cap = capture(url, self.fetcher, texts=self.texts)
        except ArchiveError as exc:
            return self._failed(url, str(exc), getattr(exc, "reason", "error"))
        except Exception as exc:  # noqa: BLE001 - one bad page must never end the batch
            # A bug, not a verdict on the page: said as such, with the exception's type, and
            # recorded like any failed fetch so every rerun does not die on the same URL.
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            return self._failed(url, f"unexpected {type(exc).__name__} while capturing {url}"
                                f"{': ' + first if first else ''} (a bug in provenance; "
                                "please report it)", INTERNAL_ERROR)
        # The render never fails the capture: a failed render is recorded as such.
        rendered = self.renderer(url) if self.renderer is not None else None
        record = record_capture(self.store, self.ledger, cap, batch=batch, rendered=rendered)
        if self.after_record is not None:
            self.after_record(record)
        outcome = CaptureOutcome(url, record=record,
                                 changed=record_change(self.store, self.ledger, record,
                                                       self.ignore))
        if self.witness_step is not None:
            outcome.witnesses = self.witness_step(self.ledger, record, cap)
        return outcome

    def _failed(self, url: str, error: str, reason: str) -> CaptureOutcome:
        if self.record_failures and reason != ABORTED:
            # That a page could not be reached at a given time is itself evidence; a fetch
            # we cut ourselves (Ctrl-C) says nothing about the page, so it is not recorded.
            failed = FetchFailedPayload(url=url, error=error, reason=reason)
            self.ledger.append(FETCH_FAILED, failed.to_json(), subject=url)
        return CaptureOutcome(url, error=error, reason=reason)
