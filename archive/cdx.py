"""CDX rows: what a Wayback-style index says it holds for a URL.

Both witnesses answer in JSON but in two shapes:

* the Internet Archive (``/cdx/search/cdx?output=json``): a list of lists whose first row
  names the fields (``urlkey, timestamp, original, mimetype, statuscode, digest, length``);
* pywb (``/<coll>/cdx?output=json``): one JSON object per line with ``timestamp``, ``url``,
  ``mime``, ``status``, ``digest``, ``length``.

* the Internet Archive's default text output: space-separated ``urlkey timestamp original
  mimetype statuscode digest length``.

:func:`parse_cdx_json` reads either JSON shape into :class:`CdxRow`; :func:`parse_cdx_page`
reads any of the three, with the resume key the Internet Archive adds after a page when
asked (``showResumeKey=true``: a blank line, or an empty JSON row, then the key). The real
index repeats rows (the same capture listed from several index shards):
:func:`collapse_duplicates` keeps one of each. A CDX ``digest`` is the SHA-1 of
the payload in base32, as the index keeps it; it is reported, never trusted for agreement
(that is what fetching the raw copy and hashing it with SHA-256 is for).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from archive.errors import WitnessError

_IA_NAMES = {"original": "original", "url": "original", "mimetype": "mimetype",
             "mime": "mimetype", "statuscode": "statuscode", "status": "statuscode",
             "digest": "digest", "length": "length", "timestamp": "timestamp"}


@dataclass(frozen=True)
class CdxRow:
    """One snapshot in a witness's index."""

    timestamp: str  # 14 digits, UTC, as the index writes it
    original: str
    statuscode: int | None
    digest: str | None
    mimetype: str | None
    length: int | None
    memento: str | None = None  # the memento URL, when the source named it (a TimeMap)

    @property
    def captured_at(self) -> str:
        return ts_to_rfc3339(self.timestamp)

    def to_json(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "captured_at": self.captured_at,
            "original": self.original,
            "statuscode": self.statuscode,
            "digest": self.digest,
            "mimetype": self.mimetype,
            "length": self.length,
            **({"memento": self.memento} if self.memento else {}),
        }


@dataclass(frozen=True)
class CdxPage:
    """One answer of a CDX server: its rows and, if there are more, the key to go on."""

    rows: list[CdxRow] = field(default_factory=list)
    resume_key: str | None = None


TEXT_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")


def collapse_duplicates(rows: Iterable[CdxRow]) -> list[CdxRow]:
    """One row per capture (timestamp, URL and digest), oldest first, first one kept."""
    seen: set[tuple[str, str, str | None]] = set()
    kept = []
    for row in rows:
        key = (row.timestamp, row.original, row.digest if row.digest else repr(row))
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return sorted(kept, key=lambda row: row.timestamp)


def parse_cdx_page(text: str, *, source: str = "CDX server") -> CdxPage:
    """Rows and resume key from JSON (either shape) or the Internet Archive's text output."""
    body = text.strip()
    if not body:
        return CdxPage()
    if body.startswith("[") or body.startswith("{"):
        return _json_page(body, source)
    lines = body.splitlines()
    resume = None
    if len(lines) >= 2 and not lines[-2].strip() and len(lines[-1].split()) == 1:
        resume, lines = lines[-1].strip(), lines[:-2]
    rows = []
    for line in lines:
        values = line.split()
        if not values:
            continue
        if len(values) != len(TEXT_FIELDS):
            raise WitnessError(f"{source} sent an unreadable CDX line ({line[:80]!r})")
        rows.append(_row(dict(zip(TEXT_FIELDS, values, strict=True))))
    return CdxPage(sorted((r for r in rows if r is not None), key=lambda r: r.timestamp),
                   resume)


def _json_page(body: str, source: str) -> CdxPage:
    if not body.startswith("["):
        return CdxPage(parse_cdx_json(body, source=source))
    try:
        table = json.loads(body)
    except ValueError as exc:
        raise WitnessError(f"{source} sent an unreadable CDX answer ({exc})") from None
    resume = None
    if (isinstance(table, list) and len(table) >= 2 and table[-2] == []
            and isinstance(table[-1], list) and len(table[-1]) == 1):
        resume, table = str(table[-1][0]), table[:-2]
    return CdxPage(parse_cdx_json(json.dumps(table), source=source), resume)


def ts_to_rfc3339(ts: str) -> str:
    """``20220321140307`` → ``2022-03-21T14:03:07Z`` (a short timestamp is padded as CDX does)."""
    digits = (ts or "").strip()
    if not digits.isdigit() or not 4 <= len(digits) <= 14:
        raise ValueError(f"not a Wayback timestamp: {ts!r}")
    digits = digits + "0101000000"[len(digits) - 4:] if len(digits) < 14 else digits
    parsed = datetime.strptime(digits, "%Y%m%d%H%M%S")
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_to_ts(value: str) -> str:
    """``2022-03-21T14:03:07Z`` (or any ISO 8601 with offset) → ``20220321140307`` in UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None  # IA writes "-" for revisits and unknown lengths


def _real_time(ts: str) -> bool:
    """A timestamp that names a real time (``20221301000000``, month 13, names none: such a
    row is no snapshot, and its time could not be shown)."""
    try:
        ts_to_rfc3339(ts)
    except ValueError:
        return False
    return True


def _row(fields: dict[str, Any]) -> CdxRow | None:
    named = {_IA_NAMES[k]: v for k, v in fields.items() if k in _IA_NAMES}
    ts, original = str(named.get("timestamp") or ""), named.get("original")
    if not original or not _real_time(ts):
        return None
    digest = named.get("digest")
    mime = named.get("mimetype")
    return CdxRow(
        timestamp=ts,
        original=str(original),
        statuscode=_int_or_none(named.get("statuscode")),
        digest=str(digest) if digest not in (None, "", "-") else None,
        mimetype=str(mime) if mime not in (None, "", "-", "unk") else None,  # unk: unknown
        length=_int_or_none(named.get("length")),
    )


def parse_cdx_json(text: str, *, source: str = "CDX server") -> list[CdxRow]:
    """Rows from either JSON shape, oldest first; unusable rows (no URL, a timestamp that
    names no real time) are dropped."""
    text = text.strip()
    if not text:
        return []
    rows: list[CdxRow | None] = []
    try:
        if text.startswith("["):
            table = json.loads(text)
            if not table:
                return []
            header = [str(h) for h in table[0]]
            rows = [_row(dict(zip(header, values, strict=False))) for values in table[1:]]
        else:
            rows = [_row(json.loads(line)) for line in text.splitlines() if line.strip()]
    except (ValueError, TypeError, AttributeError) as exc:
        raise WitnessError(f"{source} sent an unreadable CDX answer ({exc})") from None
    found = [row for row in rows if row is not None]
    return sorted(found, key=lambda row: row.timestamp)
