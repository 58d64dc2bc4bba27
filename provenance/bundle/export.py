"""Evidence bundles: one zip a third party can check with ``sha256sum`` and ``openssl`` only.

Layout (every path relative to the bundle's root)::

    VERIFY.md                 the exact commands, for a reader without this tool
    MANIFEST.sha256           ``sha256sum -c MANIFEST.sha256`` checks every other file
    bundle.json               index: records, files, time-stamps, proofs
    chain.tsv                 seq, kind, record hash and previous hash of every ledger
                              record from the first exported to the last (the chain links)
    records/<seq>.record      the exact bytes a record hash covers ("provenance:record:v1\\n"
                              + canonical JSON body): ``sha256sum`` of it is the record hash;
                              the exported records and, transitively, every record they
                              refer to (:mod:`provenance.store.references`), the ``witness``
                              records of their captures and their granted time-stamps
    objects/ab/<sha256>.ext   WARC, text, screenshots, OCR, tokens, certificates, proofs:
                              every file the records name, under the path they name
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
import shlex
import zipfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from archive.witness import WitnessSpec, raw_copy_url
from provenance.bundle.verify import CHAIN, CHAIN_HEADER, FORMAT, INDEX, README
from provenance.capture.witnessing import WITNESS
from provenance.errors import UsageError
from provenance.stamps.stamping import CERTS_ROLE, GRANTED, PROOFS_ROLE, TOKEN_ROLE, stamped_message
from provenance.stamps.timestamp import _is_self_signed, certificates_pem, load_certificates
from provenance.store.atomic import atomic_output
from provenance.store.filestore import Store
from provenance.store.hashing import RECORD_PREFIX
from provenance.store.ledger import Ledger, Record
from provenance.store.merkle import inclusion_steps
from provenance.store.references import CAPTURE, TIMESTAMP, references

_STORED = (".gz", ".png", ".jpg", ".jpeg", ".webp", ".zip", ".tsr")


def export_bundle(ledger: Ledger, store: Store, ids: Sequence[str], out_zip: str | os.PathLike[str],
                  *, force: bool = False) -> dict[str, Any]:
    """Write the bundle for the records ``ids`` (seq numbers or hash prefixes) atomically,
    with every record they refer to (:mod:`provenance.store.references`), the witness records of
    its captures and the granted time-stamps of all of them. An existing file is replaced
    only with ``force`` (:func:`provenance.store.atomic.check_target` refuses folders and links)."""
    chosen: dict[int, Record] = {}
    for ref in ids:
        record = _find(ledger, ref)
        chosen[record.seq] = record
    included, stamps = _complete(ledger, chosen)
    entries: dict[str, bytes | Callable[[], BinaryIO]] = {}
    index: dict[str, Any] = {"format": FORMAT, "exported": sorted(chosen), "records": [],
                             "timestamps": [], "witnesses": [
                                 _witness_item(r) for r in included.values()
                                 if r.kind == WITNESS]}
    for seq in sorted(included):
        record = included[seq]
        entries[f"records/{seq}.record"] = RECORD_PREFIX + record.body.encode("utf-8")
        index["records"].append({"seq": seq, "kind": record.kind, "record_hash":
                                 record.record_hash, "prev": record.prev_hash,
                                 "file": f"records/{seq}.record", "files": record.files})
        for entry in record.files:
            entries[str(entry["path"])] = partial(store.open_object, str(entry["path"]))
    for ts in stamps:
        index["timestamps"].append(_add_stamp(ts, included, store, entries))
    lo, hi = min(included), max(included)
    chain = [CHAIN_HEADER]
    for record in ledger.records(first=lo, last=hi):
        if lo <= record.seq <= hi:
            chain.append(f"{record.seq}\t{record.kind}\t{record.record_hash}\t{record.prev_hash}")
    entries[CHAIN] = ("\n".join(chain) + "\n").encode()
    entries[INDEX] = json.dumps(index, indent=2, sort_keys=True).encode() + b"\n"
    entries[README] = _verify_md(index, os.path.basename(os.fspath(out_zip))).encode("utf-8")
    _write_zip(Path(out_zip), entries, force=force)
    return {"bundle": str(out_zip), "records": sorted(included), "exported": sorted(chosen),
            "timestamps": len(stamps), "files": len(entries) + 1}


def _find(ledger: Ledger, ref: str) -> Record:
    try:
        record = ledger.find(ref)
    except OverflowError:  # a number past SQLite's integers: no such record
        record = None
    if record is None:
        raise UsageError(f"no record {ref!r} in the ledger")
    return record


def _complete(ledger: Ledger, chosen: dict[int, Record]) -> tuple[dict[int, Record],
                                                                   list[Record]]:
    """``chosen`` with everything it refers to, transitively: the records named
    (:func:`provenance.store.references.references`), the witness records of each capture, and
    each granted time-stamp of any of them (with what that stamp refers to)."""
    included = dict(chosen)
    stamps: dict[int, Record] = {}
    todo = list(included.values())
    while todo:
        record = todo.pop()
        found = [ledger.get(ref.seq) for ref in references(record.kind, record.data).records]
        if record.kind == CAPTURE:
            found += [w for w in ledger.witnesses_of(record.seq)  # by index
                      if w.data.get("capture_seq") == record.seq]
        if record.kind != TIMESTAMP:
            covering = [s for s in ledger.stamps_covering(record.seq)
                        if s.data.get("status") == GRANTED
                        and record.seq in s.data.get("covers", [])]
            stamps.update((s.seq, s) for s in covering)
            found += covering
        for other in found:
            if other is None:
                raise UsageError(f"record {record.seq} refers to a record the ledger does not "
                                 "hold: run 'provenance check'")
            if other.seq not in included:
                included[other.seq] = other
                todo.append(other)
    return included, [stamps[seq] for seq in sorted(stamps)]


def _add_stamp(ts: Record, included: dict[int, Record], store: Store,
               entries: dict[str, bytes | Callable[[], BinaryIO]]) -> dict[str, Any]:
    data = ts.data
    files = {f.get("role"): f for f in ts.files}
    token = files[TOKEN_ROLE]
    entries[f"timestamps/{ts.seq}.tsr"] = partial(store.open_object, str(token["path"]))
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
        pem = store.read_object(str(files[CERTS_ROLE]["path"]))
        item["certs"] = f"timestamps/{ts.seq}.certs.pem"
        entries[item["certs"]] = pem
        roots = [c for c in load_certificates(pem) if _is_self_signed(c)]
        if roots:
            item["root"] = f"timestamps/{ts.seq}.root.pem"
            entries[item["root"]] = certificates_pem(roots)
    if PROOFS_ROLE in files:
        proofs = json.loads(store.read_object(str(files[PROOFS_ROLE]["path"])))["proofs"]
        for i, seq in enumerate(data.get("covers", [])):
            if seq not in included:
                continue
            proof = [bytes.fromhex(p) for p in proofs[i]]
            item["proofs"][str(seq)] = {"index": i, "path": proofs[i]}
            # A malformed stored proof writes no steps: the bundle's check then says the
            # record has no complete Merkle path (and the store's check says why).
            steps = inclusion_steps(bytes.fromhex(leaves[i]), i, len(leaves), proof) or []
            for n, step in enumerate(steps):
                entries[f"proofs/{ts.seq}/{seq}/step-{n:02d}.bin"] = step
    return item


def _witness_item(record: Record) -> dict[str, Any]:
    data = record.data
    url = data.get("url")
    try:
        spec: WitnessSpec | None = WitnessSpec.parse(str(data.get("witness")))
    except ValueError:
        spec = None  # a witness this version does not know: no raw copy to name
    raw = raw_copy_url(spec, url) if spec is not None and isinstance(url, str) else None
    return {"seq": record.seq, "capture_seq": data.get("capture_seq"),
            "witness": data.get("witness"), "status": data.get("status"), "url": url,
            "raw_url": raw, "archived_at": data.get("archived_at"),
            "agrees": data.get("agrees"), "witness_sha256": data.get("witness_sha256"),
            "payload_sha256": data.get("payload_sha256"), "file": f"records/{record.seq}.record"}


def _write_zip(target: Path, entries: dict[str, bytes | Callable[[], BinaryIO]], *,
               force: bool) -> None:
    manifest = []
    with atomic_output(target, force=force) as raw, zipfile.ZipFile(raw, "w") as bundle:
        for name in sorted(entries):
            source = entries[name]
            method = zipfile.ZIP_STORED if name.endswith(_STORED) else zipfile.ZIP_DEFLATED
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = 0o644 << 16
            digest = hashlib.sha256()
            with bundle.open(info, "w") as out:
                stream = source() if callable(source) else io.BytesIO(source)
                with stream:
                    for block in iter(lambda s=stream: s.read(1 << 20), b""):  # type: ignore[misc]
                        digest.update(block)
                        out.write(block)
            manifest.append(f"{digest.hexdigest()}  {name}\n")
        info = zipfile.ZipInfo("MANIFEST.sha256", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        bundle.writestr(info, "".join(manifest), compress_type=zipfile.ZIP_DEFLATED)


def _verify_md(index: dict[str, Any], name: str = "bundle.zip") -> str:
    """The bundle's own instructions; ``name`` is its file name, as the reader has it."""
    folder = name[:-4] if name.lower().endswith(".zip") and len(name) > 4 else f"{name}.d"
    lines = [
        "# How to check this evidence bundle",
        "",
        "You need only `unzip`, `sha256sum` (GNU coreutils) and `openssl` (1.1 or later).",
        "",
        "## 1. Every file is intact",
        "",
        "```sh",
        f"unzip {shlex.quote(name)} -d {shlex.quote(folder)} && cd {shlex.quote(folder)}",
        "sha256sum -c MANIFEST.sha256",
        "```",
        "",
        "## 2. The ledger records",
        "",
        "`records/<seq>.record` holds the exact bytes each record's hash covers; its SHA-256 "
        "is the record hash listed in `chain.tsv`, and each record's `prev` field is the hash "
        "of the record before it. `chain.tsv` lists every link from the first record in the "
        "bundle to the last: each line's previous hash is the line above's record hash "
        "(lines of records not in the bundle are the ledger's word only):",
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
              else "-CAfile TSA-ROOT.pem -untrusted TSA-CHAIN.pem")
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
        "openssl may also print `Using configuration from ...` and `Warning: certificate "
        "from '...certs.pem' with subject '...' is not a CA cert`: the `.certs.pem` file "
        "holds the TSA's own signing certificate (which is not a certificate authority) "
        "with its intermediates, and `-untrusted` expects authorities. Both lines are "
        "harmless; only the last line, `Verification: OK`, is the answer.",
        "",
        "`openssl ts -verify` prints `Verification: OK` when the TSA's signature is valid and "
        "covers exactly the given data. The `.root.pem` file is the root the TSA sent with "
        "its reply and proves nothing about who the TSA is: anyone can make a TSA of their "
        "own. For independent trust, use the root certificate published by the TSA "
        "instead (`-CAfile` that file). After the TSA's certificate has expired, add "
        "`-attime <unix time of the stamp>` to check it as of the time it was made.",
        "",
        "A time-stamp check has three outcomes; keep them apart:",
        "",
        "- **valid**: `Verification: OK`.",
        "- **invalid**: openssl says `signature failure`, `message imprint mismatch` or "
        "similar: the token or the data was changed. The stamp proves nothing.",
        "- **could not verify**: openssl says `unable to get local issuer certificate`, "
        "`signer certificate not found` or `no certificate or crl found`: a certificate is "
        "missing, nothing was found wrong. Supply it: the TSA's own certificate and its "
        "intermediates (from the TSA's website or the `.certs.pem` file) with "
        "`-untrusted TSA-CHAIN.pem`, the TSA's published root with `-CAfile TSA-ROOT.pem`. "
        "Until then the stamp anchors nothing.",
        "",
        "Certificates that travel inside a token are not signed by the TSA (anyone can add "
        "some); only the chain from the TSA's certificate to a root you chose counts. A "
        "token whose imprint is SHA-1 (`Hash Algorithm: sha1` in `openssl ts -reply -in "
        "TOKEN -text`) is legacy and weak: SHA-1 collisions can be made. OpenSSL 3.0 "
        "cannot read, or refuses with `ess cert id not found`, some valid tokens "
        "(Microsoft's): that is could not verify, not invalid. It also says `unsuitable "
        "certificate purpose` for older Microsoft tokens, whose TSA certificate has its "
        "timeStamping usage not marked critical, as RFC 3161 asks: this tool counts those "
        "valid and says so. `openssl cms -verify "
        "-inform DER -in TOKEN -binary -CAfile TSA-ROOT.pem -untrusted TSA-CHAIN.pem "
        "-purpose timestampsign -attime <unix time of the stamp> -out /dev/null` checks "
        "the signature and chain of a bare token (`-token_out` of `openssl ts -reply` "
        "makes one); then compare the `Message data` that `openssl ts -reply -token_in "
        "-in TOKEN -text` shows with the digest of the data yourself.",
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


