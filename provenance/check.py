"""``provenance check``: re-derive everything in the store and report what differs.

Nothing recorded is trusted. For every ledger row the body is re-hashed, the chain link to
the row before is re-checked, the indexed columns are compared with the body, the body must
be canonical JSON (one reading only) and its shape is checked once (:func:`shape_problem`),
``ledger.head`` must name the last record by
seq and hash, every file a record names is re-hashed (once per distinct file), every WARC's
own digests are re-checked, and further checkers (timestamps, proofs) registered in
``CHECKERS`` run last. The database's own index check runs beside the scan (SQLite's
``integrity_check``; PostgreSQL's ``amcheck`` on a team ledger): every index must agree with
its table, since other commands read through them. The report says how far a
verified time-stamp anchors the ledger (:mod:`provenance.stamps.anchoring`): "intact" alone
proves only that the store agrees with itself.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from archive.warc import verify_warc
from provenance.capture.witnessing import check_witnesses
from provenance.errors import StoreError
from provenance.stamps.anchoring import Anchoring, StampRow, anchoring
from provenance.stamps.covers import check_covers
from provenance.stamps.stamping import (
    TIMESTAMP,
    TOKEN_ROLE,
    MalformedStamp,
    StampData,
    check_timestamps,
    trust_roots_from_env,
)
from provenance.store.filestore import DAMAGED, HEAD_FILE, LEDGER_FILE, ObjectMissing, Store
from provenance.store.hashing import is_canonical, is_sha256_hex, record_hash, sha256_file
from provenance.store.ledger import FORMAT_VERSION, GENESIS, Ledger
from provenance.store.rows import CheckContext, Checker, Problem, Row, Visitor, row_files
from provenance.store.spill import SpillMap


@dataclass
class CheckReport:
    records: int
    files: int
    problems: list[Problem]
    anchoring: Anchoring = field(default_factory=lambda: Anchoring(0))
    cannot_prove: list[str] = field(default_factory=list)
    """What this check could not show, said in words (a team ledger: see :func:`limits`)."""

    @property
    def intact(self) -> bool:
        return not self.damage

    @property
    def damage(self) -> list[Problem]:
        return [p for p in self.problems if not p.unverified]

    @property
    def unverified(self) -> list[Problem]:
        return [p for p in self.problems if p.unverified]


class _Chain:
    """Every row's hash, its link to the row before, its numbering, its shape, and the head."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.prev = GENESIS
        self.expected_seq = 1
        self.last: Row | None = None

    def visit(self, row: Row) -> list[Problem]:
        seq = row.seq
        problems = []
        raw = row.body.encode("utf-8")
        found = record_hash(raw)
        if found != row.record_hash:
            problems.append(Problem("record was altered: its hash does not match its content",
                                    seq, expected=row.record_hash, found=found))
        if seq != self.expected_seq:
            problems.append(Problem("records missing or out of order", seq,
                                    expected=f"seq {self.expected_seq}", found=f"seq {seq}"))
        if row.prev_hash != self.prev:
            problems.append(Problem("chain broken: link to the previous record does not match",
                                    seq, expected=self.prev, found=row.prev_hash))
        if row.malformed is not None:
            problems.append(Problem(f"record is malformed: {row.malformed}", seq))
        elif not is_canonical(raw, row.document):
            problems.append(Problem("record is malformed: its body is not canonical JSON (a key "
                                    "twice, or out of order: the hashed bytes read two ways)",
                                    seq))
        document = row.document
        if isinstance(document, dict):
            get = document.get
            if ((get("kind"), get("subject"), get("time"), get("prev")) ==
                    (row.kind, row.subject, row.time, row.prev_hash)
                    and type(get("v")) is int and get("v") == FORMAT_VERSION
                    and type(get("seq")) is int and get("seq") == seq
                    and (row.subject is None or type(get("subject")) is str)):
                self.prev, self.expected_seq, self.last = row.record_hash, seq + 1, row
                return problems  # every column as in the body (the common case, quickly)
            columns = (("v", FORMAT_VERSION), ("seq", seq), ("kind", row.kind),
                       ("subject", row.subject), ("time", row.time), ("prev", row.prev_hash))
            for key, value in columns:
                stored = get(key)
                if stored != value or type(stored) is not type(value):
                    problems.append(Problem(f"record field {key!r} differs from its body", seq,
                                            expected=_short(stored), found=_short(value)))
        self.prev = row.record_hash
        self.expected_seq = seq + 1
        self.last = row
        return problems

    def finish(self) -> Iterator[Problem]:
        if self.ctx.ledger is None:
            if self.ctx.ledger_unreadable is not None:
                yield Problem(f"the ledger cannot be read ({self.ctx.ledger_unreadable}): no "
                              "record of this store can be checked", path=LEDGER_FILE)
                return  # the head has nothing to be compared with
            yield Problem("the ledger is missing: every record of this store is lost",
                          path=LEDGER_FILE)
            if self.ctx.store.head_path.exists():
                yield from _check_head(self.ctx, None)
            return
        yield from _check_head(self.ctx, self.last)


