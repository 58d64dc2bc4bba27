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
from provenance.cli.options import (
    EXIT_NEGATIVE,
    EXIT_OK,
    Commands,
    examples,
    positive_int,
)
from provenance.cli.output import Line, Output
from provenance.store.hashing import is_sha256_hex
from provenance.store.ledger import Record

KINDS = ("capture", "fetch_failed", "witness", "timestamp", "ocr", "verification", "changed")


def summary(record: Record) -> str:
    """The few words that tell records of one kind apart."""
    data = record.data
    if record.kind == "capture":  # the page's time as history shows it, not the record's
        return (f"{data.get('http_status')}  fetched {data.get('fetched_at')}  "
                f"{data.get('title') or ''}").rstrip()
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
        return (f"since #{since}: {len(data.get('removed') or [])} removed, "
                f"{len(data.get('added') or [])} added, {len(data.get('figures') or [])} figures")
    return ""


def _short(subject: str | None) -> str:
    """URLs in full; an image's SHA-256 cut to 12 digits, like record ids."""
    if subject and is_sha256_hex(subject):
        return f"image {subject[:12]}…"
    return subject or ""


def _register_log(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "log", help="list the ledger's records (ids to export, to verify --against)",
        description="List the records of the evidence store, oldest first: ledger number, "
        "id, time, kind, subject (URL or image hash) and a summary. --since and --until "
        "compare the ledger record time (when the record was written, UTC), not the page's "
        "own dates; -n keeps the newest N records that pass the other filters, still "
        "listed oldest first.")
    sub.add_argument("subject", nargs="?", metavar="URL_OR_HASH",
                     help="only records about this URL (its captures, witnesses, changes and "
                     "the screenshot checks against it) or this image SHA-256")
    sub.add_argument("--kind", action="append", choices=KINDS, metavar="KIND",
                     help=f"only these kinds ({', '.join(KINDS)}); repeatable")
    sub.add_argument("--since", metavar="TIME",
                     help="only records written at or after TIME (ledger record time; RFC "
                     "3339 UTC like 2026-03-21T14:03:07Z, or a date YYYY-MM-DD: from its "
                     "start)")
    sub.add_argument("--until", metavar="TIME",
                     help="only records written before TIME (ledger record time; a date "
                     "YYYY-MM-DD includes that whole day)")
    sub.add_argument("-n", type=positive_int, metavar="N", dest="limit",
                     help="at most N records: the newest N, listed oldest first")
    examples(sub, "provenance log https://example.org/news/1",
             "provenance log --since 2026-03-01 --kind verification -n 20")
    sub.set_defaults(handler=_cmd_log)
    return sub


def _cmd_log(args: argparse.Namespace, out: Output) -> int:

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
                     f"#{record.seq:<5} {record.id}  {record.time}  {record.kind:<12} "
                     f"{_short(record.subject)}  {summary(record)}")
    if not shown:
        out.say("no records" + (f" about {subject}" if subject else ""))
    return EXIT_OK if shown else EXIT_NEGATIVE


def _register_show(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "show", help="print one record: its data, hashes and files (or its text or body)",
        description="Print one ledger record: its kind, time, subject, data, hashes and "
        "files. With --text, the capture's extracted text; with --raw, the body of the final "
        "response exactly as captured, from its WARC (at most 64 MiB of WARC is read). "
        "Either file is re-hashed first: one that was edited is refused (exit 1).")
    sub.add_argument("ref", metavar="ID", help="a ledger number (12) or a record id / record "
                     "hash prefix of 6 or more digits, as export takes")
    what = sub.add_mutually_exclusive_group()
    what.add_argument("--text", action="store_true",
                      help="print the capture's extracted text instead")
    what.add_argument("--raw", action="store_true",
                      help="write the body as captured (bytes) instead; with --json it is "
                      "the record line's body_base64")
    examples(sub, "provenance show 12", "provenance show 3f2a9c1b --text")
    sub.set_defaults(handler=_cmd_show)
    return sub


def _cmd_show(args: argparse.Namespace, out: Output) -> int:
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
    lines = [f"record #{record.seq}  {record.id}",
             f"kind:         {record.kind}",
             f"time:         {record.time}  (ledger record time, UTC)",
             f"subject:      {record.subject or '-'}",
             f"summary:      {summary(record)}",
             f"record hash:  {record.record_hash}",
             f"previous:     {record.prev_hash}"]
    files = [f for f in record.files if isinstance(f, dict)]
    if files:
        lines.append("files:")
        lines += [f"  {f.get('role', '?'):<12} {f.get('sha256', '?')}  {f.get('path', '?')}"
                  + (f"  ({f['size']} bytes)" if isinstance(f.get("size"), int) else "")
                  for f in files]
    data = {k: v for k, v in record.data.items() if k != "files"}
    lines.append("data:")
    lines += ["  " + line for line in json.dumps(data, ensure_ascii=False, indent=2,
                                                  sort_keys=True).splitlines()]
    return "\n".join(lines)


REGISTER = [_register_log, _register_show]
