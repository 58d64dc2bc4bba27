"""Evidence bundles: one zip a third party can check with ``sha256sum`` and ``openssl`` only.

Layout (every path relative to the bundle's root)::

    VERIFY.md                 the exact commands, for a reader without this tool
    MANIFEST.sha256           ``sha256sum -c MANIFEST.sha256`` checks every other file
    bundle.json               index: records, files, time-stamps, proofs
    chain.tsv                 seq, kind, record hash and previous hash of every ledger
                              record from the first exported to the last (the chain links)
    records/<seq>.record      the exact bytes a record hash covers ("provenance:record:v1\\n"
                              + canonical JSON body): ``sha256sum`` of it is the record hash;
                              the exported records, their time-stamps and the ``witness``
                              records of exported captures (where others archived the page)
    objects/ab/<sha256>.ext   WARC, text, screenshots, OCR, reports: every file the records
                              name, under its own SHA-256
    timestamps/<seq>.tsr      the TSA's reply (DER), as received
    timestamps/<seq>.data     the bytes whose digest the TSA signed (``openssl ts -verify
                              -data``): a record file, or a Merkle root's pre-image
    timestamps/<seq>.certs.pem / .root.pem   the TSA's certificates / its self-signed root
    proofs/<ts>/<seq>/step-NN.bin   a record's Merkle path: ``step-00`` is 0x00 + the record
                              hash; the SHA-256 of each step is inside the next; the last
                              step is ``timestamps/<ts>.data``

WACZ was considered for the web part: its value is that replay tools open it, but it
re-packages the WARCs into its own layout and hashes (``datapackage.json``), so the
WARCs would no longer be the exact stored files the ledger names, and verifying it needs
tools a court's expert may not have. The WARC files are shipped unchanged instead; any
replay tool (pywb, ReplayWeb.page) opens them directly.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provenance.atomic import atomic_output
from provenance.errors import TimestampError, UsageError
from provenance.hashing import RECORD_PREFIX, canonical_json
from provenance.ledger import Ledger, Record
from provenance.merkle import MerkleTree, leaf_hash, node_hash, verify_inclusion
from provenance.stamping import (
    CERTS_ROLE,
    GRANTED,
    PROOFS_ROLE,
    TIMESTAMP,
    TOKEN_ROLE,
    stamped_message,
)
from provenance.store import Store
from provenance.timestamp import load_certificates, verify_token
from provenance.witnessing import WITNESS

FORMAT = "provenance-bundle/1"
_STORED = (".gz", ".png", ".jpg", ".jpeg", ".webp", ".zip", ".tsr")


def proof_steps(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> list[bytes]:
    """The byte strings hashed on the way from a leaf to the root (RFC 9162 order)."""
    steps = [b"\x00" + leaf]
    fn, sn = index, size - 1
    current = leaf_hash(leaf)
    for sibling in proof:
        if fn & 1 or fn == sn:
            steps.append(b"\x01" + sibling + current)
            current = node_hash(sibling, current)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            steps.append(b"\x01" + current + sibling)
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    return steps


def export_bundle(ledger: Ledger, store: Store, ids: Sequence[str], out_zip: str | os.PathLike[str]
                  ) -> dict[str, Any]:
    """Write the bundle for the records ``ids`` (seq numbers or hash prefixes) atomically."""
    chosen: dict[int, Record] = {}
    for ref in ids:
        record = ledger.find(ref)
        if record is None:
            raise UsageError(f"no record {ref!r} in the ledger")
        chosen[record.seq] = record
    stamps = [r for r in ledger.records(kind=TIMESTAMP)
              if r.data.get("status") == GRANTED and set(r.data.get("covers", [])) & set(chosen)]
    included = dict(chosen)
    witnesses = [r for r in ledger.records(kind=WITNESS)
                 if r.data.get("capture_seq") in chosen]  # where others hold the same page
    for record in witnesses:
        included[record.seq] = record
    for ts in stamps:
        included[ts.seq] = ts
        if ts.data.get("method") == "record":  # -data is the covered record file itself
            for seq in ts.data.get("covers", []):
                covered = ledger.get(int(seq))
                if covered is not None:
                    included.setdefault(covered.seq, covered)
    entries: dict[str, bytes | Path] = {}
    index: dict[str, Any] = {"format": FORMAT, "exported": sorted(chosen), "records": [],
                             "timestamps": [], "witnesses": [_witness_item(r) for r in witnesses]}
    for seq in sorted(included):
        record = included[seq]
        entries[f"records/{seq}.record"] = RECORD_PREFIX + record.body.encode("utf-8")
        index["records"].append({"seq": seq, "kind": record.kind, "record_hash":
                                 record.record_hash, "prev": record.prev_hash,
                                 "file": f"records/{seq}.record", "files": record.files})
        for entry in record.files:
            entries[str(entry["path"])] = store.path(str(entry["path"]))
    for ts in stamps:
        index["timestamps"].append(_add_stamp(ts, chosen, store, entries))
    lo, hi = min(included), max(included)
    chain = ["seq\tkind\trecord_hash\tprev_hash"]
    for record in ledger.records():
        if lo <= record.seq <= hi:
            chain.append(f"{record.seq}\t{record.kind}\t{record.record_hash}\t{record.prev_hash}")
    entries["chain.tsv"] = ("\n".join(chain) + "\n").encode()
    entries["bundle.json"] = json.dumps(index, indent=2, sort_keys=True).encode() + b"\n"
    entries["VERIFY.md"] = _verify_md(index).encode("utf-8")
    _write_zip(Path(out_zip), entries)
    return {"bundle": str(out_zip), "records": sorted(included), "exported": sorted(chosen),
            "timestamps": len(stamps), "files": len(entries) + 1}


def _add_stamp(ts: Record, chosen: dict[int, Record], store: Store,
               entries: dict[str, bytes | Path]) -> dict[str, Any]:
    data = ts.data
    files = {f.get("role"): f for f in ts.files}
    token = files[TOKEN_ROLE]
    entries[f"timestamps/{ts.seq}.tsr"] = store.path(str(token["path"]))
    leaves = list(data.get("leaves", []))
    if data.get("method") == "record":
        data_file = f"records/{data['covers'][0]}.record"
    else:
        data_file = f"timestamps/{ts.seq}.data"
        entries[data_file] = stamped_message(leaves)
    item: dict[str, Any] = {"seq": ts.seq, "tsa": data.get("tsa"), "gen_time":
                            data.get("gen_time"), "token": f"timestamps/{ts.seq}.tsr",
                            "data": data_file, "method": data.get("method"),
                            "covers": data.get("covers"), "leaves": leaves,
                            "merkle_root": data.get("merkle_root"), "certs": None, "root": None,
                            "proofs": {}}
    if CERTS_ROLE in files:
        pem = store.path(str(files[CERTS_ROLE]["path"])).read_bytes()
        item["certs"] = f"timestamps/{ts.seq}.certs.pem"
        entries[item["certs"]] = pem
        from provenance.timestamp import _is_self_signed, certificates_pem

        roots = [c for c in load_certificates(pem) if _is_self_signed(c)]
        if roots:
            item["root"] = f"timestamps/{ts.seq}.root.pem"
            entries[item["root"]] = certificates_pem(roots)
    if PROOFS_ROLE in files:
        proofs = json.loads(store.path(str(files[PROOFS_ROLE]["path"])).read_bytes())["proofs"]
        for i, seq in enumerate(data.get("covers", [])):
            if seq not in chosen:
                continue
            proof = [bytes.fromhex(p) for p in proofs[i]]
            item["proofs"][str(seq)] = {"index": i, "path": proofs[i]}
            steps = proof_steps(bytes.fromhex(leaves[i]), i, len(leaves), proof)
            for n, step in enumerate(steps):
                entries[f"proofs/{ts.seq}/{seq}/step-{n:02d}.bin"] = step
    return item


def _witness_item(record: Record) -> dict[str, Any]:
    data = record.data
    url = data.get("url")
    raw = re.sub(r"/(\d{14})/", r"/\1id_/", url, count=1) if isinstance(url, str) else None
    return {"seq": record.seq, "capture_seq": data.get("capture_seq"),
            "witness": data.get("witness"), "status": data.get("status"), "url": url,
            "raw_url": raw if raw != url else None, "archived_at": data.get("archived_at"),
            "agrees": data.get("agrees"), "witness_sha256": data.get("witness_sha256"),
            "payload_sha256": data.get("payload_sha256"), "file": f"records/{record.seq}.record"}


def _write_zip(target: Path, entries: dict[str, bytes | Path]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    manifest = []
    with atomic_output(target) as raw, zipfile.ZipFile(raw, "w") as bundle:
        for name in sorted(entries):
            source = entries[name]
            method = zipfile.ZIP_STORED if name.endswith(_STORED) else zipfile.ZIP_DEFLATED
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = 0o644 << 16
            digest = hashlib.sha256()
            with bundle.open(info, "w") as out:
                stream = open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)
                with stream:
                    for block in iter(lambda s=stream: s.read(1 << 20), b""):  # type: ignore[misc]
                        digest.update(block)
                        out.write(block)
            manifest.append(f"{digest.hexdigest()}  {name}\n")
        info = zipfile.ZipInfo("MANIFEST.sha256", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        bundle.writestr(info, "".join(manifest), compress_type=zipfile.ZIP_DEFLATED)


def _verify_md(index: dict[str, Any]) -> str:
    lines = [
        "# How to check this evidence bundle",
        "",
        "You need only `unzip`, `sha256sum` (GNU coreutils) and `openssl` (1.1 or later).",
        "",
        "## 1. Every file is intact",
        "",
        "```sh",
        "unzip bundle.zip -d bundle && cd bundle",
        "sha256sum -c MANIFEST.sha256",
        "```",
        "",
        "## 2. The ledger records",
        "",
        "`records/<seq>.record` holds the exact bytes each record's hash covers; its SHA-256 "
        "is the record hash listed in `chain.tsv`, and each record's `prev` field is the hash "
        "of the record before it (`chain.tsv` lists the links between the exported records):",
        "",
        "```sh",
        "sha256sum records/*.record",
        "```",
        "",
        "Files a record names (`\"files\"`: WARC captures, text, screenshots, reports) are in "
        "`objects/` under their SHA-256, which `sha256sum -c` has checked.",
        "",
        "## 3. The trusted time-stamps (RFC 3161)",
        "",
    ]
    for ts in index["timestamps"]:
        ca = (f"-CAfile {ts['root']} -untrusted {ts['certs']}" if ts["root"]
              else f"-CAfile {ts['certs']} -partial_chain" if ts["certs"]
              else "-CAfile TSA-ROOT.pem")
        lines += [
            f"Time-stamp {ts['seq']} from {ts['tsa']}, time {ts['gen_time']}, "
            + ("over record " + str(ts["covers"][0]) if ts["method"] == "record"
               else f"over the Merkle root {ts['merkle_root']} of {len(ts['leaves'])} records"),
            "",
            "```sh",
            f"openssl ts -verify -in {ts['token']} -data {ts['data']} {ca}",
            "```",
            "",
        ]
        for seq, proof in ts["proofs"].items():
            lines += [
                f"Record {seq} is leaf {proof['index']} of that tree. Its path to the root is "
                f"`proofs/{ts['seq']}/{seq}/step-*.bin`: `step-00.bin` is the byte 00 followed "
                f"by the record hash; the SHA-256 of each step appears inside the next step "
                f"(`xxd -p`); the last step is `{ts['data']}`.",
                "",
            ]
    lines += _verify_md_witnesses(index.get("witnesses") or [])
    lines += [
        "`openssl ts -verify` prints `Verification: OK` when the TSA's signature is valid and "
        "covers exactly the given data. The `.root.pem` file is the root the TSA sent with "
        "its reply: for independent trust, use the root certificate published by the TSA "
        "instead (`-CAfile` that file). After the TSA's certificate has expired, add "
        "`-attime <unix time of the stamp>` to check it as of the time it was made.",
        "",
    ]
    return "\n".join(lines)


def _verify_md_witnesses(witnesses: list[dict[str, Any]]) -> list[str]:
    if not witnesses:
        return []
    lines = [
        "## 4. Independent witness archives",
        "",
        "Each capture was also sent to web archives run by others. Their `witness` records "
        "(in `records/`) say what each archive answered. Where one holds a copy, anyone "
        "can fetch that copy and compare its SHA-256 with the page as we received it "
        "(`payload_sha256`; this needs the network, the archive's copy is not in the "
        "bundle). `agrees: true` means the two were equal when recorded.",
        "",
    ]
    for w in witnesses:
        lines.append(f"- record {w['seq']}: capture {w['capture_seq']} at {w['witness']}: "
                     f"{w['status']}" + (f", {w['archived_at']}" if w["archived_at"] else "")
                     + (f", agrees: {str(w['agrees']).lower()}" if w["agrees"] is not None
                        else ""))
        if w["raw_url"] and w["payload_sha256"] and w["status"] == "archived":
            lines += ["", "  ```sh", f"  curl -s --compressed '{w['raw_url']}' | sha256sum"
                      f"   # expect {w['payload_sha256']}", "  ```"]
    return [*lines, ""]


# --- verifying a bundle -------------------------------------------------------------------

def verify_bundle(path: str | os.PathLike[str]) -> list[str]:
    """Every problem found in a bundle (empty: intact). Needs no store and no network."""
    problems: list[str] = []
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"not a readable zip file: {exc}"]
    with bundle:
        names = set(bundle.namelist())

        def read(name: str) -> bytes | None:
            if name not in names:
                problems.append(f"{name}: missing from the bundle")
                return None
            try:
                return bundle.read(name)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:  # CRC errors
                problems.append(f"{name}: unreadable ({exc})")
                return None

        listed: set[str] = set()
        for line in (read("MANIFEST.sha256") or b"").decode("utf-8", "replace").splitlines():
            digest, _, name = line.partition("  ")
            listed.add(name)
            content = read(name)
            if content is not None and hashlib.sha256(content).hexdigest() != digest:
                problems.append(f"{name}: SHA-256 differs from MANIFEST.sha256")
        for name in sorted(names - listed - {"MANIFEST.sha256"}):
            problems.append(f"{name}: not listed in MANIFEST.sha256")
        try:
            index = json.loads(read("bundle.json") or b"")
        except ValueError:
            return problems + ["bundle.json: not JSON"]
        if not isinstance(index, dict):
            return problems + ["bundle.json: not an index object"]
        hashes: dict[int, str] = {}
        bodies: dict[int, str] = {}
        for rec in _entries(index, "records", ("seq", "file", "record_hash", "prev"),
                            problems):
            content = read(rec["file"])
            if content is None:
                continue
            found = hashlib.sha256(content).hexdigest()
            if found != rec["record_hash"] or not content.startswith(RECORD_PREFIX):
                problems.append(f"{rec['file']}: record hash differs ({found})")
                continue
            try:
                body = json.loads(content[len(RECORD_PREFIX):])
            except ValueError:
                problems.append(f"{rec['file']}: body is not JSON")
                continue
            if canonical_json(body) != content[len(RECORD_PREFIX):]:
                problems.append(f"{rec['file']}: body is not canonical JSON")
            if body.get("prev") != rec["prev"]:
                problems.append(f"{rec['file']}: chain link differs from bundle.json")
            for entry in (body.get("data") or {}).get("files", []):
                named = read(str(entry.get("path")))
                if named is not None and hashlib.sha256(named).hexdigest() != entry.get(
                        "sha256"):
                    problems.append(f"{entry.get('path')}: not the file record {rec['seq']} "
                                    "names")
            hashes[rec["seq"]] = found
            bodies[rec["seq"]] = content[len(RECORD_PREFIX):].decode("utf-8")
        for seq in hashes:
            body = json.loads(bodies[seq])
            if seq - 1 in hashes and body.get("prev") != hashes[seq - 1]:
                problems.append(f"records/{seq}.record: chain link to record {seq - 1} broken")
        for ts in _entries(index, "timestamps", ("seq", "data", "token"), problems):
            problems += _verify_stamp(ts, read, hashes)
    return problems


def _entries(index: dict[str, Any], key: str, required: tuple[str, ...],
             problems: list[str]) -> list[dict[str, Any]]:
    """``index[key]``'s entries that have the fields verification reads; the rest reported."""
    entries = index.get(key, [])
    if not isinstance(entries, list):
        problems.append(f"bundle.json: {key!r} is not a list")
        return []
    good = []
    for n, entry in enumerate(entries):
        if isinstance(entry, dict) and all(field in entry for field in required):
            good.append(entry)
        else:
            problems.append(f"bundle.json: {key} entry {n} is malformed")
    return good