check_chain = Checker("check_chain", _Chain)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 80 else text[:79] + "…"


def _check_head(ctx: CheckContext, last: Row | None) -> Iterator[Problem]:
    """``ledger.head`` names the last record by seq and hash: rows cut from the end, or the
    last records rewritten, show here unless whoever did it rewrote the head too. A missing
    head is a problem as soon as the ledger has records (deleting rows with the head)."""
    name, stored = _stored_head(ctx)
    if stored is None:
        if last is not None:
            yield Problem("the ledger head is missing (it names the last record)", path=name,
                          expected=f"seq {last.seq}", found="no file")
        return
    try:
        head = json.loads(stored)
    except ValueError:
        head = None
    seq = head.get("seq") if isinstance(head, dict) else None
    digest = head.get("record_hash") if isinstance(head, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or not is_sha256_hex(digest):
        yield Problem("the ledger head is unreadable", path=name)
        return
    last_seq = last.seq if last is not None else 0
    if seq > last_seq:
        yield Problem("records were removed from the end of the ledger", path=name,
                      expected=f"at least {seq} records", found=f"{last_seq}")
        return
    named = last if last is not None and last.seq == seq else ctx.row(seq)
    if named is None or named.record_hash != digest:
        yield Problem(f"record {seq} is not the record the ledger head names: the end of the "
                      "ledger was rewritten", path=name, expected=digest,
                      found=named.record_hash if named else None)
    # A head behind the last record (seq < last_seq) that names its record rightly is what a
    # run killed, or a disk that filled, between commit and head leaves: nothing is lost and
    # the next write brings it up to date. Records after it are only as good as the
    # anchoring says, which check prints in any case.


def _stored_head(ctx: CheckContext) -> tuple[str, bytes | None]:
    """Where the head is kept and its bytes as stored (None: there is none; b"": unreadable):
    ``ledger.head`` beside a SQLite ledger, the head row of a team ledger."""
    if ctx.ledger is not None:
        return ctx.ledger.head_name, ctx.ledger.head_bytes()
    try:
        return HEAD_FILE, ctx.store.head_path.read_bytes()
    except FileNotFoundError:
        return HEAD_FILE, None
    except OSError:
        return HEAD_FILE, b""


def check_head_copies(ctx: CheckContext) -> Iterator[Problem]:
    """Each copy of the head kept apart from the ledger (a team store's bucket) still names a
    record the ledger holds, with that hash: rows removed or rewritten in the database, head
    row included, show here unless whoever did it could also write the bucket."""
    for copy in ctx.store.head_copies():
        if copy.seq is None or copy.record_hash is None:
            yield Problem("a copy of the ledger head is unreadable", path=copy.name)
            continue
        row = ctx.row(copy.seq)
        if row is None:
            yield Problem(f"records were removed: a copy of the ledger head names record "
                          f"{copy.seq}, which the ledger no longer holds", path=copy.name,
                          expected=copy.record_hash, found=None)
        elif row.record_hash != copy.record_hash:
            yield Problem(f"record {copy.seq} is not the record a copy of the ledger head "
                          "names: the ledger was rewritten", copy.seq, copy.name,
                          expected=copy.record_hash, found=row.record_hash)


class _HeadCopies:
    """:func:`check_head_copies` as a step: it reads the copies, and single rows by seq."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx

    def visit(self, row: Row) -> tuple[Problem, ...]:
        return ()

    def finish(self) -> Iterator[Problem]:
        yield from check_head_copies(self.ctx)


MAX_PENDING = 512
"""File checks waiting in the pool at most: beyond it the ledger scan waits for the oldest,
so a slow disk never makes ``check`` hold the whole ledger's work in memory."""


class _Ordered:
    """Results of work done in the pool (or inline), handed back in the order it was asked
    for, so the report reads the same however the pool schedules it."""

    def __init__(self, ctx: CheckContext) -> None:
        self.pool = ctx.pool
        self.waiting: deque[tuple[Any, Callable[[Any], list[Problem]]]] = deque()

    def add(self, work: Future[Any] | Any, report: Callable[[Any], list[Problem]]) -> None:
        self.waiting.append((work, report))

    def ready(self, *, block: bool = False) -> Iterator[Problem]:
        while self.waiting:
            work, report = self.waiting[0]
            if isinstance(work, Future):
                if not (block or len(self.waiting) > MAX_PENDING or work.done()):
                    return
                work = work.result()
            self.waiting.popleft()
            yield from report(work)

    def submit(self, job: Callable[..., Any], *args: Any) -> Future[Any] | Any:
        return self.pool.submit(job, *args) if self.pool is not None else job(*args)


_UNREADABLE = "unreadable: "
"""What :func:`_hash_file` returns before the reason a file that is there cannot be hashed
(a hash is hex, so the two never mix)."""


def _hash_file(store: Store, relative: str) -> str | None:
    """The file's SHA-256; None if it is missing; :data:`_UNREADABLE` and why otherwise
    (a symbolic link out of the store, a folder, no permission): never "missing" for a
    file that is there."""
    try:
        return store.hash_object(relative)
    except (FileNotFoundError, ObjectMissing):
        return None
    except (OSError, StoreError) as exc:
        return _UNREADABLE + (str(exc) if isinstance(exc, StoreError)
                              else exc.strerror or type(exc).__name__)


class _Files(_Ordered):
    """Every file a record names exists and still has the recorded hash (each distinct file
    hashed once, in the pool)."""

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.store = ctx.store
        self.seen = SpillMap()  # path -> its hash (None: missing), bounded in memory
        self.running: dict[str, Future[Any] | Any] = {}

    def visit(self, row: Row) -> Iterator[Problem] | list[Problem]:
        problems: list[Problem] = []
        for seq, entry in row_files(row):
            relative = str(entry.get("path", ""))
            expected = str(entry.get("sha256", ""))
            work = self.running.get(relative, _UNSEEN)
            if work is _UNSEEN:
                work = self.seen.get(relative, _UNSEEN)
                if work is not _UNSEEN and not self.waiting:  # known, nothing before it
                    if work != expected:
                        problems.extend(self._report(seq, relative, expected)(work))
                    continue
            if work is _UNSEEN:
                work = self.running[relative] = self.submit(_hash_file, self.store, relative)
            self.add(work, self._report(seq, relative, expected))
        if self.waiting:
            problems.extend(self.ready())
        return problems

    def _report(self, seq: int, relative: str,
                expected: str) -> Callable[[Any], list[Problem]]:
        def report(found: str | None) -> list[Problem]:
            if relative in self.running:
                del self.running[relative]
                self.seen[relative] = found
            if found is None:
                return [Problem("file is missing", seq, relative)]
            if found.startswith(_UNREADABLE):
                return [Problem(f"file cannot be read as stored evidence "
                                f"({found[len(_UNREADABLE):]})", seq, relative)]
            if found != expected:
                return [Problem("file was altered", seq, relative, expected=expected,
                                found=found)]
            return []
        return report

    def finish(self) -> Iterator[Problem]:
        yield from self.ready(block=True)

    @property
    def distinct(self) -> int:
        return len(self.seen) + len(self.running)


_UNSEEN = object()
check_files = Checker("check_files", _Files)


def check_damaged(ctx: CheckContext) -> Iterator[Problem]:
    """Altered copies the store moved aside when it put the right bytes back.

    The object is whole again, but someone or something changed it: that stays a problem
    until a person has looked and removed the copy from ``damaged/``.
    """
    folder = ctx.store.root / DAMAGED
    if not folder.is_dir():
        return
    for aside in sorted(folder.iterdir()):
        original = aside.name.split(".", 1)[0]
        try:
            found = sha256_file(aside) if aside.is_file() else None
        except OSError:
            found = None
        yield Problem(f"the object {original[:2]}/{original}… was found altered and restored "
                      "from identical bytes; the altered copy is kept here",
                      path=f"{DAMAGED}/{aside.name}", expected=original, found=found)


class _Damaged:
    """:func:`check_damaged` as a step: it reads the store, not the rows."""

    reads_rows = False

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx

    def visit(self, row: Row) -> tuple[Problem, ...]:
        return ()

    def finish(self) -> Iterator[Problem]:
        yield from check_damaged(self.ctx)




def _integrity(ledger: Ledger) -> list[Problem]:
    try:
        found = ledger.integrity_problems()
    except (sqlite3.DatabaseError, OSError) as exc:
        found = [f"unreadable ({exc})"]
    return [Problem(f"the ledger file does not agree with itself ({line}): queries that read "
                    "through its indexes may see other records than check verified",
                    path=LEDGER_FILE) for line in found]


class _Integrity(_Ordered):
    """The database's own check of every index against its table (SQLite's
    ``integrity_check``, PostgreSQL's ``amcheck``), run in the pool beside the row scan."""

    reads_rows = False

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        if isinstance(ctx.ledger, Ledger):
            self.add(self.submit(_integrity, ctx.ledger), _same)

    def visit(self, row: Row) -> tuple[Problem, ...]:
        return ()

    def finish(self) -> Iterator[Problem]:
        yield from self.ready(block=True)


def _verify_warc(store: Store, seq: int, relative: str) -> list[Problem]:
    try:
        handle = store.open_object(relative)
    except (OSError, StoreError):
        return []  # missing or not stored evidence: check_files says which, once
    try:
        with handle:
            problems = verify_warc(handle)
    except (OSError, StoreError) as exc:
        return [Problem(f"WARC unreadable: {exc}", seq, relative)]
    return [Problem(f"WARC digest check failed: {problem}", seq, relative)
            for problem in problems]


class _Warcs(_Ordered):
    """Each WARC's own block and payload digests, as any WARC tool would check them."""

    def __init__(self, ctx: CheckContext) -> None:
        super().__init__(ctx)
        self.store = ctx.store
        self.checked = SpillMap()

    def visit(self, row: Row) -> list[Problem]:
        for seq, entry in row_files(row):
            relative = str(entry.get("path", ""))
            if entry.get("role") not in ("warc", "browser-warc") or relative in self.checked:
                continue
            self.checked[relative] = None
            self.add(self.submit(_verify_warc, self.store, seq, relative), _same)
        return list(self.ready()) if self.waiting else []

    def finish(self) -> Iterator[Problem]:
        yield from self.ready(block=True)


def _same(problems: list[Problem]) -> list[Problem]:
    return problems


check_warcs = Checker("check_warcs", _Warcs)


def _witnesses(ctx: CheckContext) -> Visitor:
    return check_witnesses.start(ctx)


check_witness_records = Checker("check_witness_records", _witnesses)
"""Witness records against the captures they name (:mod:`provenance.capture.witnessing`)."""


Step = Checker | Callable[[CheckContext], Iterable[Problem]]
"""A :class:`Checker` (fed each row as the ledger is read once), or a plain function of the
context that runs after that pass and reads what it needs itself."""

CHECKERS: list[Step] = [check_chain, Checker("check_ledger_file", _Integrity), check_files,
                        Checker("check_damaged", _Damaged), check_warcs, check_timestamps,
                        check_covers, check_witness_records,
                        Checker("check_head_copies", _HeadCopies)]


Progress = Callable[[Iterable[Row], int], Iterable[Row]]


def check_store(store: Store, ledger: Ledger | None, *,
                progress: Progress | None = None, workers: int | None = None,
                ledger_unreadable: str | None = None) -> CheckReport:
    """Run every checker; ``ledger`` is None when the store's ledger file is missing, or
    (``ledger_unreadable`` says why) when it is there but cannot be opened.

    The ledger is read once, row by row, and each row handed to every step: memory stays
    flat however long the ledger is. Files are hashed and WARCs checked in a pool of
    ``workers`` threads (default: one per core) while the chain is checked in order.
    ``progress(rows, total)`` may wrap the row stream to show how far it is.

    A checker that fails on something it did not expect is reported as a problem (with the
    error, so a bug stays visible) rather than crashing ``check`` or passing it; the
    time-stamps then anchor nothing.
    """
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2,
                            thread_name_prefix="check") as pool:
        ctx = CheckContext(store, ledger, pool)
        ctx.ledger_unreadable = ledger_unreadable
        try:
            return _run(ctx, progress)
        finally:
            pool.shutdown(cancel_futures=True)


