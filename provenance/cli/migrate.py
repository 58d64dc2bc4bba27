"""``provenance migrate``: copy the store into another one (a folder into a team store, a
team store into a folder, or a folder into a folder), every record and object as it is."""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlsplit

from provenance.api import open_store
from provenance.cli.options import EXIT_OK
from provenance.cli.output import Line, Output
from provenance.errors import UsageError
from provenance.migrate import migrate, refuse_unrelated_folder
from provenance.store.backends import team_location, with_objects
from provenance.store.filestore import resolve_store_path


def _shown(location: str | None) -> str:
    """Where a store is, for the summary: a database URL without its password."""
    team = team_location(location) if location else None
    if team is None:
        return str(resolve_store_path(location))
    parts = urlsplit(team)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname or 'localhost'}{port}{parts.path}"


def cmd_migrate(args: argparse.Namespace, out: Output) -> int:
    source: str | None = args.store  # --store/--objects, or their environment
    if args.source:
        source = with_objects(args.source, args.from_objects or args.objects)
    elif args.from_objects:
        source = with_objects(None if args.store is None else str(args.store), args.from_objects)
    target = args.into
    to_team = team_location(target) is not None
    if to_team and not args.into_objects:
        raise UsageError("a team store as --into needs its objects too: give --into-objects "
                         "s3://BUCKET/PREFIX (or a shared folder)")
    if not to_team and args.into_objects:
        raise UsageError("--into-objects is for a team store: give --into postgresql://… too")
    if _same(source, target):
        raise UsageError("--into names the store being migrated: give another one")
    if not to_team:
        refuse_unrelated_folder(Path(target))
    src = open_store(source, create=False, write=False)
    try:
        report = migrate(src, lambda: open_store(with_objects(target, args.into_objects),
                                                 create=True, write=True), say=out.say)
    finally:
        src[1].close()
        src[0].close()
    summary = {"from": _shown(source), "to": _shown(target), **report.to_json()}
    head = report.head or {}
    out.item(Line.SUMMARY, summary,
             f"migrated: {report.records} records ({report.resumed_from} were there already), "
             f"{report.objects} objects to {summary['to']}; head record {head.get('seq', 0)} "
             f"{str(head.get('record_hash', ''))[:12]}; run 'provenance check' on it")
    return EXIT_OK


def _same(source: str | None, target: str) -> bool:
    if team_location(source) is not None or team_location(target) is not None:
        return team_location(source) == team_location(target)
    return resolve_store_path(source).resolve() == Path(target).resolve()
