"""Time-stamping ledger records: one record at once, or a batch under one Merkle root.

One record is stamped directly: the TSA signs a digest of ``"provenance:record:v1\\n" +
body``, whose SHA-256 *is* the record hash. A batch is stamped through an RFC 6962 Merkle
tree over the record hashes: the TSA signs a digest of the root's pre-image (whose SHA-256
is the root), so 1,000 captures cost one request per TSA, and each record keeps its
inclusion proof in a ``merkle-proofs`` JSON file in the store.

Every attempt is a ``timestamp`` record in the ledger, naming the records it covers::

    {"covers": [seq...], "leaves": [record hash...], "method": "record" | "merkle",
     "merkle_root": hex | null, "tree_size": n, "tsa": url,
     "status": "granted" | "pending", "algorithm": "sha256", "imprint": hex,
     "gen_time", "serial", "tsa_name", "verifier", "error", "resolves": seq | null,
     "files": [token (.tsr, the TSA's reply as received), TSA certificates (.pem),
               merkle proofs (.json)]}

A TSA that fails leaves a ``pending`` record (with its one-line error); a later
:func:`retry_pending_stamps` appends a record that ``resolves`` it. Records are never
updated. :func:`check_timestamps` is the ``check`` step for all of this.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from provenance.errors import StoreError, TimestampError
from provenance.hashing import RECORD_PREFIX, canonical_json
from provenance.ledger import Ledger, Record
from provenance.merkle import MerkleTree, verify_inclusion
from provenance.store import Store
from provenance.timestamp import (
    DEFAULT_TIMEOUT,
    SHA256,
    certificates_pem,
    load_certificates,
    request_timestamp,
    verify_token,
)

TIMESTAMP = "timestamp"
GRANTED, PENDING = "granted", "pending"
TOKEN_ROLE, CERTS_ROLE, PROOFS_ROLE = "timestamp-token", "tsa-certificates", "merkle-proofs"
TSA_ENV = "PROVENANCE_TSA"
TSA_CA_ENV = "PROVENANCE_TSA_CA"


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
    items = []
    for url in tsas:
        data = dict(base, tsa=url, resolves=(resolves or {}).get(url))
        try:
            result = request_timestamp(url, message, algorithm=algorithm, session=session,
                                       timeout=timeout, roots=roots)
        except TimestampError as exc:
            data.update(status=PENDING, error=str(exc), files=[])
            items.append(data)
            continue
        token = store.put_bytes(result.reply, role=TOKEN_ROLE, suffix=".tsr")
        files = [token.to_json()]
        if result.certificates:
            certs = store.put_bytes(certificates_pem(result.certificates), role=CERTS_ROLE,
                                    suffix=".pem")
            files.append(certs.to_json())
        if proofs_file is not None:
            files.append(proofs_file.to_json())
        v = result.verification
        data.update(status=GRANTED, error=None, imprint=v.imprint, gen_time=v.gen_time,
                    serial=v.serial, tsa_name=v.tsa_name, verifier=v.how, files=files)
        items.append(data)
    written = ledger.append_many([(TIMESTAMP, d, None) for d in items])
    return [_summary(rec) for rec in written]


def _summary(record: Record) -> dict[str, Any]:
    data = record.data
    token = next((f["path"] for f in record.files if f.get("role") == TOKEN_ROLE), None)
    return {"tsa": data.get("tsa"), "status": data.get("status"), "token": token,
            "error": data.get("error"), "seq": record.seq, "gen_time": data.get("gen_time")}


def stamps_for(ledger: Ledger, seq: int) -> list[dict[str, Any]]:
    """The contract's ``timestamps`` list for one record: the latest state per TSA."""
    latest: dict[str, dict[str, Any]] = {}
    for record in ledger.records(kind=TIMESTAMP):
        if seq in record.data.get("covers", []):
            latest[str(record.data.get("tsa"))] = _summary(record)
    return list(latest.values())


def open_pending(ledger: Ledger) -> list[Record]:
    """``pending`` timestamp records that no later record resolves."""
    pending: dict[int, Record] = {}
    for record in ledger.records(kind=TIMESTAMP):
        resolved = record.data.get("resolves")
        if isinstance(resolved, int):
            pending.pop(resolved, None)
        if record.data.get("status") == PENDING:
            pending[record.seq] = record
    return list(pending.values())


def retry_pending_stamps(
    ledger: Ledger, store: Store, session: Any = None, *, tsas: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT, roots: Sequence[bytes] = (),
) -> list[dict[str, Any]]:
    """Ask again for every pending stamp (from its own TSA, or only those in ``tsas``)."""
    results: list[dict[str, Any]] = []
    for record in open_pending(ledger):
        url = str(record.data.get("tsa"))
        if tsas is not None and url not in tsas:
            continue
        covered = [ledger.get(int(seq)) for seq in record.data.get("covers", [])]
        if any(c is None for c in covered):
            continue
        results += stamp(ledger, store, [c for c in covered if c is not None], [url], session,
                         timeout=timeout, algorithm=str(record.data.get("algorithm") or SHA256),
                         roots=roots, resolves={url: record.seq})
    return results