def _run(ctx: CheckContext, progress: Progress | None) -> CheckReport:
    found: dict[Step, list[Problem]] = {checker: [] for checker in CHECKERS}
    failed: set[Step] = set()

    def guard(checker: Step, work: Callable[[], Iterable[Problem]]) -> None:
        try:
            found[checker].extend(work())
        except Exception as exc:  # noqa: BLE001 - a crafted record must never crash check
            failed.add(checker)
            found[checker].append(Problem(f"could not check ({checker.__name__} failed: "
                                          f"{type(exc).__name__}: {exc})"))

    visitors: dict[Step, Visitor] = {}
    for checker in CHECKERS:
        guard(checker, partial(_start, checker, ctx, visitors))
    anchor = _Anchors()
    rows: Iterable[Row] = ctx.rows
    if progress is not None and ctx.ledger is not None:
        rows = progress(rows, ctx.ledger.count())
    records = 0
    active = [(c, v) for c, v in visitors.items() if getattr(v, "reads_rows", True)]
    for row in rows:
        records += 1
        anchor.visit(row)
        for checker, visitor in active:
            try:
                said = visitor.visit(row)
                if said:  # a generator is true too: it is read here
                    found[checker].extend(said)
            except Exception as exc:  # noqa: BLE001 - as in guard(), once per step
                failed.add(checker)
                found[checker].append(Problem(f"could not check ({checker.__name__} failed: "
                                              f"{type(exc).__name__}: {exc})"))
                active = [(c, v) for c, v in active if c not in failed]
    for checker, visitor in visitors.items():
        if checker not in failed:
            guard(checker, visitor.finish)
    for checker in CHECKERS:  # a plain function reads the ledger again on its own
        if not isinstance(checker, Checker) and checker not in failed:
            guard(checker, partial(checker, ctx))
    problems = [p for checker in CHECKERS for p in found[checker]]
    files_step = visitors.get(check_files)
    files = files_step.distinct if isinstance(files_step, _Files) else 0
    anchored = anchor.result(ctx, records, problems, trusted=not failed)
    return CheckReport(records=records, files=files, problems=problems, anchoring=anchored,
                       cannot_prove=limits(ctx, records, anchored, problems))


