"""``provenance log``: what the ledger holds, one line per record, to find the ids to export.

A capture prints its id when it is made, but a reporter coming back a week later needs the
ids of that capture, its screenshot checks and its time-stamps to hand over a bundle: this
lists them, optionally only one kind or one URL (or image hash), oldest first.
"""

from __future__ import annotations

import argparse

from provenance.api import Evidence, log_subject
from provenance.cli.options import (
    EXIT_NEGATIVE,
    EXIT_OK,
    Commands,
    examples,
)
from provenance.cli.output import Line, Output
from provenance.store.hashing import is_sha256_hex
from provenance.store.ledger import Record

KINDS = ("capture", "fetch_failed", "witness", "timestamp", "ocr", "verification", "changed")


def summary(record: Record) -> str:
    """The few words that tell records of one kind apart."""
    data = record.data
    if record.kind == "capture":
        return f"{data.get('http_status')}  {data.get('title') or ''}".rstrip()
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
        "id, time, kind, subject (URL or image hash) and a summary.")
    sub.add_argument("subject", nargs="?", metavar="URL_OR_HASH",
                     help="only records about this URL (its captures, witnesses, changes and "
                     "the screenshot checks against it) or this image SHA-256")
    sub.add_argument("--kind", action="append", choices=KINDS, metavar="KIND",
                     help=f"only these kinds ({', '.join(KINDS)}); repeatable")
    examples(sub, "provenance log https://example.org/news/1",
             "provenance log --kind verification --json")
    sub.set_defaults(handler=_cmd_log)
    return sub


def _cmd_log(args: argparse.Namespace, out: Output) -> int:

    subject = log_subject(args.subject) if args.subject else None
    shown = 0
    with Evidence(args.store, create=False, writable=False) as evidence:
        for record in evidence.log(subject, args.kind or ()):
            shown += 1
            out.item(Line.RECORD, {"seq": record.seq, "id": record.id, "kind": record.kind,
                      "time": record.time, "subject": record.subject,
                      "record_hash": record.record_hash, "summary": summary(record)},
                     f"#{record.seq:<5} {record.id}  {record.time}  {record.kind:<12} "
                     f"{_short(record.subject)}  {summary(record)}")
    if not shown:
        out.say("no records" + (f" about {subject}" if subject else ""))
    return EXIT_OK if shown else EXIT_NEGATIVE


REGISTER = [_register_log]