def _verify_stamp(ts: dict[str, Any], read: Any, hashes: dict[int, str]) -> list[str]:
    problems = []
    leaves = ts.get("leaves") or []
    for seq, leaf in zip(ts.get("covers") or [], leaves, strict=False):
        if seq in hashes and hashes[seq] != leaf:
            problems.append(f"record {seq} is not the record time-stamp {ts['seq']} covers")
    data = read(ts["data"])
    token = read(ts["token"])
    if data is None or token is None:
        return problems
    if ts.get("method") == "merkle":
        tree = MerkleTree([bytes.fromhex(h) for h in leaves])
        if tree.root_preimage() != data or tree.root.hex() != ts.get("merkle_root"):
            problems.append(f"{ts['data']}: not the Merkle root of the covered records")
        for seq, proof in (ts.get("proofs") or {}).items():
            i = int(proof["index"])
            ok = verify_inclusion(bytes.fromhex(leaves[i]), i, len(leaves),
                                  [bytes.fromhex(p) for p in proof["path"]], tree.root)
            if not ok:
                problems.append(f"time-stamp {ts['seq']}: Merkle proof of record {seq} fails")
    elif hashlib.sha256(data).hexdigest() != (leaves or [None])[0]:
        problems.append(f"{ts['data']}: not the record time-stamp {ts['seq']} covers")
    try:
        certs = load_certificates(read(ts["certs"]) or b"") if ts.get("certs") else []
    except TimestampError as exc:
        return [*problems, f"{ts['certs']}: {exc}"]
    result = verify_token(token, message=data, certs=certs)
    if result.passed is not True:
        problems.append(f"{ts['token']}: time-stamp does not verify ({result.reason})")
    elif result.gen_time != ts.get("gen_time"):
        problems.append(f"{ts['token']}: time differs from bundle.json")
    return problems
