"""``provenance log``: what the ledger holds, one line per record, to find the ids to export.

A capture prints its id when it is made, but a reporter coming back a week later needs the
ids of that capture, its screenshot checks and its time-stamps to hand over a bundle: this
lists them, optionally only one kind or one URL (or image hash), oldest first.
"""

from __future__ import annotations

import argparse
import base64
import json

from provenance.api import Evidence, log_bound, log_subject
from provenance.cli.options import EXIT_NEGATIVE, EXIT_OK
from provenance.cli.output import Line, Output, one_line
from provenance.store.hashing import is_sha256_hex
from provenance.store.ledger import Record
from provenance.store.summary import summary


def _short(subject: str | None) -> str:
    """URLs in full; an image's SHA-256 cut to 12 digits, like record ids."""
    if subject and is_sha256_hex(subject):
        return f"image {subject[:12]}…"
    return subject or ""


def cmd_log(args: argparse.Namespace, out: Output) -> int:

    subject = log_subject(args.subject) if args.subject else None
    since = log_bound(args.since) if args.since else None
    until = log_bound(args.until, end=True) if args.until else None
    shown = 0
    with Evidence(args.store, create=False, writable=False) as evidence:
        for record in evidence.log(subject, args.kind or (), since=since, until=until,
                                   limit=args.limit):
            shown += 1
            out.item(Line.RECORD, {"seq": record.seq, "id": record.id, "kind": record.kind,
                      "time": record.time, "subject": record.subject,
                      "record_hash": record.record_hash, "summary": summary(record)},
                     one_line(f"#{record.seq:<5} {record.id}  {record.time}  "
                              f"{record.kind:<12} {_short(record.subject)}  {summary(record)}"))
    if not shown:
        out.say("no records" + (f" about {subject}" if subject else ""))
    return EXIT_OK if shown else EXIT_NEGATIVE


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    with Evidence(args.store, create=False, writable=False) as evidence:
        record = evidence.show(args.ref)
        text = evidence.text_of(record) if args.text else None
        body = evidence.raw_body(record) if args.raw else None
    obj = record.to_json()
    if out.json_mode:
        if text is not None:
            obj["text"] = text
        if body is not None:
            obj["body_base64"] = base64.b64encode(body).decode("ascii")
        out.item(Line.RECORD, obj)
    elif text is not None:
        out.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        out.stdout.flush()
    elif body is not None:
        out.stdout.flush()
        binary = getattr(out.stdout, "buffer", None)
        if binary is not None:
            binary.write(body)
            binary.flush()
        else:  # a text-only stream (a test's): as much as can be shown
            out.stdout.write(body.decode("utf-8", errors="replace"))
    else:
        out.item(Line.RECORD, obj, _describe(record))
    return EXIT_OK


def _describe(record: Record) -> str:
    """The record for a person: header lines, files, then the data as indented JSON."""
    # A subject and its record's data come from the ledger, which a forger may have
    # written: one_line (and JSON's escapes below) keep a newline or a cursor move in them
    # from printing a line of their own.
    lines = [f"record #{record.seq}  {record.id}",
             f"kind:         {one_line(record.kind)}",
             f"time:         {one_line(record.time)}  (ledger record time, UTC)",
             f"subject:      {one_line(record.subject or '-')}",
             f"summary:      {one_line(summary(record))}",
             f"record hash:  {record.record_hash}",
             f"previous:     {record.prev_hash}"]
    files = [f for f in record.files if isinstance(f, dict)]
    if files:
        lines.append("files:")
        lines += [one_line(f"  {f.get('role', '?'):<12} {f.get('sha256', '?')}  "
                           f"{f.get('path', '?')}")
                  + (f"  ({f['size']} bytes)" if isinstance(f.get("size"), int) else "")
                  for f in files]
    data = {k: v for k, v in record.data.items() if k != "files"}
    lines.append("data:")
    lines += ["  " + one_line(line) for line in json.dumps(data, ensure_ascii=False,
                                                           indent=2, sort_keys=True
                                                           ).splitlines()]
    return "\n".join(lines)