STAMPED_KINDS = ("capture", "ocr", "verification")  # the records that are evidence
BATCH = 1000  # records per Merkle root: one TSA request each


def unstamped(ledger: Ledger, kinds: Sequence[str] = STAMPED_KINDS) -> list[Record]:
    """Records of ``kinds`` that no time-stamp record covers, granted or pending (made
    with ``--tsa none``, or before any TSA was set)."""
    covered: set[int] = set()
    for record in ledger.records(kind=TIMESTAMP):
        covered.update(int(seq) for seq in record.data.get("covers", []))
    return [r for r in ledger.records() if r.kind in kinds and r.seq not in covered]


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


def trust_roots_from_env(environ: dict[str, str] | None = None) -> list[bytes]:
    """Trusted TSA roots from ``$PROVENANCE_TSA_CA`` (a PEM file), if set."""
    import os

    path = (environ if environ is not None else os.environ).get(TSA_CA_ENV)
    if not path:
        return []
    try:
        with open(path, "rb") as handle:
            return load_certificates(handle.read())
    except OSError as exc:
        raise TimestampError(f"cannot read TSA trust roots {path}: {exc.strerror}") from None


# --- check --------------------------------------------------------------------------------

def check_timestamps(ctx: Any) -> Iterator[Any]:
    """``check`` step: every granted token's signature, that it covers the recorded hash or
    Merkle root, that the root is the tree of the covered records, and every proof."""
    from provenance.check import Problem

    by_seq = {row.seq: row for row in ctx.rows}
    roots = trust_roots_from_env()
    for row in ctx.rows:
        if row.kind != TIMESTAMP or row.parsed is None:
            continue
        data = row.parsed.get("data") or {}
        if data.get("status") != GRANTED:
            continue
        yield from _check_one(ctx.store, row.seq, data, by_seq, roots, Problem)


def _read(store: Store, files: list[dict[str, Any]], role: str) -> tuple[bytes | None, str | None]:
    entry = next((f for f in files if isinstance(f, dict) and f.get("role") == role), None)
    if entry is None:
        return None, None
    try:
        return store.path(str(entry.get("path"))).read_bytes(), str(entry.get("path"))
    except (OSError, StoreError):
        return None, str(entry.get("path"))


def _check_one(store: Store, seq: int, data: dict[str, Any], by_seq: dict[int, Any],
               roots: list[bytes], problem: Any) -> Iterator[Any]:
    files = data.get("files") or []
    covers, leaves = data.get("covers") or [], data.get("leaves") or []
    if len(covers) != len(leaves) or not covers:
        yield problem("timestamp record: covered records and leaf hashes differ", seq)
        return
    bodies = []
    for covered, leaf in zip(covers, leaves, strict=True):
        row = by_seq.get(covered)
        if row is None:
            yield problem(f"timestamp covers record {covered}, which is missing", seq)
            return
        if row.record_hash != leaf:
            yield problem(f"record {covered} is not the record that was time-stamped", seq,
                          expected=leaf, found=row.record_hash)
        bodies.append(row.body)
    token, token_path = _read(store, files, TOKEN_ROLE)
    if token is None:
        yield problem("time-stamp token is missing", seq, token_path)
        return
    if len(leaves) > 1:
        tree = MerkleTree([bytes.fromhex(h) for h in leaves])
        if tree.root.hex() != data.get("merkle_root"):
            yield problem("Merkle root is not the root of the covered records", seq,
                          expected=data.get("merkle_root"), found=tree.root.hex())
        yield from _check_proofs(store, seq, files, leaves, tree.root, problem)
    certs_pem, _ = _read(store, files, CERTS_ROLE)
    try:
        certs = load_certificates(certs_pem) if certs_pem else []
    except TimestampError as exc:
        yield problem(str(exc), seq, token_path)
        return
    message = stamped_message(leaves, bodies)
    result = verify_token(token, message=message, certs=certs, roots=roots)
    if result.passed is False:
        yield problem(f"time-stamp token does not verify: {result.reason}", seq, token_path)
    elif result.passed is None:
        yield problem(f"time-stamp token could not be checked: {result.reason}", seq,
                      token_path)
    elif result.gen_time != data.get("gen_time"):
        yield problem("time-stamp time differs from the recorded time", seq, token_path,
                      expected=data.get("gen_time"), found=result.gen_time)


def _check_proofs(store: Store, seq: int, files: list[dict[str, Any]], leaves: list[str],
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


__all__ = ["check_timestamps", "open_pending", "retry_pending_stamps", "stamp",
           "stamp_unstamped", "stamped_message", "stamps_for", "trust_roots_from_env",
           "unstamped"]
