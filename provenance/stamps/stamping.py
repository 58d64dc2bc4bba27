"""Time-stamping ledger records: one record at once, or a batch under one Merkle root.

One record is stamped directly: the TSA signs a digest of ``"provenance:record:v1\\n" +
body``, whose SHA-256 *is* the record hash. A batch is stamped through an RFC 6962 Merkle
tree over the record hashes: the TSA signs a digest of the root's pre-image (whose SHA-256
is the root), so 1,000 captures cost one request per TSA, and each record keeps its
inclusion proof in a ``merkle-proofs`` JSON file in the store.

Every attempt is a ``timestamp`` record in the ledger, naming the records it covers::

    {"covers": [seq...], "leaves": [record hash...], "method": "record" | "merkle",
     "merkle_root": hex | null, "tree_size": n, "tsa": url,
     "status": "granted" | "untrusted" | "pending", "trust": Trust value,
     "algorithm": "sha256", "imprint": hex,
     "gen_time", "serial", "tsa_name", "verifier", "error", "resolves": seq | null,
     "files": [token (.tsr, the TSA's reply as received), TSA certificates (.pem),
               merkle proofs (.json)]}

A TSA that fails leaves a ``pending`` record (with its one-line error); a later
:func:`retry_pending_stamps` appends a record that ``resolves`` it. With trusted roots set
(``PROVENANCE_TSA_CA``), a reply that verifies but whose chain ends in none of them is kept
as ``untrusted`` (the token is still evidence of integrity; retrying would not change who
signed it). Records are never updated. Every reader parses a record through
:meth:`StampData.parse` first, so a crafted record is a reported problem, not a crash.
:func:`check_timestamps` is the ``check`` step for all of this.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from provenance.errors import StoreError, TimestampError, UsageError
from provenance.stamps.timestamp import (
    DEFAULT_TIMEOUT,
    SHA256,
    TokenVerification,
    Trust,
    certificates_pem,
    load_certificates,
    request_timestamp,
    verify_token,
)
from provenance.store.filestore import Store
from provenance.store.hashing import RECORD_PREFIX, canonical_json
from provenance.store.kinds import STAMPED_KINDS, TIMESTAMP
from provenance.store.ledger import Ledger, Record
from provenance.store.merkle import MerkleTree, verify_inclusion
from provenance.store.records import StampStatus, TimestampPayload
from provenance.store.rows import CheckContext, Checker, Problem, Row

GRANTED, PENDING, UNTRUSTED = (StampStatus.GRANTED.value, StampStatus.PENDING.value,
                               StampStatus.UNTRUSTED.value)
STATUSES = (GRANTED, PENDING, UNTRUSTED)
TOKEN_ROLE, CERTS_ROLE, PROOFS_ROLE = "timestamp-token", "tsa-certificates", "merkle-proofs"
TSA_CA_ENV = "PROVENANCE_TSA_CA"
NOT_TRUSTED_WORDS = f"not trusted: no valid chain to a root from {TSA_CA_ENV}"


def _not_trusted(reason: str | None) -> str:
    """:data:`NOT_TRUSTED_WORDS` and why the chain failed, as the verifier said it (no root
    of ours at its end, or an expired or missing link): a reader must not be told "not
    your root" when the root was theirs and an intermediate had expired."""
    why = (reason or "").partition(" (")[2]
    return f"{NOT_TRUSTED_WORDS} ({why}" if why.endswith(")") else NOT_TRUSTED_WORDS


_HASH = re.compile(r"[0-9a-f]{64}")


class MalformedStamp(ValueError):
    """A timestamp record whose fields do not have the shape this module writes."""


