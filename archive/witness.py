"""Witness archives behind one interface: ``--to`` specs, submitting, snapshots.

A *witness* is an archive run by someone else (the Internet Archive) or at least outside
our store (a newsroom's pywb) that keeps its own copy of a page. ``--to`` names them::

    ia              the Internet Archive's Wayback Machine (PROVENANCE_WAYBACK overrides its URL)
    pywb=BASE       a pywb collection in record mode, e.g. pywb=http://127.0.0.1:8080/news
    memento=BASE    any Memento archive's TimeMaps (BASE + URL), read only, e.g.
                    memento=https://archive.ph/timemap/link/ (archive.timemap)
    none            no witness

:func:`submit` asks a witness to archive a URL and, once it answers, fetches the witness's
raw copy and hashes it (``raw_sha256``, Content-Encoding undone) so the caller can tell
whether the witness holds what we captured. It never raises for a witness that is down,
slow or refusing: that is a result with ``status`` ``pending`` / ``unknown`` / ``failed``
and a one-line ``error``; ``retryable`` says whether asking again later may help.

A snapshot counts as ``archived`` only if it was made within a window around our capture
(:mod:`archive.window`): a witness that names an older snapshot gives ``stale``, a much
later one ``late``, each with the snapshot's time and how far it is from ours.

Every request has a total deadline and a body cap (:class:`~archive.deadline.BoundedSession`,
``total_timeout``, ``max_body``), and one page's whole submission (save, job polling, raw
copy, waits between tries) has one too (``submit_deadline``): a witness that drips, never
stops or keeps a job pending cannot hold a run longer than that.

Clients are cached per spec, configuration, base URL and keys, so every thread (and every
call) sending to one witness shares its rate limiter.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from archive.cdx import CdxRow, ts_to_rfc3339
from archive.deadline import BoundedSession, Deadline
from archive.errors import ArchiveError, WitnessError
from archive.fetch import Fetcher
from archive.memento import (
    ARCHIVED,
    DEFAULT_MAX_RAW,
    LATE,
    STALE,
    STATUSES,
    UNKNOWN,
    Submission,
    ts_from_url,
    ts_to_datetime,
)
from archive.pywb import PywbClient
from archive.pywb import raw_url as pywb_raw_url
from archive.ratelimit import (
    IA_ANONYMOUS_INTERVAL,
    IA_KEYED_INTERVAL,
    IA_POLL_INTERVAL,
    IA_READ_INTERVAL,
    Backoff,
    RateLimiter,
    Throttle,
)
from archive.snapshot import SnapshotCopy, SnapshotRef, fetch_snapshot
from archive.timemap import MementoClient, raw_memento_url
from archive.wayback import Keys, WaybackClient, resolve_base
from archive.wayback import raw_url as wayback_raw_url
from archive.window import WINDOW_ENV, BadWindow, SnapshotWindow, Timing, describe

__all__ = [
    "BadWitnessSpec", "STATUSES", "Witness", "WitnessConfig", "WitnessResult", "WitnessSpec",
    "open_witness", "parse_specs", "submit",
]


IA_INTERVAL_ENV = "PROVENANCE_IA_INTERVAL"
IA_READ_INTERVAL_ENV = "PROVENANCE_IA_READ_INTERVAL"
TRIES_ENV = "PROVENANCE_WITNESS_TRIES"
DEADLINE_ENV = "PROVENANCE_WITNESS_DEADLINE"


class BadWitnessSpec(ArchiveError, ValueError):
    """A ``--to`` value that names no witness we know (a usage error)."""


@dataclass(frozen=True)
class WitnessSpec:
    """A parsed ``--to`` value."""

    kind: str  # "ia" | "pywb" | "memento" | "none"
    base: str | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}={self.base}" if self.kind in ("pywb", "memento") else self.kind

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, text: str) -> WitnessSpec:
        value = (text or "").strip()
        lowered = value.lower()
        if lowered in ("ia", "none"):
            return cls(lowered)
        if lowered.startswith("pywb="):
            base = value[5:].strip().rstrip("/")
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise BadWitnessSpec(
                    f"{value}: pywb needs a collection URL, e.g. pywb=http://127.0.0.1:8080/news")
            if parts.path.strip("/") == "" or parts.query or parts.fragment:
                raise BadWitnessSpec(
                    f"{value}: name the collection too, e.g. pywb={base}/news")
            return cls("pywb", base)
        if lowered.startswith("memento="):
            base = value[8:].strip()
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
                raise BadWitnessSpec(f"{value}: memento needs a TimeMap URL prefix, e.g. "
                                     "memento=https://archive.ph/timemap/link/")
            return cls("memento", base)
        if lowered == "pywb":
            raise BadWitnessSpec("pywb needs a collection URL: pywb=http://HOST:PORT/COLL")
        raise BadWitnessSpec(f"{value!r}: unknown witness (use ia, pywb=BASE, memento=BASE "
                             "or none)")


def parse_specs(values: Iterable[str] | None, *, default: str = "ia") -> list[WitnessSpec]:
    """Every ``--to``; none given means ``default``; ``none`` means no witness at all."""
    given = list(values or [default])
    specs = [WitnessSpec.parse(value) for value in given]
    if any(spec.kind == "none" for spec in specs):
        if len(specs) > 1:
            raise BadWitnessSpec("none cannot be combined with other witnesses")
        return []
    unique: list[WitnessSpec] = []
    for spec in specs:
        if spec not in unique:
            unique.append(spec)
    return unique


@dataclass(frozen=True)
class WitnessResult:
    """What one witness did with one URL."""

    name: str
    status: str  # archived | pending | failed | unknown | stale | late
    url: str | None = None  # the memento
    archived_at: str | None = None  # RFC 3339 UTC
    error: str | None = None  # one line, or None
    raw_sha256: str | None = None  # of the witness's raw payload; None if it could not be read
    retryable: bool = False
    retry_after: float | None = None
    raw_url: str | None = None
    job_id: str | None = None
    window: SnapshotWindow | None = None  # the window the snapshot was checked against
    offset_seconds: float | None = None  # the snapshot's time minus our capture's

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "url": self.url,
            "archived_at": self.archived_at, "error": self.error,
            "raw_sha256": self.raw_sha256, "retryable": self.retryable,
            "window_seconds": self.window.to_json() if self.window else None,
            "offset_seconds": self.offset_seconds,
        }


@dataclass(frozen=True)
class WitnessConfig:
    """How to talk to witnesses; the defaults respect the Internet Archive's limits."""

    timeout: Any = (10, 120)
    total_timeout: float = 180.0  # one request, whatever the server drips (archive.deadline)
    max_body: int = DEFAULT_MAX_RAW
    submit_deadline: float = 900.0  # one page's whole submission: save, job, raw copy
    window: SnapshotWindow = field(default_factory=SnapshotWindow)
    session: requests.Session | None = None
    ia_keys: Keys | None = None  # None: Keys.load (environment, then config file)
    ia_save_interval: float | None = None  # None: 5 s with keys, 10 s without (ratelimit.py)
    ia_read_interval: float = IA_READ_INTERVAL
    ia_poll_interval: float = IA_POLL_INTERVAL
    ia_job_deadline: float = 600.0
    pywb_interval: float = 0.0
    pywb_confirm_deadline: float = 45.0
    pywb_confirm_interval: float = 0.5
    backoff: Backoff = field(default_factory=Backoff)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WitnessConfig:
        """Defaults, with ``PROVENANCE_IA_INTERVAL`` (seconds between Internet Archive saves),
        ``PROVENANCE_IA_READ_INTERVAL`` (seconds between its reads: raw copies, CDX,
        availability), ``PROVENANCE_WITNESS_TRIES`` (tries per request before a
        submission stays pending), ``PROVENANCE_WITNESS_DEADLINE`` (seconds one page's
        submission may take in all) and ``PROVENANCE_WITNESS_WINDOW`` (``BEFORE,AFTER``
        seconds around our capture in which a snapshot counts) when set."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, key in ((IA_INTERVAL_ENV, "ia_save_interval"),
                          (IA_READ_INTERVAL_ENV, "ia_read_interval"),
                          (DEADLINE_ENV, "submit_deadline")):
            text = env.get(name, "").strip()
            if not text:
                continue
            try:
                values[key] = float(text)
            except ValueError:
                values[key] = -1.0
            if not 0 <= values[key] < float("inf") or (key == "submit_deadline"
                                                      and values[key] == 0):
                raise BadWitnessSpec(f"{name}={text!r}: give seconds, e.g. 10")
        window = env.get(WINDOW_ENV, "").strip()
        if window:
            try:
                values["window"] = SnapshotWindow.parse(window)
            except BadWindow as exc:
                raise BadWitnessSpec(str(exc)) from None
        tries = env.get(TRIES_ENV, "").strip()
        if tries:
            if not tries.isdigit() or int(tries) < 1:
                raise BadWitnessSpec(f"{TRIES_ENV}={tries!r}: give a whole number of at least 1")
            values["backoff"] = Backoff(tries=int(tries))
        return cls(**values)

    def with_request_timeout(self, seconds: float) -> WitnessConfig:
        """Each witness request: connect within min(10, ``seconds``), done within ``seconds``
        in all (``--timeout``)."""
        return replace(self, timeout=(min(10.0, seconds), seconds), total_timeout=seconds)


class Witness:
    """One witness client: submit URLs, list snapshots, fetch raw copies."""

    def __init__(self, spec: WitnessSpec, client: WaybackClient | PywbClient | MementoClient, *,
                 window: SnapshotWindow | None = None,
                 submit_deadline: float = WitnessConfig.submit_deadline,
                 fetcher: Fetcher | None = None) -> None:
        self.spec = spec
        self.client = client
        self.window = window or SnapshotWindow()
        self.submit_deadline = submit_deadline
        self.fetcher = fetcher or Fetcher(max_bytes=DEFAULT_MAX_RAW)

    @property
    def name(self) -> str:
        return self.spec.name

    def submit(self, url: str, *, captured_at: datetime | None = None,
               status: int | None = None) -> WitnessResult:
        """Archive ``url`` now, then hash the witness's raw copy of that snapshot.

        The snapshot counts only within :attr:`window` of ``captured_at`` (our capture's
        time; None: now). ``status``: the HTTP status our capture ended with; a copy that
        answered another (the redirect we followed, a 404 where we had a 200) is not
        compared: equal bytes would not make it the same answer. Everything, waits
        included, ends within :attr:`submit_deadline`.
        """
        with Deadline(self.submit_deadline):
            sub = self.client.save(url)
            return self._result(sub, url, captured_at, status)

    def _result(self, sub: Submission, url: str, captured_at: datetime | None,
                status: int | None = None) -> WitnessResult:
        snapshot = ts_to_datetime(sub.timestamp) if sub.timestamp else None
        archived_at = ts_to_rfc3339(sub.timestamp) if snapshot and sub.timestamp else None
        common: dict[str, Any] = {"name": self.name, "url": sub.url, "archived_at": archived_at,
                  "job_id": sub.job_id, "window": self.window}
        if sub.status != ARCHIVED or not sub.timestamp:
            return WitnessResult(status=sub.status, error=sub.error, retryable=sub.retryable,
                                 retry_after=sub.retry_after, **common)
        if snapshot is None:
            return WitnessResult(status=UNKNOWN, retryable=True, error=(
                f"{self.name} named a snapshot at an impossible time ({sub.timestamp!r})"),
                **common)
        now = datetime.now(timezone.utc)
        ours = captured_at or now
        offset = round((snapshot - ours).total_seconds(), 3)
        timing = self.window.place(snapshot, ours, now)
        if timing is not Timing.WITHIN:
            return self._outside(timing, offset, archived_at or "", common)
        common["offset_seconds"] = offset
        raw_url = self.client.raw_url(sub.timestamp, sub.original or url)
        try:
            raw = self.client.raw(sub.timestamp, sub.original or url)
        except WitnessError as exc:
            return WitnessResult(status=ARCHIVED, raw_url=raw_url,
                                 error=f"archived, but its copy could not be read: {exc}",
                                 **common)
        if status is not None and raw.status != status:
            return WitnessResult(status=ARCHIVED, raw_url=raw_url, error=(
                f"archived, but its copy answered HTTP {raw.status} where ours answered "
                f"HTTP {status}: not compared"), **common)
        return WitnessResult(status=ARCHIVED, raw_sha256=raw.sha256, raw_url=raw_url, **common)

    def _outside(self, timing: Timing, offset: float, when: str, common: dict[str, Any]
                 ) -> WitnessResult:
        """A snapshot outside the window: say what it is; never ``archived``, never compared."""
        window = (f"outside the window of {describe(-self.window.before)} to "
                  f"{describe(self.window.after)} our capture")
        if timing is Timing.FUTURE:
            return WitnessResult(status=UNKNOWN, retryable=True, offset_seconds=offset, error=(
                f"{self.name} named a snapshot made in the future ({when}): not a copy"),
                **common)
        if timing is Timing.BEFORE:
            return WitnessResult(status=STALE, retryable=True, offset_seconds=offset, error=(
                f"{self.name} named an older snapshot ({when}, {describe(offset)} our "
                f"capture, {window}): not a copy of ours; asking again may get a fresh one"),
                **common)
        return WitnessResult(status=LATE, retryable=False, offset_seconds=offset, error=(
            f"{self.name} made its copy at {when}, {describe(offset)} our capture "
            f"({window}): not a witness of it"), **common)

    def snapshots(self, url: str, *, since: str | None = None,
                  until: str | None = None) -> list[CdxRow]:
        """The witness's index rows for ``url``, oldest first (raises WitnessError).

        ``since``/``until`` (4 to 14 digits, UTC, both included) are passed to the index
        where its protocol takes a range (CDX ``from``/``to``) and applied here too: an
        index that ignores them, or pads a short bound otherwise, never widens the range."""
        for bound in (since, until):
            if bound is not None and (not bound.isdigit() or not 4 <= len(bound) <= 14):
                raise ValueError(f"not a 4 to 14 digit timestamp: {bound!r}")
        rows = self.client.snapshots(url, since=since, until=until)
        low, high = (since or "").ljust(14, "0"), (until or "").ljust(14, "9")
        return [row for row in rows if low <= row.timestamp.ljust(14, "0") <= high]

    @property
    def read_throttle(self) -> Throttle:
        """The rate limiter and backoff every read of this witness shares (index, copies)."""
        return (self.client.read_throttle if isinstance(self.client, WaybackClient)
                else self.client.throttle)

    def snapshot_url(self, row: CdxRow) -> str:
        if row.memento:
            return row.memento
        if isinstance(self.client, WaybackClient):
            return f"{self.client.base}/web/{row.timestamp}/{row.original}"
        return f"{self.client.base}/{row.timestamp}/{row.original}"

    def snapshot_ref(self, row: CdxRow) -> SnapshotRef:
        """Which copy :meth:`fetch_snapshot` fetches for an index row."""
        return SnapshotRef(archive=self.name, original=row.original, timestamp=row.timestamp,
                           memento_url=self.snapshot_url(row),
                           raw_url=(raw_memento_url(row.memento) if row.memento else
                                    self.client.raw_url(row.timestamp, row.original)),
                           cdx_digest=row.digest)

    def fetch_snapshot(self, row: CdxRow) -> SnapshotCopy:
        """The raw copy of ``row``, kept as evidence (:func:`archive.snapshot.fetch_snapshot`),
        at this witness's read rate. Raises ExcludedByArchive, NotArchived, WitnessError."""
        return fetch_snapshot(self.snapshot_ref(row), fetcher=self.fetcher,
                              limiter=self.read_throttle.limiter)


