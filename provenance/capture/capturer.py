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
from archive.deadline import abort_all
from archive.fetch import Fetcher
from archive.textpool import TextPool
from provenance.capture.procpool import CapturePool, Failed, WorkerGone
from provenance.capture.storing import ABORTED as ABORTED
from provenance.capture.storing import INTERNAL_ERROR as INTERNAL_ERROR
from provenance.capture.storing import capture_failure, record_capture
from provenance.changes.timeline import record_change
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE, FETCH_FAILED
from provenance.store.ledger import Ledger, Record
from provenance.store.records import FetchFailedPayload


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
    if isinstance(data.get("blocked"), dict):  # a bot check or captcha, not the page
        result["blocked"] = dict(data["blocked"])
    if isinstance(data.get("browser"), dict):
        browser = data["browser"]
        result["browser"] = {key: browser.get(key) for key in (
            "status", "reason", "error", "warc_sha256", "screenshot_sha256", "text_sha256",
            "prefer_text")}
    return result


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
                 workers: CapturePool | None = None,
                 after_record: Callable[[Record], None] | None = None) -> None:
        if workers is not None and (witness_step is not None or renderer is not None):
            raise ValueError("worker processes capture neither witnesses nor renders")
        self.store = store
        self.texts = texts  # text extraction in worker processes (None: in the thread)
        self.workers = workers  # whole captures in worker processes (None: in the thread)
        self.after_record = after_record  # tests: a worker killed between capture and change
        self.renderer = renderer  # --browser: each page also rendered, beside the fetch
        self.ledger = ledger
        self.fetcher = fetcher
        self.witness_step = witness_step
        self.record_failures = record_failures
        self.ignore = tuple(ignore)  # passages a change never counts (``--ignore``)

    def capture_one(self, url: str, *, batch: str | None = None) -> CaptureOutcome:
        if self.workers is not None:
            try:
                done = self.workers.capture(url, batch)
            except WorkerGone:
                pass  # no answer from a worker: captured here instead, as without them
            else:
                if isinstance(done, Failed):
                    return self._failed(url, done.error, done.reason)
                # its files are durable (the worker wrote them before answering)
                return self._recorded(url, self.ledger.append(CAPTURE, done.data,
                                                              subject=done.subject), None)
        try:
            cap = capture(url, self.fetcher, texts=self.texts)
        except Exception as exc:  # noqa: BLE001 - one bad page must never end the batch
            return self._failed(url, *capture_failure(url, exc))
        # The render never fails the capture: a failed render is recorded as such.
        rendered = self.renderer(url) if self.renderer is not None else None
        record = record_capture(self.store, self.ledger, cap, batch=batch, rendered=rendered)
        return self._recorded(url, record, cap)

    def _recorded(self, url: str, record: Record, cap: Capture | None) -> CaptureOutcome:
        if self.after_record is not None:
            self.after_record(record)
        outcome = CaptureOutcome(url, record=record,
                                 changed=record_change(self.store, self.ledger, record,
                                                       self.ignore))
        if self.witness_step is not None and cap is not None:
            outcome.witnesses = self.witness_step(self.ledger, record, cap)
        return outcome

    def cut(self) -> None:
        """Cut every fetch in flight (a Ctrl-C), in this process and in the workers'."""
        abort_all()
        if self.workers is not None:
            self.workers.cut()

    def _failed(self, url: str, error: str, reason: str) -> CaptureOutcome:
        if self.record_failures and reason != ABORTED:
            # That a page could not be reached at a given time is itself evidence; a fetch
            # we cut ourselves (Ctrl-C) says nothing about the page, so it is not recorded.
            failed = FetchFailedPayload(url=url, error=error, reason=reason)
            self.ledger.append(FETCH_FAILED, failed.to_json(), subject=url)
        return CaptureOutcome(url, error=error, reason=reason)
