"""A screenshot against every copy of a page: our captures and the archives' snapshots.

"Did this page ever show what the screenshot shows?" For a page withdrawn before anyone
captured it, the answer is in the witness archives. :func:`check_across` compares the
screenshot's text with every local capture of the URL and every snapshot the witnesses'
indexes list (each kept as a ``snapshot`` record, :mod:`provenance.capture.snapshots`, so
it is fetched once and the answer can be checked offline later), oldest first.

The verdict is ``match`` when at least one copy shows it with every figure and word equal
(:attr:`Across.best` names that copy), ``mismatch`` when the closest copy differs, and
``absent`` when no copy shows it. An archive that cannot be read (down, slow, excluded,
garbage) is one line in :attr:`Across.errors`: it never turns into a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archive.errors import ArchiveError, WitnessError
from archive.memento import ExcludedByArchive, NotArchived
from archive.witness import WitnessConfig, WitnessSpec, shared_witness
from provenance.capture.rendered import SERVER_TEXT, text_role
from provenance.capture.snapshots import keep_snapshot, subject_of
from provenance.changes.timeline import (
    blocked,
    capture_text,
    not_blocked_note,
    server_failed,
)
from provenance.screens.chrome import page_chrome
from provenance.screens.match import Verification
from provenance.screens.pagetext import PageShown
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE, SNAPSHOT
from provenance.store.ledger import Ledger, Record

LOCAL = "local"


def capture_ref(record: Record) -> dict[str, Any]:
    """How a verification names a capture of ours it compared with: enough (id, fetch
    time, status, body and text hashes) for a report to stand alone, and which of its
    texts it was compared by when that is not the server's (``--against`` an id or a URL
    alike: the one place this is decided)."""
    data = record.data
    ref: dict[str, Any] = {
        "kind": "page", "capture": record.id, "seq": record.seq,
        "url": data.get("url"), "fetched_at": data.get("fetched_at"),
        "http_status": data.get("http_status"), "sha256": data.get("sha256"),
        "text_sha256": data.get("text_sha256")}
    role = text_role(data)
    if role != SERVER_TEXT:  # compared with the text of its --browser render
        ref["compared_text"] = role
    return ref


@dataclass
class Copy:
    """One copy of the page and what the screenshot's check against it found."""

    record: Record
    verification: Verification | None  # None: its stored text is missing or altered
    not_compared: str | None = None  # it is a bot check or captcha, not the page (why)

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def source(self) -> str:
        return LOCAL if self.kind == CAPTURE else str(self.record.data.get("archive"))

    @property
    def time(self) -> str:
        data = self.record.data
        return str(data.get("fetched_at") if self.kind == CAPTURE
                   else data.get("memento_datetime"))

    @property
    def verdict(self) -> str | None:
        """None when not checked, or when the copy is a bot check (neither shown nor not)."""
        if self.verification is None or self.not_compared:
            return None
        return self.verification.verdict

    def ref(self) -> dict[str, Any]:
        """How a verification names the copy (seq + hash: export carries it)."""
        ref = {"kind": self.kind, "seq": self.record.seq,
               "record_hash": self.record.record_hash,
               "text_sha256": self.record.data.get("text_sha256")}
        role = text_role(self.record.data) if self.kind == CAPTURE else SERVER_TEXT
        if role != SERVER_TEXT:  # as capture_ref says it
            ref["compared_text"] = role
        return ref

    def against(self) -> dict[str, Any]:
        """The verification record's ``against`` for this copy."""
        data = self.record.data
        if self.kind == CAPTURE:
            return capture_ref(self.record)
        return {"kind": SNAPSHOT, "snapshot": self.record.id, "seq": self.record.seq,
                "url": data.get("url"), "source": data.get("archive"),
                "memento_url": data.get("memento_url"),
                "memento_datetime": data.get("memento_datetime"),
                "http_status": data.get("http_status"),
                "sha256": data.get("sha256"), "cdx_digest": data.get("cdx_digest"),
                "digest_agrees": data.get("digest_agrees"),
                "text_sha256": data.get("text_sha256")}

    def to_json(self) -> dict[str, Any]:
        data = self.record.data
        row: dict[str, Any] = {
            "source": self.source, "kind": self.kind, "id": self.record.id,
            "seq": self.record.seq, "record_hash": self.record.record_hash,
            "time": self.time, "http_status": data.get("http_status"),
            "sha256": data.get("sha256"), "text_sha256": data.get("text_sha256"),
            "verdict": self.verdict, "score": None, "found": None}
        if self.kind == SNAPSHOT:
            row["memento_url"] = data.get("memento_url")
            row["digest_agrees"] = data.get("digest_agrees")
        if self.not_compared:
            row["not_compared"] = self.not_compared
        elif self.verification is not None:
            row.update(score=round(float(self.verification.score), 3),
                       found=self.verification.found)
        return row


