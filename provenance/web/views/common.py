"""Small helpers the pages share: reading a record named in a request, and a record's few
words for a list."""

from __future__ import annotations

import re

from werkzeug.exceptions import NotFound

from provenance.errors import UsageError
from provenance.store.ledger import Record
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


def summary(record: Record) -> str:
    """The few words that tell records of one kind apart in a list."""
    data = record.data
    if record.kind in ("capture", "snapshot"):
        return str(data.get("title") or "")
    if record.kind == "fetch_failed":
        return str(data.get("error") or "")
    if record.kind == "witness":
        return f"{data.get('witness')} {data.get('status')} for #{data.get('capture_seq')}"
    if record.kind == "timestamp":
        return f"{data.get('status')} by {data.get('tsa')} for " \
               f"{len(data.get('covers') or [])} record(s)"
    if record.kind == "verification":
        return f"{str(data.get('verdict')).upper()}  {str(data.get('claim') or '')[:80]}"
    if record.kind == "changed":
        return (f"{len(data.get('removed') or [])} removed, {len(data.get('added') or [])} "
                f"added, {len(data.get('figures') or [])} figures")
    if record.kind == "ocr":
        return f"lang {data.get('lang')}"
    return ""