def limits(ctx: CheckContext, records: int, anchored: Anchoring,
           problems: list[Problem]) -> list[str]:
    """What a ledger that others can rewrite wholesale leaves unproven (a team ledger: a
    database superuser). A chain rewritten from some record on, head row and all, agrees
    with itself; only a verified time-stamp, or a head copy in the bucket that still
    matches (as safe as the bucket's keys), shows that records up to it were not."""
    who = getattr(ctx.ledger, "rewritable_by", None)
    if ctx.ledger is None or not who:
        return []
    said = [f"{who}; only time-stamps and the heads copied to the bucket can show that"]
    unchecked = getattr(ctx.ledger, "unchecked_indexes", None)
    if unchecked:  # a team ledger whose indexes amcheck could not read
        said.append(f"the ledger's indexes were not checked against its table: {unchecked}; "
                    "queries that read through them (log, history, export) may see other "
                    "records than check verified")
    wrong = {p.path for p in problems if p.path}
    try:
        copied = max((c.seq for c in ctx.store.head_copies() if c.seq is not None
                      and c.name not in wrong and c.seq <= records), default=0)
    except StoreError:
        copied = 0
    stamped = anchored.anchored_through
    if copied > stamped:
        said.append(f"{_span(stamped + 1, copied)} rest on the head copied to the bucket "
                    "alone (no verified time-stamp): as safe as the bucket's keys")
    proven = max(stamped, copied)
    if proven < records:
        were = "it was" if proven + 1 == records else "they were"
        said.append(f"{_span(proven + 1, records)} not yet anchored (no verified time-stamp, "
                    f"no head copy in the bucket): check cannot prove {were} not rewritten")
    return said