@dataclass
class Across:
    """Every copy checked, oldest first; the archives that could not be read."""

    url: str
    copies: list[Copy] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "could not check ia: …"
    kept: list[Record] = field(default_factory=list)  # snapshots fetched and kept now

    @property
    def best(self) -> Copy | None:
        """The copy the verdict rests on: a match (our own capture first, then the oldest),
        else the closest mismatch, else the closest copy."""
        checked = [c for c in self.copies if c.verification is not None]
        # a bot check or captcha is the verdict's copy only when no copy is the page (and
        # verify says so before the verdict)
        checked = [c for c in checked if not c.not_compared] or checked
        for verdict in ("match", "mismatch", "absent"):
            same = [c for c in checked if c.verification is not None
                    and c.verification.verdict == verdict]
            if same:
                if verdict == "match":
                    return next((c for c in same if c.kind == CAPTURE), same[0])
                return max(same, key=_score)
        return None

    def timeline(self) -> dict[str, Any]:
        """The screenshot across all copies, as verify's JSON and report show it."""
        rows = [c.to_json() for c in self.copies]
        shown = [r for r in rows if r["verdict"] == "match"]
        last = max((i for i, r in enumerate(rows) if r["verdict"] == "match"), default=None)
        after = rows[last + 1:] if last is not None else []
        gone = next((r for r in after if r["verdict"] in ("absent", "mismatch")
                     and not server_failed(r.get("http_status"))), None)  # an outage: no
        return {"url": self.url, "captures": rows, "copies": len(rows),
                "shown": [r["time"] for r in shown],
                "first_shown": shown[0]["time"] if shown else None,
                "last_shown": shown[-1]["time"] if shown else None,
                "absent_since": gone["time"] if gone else None,
                "could_not_check": list(self.errors),
                "summary": summary(rows, last)}


def _score(copy: Copy) -> float:
    return float(copy.verification.score) if copy.verification is not None else -1.0


def _at(row: Mapping[str, Any]) -> str:
    """"ia 2022-03-20T16:12:45Z"; our own captures by time alone."""
    return row["time"] if row["source"] == LOCAL else f"{row['source']} {row['time']}"


def _error_status(row: Mapping[str, Any]) -> bool:
    status = row.get("http_status")
    return isinstance(status, int) and status >= 400


def summary(rows: Sequence[Mapping[str, Any]], last_shown: int | None) -> str:
    """"shown in ia T1 (1 of 3 copies); not shown from ia T2 on; 404 from T3"."""
    if not rows:
        return "no copies of this URL"
    shown = [r for r in rows if r["verdict"] == "match"]
    if last_shown is None:
        text = f"not shown in any of {len(rows)} copies"
        failed = next((r for r in rows if _error_status(r)), None)
        return text + (f"; {failed['http_status']} from {_at(failed)}" if failed else "")
    first = shown[0]
    span = _at(first) if len(shown) == 1 else f"{_at(first)} to {_at(shown[-1])}"
    where = "in " if first["source"] != LOCAL else "at "
    parts = [f"shown {where}{span} ({len(shown)} of {len(rows)} copies)"]
    after = list(rows[last_shown + 1:])
    gone = next((r for r in after if r["verdict"] in ("absent", "mismatch")
                 and not _error_status(r)), None)
    if gone is not None:
        parts.append(f"not shown from {_at(gone)} on")
    failed = next((r for r in after if _error_status(r)), None)
    if failed is not None:
        parts.append(f"{failed['http_status']} from {_at(failed)}")
    return "; ".join(parts)


def keep_all_snapshots(store: Store, ledger: Ledger, url: str, specs: Sequence[WitnessSpec],
                       *, config: WitnessConfig | None = None,
                       env: Mapping[str, str] | None = None,
                       ) -> tuple[list[Record], list[Record], list[str]]:
    """Every snapshot of ``url`` the witnesses' indexes list, kept (fetched only if never
    kept before). Returns ``(records, fetched now, errors)``. A witness that fails to
    answer is given up after its first failure (one ``could not check`` line, never a
    hang); an excluded or missing single copy is one line and the rest are read."""
    url = subject_of(url)
    found: list[Record] = []
    fresh: list[Record] = []
    errors: list[str] = []
    for spec in specs:
        try:
            witness = shared_witness(spec, config, env)
            rows = witness.snapshots(url)
        except ArchiveError as exc:
            errors.append(f"could not check {spec.name}: {exc}")
            continue
        for row in rows:
            try:
                record, new = keep_snapshot(store, ledger, witness, row, subject=url)
            except (ExcludedByArchive, NotArchived) as exc:
                errors.append(f"could not check {spec.name} {row.captured_at}: {exc}")
                continue
            except WitnessError as exc:
                if not exc.retryable:  # this copy is wrong (another snapshot served...)
                    errors.append(f"could not check {spec.name} {row.captured_at}: {exc}")
                    continue
                errors.append(f"could not check {spec.name}: {exc}")
                break  # down, slow or throttling: the rest would cost as much each
            except ArchiveError as exc:
                errors.append(f"could not check {spec.name} {row.captured_at}: {exc}")
                continue
            found.append(record)
            if new:
                fresh.append(record)
    return found, fresh, errors


def check_across(store: Store, ledger: Ledger, check: Callable[[str, PageShown], Verification],
                 url: str,
                 specs: Sequence[WitnessSpec], *, config: WitnessConfig | None = None,
                 env: Mapping[str, str] | None = None) -> Across:
    """``check(page_text, chrome)`` (:func:`page_chrome`) on every local capture and every
    archive copy of ``url`` (those kept before included, so it also answers offline),
    oldest first."""
    url = subject_of(url)
    records: dict[int, Record] = {r.seq: r for r in ledger.records(kind=CAPTURE, subject=url)}
    kept, fresh, errors = keep_all_snapshots(store, ledger, url, specs, config=config, env=env)
    for record in [*ledger.records(kind=SNAPSHOT, subject=url), *kept]:
        records[record.seq] = record
    across = Across(url=url, errors=errors, kept=fresh)
    for record in records.values():
        text = capture_text(store, record)
        # A bot check or captcha is not the page: its row is never "not shown" (an outage
        # is checked all the same, and never counts as gone: see Across.timeline)
        status = record.data.get("http_status")
        wall = None if server_failed(status) else blocked(record.data, text)
        across.copies.append(Copy(record, None if text is None
                                  else check(text, page_chrome(store, record)),
                                  not_blocked_note(wall) if wall is not None else None))
    across.copies.sort(key=lambda c: (c.time, c.kind != SNAPSHOT, c.record.seq))
    return across
