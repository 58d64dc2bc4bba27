"""The few words that tell records of one kind apart, shared by `log`, `show` and the
viewer so that a record reads the same wherever a journalist meets it."""

from __future__ import annotations

from provenance.store.ledger import Record


def summary(record: Record) -> str:
    """One line for a record: what it found, for which capture, with which outcome."""
    data = record.data
    if record.kind == "capture":  # the page's time as history shows it, not the record's
        return (f"{data.get('http_status')}  fetched {data.get('fetched_at')}  "
                f"{data.get('title') or ''}").rstrip()
    if record.kind == "snapshot":
        return str(data.get("title") or "")
    if record.kind == "fetch_failed":
        return str(data.get("error") or "")
    if record.kind == "witness":
        agrees = {True: "agrees", False: "DIFFERS", None: "not compared"}[data.get("agrees")]
        return (f"{data.get('witness')} {data.get('status')} for #{data.get('capture_seq')}"
                + (f", {agrees}" if data.get("status") == "archived" else ""))
    if record.kind == "timestamp":
        covers = data.get("covers") or []
        return f"{data.get('status')} by {data.get('tsa')} for {len(covers)} record(s)"
    if record.kind == "ocr":
        return f"lang {data.get('lang')}"
    if record.kind == "verification":
        against = data.get("against") or {}
        what = (f"against capture #{against.get('seq')}" if against.get("capture")
                else str(data.get("claim") or "").replace("\n", " ")[:60])
        return f"{str(data.get('verdict')).upper()}  {what}"
    if record.kind == "changed":
        since = (data.get("from") or {}).get("seq", "?")
        hid = "".join(f", {len(data[key])} {key}" for key in ("hidden", "shown")
                      if data.get(key))  # by the page's style: still in its HTML
        return (f"since #{since}: {len(data.get('removed') or [])} removed, "
                f"{len(data.get('added') or [])} added, {len(data.get('figures') or [])} figures"
                + hid)
    return ""
