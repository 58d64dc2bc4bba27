"""``provenance migrate``: copy a store into another (a folder into a team store, and back),
record for record and byte for byte.

Records are copied as they are stored (seq, time, body, ``prev_hash``, hash), never appended
anew, so every record hash, every time-stamp and every exported bundle stays valid on the
other side. Before anything is written the whole source chain is checked (hashes, links,
columns, head: :data:`provenance.check.check_chain`) and the destination's records must be
exactly the source's first records (a new, empty destination, or one a killed migration
left behind): anything else is refused. Then, a batch of records at a time, each object the
batch names is copied (hashed while it is read, refused if its hash is not the record's,
read back from the destination and hashed again), and only then are the batch's records
added, through the destination ledger's ``import_rows`` (which refuses a row that does not
extend its chain). A migration killed at any point leaves the destination a prefix of the
source with every object its records name, and the same command run again completes it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.check import check_chain, check_head_copies
from provenance.errors import ProvenanceError, StoreError, UsageError
from provenance.store.filestore import Store, is_store
from provenance.store.hashing import CHUNK_SIZE
from provenance.store.kinds import TIMESTAMP
from provenance.store.ledger import Ledger
from provenance.store.rows import CheckContext, Problem, Row, row_files
from provenance.store.spill import SpillMap

BATCH = 500
"""Records per destination transaction (and per progress line)."""
COPIERS = 4
"""Objects copied at once."""
_OBJECT_NAME = re.compile(r"objects/([0-9a-f]{2})/([0-9a-f]{64})([A-Za-z0-9._-]{0,32})")


class MigrationRefused(ProvenanceError):
    """The source is damaged, or the destination holds something else: nothing (more) was
    written (exit 1: a negative answer about the stores, as ``check``'s)."""


@dataclass
class MigrationReport:
    """What a migration did; ``resumed_from``: records the destination already held."""

    records: int = 0
    resumed_from: int = 0
    copied_records: int = 0
    objects: int = 0
    copied_objects: int = 0
    copied_bytes: int = 0
    head_copies: int = 0
    head: dict[str, Any] | None = None
    stamps: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"records": self.records, "resumed_from": self.resumed_from,
                "copied_records": self.copied_records, "objects": self.objects,
                "copied_objects": self.copied_objects, "copied_bytes": self.copied_bytes,
                "head_copies": self.head_copies, "head": self.head}


Say = Callable[[str], None]


Opener = Callable[[], tuple[Store, Ledger]]


def migrate(source: tuple[Store, Ledger], destination: Opener, *,
            say: Say = lambda _: None, batch: int = BATCH) -> MigrationReport:
    """Copy every record and object of ``source`` into the store ``destination()`` opens
    for writing (see the module); it is opened, so created, only once the source's chain
    has been checked."""
    src_store, src_ledger = source
    report = MigrationReport()
    say("checking the source ledger")
    _check_source(src_store, src_ledger, report)
    dst_store, dst_ledger = destination()
    try:
        return _migrate(src_store, src_ledger, dst_store, dst_ledger, report, say, batch)
    finally:
        dst_ledger.close()
        dst_store.close()


def _migrate(src_store: Store, src_ledger: Ledger, dst_store: Store, dst_ledger: Ledger,
             report: MigrationReport, say: Say, batch: int) -> MigrationReport:
    _prefix(src_store, src_ledger, dst_ledger, report)
    if report.resumed_from:
        say(f"the destination holds the first {report.resumed_from} of {report.records} "
            "records already: going on from there")
    for seq, digest in report.stamps:  # a kill may have come before these were copied
        _copy_head(dst_store, seq, digest, report)
    seen = SpillMap()
    with tempfile.TemporaryDirectory(prefix="provenance-migrate-") as scratch, \
            ThreadPoolExecutor(max_workers=COPIERS, thread_name_prefix="migrate") as pool:
        copier = _Copier(src_store, dst_store, Path(scratch), pool, seen, report)
        pending: list[Row] = []
        for row in _rows_after(src_store, src_ledger, report.resumed_from, report.records):
            pending.append(row)
            if len(pending) >= batch:
                copier.batch(pending, dst_ledger)
                say(f"copied {report.resumed_from + report.copied_records} of "
                    f"{report.records} records, {report.copied_objects} objects")
                pending = []
        if pending:
            copier.batch(pending, dst_ledger)
    seen.close()
    report.objects = len(seen)
    last = dst_ledger.last()
    report.head = None if last is None else {"seq": last.seq, "record_hash": last.record_hash}
    say(f"migrated {report.records} records ({report.copied_records} copied now), "
        f"{report.copied_objects} objects ({report.copied_bytes} bytes) copied")
    return report


def _check_source(store: Store, ledger: Ledger, report: MigrationReport) -> None:
    """Read-only: the source's chain is whole (hashes, links, columns, head, and the head
    copies a team store keeps in its bucket), by the check's own steps. Nothing is
    written, nor the destination opened, before this passes."""
    ctx = CheckContext(store, ledger)
    chain = check_chain.start(ctx)
    problems: list[Problem] = []
    for row in ctx.rows:
        report.records += 1
        problems.extend(chain.visit(row) or ())
    problems.extend(chain.finish() or ())
    # A team source's head copies are not carried over (a folder keeps none): a chain they
    # show rewritten would arrive looking whole, so it is refused here.
    problems.extend(check_head_copies(ctx))
    if problems:
        more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise MigrationRefused(f"the source is damaged ({problems[0]}{more}): nothing was "
                               "written; 'provenance check' says more")