def open_witness(spec: WitnessSpec, config: WitnessConfig | None = None,
                 env: Mapping[str, str] | None = None) -> Witness:
    """A new client for ``spec`` (use :func:`shared_witness` to share its rate limiter)."""
    config = config or WitnessConfig()
    env = os.environ if env is None else env
    session = config.session or BoundedSession(total_timeout=config.total_timeout,
                                               max_body=config.max_body)
    if spec.kind == "ia":
        keys = config.ia_keys or Keys.load(env)
        save_throttle = None
        if config.ia_save_interval is not None:
            save_throttle = Throttle(RateLimiter(config.ia_save_interval), config.backoff)
        client: WaybackClient | PywbClient | MementoClient = WaybackClient(
            resolve_base(None, env), session=session, keys=keys, timeout=config.timeout,
            save_throttle=save_throttle or _default_ia_throttle(keys, config.backoff),
            read_throttle=Throttle(RateLimiter(config.ia_read_interval), config.backoff),
            poll_interval=config.ia_poll_interval, job_deadline=config.ia_job_deadline)
    elif spec.kind == "pywb" and spec.base:
        client = PywbClient(
            spec.base, session=session, timeout=config.timeout,
            throttle=Throttle(RateLimiter(config.pywb_interval), config.backoff),
            confirm_deadline=config.pywb_confirm_deadline,
            confirm_interval=config.pywb_confirm_interval)
    elif spec.kind == "memento" and spec.base:
        client = MementoClient(spec.base, session=session, timeout=config.timeout,
                               throttle=Throttle(RateLimiter(config.ia_read_interval),
                                                 config.backoff))
    else:
        raise BadWitnessSpec(f"witness {spec.name}: nothing to send to")
    connect, read = config.timeout if isinstance(config.timeout, tuple) else (10.0,
                                                                              config.timeout)
    fetcher = Fetcher(connect_timeout=connect, read_timeout=read,
                      total_timeout=config.total_timeout, max_bytes=config.max_body)
    return Witness(spec, client, window=config.window, submit_deadline=config.submit_deadline,
                   fetcher=fetcher)