@dataclass(frozen=True)
class StampData:
    """A ``timestamp`` record's payload, with every field's type checked.

    A record can be hash-consistent and still crafted (a list where an object belongs, a
    string ``seq``, leaves that are not hex): :meth:`parse` refuses it with one line.
    """

    covers: tuple[int, ...]
    leaves: tuple[str, ...]
    status: str
    tsa: str
    merkle_root: str | None
    gen_time: str | None
    files: tuple[dict[str, Any], ...]
    resolves: int | None
    algorithm: str

    @classmethod
    def parse(cls, data: Any) -> StampData:
        if not isinstance(data, dict):
            raise MalformedStamp("timestamp record: its data is not an object")
        covers, leaves = data.get("covers"), data.get("leaves")
        if not isinstance(covers, list) or not covers or not all(_is_int(c) for c in covers):
            raise MalformedStamp("timestamp record: 'covers' is not a list of record numbers")
        if not isinstance(leaves, list) or not all(
                isinstance(h, str) and _HASH.fullmatch(h) for h in leaves):
            raise MalformedStamp("timestamp record: 'leaves' is not a list of SHA-256 hashes")
        if len(covers) != len(leaves):
            raise MalformedStamp("timestamp record: covered records and leaf hashes differ")
        status, tsa = data.get("status"), data.get("tsa")
        if status not in STATUSES or not isinstance(tsa, str):
            raise MalformedStamp("timestamp record: 'status' or 'tsa' is not valid")
        root = data.get("merkle_root")
        if root is not None and not (isinstance(root, str) and _HASH.fullmatch(root)):
            raise MalformedStamp("timestamp record: 'merkle_root' is not a SHA-256 hash")
        gen_time, files = data.get("gen_time"), data.get("files", [])
        if gen_time is not None and not isinstance(gen_time, str):
            raise MalformedStamp("timestamp record: 'gen_time' is not a time")
        if not isinstance(files, list) or not all(
                isinstance(f, dict) and isinstance(f.get("path"), str)
                and isinstance(f.get("role"), str) for f in files):
            raise MalformedStamp("timestamp record: 'files' is not a list of file entries")
        resolves, algorithm = data.get("resolves"), data.get("algorithm") or SHA256
        if (resolves is not None and not _is_int(resolves)) or not isinstance(algorithm, str):
            raise MalformedStamp("timestamp record: 'resolves' or 'algorithm' is not valid")
        return cls(tuple(covers), tuple(leaves), status, tsa, root, gen_time, tuple(files),
                   resolves, algorithm)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def stamp_records(ledger: Ledger) -> Iterator[tuple[Record, StampData]]:
    """Every well-formed timestamp record (``check`` reports the others)."""
    return _parsed(ledger.records(kind=TIMESTAMP))


def _parsed(records: Iterable[Record]) -> Iterator[tuple[Record, StampData]]:
    """The well-formed timestamp records of ``records``, each with its parsed data."""
    for record in records:
        try:
            yield record, StampData.parse(record.data)
        except MalformedStamp:
            continue


def stamped_message(leaves: Sequence[str], bodies: Sequence[str] | None = None) -> bytes:
    """The bytes whose digest the TSA signs: a record's hashed bytes, or the Merkle root's
    pre-image. ``bodies`` (the records' canonical bodies) are needed for one record."""
    if len(leaves) == 1:
        if not bodies:
            raise ValueError("one record is stamped over its body")
        return RECORD_PREFIX + bodies[0].encode("utf-8")
    return MerkleTree([bytes.fromhex(h) for h in leaves]).root_preimage()