def _prefix(store: Store, ledger: Ledger, held_by: Ledger, report: MigrationReport) -> None:
    """Read-only: the destination's rows are the source's first rows, byte for byte."""
    held = iter(held_by.raw_rows())
    ahead = next(held, None)
    for row in CheckContext(store, ledger).rows:
        if ahead is None or row.seq > report.records:
            break
        if tuple(ahead) != _columns(row):
            raise MigrationRefused(
                f"the destination is not empty and its record {ahead[0]} is not the "
                f"source's record {row.seq}: it holds another ledger; nothing was written")
        report.resumed_from = row.seq
        if row.kind == TIMESTAMP:
            report.stamps.append((row.seq, row.record_hash))
        ahead = next(held, None)
    if ahead is not None:
        raise MigrationRefused("the destination holds more records than the source: it "
                               "holds another ledger; nothing was written")


def _columns(row: Row) -> tuple[Any, ...]:
    return (row.seq, row.kind, row.subject, row.time, row.body, row.prev_hash, row.record_hash)


def _rows_after(store: Store, ledger: Ledger, first: int, last: int) -> Iterator[Row]:
    """Rows ``first+1 .. last`` (those checked before: a record appended to the source
    since is left for the next run)."""
    for row in CheckContext(store, ledger).rows:
        if row.seq > last:
            return
        if row.seq > first:
            yield row


@dataclass
class _Copier:
    """Copies a batch's objects (a few at once: an object store's answers take a while),
    then adds its records."""

    src: Store
    dst: Store
    scratch: Path
    pool: ThreadPoolExecutor
    seen: SpillMap
    report: MigrationReport

    def batch(self, rows: list[Row], ledger: Ledger) -> None:
        """Objects first, then the records that name them, then the heads to keep apart."""
        wanted: dict[str, tuple[int, str, str]] = {}
        for row in rows:
            for seq, entry in row_files(row):
                relative = str(entry.get("path"))
                if relative not in self.seen and relative not in wanted:
                    wanted[relative] = (seq, str(entry.get("sha256")), str(entry.get("role")))
        copied = self.pool.map(self._copy, wanted.items())
        for (relative, (_, expected, _)), size in zip(wanted.items(), copied, strict=True):
            self.seen[relative] = expected
            if size is not None:
                self.report.copied_objects += 1
                self.report.copied_bytes += size
        ledger.import_rows([_columns(row) for row in rows])
        self.report.copied_records += len(rows)
        for row in rows:
            if row.kind == TIMESTAMP:
                _copy_head(self.dst, row.seq, row.record_hash, self.report)

    def _copy(self, item: tuple[str, tuple[int, str, str]]) -> int | None:
        relative, (seq, expected, role) = item
        return _copy_object(self.src, self.dst, seq, relative, expected, role, self.scratch)


def _copy_head(store: Store, seq: int, digest: str, report: MigrationReport) -> None:
    """The head at each time-stamp record, kept apart as every append keeps it (a team
    store's bucket; a folder store keeps none)."""
    if type(store).copy_head is not Store.copy_head:
        store.copy_head(seq, digest)
        report.head_copies += 1


def _copy_object(src: Store, dst: Store, seq: int, relative: str, expected: str, role: str,
                 scratch: Path) -> int | None:
    """Copy one object, hashed while read; the bytes copied (None: it was there)."""
    name = _OBJECT_NAME.fullmatch(relative)
    if name is None or name[1] != name[2][:2] or name[2] != expected:
        raise MigrationRefused(f"record {seq} names the file {relative!r}, which is not the "
                               f"name of a stored object with sha256 {expected}")
    if _hash_at(dst, relative) == expected:
        return None  # copied by an earlier, interrupted run (and still whole)
    handle_no, name_of_spool = tempfile.mkstemp(dir=scratch)
    os.close(handle_no)
    spooled = Path(name_of_spool)
    hasher = hashlib.sha256()
    size = 0
    try:
        with src.open_object(relative) as handle, open(spooled, "wb") as out:
            for block in iter(lambda: handle.read(CHUNK_SIZE), b""):
                hasher.update(block)
                out.write(block)
                size += len(block)
    except (OSError, StoreError) as exc:
        _unlink(spooled)
        raise MigrationRefused(f"record {seq}: cannot read {relative} from the source "
                               f"({exc}); the records from {seq} on were not copied") from None
    if hasher.hexdigest() != expected:
        _unlink(spooled)
        raise MigrationRefused(f"record {seq}: {relative} was altered in the source (its "
                               f"sha256 is {hasher.hexdigest()}); the records from {seq} on "
                               "were not copied")
    try:
        stored = dst.put_file(spooled, role=role, suffix=name[3])
    finally:
        _unlink(spooled)
    found = _hash_at(dst, relative)
    if stored.path != relative or found != expected:
        raise StoreError(f"{relative} reads back from {dst.location} with sha256 {found}, "
                         f"not {expected}: the destination holds other bytes under its name; "
                         f"the records from {seq} on were not copied")
    return size


def _hash_at(store: Store, relative: str) -> str | None:
    try:
        return store.hash_object(relative)
    except (OSError, StoreError):  # missing (ObjectMissing) or unreadable: copied again
        return None


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def refuse_unrelated_folder(path: Path) -> None:
    """A destination folder that exists must be a store (or empty): migrate never fills a
    folder that holds something else."""
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not is_store(path))):
        raise UsageError(f"{path} exists and is not an evidence store: give a new folder "
                         "or an existing store as --into")

