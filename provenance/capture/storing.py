"""A capture's files written into the store, and the data of the record that will name them.

Shared by the capture threads (:mod:`provenance.capture.capturer`) and the worker processes
(:mod:`provenance.capture.procpool`): one function builds a capture record's data, so a page
is recorded the same whichever of them captured it.
"""

from __future__ import annotations

from typing import Any

from archive.browser.render import Rendered
from archive.capture import Capture
from archive.errors import ArchiveError
from provenance.capture.rendered import store_render
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE
from provenance.store.ledger import Ledger, Record
from provenance.store.records import CapturePayload

INTERNAL_ERROR = "internal-error"  # the reason of a failure that is a bug of ours
ABORTED = "aborted"  # archive.fetch: we cut the fetch ourselves (abort_all)


def record_capture(store: Store, ledger: Ledger, cap: Capture, *,
                   batch: str | None = None, rendered: Rendered | None = None) -> Record:
    """Write a capture's files, then its ledger record (in that order, always); with
    ``rendered``, the browser's files too (:func:`provenance.capture.rendered.store_render`).
    See :func:`store_capture`."""
    return ledger.append(CAPTURE, store_capture(store, cap, batch=batch, rendered=rendered),
                         subject=cap.result.url)


def store_capture(store: Store, cap: Capture, *, batch: str | None = None,
                  rendered: Rendered | None = None) -> dict[str, Any]:
    """Write a capture's files and return the data of its record (to append only now: a
    worker process of :mod:`provenance.capture.procpool` writes, its parent appends).
    The WARC and text go in one :meth:`Store.put_many`: both durable under their names
    before this returns, both renamed before either folder is flushed (the first folder
    flush commits both names)."""
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
        content_type=final.header("content-type"),
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
        blocked=cap.blocked.to_json() if cap.blocked else None,  # a bot check, not the page
        extra={"extractor": cap.text.extractor.to_json()},  # diffs compare one extractor's
    )
    return payload.to_json()


def capture_failure(url: str, exc: Exception) -> tuple[str, str]:
    """The error line and reason of a capture that raised ``exc``: the page's own
    (ArchiveError), or a bug of ours said as such (``internal-error``)."""
    if isinstance(exc, ArchiveError):
        return str(exc), getattr(exc, "reason", "error")
    # A bug, not a verdict on the page: said as such, with the exception's type, and
    # recorded like any failed fetch so every rerun does not die on the same URL.
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return (f"unexpected {type(exc).__name__} while capturing {url}"
            f"{': ' + first if first else ''} (a bug in provenance; please report it)",
            INTERNAL_ERROR)