def stamp(
    ledger: Ledger,
    store: Store,
    records: Sequence[Record],
    tsas: Sequence[str],
    session: Any = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    algorithm: str = SHA256,
    roots: Sequence[bytes] = (),
    resolves: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Stamp ``records`` with each TSA: one request per TSA, whatever the batch size.

    Returns one ``{tsa, status, token, error, seq}`` per TSA (``token``: store path of the
    reply). A TSA that fails gives a ``pending`` record, never an exception.
    """
    if not records or not tsas:
        return []
    leaves = [r.record_hash for r in records]
    message = stamped_message(leaves, [r.body for r in records])
    tree = MerkleTree([bytes.fromhex(h) for h in leaves]) if len(records) > 1 else None
    proofs_file = None
    if tree is not None:
        proofs = {"tree_size": len(leaves), "merkle_root": tree.root.hex(), "leaves": leaves,
                  "proofs": [[p.hex() for p in tree.inclusion_proof(i)]
                             for i in range(len(leaves))]}
        proofs_file = store.put_bytes(canonical_json(proofs), role=PROOFS_ROLE, suffix=".json")
    base: dict[str, Any] = {
        "covers": [r.seq for r in records],
        "leaves": leaves,
        "method": "merkle" if tree is not None else "record",
        "merkle_root": tree.root.hex() if tree is not None else None,
        "tree_size": len(leaves),
        "algorithm": algorithm,
    }
    items: list[TimestampPayload] = []
    for url in tsas:
        base.update(tsa=url, resolves=(resolves or {}).get(url))
        try:
            # Integrity first (the TSA's own chain); then who vouches for it, against roots.
            result = request_timestamp(url, message, algorithm=algorithm, session=session,
                                       timeout=timeout)
        except TimestampError as exc:
            items.append(TimestampPayload.pending(base, str(exc)))
            continue
        token = store.put_bytes(result.reply, role=TOKEN_ROLE, suffix=".tsr")
        files = [token.to_json()]
        if result.certificates:
            certs = store.put_bytes(certificates_pem(result.certificates), role=CERTS_ROLE,
                                    suffix=".pem")
            files.append(certs.to_json())
        if proofs_file is not None:
            files.append(proofs_file.to_json())
        v = _trust(result.reply, message, result.nonce, roots, result.verification)
        trusted = v.passed is True
        error = (None if trusted else _not_trusted(v.reason) if v.trust is Trust.NOT_TRUSTED
                 else v.reason)
        items.append(TimestampPayload(
            **base, status=StampStatus.GRANTED if trusted else StampStatus.UNTRUSTED,
            error=error, trust=v.trust.value, imprint=v.imprint, gen_time=v.gen_time,
            serial=v.serial, tsa_name=v.tsa_name, verifier=v.how, files=files))
    written = ledger.append_many([(TIMESTAMP, p.to_json(), None) for p in items])
    return [_summary(rec) for rec in written]


def _trust(reply: bytes, message: bytes, nonce: int | None, roots: Sequence[bytes],
           verification: TokenVerification) -> TokenVerification:
    """The verification that decides the record's status: against the trusted roots if
    any are set (passed only if the chain ends in one), else the TSA's own chain."""
    if not roots:
        return verification
    return verify_token(reply, message=message, nonce=nonce, roots=roots)


def _summary(record: Record) -> dict[str, Any]:
    data = record.data if isinstance(record.data, dict) else {}
    token = next((f.get("path") for f in record.files
                  if isinstance(f, dict) and f.get("role") == TOKEN_ROLE), None)
    return {"tsa": data.get("tsa"), "status": data.get("status"), "token": token,
            "error": data.get("error"), "seq": record.seq, "gen_time": data.get("gen_time"),
            "trust": data.get("trust")}


def open_pending(ledger: Ledger) -> list[Record]:
    """``pending`` timestamp records that no later record resolves. Only the pending stamps
    and those that resolve one are read (by index), never every time-stamp record: the
    others change nothing here."""
    pending: dict[int, Record] = {}
    for record, parsed in _parsed(ledger.stamp_events()):
        if parsed.resolves is not None:
            pending.pop(parsed.resolves, None)
        if parsed.status == PENDING:
            pending[record.seq] = record
    return list(pending.values())


def retry_pending_stamps(
    ledger: Ledger, store: Store, session: Any = None, *, tsas: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT, roots: Sequence[bytes] = (),
) -> list[dict[str, Any]]:
    """Ask again for every pending stamp (from its own TSA, or only those in ``tsas``)."""
    results: list[dict[str, Any]] = []
    for record in open_pending(ledger):
        parsed = StampData.parse(record.data)
        if tsas is not None and parsed.tsa not in tsas:
            continue
        covered = [ledger.get(seq) for seq in parsed.covers]
        if any(c is None for c in covered):
            continue
        results += stamp(ledger, store, [c for c in covered if c is not None], [parsed.tsa],
                         session, timeout=timeout, algorithm=parsed.algorithm, roots=roots,
                         resolves={parsed.tsa: record.seq})
    return results


BATCH = 1000  # records per Merkle root: one TSA request each


def unstamped(ledger: Ledger, kinds: Sequence[str] = STAMPED_KINDS) -> list[Record]:
    """Records of ``kinds`` that no time-stamp record covers, granted or pending (made
    with ``--tsa none``, or before any TSA was set). In SQL, by the kind index: only the
    uncovered records reach Python, however long the ledger."""
    return list(ledger.uncovered(kinds))


def stamp_unstamped(
    ledger: Ledger, store: Store, tsas: Sequence[str], session: Any = None, *,
    timeout: float = DEFAULT_TIMEOUT, roots: Sequence[bytes] = (), batch: int = BATCH,
) -> list[dict[str, Any]]:
    """Stamp every :func:`unstamped` record with each TSA, ``batch`` records per request."""
    if not tsas:
        return []
    records = unstamped(ledger)
    results: list[dict[str, Any]] = []
    for start in range(0, len(records), batch):
        results += stamp(ledger, store, records[start:start + batch], tsas, session,
                         timeout=timeout, roots=roots)
    return results


def stamp_missing(
    ledger: Ledger, store: Store, records: Sequence[Record], tsas: Sequence[str],
    session: Any = None, *, timeout: float = DEFAULT_TIMEOUT, roots: Sequence[bytes] = (),
    batch: int = BATCH,
) -> list[BatchStamps]:
    """Resume: stamp each of ``records`` that no stamp from a TSA in ``tsas`` covers yet
    (granted, untrusted or pending), ``batch`` records per request.

    A run killed after its captures were recorded but before their batch was stamped
    leaves them so; the rerun of the same command finds them here.
    """
    done: list[BatchStamps] = []
    for url, missing in missing_stamps(ledger, records, tsas).items():
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            results = stamp(ledger, store, chunk, [url], session, timeout=timeout, roots=roots)
            done.append(BatchStamps(tuple(r.seq for r in chunk), results))
    return done


def missing_stamps(ledger: Ledger, records: Sequence[Record], tsas: Sequence[str]
                   ) -> dict[str, list[Record]]:
    """For each TSA of ``tsas``, those of ``records`` that no well-formed stamp from it
    covers (granted, untrusted or pending). Only the stamps covering one of ``records`` are
    read (by the ``covers`` table), each parsed from its own body."""
    covered: dict[str, set[int]] = {url: set() for url in tsas}
    for _, parsed in _parsed(ledger.stamps_covering_any(r.seq for r in records)):
        if parsed.tsa in covered:
            covered[parsed.tsa].update(parsed.covers)
    return {url: [r for r in records if r.seq not in covered[url]] for url in tsas}


@dataclass(frozen=True)
class BatchStamps:
    """The stamps (one per TSA, see :func:`stamp`) over one batch of records."""

    covers: tuple[int, ...]
    results: list[dict[str, Any]]

    def lines(self) -> list[dict[str, Any]]:
        """What ``archive --json`` prints for it: one ``{"kind": "timestamp"}`` per TSA."""
        return [{"kind": TIMESTAMP, **r, "covers": list(self.covers)} for r in self.results]

    @property
    def unstamped(self) -> int:
        """How many records this batch left without a granted stamp (counted per TSA)."""
        refused: int = sum(r["status"] != GRANTED for r in self.results)
        return len(self.covers) * refused


STAMP_WAIT = 30.0  # seconds a capture waits for its batch's shared time-stamp, at most


class StampQueue:
    """Records waiting to share one time-stamp request per TSA.

    :meth:`add` stamps the batch once ``batch`` records wait or the oldest has waited
    ``wait`` seconds; :meth:`flush` stamps what is left. Records are printed by the caller
    as soon as they are recorded, never held back for their stamp.
    """

    def __init__(self, ledger: Ledger, store: Store, tsas: Sequence[str], *,
                 timeout: float = DEFAULT_TIMEOUT, roots: Sequence[bytes] = (),
                 batch: int = BATCH, wait: float = STAMP_WAIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger, self.store, self.tsas = ledger, store, list(tsas)
        self.timeout, self.roots, self.batch, self.wait = timeout, list(roots), batch, wait
        self.clock = clock
        self.waiting: list[Record] = []
        self.since = 0.0

    def add(self, record: Record) -> BatchStamps | None:
        if not self.tsas:
            return None
        if not self.waiting:
            self.since = self.clock()
        self.waiting.append(record)
        if len(self.waiting) >= self.batch or self.clock() - self.since >= self.wait:
            return self.flush()
        return None

    def flush(self) -> BatchStamps | None:
        if not self.waiting or not self.tsas:
            return None
        records, self.waiting = self.waiting, []
        results = stamp(self.ledger, self.store, records, self.tsas, timeout=self.timeout,
                        roots=self.roots)
        return BatchStamps(tuple(r.seq for r in records), results)


def trust_roots_from_env(environ: dict[str, str] | None = None) -> list[bytes]:
    """Trusted TSA roots from ``$PROVENANCE_TSA_CA`` (a PEM file), if set.

    A file that holds no readable certificate is a usage error: silently trusting nothing
    (or everything) because of a typo is what a user must never get.
    """

    path = (environ if environ is not None else os.environ).get(TSA_CA_ENV)
    if not path:
        return []
    try:
        with open(path, "rb") as handle:
            roots = load_certificates(handle.read())
        for der in roots:
            x509.load_der_x509_certificate(der)
    except OSError as exc:
        raise UsageError(f"cannot read {TSA_CA_ENV} {path}: {exc.strerror}") from None
    except (TimestampError, ValueError):
        raise UsageError(f"{TSA_CA_ENV} {path} is not a PEM file of certificates") from None
    if not roots:
        raise UsageError(f"{TSA_CA_ENV} {path} holds no certificate")
    return roots


# --- check --------------------------------------------------------------------------------

class _Stamps:
    """``check`` step: every kept token's signature, that it covers the recorded hash or
    Merkle root, that the root is the tree of the covered records, every proof, and, with
    ``PROVENANCE_TSA_CA`` set, that each token's chain ends in one of those roots. The
    covered records are looked up by seq, never held."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.roots = trust_roots_from_env()

    def visit(self, row: Row) -> Iterator[Problem] | tuple[()]:
        if row.kind != TIMESTAMP or row.parsed is None:
            return ()
        return self._visit(row)

    def _visit(self, row: Row) -> Iterator[Problem]:
        try:
            data = StampData.parse((row.parsed or {}).get("data"))
        except MalformedStamp as exc:
            yield Problem(str(exc), row.seq)
            return
        if data.status == PENDING:
            return
        by_seq = self.ctx.rows_at(data.covers)
        yield from _check_one(self.ctx.store, row.seq, data, by_seq, self.roots, Problem)

    def finish(self) -> tuple[Problem, ...]:
        return ()


check_timestamps = Checker("check_timestamps", _Stamps)


def _read(store: Store, files: Sequence[dict[str, Any]], role: str
          ) -> tuple[bytes | None, str | None]:
    entry = next((f for f in files if f.get("role") == role), None)
    if entry is None:
        return None, None
    try:
        return store.read_object(str(entry.get("path"))), str(entry.get("path"))
    except (OSError, StoreError, ValueError):
        return None, str(entry.get("path"))


def _check_one(store: Store, seq: int, data: StampData, by_seq: dict[int, Any],
               roots: list[bytes], problem: Any) -> Iterator[Any]:
    bodies = []
    for covered, leaf in zip(data.covers, data.leaves, strict=True):
        row = by_seq.get(covered)
        if row is None:
            yield problem(f"timestamp covers record {covered}, which is missing", seq)
            return
        if row.record_hash != leaf:
            yield problem(f"record {covered} is not the record that was time-stamped", seq,
                          expected=leaf, found=row.record_hash)
        bodies.append(row.body)
    token, token_path = _read(store, data.files, TOKEN_ROLE)
    if token is None:
        yield problem("time-stamp token is missing", seq, token_path)
        return
    leaves = list(data.leaves)
    if len(leaves) > 1:
        tree = MerkleTree([bytes.fromhex(h) for h in leaves])
        if tree.root.hex() != data.merkle_root:
            yield problem("Merkle root is not the root of the covered records", seq,
                          expected=data.merkle_root, found=tree.root.hex())
        yield from _check_proofs(store, seq, data.files, leaves, tree.root, problem)
    certs_pem, _ = _read(store, data.files, CERTS_ROLE)
    try:
        certs = load_certificates(certs_pem) if certs_pem else []
    except TimestampError as exc:
        yield problem(str(exc), seq, token_path)
        return
    message = stamped_message(leaves, bodies)
    result = verify_token(token, message=message, certs=certs, roots=roots)
    if result.trust is Trust.NOT_TRUSTED:
        yield problem(f"time-stamp from {data.tsa} {_not_trusted(result.reason)}", seq,
                      token_path)
    elif result.passed is False:
        yield problem(f"time-stamp token does not verify: {result.reason}", seq, token_path)
    elif result.passed is None:  # not damage, but this stamp anchors nothing
        yield problem(f"time-stamp from {data.tsa}: {result.reason}", seq, token_path,
                      unverified=True)
    elif result.gen_time != data.gen_time:
        yield problem("time-stamp time differs from the recorded time", seq, token_path,
                      expected=data.gen_time, found=result.gen_time)


def _check_proofs(store: Store, seq: int, files: Sequence[dict[str, Any]], leaves: list[str],
                  root: bytes, problem: Any) -> Iterator[Any]:
    raw, path = _read(store, files, PROOFS_ROLE)
    if raw is None:
        yield problem("Merkle proofs file is missing", seq, path)
        return
    try:
        proofs = json.loads(raw)["proofs"]
        if len(proofs) != len(leaves):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        yield problem("Merkle proofs file is unreadable", seq, path)
        return
    for index, (leaf, proof) in enumerate(zip(leaves, proofs, strict=True)):
        try:
            steps = [bytes.fromhex(p) for p in proof]
        except (ValueError, TypeError):
            steps = []
        if not verify_inclusion(bytes.fromhex(leaf), index, len(leaves), steps, root):
            yield problem(f"Merkle inclusion proof {index} does not lead to the stamped root",
                          seq, path)


__all__ = ["BatchStamps", "StampData", "StampQueue", "check_timestamps", "missing_stamps",
           "open_pending", "retry_pending_stamps", "stamp", "stamp_missing",
           "stamp_unstamped", "stamped_message", "trust_roots_from_env", "unstamped"]