def _default_ia_throttle(keys: Keys | None, backoff: Backoff) -> Throttle:
    return Throttle(RateLimiter(IA_KEYED_INTERVAL if keys else IA_ANONYMOUS_INTERVAL), backoff)


_shared: dict[tuple[Any, ...], Witness] = {}
_shared_lock = threading.Lock()


def shared_witness(spec: WitnessSpec, config: WitnessConfig | None = None,
                   env: Mapping[str, str] | None = None) -> Witness:
    """The process's one client for this witness (same base URL, keys and configuration).

    Without ``config``, :meth:`WitnessConfig.from_env`."""
    env = os.environ if env is None else env
    config = config or WitnessConfig.from_env(env)
    key = (spec, config, resolve_base(None, env) if spec.kind == "ia" else None,
           (config.ia_keys or Keys.load(env)) if spec.kind == "ia" else None)
    with _shared_lock:
        witness = _shared.get(key)
        if witness is None:
            witness = _shared[key] = open_witness(spec, config, env)
        return witness


def submit(spec: WitnessSpec | str, url: str, *, config: WitnessConfig | None = None,
           env: Mapping[str, str] | None = None,
           captured_at: datetime | None = None, status: int | None = None) -> WitnessResult:
    """Send ``url`` to one witness and hash its raw copy; never raises for a witness failure.

    ``captured_at``: the time of the capture the witness's copy must match (default now);
    ``status``: the HTTP status that capture ended with (:meth:`Witness.submit`)."""
    if isinstance(spec, str):
        spec = WitnessSpec.parse(spec)
    return shared_witness(spec, config, env).submit(url, captured_at=captured_at,
                                                    status=status)


def raw_copy_url(spec: WitnessSpec, snapshot_url: str | None) -> str | None:
    """The raw (``id_``) copy of a snapshot a witness named, built as the witness's client
    builds it to hash the copy, so a reader can fetch and hash the same bytes; None if the
    URL is not a snapshot URL of that witness (or is already the raw one)."""
    found = ts_from_url(snapshot_url)
    if snapshot_url is None or found is None:
        return None
    timestamp, original = found
    if spec.kind == "ia":
        marker = f"/web/{timestamp}"
        if marker not in snapshot_url:
            return None
        raw = wayback_raw_url(snapshot_url[:snapshot_url.index(marker)], timestamp, original)
    elif spec.kind == "pywb" and spec.base:
        raw = pywb_raw_url(spec.base, timestamp, original)
    else:
        return None
    return raw if raw != snapshot_url else None
