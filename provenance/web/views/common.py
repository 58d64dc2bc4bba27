"""Small helpers the pages share: reading a record named in a request, and a record's few
words for a list."""

from __future__ import annotations

import re

from werkzeug.exceptions import NotFound

from provenance.capture.rendered import BROWSER_SCREENSHOT, browser_part
from provenance.errors import UsageError
from provenance.store.kinds import CAPTURE
from provenance.store.ledger import Record
from provenance.store.records import BrowserStatus
from provenance.store.summary import summary as record_summary
from provenance.web.context import evidence
from provenance.web.security import record_ref

_SEQ = re.compile(r"[0-9]{1,18}")


def record_at(value: str) -> Record:
    """The record a request names (checked: a ledger number or a hash prefix only); one the
    ledger does not hold is a 404."""
    ref = record_ref(value)
    try:
        return evidence().show(ref)
    except UsageError as exc:
        raise NotFound(str(exc)) from None


def seq_param(value: str | None, name: str) -> int | None:
    """A ledger number from a query parameter, or None; anything else is refused."""
    if value is None or value == "":
        return None
    if not _SEQ.fullmatch(value):
        raise UsageError(f"{name} must be a ledger number, not {value[:40]!r}")
    return int(value)


def has_screenshot(found: Record) -> bool:
    """Whether ``found`` names our browser's screenshot, the same file its browser part
    names (the file itself is re-hashed when it is served)."""
    part = browser_part(found.data) if found.kind == CAPTURE else None
    entry = found.file(BROWSER_SCREENSHOT)
    return (part is not None and entry is not None and part.status is BrowserStatus.OK
            and part.screenshot_sha256 is not None
            and entry.get("sha256") == part.screenshot_sha256)


def summary(record: Record) -> str:
    """A record's line in a list; a capture's title alone, since its other columns show the
    rest."""
    if record.kind == "capture":
        return str(record.data.get("title") or "")
    return record_summary(record)
