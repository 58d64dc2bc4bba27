"""``provenance check``: re-derive everything in the store and report what differs.

Nothing recorded is trusted. For every ledger row the body is re-hashed, the chain link to
the row before is re-checked, the indexed columns are compared with the body, the body's
shape is checked once (:func:`shape_problem`), ``ledger.head`` must name the last record by
seq and hash, every file a record names is re-hashed (once per distinct file), every WARC's
own digests are re-checked, and further checkers (timestamps, proofs) registered in
``CHECKERS`` run last. The report says how far a verified time-stamp anchors the ledger
(:mod:`provenance.stamps.anchoring`): "intact" alone proves only that the store agrees with itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from archive.warc import verify_warc
from provenance.capture.witnessing import check_witnesses
from provenance.errors import StoreError
from provenance.stamps.anchoring import Anchoring, StampRow, anchoring
from provenance.stamps.stamping import (
    TIMESTAMP,
    TOKEN_ROLE,
    MalformedStamp,
    StampData,
    check_timestamps,
    trust_roots_from_env,
)
from provenance.store.filestore import DAMAGED, HEAD_FILE, LEDGER_FILE, Store
from provenance.store.hashing import is_sha256_hex, record_hash, sha256_file
from provenance.store.ledger import FORMAT_VERSION, GENESIS, Ledger
from provenance.store.rows import CheckContext, Problem, Row


@dataclass
class CheckReport:
    records: int
    files: int
    problems: list[Problem]
    anchoring: Anchoring = field(default_factory=lambda: Anchoring(0))

    @property
    def intact(self) -> bool:
        return not self.damage

    @property
    def damage(self) -> list[Problem]:
        return [p for p in self.problems if not p.unverified]

    @property
    def unverified(self) -> list[Problem]:
        return [p for p in self.problems if p.unverified]


Checker = Callable[[CheckContext], Iterator[Problem]]


def check_chain(ctx: CheckContext) -> Iterator[Problem]:
    """Every row's hash, its link to the row before, its numbering, its shape, and the head."""
    if ctx.ledger is None:
        yield Problem("the ledger is missing: every record of this store is lost",
                      path=LEDGER_FILE)
        if ctx.store.head_path.exists():
            yield from _check_head(ctx, None)
        return
    prev = GENESIS
    expected_seq = 1
    for row in ctx.rows:
        seq = row.seq
        found = record_hash(row.body.encode("utf-8"))
        if found != row.record_hash:
            yield Problem("record was altered: its hash does not match its content",
                          seq, expected=row.record_hash, found=found)
        if seq != expected_seq:
            yield Problem("records missing or out of order", seq,
                          expected=f"seq {expected_seq}", found=f"seq {seq}")
        if row.prev_hash != prev:
            yield Problem("chain broken: link to the previous record does not match",
                          seq, expected=prev, found=row.prev_hash)
        if row.malformed is not None:
            yield Problem(f"record is malformed: {row.malformed}", seq)
        if isinstance(row.document, dict):
            columns = {"v": FORMAT_VERSION, "seq": seq, "kind": row.kind,
                       "subject": row.subject, "time": row.time, "prev": row.prev_hash}
            for key, value in columns.items():
                stored = row.document.get(key)
                if stored != value or type(stored) is not type(value):
                    yield Problem(f"record field {key!r} differs from its body", seq,
                                  expected=_short(stored), found=_short(value))
        prev = row.record_hash
        expected_seq = seq + 1
    yield from _check_head(ctx, ctx.rows[-1] if ctx.rows else None)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 80 else text[:79] + "…"