def _span(first: int, last: int) -> str:
    return f"record {first}" if first == last else f"records {first}-{last}"


def _start(checker: Step, ctx: CheckContext,
           visitors: dict[Step, Visitor]) -> tuple[Problem, ...]:
    if isinstance(checker, Checker):
        visitors[checker] = checker.start(ctx)
    return ()


class _Anchors:
    """What anchoring needs, gathered in the same pass: the well-formed stamp records."""

    def __init__(self) -> None:
        self.stamps: list[StampRow] = []

    def visit(self, row: Row) -> None:
        if row.kind != TIMESTAMP or row.parsed is None:
            return
        try:
            data = StampData.parse(row.parsed.get("data"))
        except MalformedStamp:
            return  # reported by check_timestamps; a crafted stamp anchors nothing
        self.stamps.append(StampRow(row.seq, data.status, max(data.covers, default=None),
                                    _token_path(list(data.files))))

    def result(self, ctx: CheckContext, records: int, problems: list[Problem], *,
               trusted: bool) -> Anchoring:
        """Which records a verified time-stamp anchors (:mod:`provenance.stamps.anchoring`)."""
        if not trusted:
            return Anchoring(records)
        with_problems = {p.seq for p in problems if p.seq is not None}
        broken = [p.seq for p in problems
                  if p.seq is not None and p.what.startswith(_CHAIN_WORDS)]
        verified = {s.seq for s in self.stamps if s.seq not in with_problems}
        return anchoring(ctx.store, records, self.stamps, verified=verified,
                         first_broken=min(broken, default=None),
                         trusted_root=bool(trust_roots_from_env()))


# Problems that mean the chain does not hold from that record on (so no anchor reaches it).
_CHAIN_WORDS = ("record was altered", "records missing", "chain broken", "record is malformed",
                "record field")


def _token_path(files: list[dict[str, Any]]) -> str | None:
    return next((str(f["path"]) for f in files if f.get("role") == TOKEN_ROLE), None)
