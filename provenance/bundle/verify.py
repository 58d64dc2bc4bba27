"""Verifying an evidence bundle as an adversary may have built it: ``check --bundle``.

Nothing in the zip is taken on its word: ``bundle.json`` and ``VERIFY.md``'s prose are for
readers and are not trusted. Everything is re-derived from the records themselves:

* the zip is read safely (:mod:`provenance.bundle.safezip`): no duplicate names (nor names
  one file system would fold into one), no links, no bytes outside the listed entries, no
  encrypted or unknown entries, every read capped;
* ``MANIFEST.sha256`` lists every entry once, with its SHA-256;
* each ``records/<seq>.record`` is a canonical ledger record whose SHA-256 is its hash;
  ``chain.tsv`` is a contiguous chain of links and agrees with every record it lists;
* every file a record names is there, with the SHA-256 it names, and every record a
  record refers to (:mod:`provenance.store.references`) is there and is the record named;
* every granted ``timestamp`` record's token verifies over the record it covers, or over
  the Merkle root of its leaves, and each covered record's ``proofs/.../step-*.bin`` path
  leads, step by step, from ``0x00 || record hash`` to that root;
* the ``timestamps/<seq>.*`` files and the commands VERIFY.md gives a reader without this
  tool are the stamp's own and the records' own (:mod:`provenance.bundle.instructions`);
* a record is *anchored* by such a stamp; the anchor is *trusted* only when the token's
  chain ends in a root the user gave (``--tsa-ca`` / ``PROVENANCE_TSA_CA``), never one
  that came inside the bundle.

:attr:`BundleReport.intact` holds only when nothing is wrong and every record of a kind
that is time-stamped (captures, OCR readings, verifications) is anchored by a trusted
time-stamp: a bundle with nothing in it, or nothing anchored, is never intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from provenance.bundle.instructions import Expected, command_problems, raw_copy
from provenance.bundle.safezip import BundleZip
from provenance.errors import TimestampError
from provenance.stamps.stamping import CERTS_ROLE, GRANTED, STAMPED_KINDS, TOKEN_ROLE
from provenance.stamps.timestamp import (
    _is_self_signed,
    certificates_pem,
    load_certificates,
    verify_token,
)
from provenance.store.clock import parse_time
from provenance.store.hashing import RECORD_PREFIX, canonical_json, is_sha256_hex
from provenance.store.ledger import FORMAT_VERSION, GENESIS
from provenance.store.merkle import MerkleTree
from provenance.store.references import (
    TIMESTAMP,
    WITNESS,
    named_files,
    own_problems,
    references,
)

FORMAT = "provenance-bundle/1"
MANIFEST, INDEX, CHAIN, README = "MANIFEST.sha256", "bundle.json", "chain.tsv", "VERIFY.md"
CHAIN_HEADER = "seq\tkind\trecord_hash\tprev_hash"
TOKEN_LIMIT = 1 << 20
_RECORD = re.compile(r"records/([1-9][0-9]{0,17})\.record")
_STAMP_FILE = re.compile(r"timestamps/([1-9][0-9]{0,17})\.(tsr|data|certs\.pem|root\.pem)")
_STEP = re.compile(r"proofs/([1-9][0-9]{0,17})/([1-9][0-9]{0,17})/step-([0-9]{2})\.bin")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")
_BODY_KEYS = {"v", "seq", "kind", "time", "subject", "prev", "data"}


class Anchor(Enum):
    """How a record is fixed in time."""

    TRUSTED = "trusted"  # a verifying time-stamp that chains to a root the user gave
    PINNED = "pinned"  # a verifying time-stamp, but only to the root that came with it
    NONE = "none"  # no time-stamp in the bundle covers it


@dataclass(frozen=True)
class BundledRecord:
    """A record as read from ``records/<seq>.record``; its hash is recomputed, not read."""

    seq: int
    kind: str
    subject: str | None
    prev: str
    data: dict[str, Any]
    record_hash: str
    raw: bytes = field(repr=False)
    time: str = ""

    @property
    def claimed_at(self) -> str:
        """When the record says it was made: a capture's or a copy's fetch time, else the
        ledger time. Nothing but a time-stamp proves it."""
        fetched = self.data.get("fetched_at")
        return fetched if isinstance(fetched, str) and fetched else self.time


@dataclass
class RecordStatus:
    seq: int
    kind: str
    subject: str | None
    anchor: Anchor
    stamps: list[int]
    stamped_at: str | None = None
    """The earliest time a stamp of :attr:`anchor`'s level signed (from the token): the
    record is proven to have existed then, not at any earlier time it states of itself
    (a capture's ``fetched_at``): a record made up today and stamped today says today."""
    claimed_at: str | None = None
    """When the record says it was made (:attr:`BundledRecord.claimed_at`)."""

    @property
    def stamped_late(self) -> bool:
        """Stamped more than :data:`LATE` after the time it claims: proven only from then
        (a TSA that was down and a later ``retry``, or a record made up and backdated)."""
        return _seconds_between(self.claimed_at, self.stamped_at) > LATE

    @property
    def needs_anchor(self) -> bool:
        return self.kind in STAMPED_KINDS

    def to_json(self) -> dict[str, Any]:
        return {"record": self.seq, "kind": self.kind, "subject": self.subject,
                "anchor": self.anchor.value, "timestamps": self.stamps,
                "stamped_at": self.stamped_at, "claimed_at": self.claimed_at,
                "stamped_late": self.stamped_late}


LATE = 3600.0
"""Seconds between the time a record claims and its first stamp beyond which the record
line says that it is proven only from the stamp's time (a batch waits 30 s at most)."""


def _seconds_between(first: str | None, then: str | None) -> float:
    try:
        return (parse_time(str(then)) - parse_time(str(first))).total_seconds()
    except (ValueError, TypeError):
        return 0.0 if then is None else float("inf")  # an unreadable claim proves nothing


@dataclass
class BundleReport:
    """Everything ``check --bundle`` found: problems, and each record's anchor."""

    problems: list[str] = field(default_factory=list)
    records: list[RecordStatus] = field(default_factory=list)
    roots_given: bool = False
    # Time-stamps that could not be verified (a certificate is missing): not damage, but
    # they anchor nothing.
    unverified: list[str] = field(default_factory=list)

    @property
    def evidence(self) -> list[RecordStatus]:
        return [r for r in self.records if r.kind != TIMESTAMP]

    @property
    def unproven(self) -> list[RecordStatus]:
        """Records of a time-stamped kind without a trusted anchor."""
        return [r for r in self.evidence if r.needs_anchor and r.anchor is not Anchor.TRUSTED]

    @property
    def intact(self) -> bool:
        return (not self.problems and any(r.anchor is Anchor.TRUSTED for r in self.evidence)
                and not self.unproven)

    @property
    def statements(self) -> list[RecordStatus]:
        """Records of a kind that is never time-stamped (witness, changed) that no stamp
        covers: checked to name records that are there, but whoever made the bundle could
        have written them; :meth:`cannot_prove` says so beside "intact"."""
        return [r for r in self.evidence if not r.needs_anchor and r.anchor is Anchor.NONE]

    def cannot_prove(self) -> str | None:
        """What even an intact bundle does not prove, in one line (None: nothing)."""
        said = self.statements
        if not said:
            return None
        listed = ", ".join(f"{r.seq} {r.kind}" for r in said)
        return (f"record(s) {listed} are not time-stamped: statements that only this bundle "
                "vouches for")

    def reason(self) -> str | None:
        """Why the bundle is not intact, in one line (None if it is)."""
        if self.problems:
            return f"{len(self.problems)} problem(s)"
        if not self.evidence:
            return "the bundle holds no records"
        pinned = [r.seq for r in self.unproven if r.anchor is Anchor.PINNED]
        bare = [r.seq for r in self.unproven if r.anchor is Anchor.NONE]
        parts = []
        if bare:
            parts.append(f"record(s) {_seqs(bare)} have no time-stamp")
        if pinned:
            hint = ("" if self.roots_given else
                    " (give the TSA's published root with --tsa-ca FILE or PROVENANCE_TSA_CA)")
            parts.append(f"record(s) {_seqs(pinned)} are time-stamped only under a root that "
                         f"came with the bundle, not one you trust{hint}")
        if self.unverified:
            parts.append(f"{len(self.unverified)} time-stamp(s) could not be verified "
                         "(a certificate is missing)")
        if not parts and not any(r.anchor is Anchor.TRUSTED for r in self.evidence):
            parts.append("nothing in it is time-stamped")
        return "; ".join(parts) if parts else None


def _seqs(seqs: Sequence[int]) -> str:
    return ", ".join(str(s) for s in seqs)


def verify_bundle(path: str | os.PathLike[str], roots: Sequence[bytes] = ()) -> BundleReport:
    """Check a bundle offline; ``roots``: DER certificates of the TSA roots the user trusts."""
    report = BundleReport(roots_given=bool(roots))
    with BundleZip(path) as bundle:
        if not bundle.opened:
            report.problems += bundle.problems
            return report
        _Checker(bundle, report, list(roots)).run()
        report.problems[:0] = bundle.problems
    return report


class _Checker:
    def __init__(self, bundle: BundleZip, report: BundleReport, roots: list[bytes]) -> None:
        self.zip = bundle
        self.report = report
        self.roots = roots
        self.problems = report.problems
        self.digests: dict[str, str | None] = {}
        self.records: dict[int, BundledRecord] = {}
        self.expected: set[str] = {MANIFEST, INDEX, CHAIN, README}
        self.anchors: dict[int, dict[int, Anchor]] = {}
        self.stamp_times: dict[int, str] = {}  # stamp seq -> the time its token signed

    def digest(self, name: str) -> str | None:
        if name not in self.digests:
            self.digests[name] = self.zip.sha256(name) if self.zip.has(name) else None
        return self.digests[name]

    def run(self) -> None:
        self._manifest()
        self._index()
        self._records()
        self._chain()
        for record in self.records.values():
            self._record_links(record)
        for record in self.records.values():
            if record.kind == TIMESTAMP and record.data.get("status") == GRANTED:
                self._stamp(record)
        self._instructions()
        for name in sorted(self.zip.names - self.expected):
            self.problems.append(f"{name}: belongs to no record in the bundle")
        for seq in sorted(self.records):
            record = self.records[seq]
            found = self.anchors.get(seq, {})
            anchor = (Anchor.TRUSTED if Anchor.TRUSTED in found.values() else
                      Anchor.PINNED if found else Anchor.NONE)
            times = [self.stamp_times[s] for s, a in found.items() if a is anchor]
            subject = record.subject
            self.report.records.append(RecordStatus(seq, record.kind, subject, anchor,
                                                    sorted(found), min(times, default=None),
                                                    record.claimed_at))

    # -- the manifest and the index ----------------------------------------------------------

    def _manifest(self) -> None:
        raw = self.zip.read(MANIFEST)
        if raw is None:
            return
        listed: set[str] = set()
        for n, line in enumerate(_sha256sum_lines(raw), 1):
            match = _MANIFEST_LINE.fullmatch(line) if line.isprintable() else None
            if match is None:
                self.problems.append(f"{MANIFEST}: line {n} is not '<sha256>  <file>'")
                continue
            digest, name = match.groups()
            if name in listed or name == MANIFEST:
                self.problems.append(f"{MANIFEST}: {name} listed twice")
                continue
            listed.add(name)
            found = self.digest(name)
            if found is None and not self.zip.has(name):
                self.problems.append(f"{name}: listed in {MANIFEST} but missing")
            elif found is not None and found != digest:
                self.problems.append(f"{name}: SHA-256 differs from {MANIFEST}")
        for name in sorted(self.zip.names - listed - {MANIFEST}):
            self.problems.append(f"{name}: not listed in {MANIFEST}")

    def _index(self) -> None:
        raw = self.zip.read(INDEX)
        try:
            index = json.loads(raw) if raw is not None else None
        except (ValueError, RecursionError):
            index = None
        if raw is not None and not (isinstance(index, dict) and index.get("format") == FORMAT):
            self.problems.append(f"{INDEX}: not a {FORMAT} index")

    def _instructions(self) -> None:
        """VERIFY.md's commands are the ones this bundle's records give
        (:mod:`provenance.bundle.instructions`)."""
        raw = self.zip.read(README)
        if raw is None:
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.problems.append(f"{README}: not UTF-8 text")
            return
        expected = Expected()
        evidence = {seq for seq, r in self.records.items() if r.kind != TIMESTAMP}
        for seq, record in self.records.items():
            data = record.data
            covers = data.get("covers")
            if (record.kind == TIMESTAMP and data.get("status") == GRANTED
                    and isinstance(covers, list) and covers and evidence.intersection(
                        c for c in covers if isinstance(c, int))):
                expected.stamps[seq] = (f"records/{covers[0]}.record"
                                        if data.get("method") == "record"
                                        else f"timestamps/{seq}.data")
            elif record.kind == WITNESS and (copy := raw_copy(data)) is not None:
                expected.copies.add(copy)
        self.problems += command_problems(text, expected)

    # -- records and the chain ---------------------------------------------------------------

    def _records(self) -> None:
        for name in sorted(self.zip.names):
            match = _RECORD.fullmatch(name)
            if match is None:
                if name.startswith("records/"):
                    self.problems.append(f"{name}: not a record file name")
                    self.expected.add(name)
                continue
            self.expected.add(name)
            raw = self.zip.read(name)
            if raw is None:
                continue
            parsed = parse_record(int(match.group(1)), raw)
            if isinstance(parsed, str):
                self.problems.append(f"{name}: {parsed}")
            else:
                self.records[parsed.seq] = parsed

    def _chain(self) -> None:
        raw = self.zip.read(CHAIN)
        if raw is None:
            return
        rows, problems = parse_chain(raw)
        self.problems += [f"{CHAIN}: {p}" for p in problems]
        if problems:
            return
        by_seq = {row[0]: row for row in rows}
        for seq, record in sorted(self.records.items()):
            row = by_seq.get(seq)
            if row is None:
                self.problems.append(f"{CHAIN}: has no link for record {seq}")
            elif row[1:] != (record.kind, record.record_hash, record.prev):
                self.problems.append(f"{CHAIN}: the link of record {seq} is not that record's "
                                     "(kind, hash or previous hash differs)")
            before = self.records.get(seq - 1)
            if before is not None and record.prev != before.record_hash:
                self.problems.append(f"records/{seq}.record: its previous hash is not record "
                                     f"{seq - 1}'s hash")
            if seq == 1 and record.prev != GENESIS:
                self.problems.append("records/1.record: the first record names a previous one")

    def _record_links(self, record: BundledRecord) -> None:
        where = f"record {record.seq} ({record.kind})"
        files, malformed = named_files(record.data)
        refs = references(record.kind, record.data)
        for text in malformed + refs.malformed + own_problems(record.kind, record.data):
            self.problems.append(f"{where}: {text}")
        for path, sha, _ in files:
            self.expected.add(path)
            if not self.zip.has(path):
                self.problems.append(f"{where} names file {path}, which is not in the bundle")
            else:
                found = self.digest(path)
                if found is not None and found != sha:
                    self.problems.append(f"{path}: not the file {where} names")
        for ref in refs.records:
            target = self.records.get(ref.seq)
            if target is None:
                self.problems.append(f"{where} refers to record {ref.seq} ({ref.what}), "
                                     "which is not in the bundle")
                continue
            why = ref.mismatch(target.kind, target.record_hash, target.data)
            if why is not None:
                self.problems.append(f"{where} refers to record {ref.seq} ({ref.what}), "
                                     f"which {why}")

    # -- time-stamps -------------------------------------------------------------------------

    def _stamp(self, record: BundledRecord) -> None:
        seq, data = record.seq, record.data
        where = f"time-stamp {seq}"
        covers, leaves = data.get("covers"), data.get("leaves")
        if not (isinstance(covers, list) and isinstance(leaves, list) and covers
                and len(covers) == len(leaves)
                and all(isinstance(c, int) and not isinstance(c, bool) for c in covers)
                and all(is_sha256_hex(h) for h in leaves)):
            self.problems.append(f"{where}: covered records and leaf hashes are malformed")
            return
        self.expected.add(f"timestamps/{seq}.tsr")
        if len(leaves) > 1:
            self.expected.add(f"timestamps/{seq}.data")  # one record: its record file
        self._certificate_copies(record)
        held = [c for c in covers if c in self.records]
        for covered, leaf in zip(covers, leaves, strict=True):
            if covered in self.records and self.records[covered].record_hash != leaf:
                self.problems.append(f"record {covered} is not the record {where} covers")
        message = self._stamped_message(record, covers, leaves)
        token = self._token(record)
        if message is None or token is None:
            return
        anchor = self._verify_token(record, token, message)
        if anchor is None:
            return
        if len(leaves) == 1:
            if covers[0] in self.records and self.records[covers[0]].record_hash == leaves[0]:
                self.anchors.setdefault(covers[0], {})[seq] = anchor
            return
        for covered in held:
            if self._merkle_path(seq, covered, message):
                self.anchors.setdefault(covered, {})[seq] = anchor

    def _stamped_message(self, record: BundledRecord, covers: list[int], leaves: list[str]
                         ) -> bytes | None:
        seq, data = record.seq, record.data
        if len(leaves) == 1:
            if data.get("method") != "record":
                self.problems.append(f"time-stamp {seq}: one record, but not stamped directly")
                return None
            covered = self.records.get(covers[0])
            if covered is None:
                self.problems.append(f"time-stamp {seq} covers record {covers[0]}, which is "
                                     "not in the bundle")
                return None
            return covered.raw
        tree = MerkleTree([bytes.fromhex(h) for h in leaves])
        if data.get("method") != "merkle" or tree.root.hex() != data.get("merkle_root"):
            self.problems.append(f"time-stamp {seq}: its Merkle root is not the root of the "
                                 "records it covers")
            return None
        message = tree.root_preimage()
        if self.zip.read(f"timestamps/{seq}.data", TOKEN_LIMIT) != message:
            self.problems.append(f"timestamps/{seq}.data: not the Merkle root pre-image of "
                                 f"time-stamp {seq}")
        return message

    def _token(self, record: BundledRecord) -> bytes | None:
        seq = record.seq
        files, _ = named_files(record.data)
        entry = next(((p, s) for p, s, role in files if role == TOKEN_ROLE), None)
        if entry is None:
            self.problems.append(f"time-stamp {seq}: granted, but names no token")
            return None
        token = self.zip.read(entry[0], TOKEN_LIMIT) if self.zip.has(entry[0]) else None
        if token is None or hashlib.sha256(token).hexdigest() != entry[1]:
            return None  # reported with the record's files
        if self.zip.read(f"timestamps/{seq}.tsr", TOKEN_LIMIT) != token:
            self.problems.append(f"timestamps/{seq}.tsr: not the token time-stamp {seq} names")
        return token

    def _certificate_copies(self, record: BundledRecord) -> None:
        """``timestamps/<seq>.certs.pem`` and ``.root.pem``, the files VERIFY.md hands to
        ``openssl ts -verify``, are the stamp's own certificates and the self-signed ones
        among them: a root swapped for another would make a reader's openssl fail (or pass
        under the wrong root) while this check said intact."""
        files, _ = named_files(record.data)
        entry = next(((p, s) for p, s, role in files if role == CERTS_ROLE), None)
        if entry is None or not self.zip.has(entry[0]):
            return  # no certificates, or reported with the record's files
        pem = self.zip.read(entry[0], TOKEN_LIMIT)
        if pem is None or hashlib.sha256(pem).hexdigest() != entry[1]:
            return
        try:
            roots = [c for c in load_certificates(pem) if _is_self_signed(c)]
        except TimestampError:
            return  # reported when the token is verified
        copies = {f"timestamps/{record.seq}.certs.pem": pem,
                  f"timestamps/{record.seq}.root.pem": certificates_pem(roots) if roots
                  else None}
        for name, expected in copies.items():
            if expected is None:
                continue
            self.expected.add(name)
            if self.zip.read(name, TOKEN_LIMIT) not in (expected, None):
                self.problems.append(f"{name}: not the certificates time-stamp {record.seq} "
                                     "names (the file VERIFY.md gives to openssl)")

    def _certs(self, record: BundledRecord) -> list[bytes] | None:
        files, _ = named_files(record.data)
        entry = next(((p, s) for p, s, role in files if role == CERTS_ROLE), None)
        if entry is None:
            return []
        pem = self.zip.read(entry[0], TOKEN_LIMIT) if self.zip.has(entry[0]) else None
        if pem is None or hashlib.sha256(pem).hexdigest() != entry[1]:
            return None
        try:
            return load_certificates(pem)
        except TimestampError as exc:
            self.problems.append(f"{entry[0]}: {exc}")
            return None

    def _verify_token(self, record: BundledRecord, token: bytes, message: bytes
                      ) -> Anchor | None:
        """TRUSTED or PINNED when the token verifies over ``message``; None + a problem
        when it does not."""
        where = f"time-stamp {record.seq}"
        certs = self._certs(record)
        if certs is None:
            return None
        result = None
        if self.roots:
            result = verify_token(token, message=message, certs=certs, roots=self.roots)
        anchor = Anchor.TRUSTED
        if result is None or not (result.passed is True and result.trusted_root):
            anchor = Anchor.PINNED
            unverified = result if result is not None and result.passed is None else None
            result = verify_token(token, message=message, certs=certs)
            if unverified is not None and result.passed is True:
                result = unverified  # intact, but the chain to the given roots is missing
        if result.passed is None:
            self.report.unverified.append(f"{where}: {result.reason}")
            return None
        if result.passed is not True:
            self.problems.append(f"{where}: the token does not verify ({result.reason})")
            return None
        if result.weak:  # a SHA-1 imprint: valid, but never a trusted anchor
            anchor = Anchor.PINNED
        if result.gen_time != record.data.get("gen_time") or not result.gen_time:
            self.problems.append(f"{where}: the token's time is not the recorded time")
            return None
        self.stamp_times[record.seq] = result.gen_time
        return anchor

    def _merkle_path(self, stamp: int, seq: int, message: bytes) -> bool:
        """Whether ``proofs/<stamp>/<seq>/step-*.bin`` lead from the record to ``message``."""
        prefix = f"proofs/{stamp}/{seq}/"
        names = sorted(n for n in self.zip.names if n.startswith(prefix))
        self.expected.update(names)
        wanted = [f"{prefix}step-{n:02d}.bin" for n in range(len(names))]
        if not names or names != wanted:
            self.problems.append(f"record {seq}: no complete Merkle path ({prefix}step-*.bin) "
                                 f"to time-stamp {stamp}")
            return False
        steps = [self.zip.read(name, 1024) for name in names]
        if not merkle_path_holds([s for s in steps if s is not None],
                                 self.records[seq].record_hash, message) or None in steps:
            self.problems.append(f"record {seq}: its Merkle path {prefix}step-*.bin does not "
                                 f"lead to the root time-stamp {stamp} signed")
            return False
        return True


def _sha256sum_lines(raw: bytes) -> list[str]:
    """The manifest's lines as ``sha256sum -c`` reads them: split at newlines only (Python's
    ``splitlines`` also splits at \\x1c, \\x85, \\u2028..., where sha256sum sees one line
    and fails), a carriage return before the newline dropped as sha256sum drops it."""
    lines = raw.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def merkle_path_holds(steps: Sequence[bytes], record_hash: str, message: bytes) -> bool:
    """VERIFY.md's check, exactly: ``step-00`` is 0x00 + the record hash, the SHA-256 of each
    step is the left or right half of the next (a 0x01 node), the last step is ``message``."""
    if not steps or steps[0] != b"\x00" + bytes.fromhex(record_hash):
        return False
    for before, after in zip(steps, steps[1:], strict=False):
        digest = hashlib.sha256(before).digest()
        if len(after) != 65 or after[0] != 1 or digest not in (after[1:33], after[33:]):
            return False
    return steps[-1] == message


def parse_record(seq: int, raw: bytes) -> BundledRecord | str:
    """The record in ``raw`` (``records/<seq>.record``), or why it is not one."""
    if not raw.startswith(RECORD_PREFIX):
        return "not a ledger record (no record prefix)"
    body_bytes = raw[len(RECORD_PREFIX):]
    try:
        body = json.loads(body_bytes)
        canonical = canonical_json(body)
    except (ValueError, TypeError, RecursionError):
        return "body is not JSON"
    if canonical != body_bytes:
        return "body is not canonical JSON (the hashed bytes are ambiguous)"
    if not isinstance(body, dict) or set(body) != _BODY_KEYS:
        return "body is not a ledger record object"
    fields_ok = (body["v"] == FORMAT_VERSION and type(body["seq"]) is int
                 and isinstance(body["kind"], str) and isinstance(body["time"], str)
                 and (body["subject"] is None or isinstance(body["subject"], str))
                 and is_sha256_hex(body["prev"]) and isinstance(body["data"], dict))
    if not fields_ok:
        return "a field of the record has the wrong type"
    if body["seq"] != seq:
        return f"holds record {body['seq']}, not {seq}"
    return BundledRecord(seq, body["kind"], body["subject"], body["prev"], body["data"],
                         hashlib.sha256(raw).hexdigest(), raw, body["time"])


def parse_chain(raw: bytes) -> tuple[list[tuple[int, str, str, str]], list[str]]:
    """``chain.tsv``'s rows, and what is wrong with it (rows must be contiguous links)."""
    try:
        lines = raw.decode("utf-8").split("\n")  # as cut, awk and a reader's eye split it
    except UnicodeDecodeError:
        return [], ["not UTF-8 text"]
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != CHAIN_HEADER:
        return [], ["no header line"]
    rows: list[tuple[int, str, str, str]] = []
    for n, line in enumerate(lines[1:], 2):
        parts = line.split("\t")
        if (len(parts) != 4 or not re.fullmatch(r"[1-9][0-9]{0,17}", parts[0])
                or not parts[1].isprintable()
                or not is_sha256_hex(parts[2]) or not is_sha256_hex(parts[3])):
            return [], [f"line {n} is not 'seq, kind, record hash, previous hash'"]
        row = (int(parts[0]), parts[1], parts[2], parts[3])
        if rows and (row[0] != rows[-1][0] + 1 or row[3] != rows[-1][2]):
            return [], [f"line {n}: record {row[0]} does not link to the line before it"]
        if row[0] == 1 and row[3] != GENESIS:
            return [], ["record 1 names a previous record"]
        rows.append(row)
    if not rows:
        return [], ["no links"]
    return rows, []