def _check_head(ctx: CheckContext, last: Row | None) -> Iterator[Problem]:
    """``ledger.head`` names the last record by seq and hash: rows cut from the end, or the
    last records rewritten, show here unless whoever did it rewrote the head too. A missing
    head is a problem as soon as the ledger has records (deleting rows with the head)."""
    path = ctx.store.head_path
    if not path.exists():
        if last is not None:
            yield Problem("the ledger head is missing (it names the last record)", path=HEAD_FILE,
                          expected=f"seq {last.seq}", found="no file")
        return
    try:
        head = json.loads(path.read_bytes())
    except (OSError, ValueError):
        head = None
    seq = head.get("seq") if isinstance(head, dict) else None
    digest = head.get("record_hash") if isinstance(head, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or not is_sha256_hex(digest):
        yield Problem("the ledger head is unreadable", path=HEAD_FILE)
        return
    last_seq = last.seq if last is not None else 0
    if seq > last_seq:
        yield Problem("records were removed from the end of the ledger", path=HEAD_FILE,
                      expected=f"at least {seq} records", found=f"{last_seq}")
        return
    named = next((row for row in ctx.rows if row.seq == seq), None)
    if named is None or named.record_hash != digest:
        yield Problem(f"record {seq} is not the record the ledger head names: the end of the "
                      "ledger was rewritten", path=HEAD_FILE, expected=digest,
                      found=named.record_hash if named else None)
    # A head behind the last record (seq < last_seq) that names its record rightly is what a
    # run killed, or a disk that filled, between commit and head leaves: nothing is lost and
    # the next write brings it up to date. Records after it are only as good as the
    # anchoring says, which check prints in any case.


def check_files(ctx: CheckContext) -> Iterator[Problem]:
    """Every file a record names exists and still has the recorded hash."""
    seen: dict[str, str | None] = {}
    for seq, entry in ctx.named_files():
        relative = str(entry.get("path", ""))
        expected = str(entry.get("sha256", ""))
        if relative not in seen:
            try:
                seen[relative] = sha256_file(ctx.store.path(relative))
            except (OSError, StoreError):
                seen[relative] = None
        found = seen[relative]
        if found is None:
            yield Problem("file is missing", seq, relative)
        elif found != expected:
            yield Problem("file was altered", seq, relative, expected=expected, found=found)


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


def check_warcs(ctx: CheckContext) -> Iterator[Problem]:
    """Each WARC's own block and payload digests, as any WARC tool would check them."""
    checked: set[str] = set()
    for seq, entry in ctx.named_files():
        relative = str(entry.get("path", ""))
        if entry.get("role") != "warc" or relative in checked:
            continue
        checked.add(relative)
        try:
            path = ctx.store.path(relative)
            if not path.exists():
                continue  # already reported by check_files

            problems = verify_warc(str(path))
        except (OSError, StoreError) as exc:
            yield Problem(f"WARC unreadable: {exc}", seq, relative)
            continue
        for problem in problems:
            yield Problem(f"WARC digest check failed: {problem}", seq, relative)


def check_witness_records(ctx: CheckContext) -> Iterator[Problem]:
    """Witness records against the captures they name (:mod:`provenance.capture.witnessing`)."""

    yield from check_witnesses(ctx)


CHECKERS: list[Checker] = [check_chain, check_files, check_damaged, check_warcs,
                           check_timestamps, check_witness_records]


def check_store(store: Store, ledger: Ledger | None) -> CheckReport:
    """Run every checker; ``ledger`` is None when the store's ledger file is missing.

    A checker that fails on something it did not expect is reported as a problem (with the
    error, so a bug stays visible) rather than crashing ``check`` or passing it; the
    time-stamps then anchor nothing.
    """
    ctx = CheckContext(store, ledger)
    problems: list[Problem] = []
    failed: set[Checker] = set()
    for checker in CHECKERS:
        try:
            for problem in checker(ctx):
                problems.append(problem)
        except Exception as exc:  # noqa: BLE001 - a crafted record must never crash check
            failed.add(checker)
            problems.append(Problem(f"could not check ({checker.__name__} failed: "
                                    f"{type(exc).__name__}: {exc})"))
    files = len({entry.get("path") for _, entry in ctx.named_files()})
    return CheckReport(records=len(ctx.rows), files=files, problems=problems,
                       anchoring=_anchoring(ctx, problems, trusted=not failed))


def _anchoring(ctx: CheckContext, problems: list[Problem], *, trusted: bool) -> Anchoring:
    """Which records a verified time-stamp anchors (:mod:`provenance.stamps.anchoring`)."""
    if not trusted:
        return Anchoring(len(ctx.rows))
    with_problems = {p.seq for p in problems if p.seq is not None}
    broken = [p.seq for p in problems if p.seq is not None and p.what.startswith(_CHAIN_WORDS)]
    stamps = []
    for row in ctx.rows:
        if row.kind != TIMESTAMP or row.parsed is None:
            continue
        try:
            data = StampData.parse(row.parsed.get("data"))
        except MalformedStamp:
            continue  # reported by check_timestamps; a crafted stamp anchors nothing
        stamps.append(StampRow(row.seq, data.status, list(data.covers),
                               _token_path(list(data.files))))
    verified = {row.seq for row in ctx.rows
                if row.parsed is not None and row.seq not in with_problems}
    return anchoring(ctx.store, len(ctx.rows), stamps, verified=verified,
                     first_broken=min(broken, default=None),
                     trusted_root=bool(trust_roots_from_env()))


# Problems that mean the chain does not hold from that record on (so no anchor reaches it).
_CHAIN_WORDS = ("record was altered", "records missing", "chain broken", "record is malformed",
                "record field")


def _token_path(files: list[dict[str, Any]]) -> str | None:
    return next((str(f["path"]) for f in files if f.get("role") == TOKEN_ROLE), None)
