"""The Internet Archive's Wayback Machine as a witness: SavePageNow, availability, CDX, raw copies.

* With keys (``IA_ACCESS_KEY`` / ``IA_SECRET_KEY``, from https://archive.org/account/s3.php,
  or a config file: see :class:`Keys`) SavePageNow 2: ``POST /save`` with
  ``Authorization: LOW key:secret`` and ``Accept: application/json`` returns a
  ``job_id``; ``GET /save/status/<job_id>`` reads ``pending`` until ``success`` (with
  ``timestamp`` and ``original_url``) or ``error`` (with ``status_ext`` such as
  ``error:not-found``). The service forgets a job after about an hour and then reads
  ``pending`` forever, so a job still pending at its deadline is ``unknown`` (retryable),
  never ``archived``.
* Without keys, the anonymous SavePageNow 1: ``GET /save/<url>`` and the memento read from
  ``Content-Location`` / ``Location`` / ``Link``. It is tried once: a ``401`` or ``429`` means
  keys are needed, said in one line, and the submission stays pending.
* ``/wayback/available``, ``/cdx/search/cdx?output=json`` and ``/web/<ts>id_/<url>``.

``PROVENANCE_WAYBACK`` replaces ``https://web.archive.org`` in every one of these. waybackpy
is not used for the calls themselves (README, "Dependencies", says why from its source): it
hard-codes ``web.archive.org`` (and ``archive.org/wayback/available``), builds a session per
request with no timeout, and retries and sleeps on its own; these few endpoints are simpler
to speak directly with an injected, bounded session and our rate limiter.
"""

from __future__ import annotations

import configparser
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import requests

from archive.cdx import CdxRow, collapse_duplicates, parse_cdx_page
from archive.deadline import BoundedSession, current
from archive.errors import ConfigError, WitnessError
from archive.memento import (
    ARCHIVED,
    FAILED,
    MAX_PAGE_SCAN,
    PENDING,
    UNKNOWN,
    ExcludedByArchive,
    RawCopy,
    Submission,
    api_cap,
    exclusion_reason,
    fetch_raw,
    memento_from_response,
    ts_from_url,
    ts_to_datetime,
)
from archive.pagekey import rows_of, same_page
from archive.ratelimit import (
    IA_ANONYMOUS_INTERVAL,
    IA_KEYED_INTERVAL,
    IA_POLL_INTERVAL,
    IA_READ_INTERVAL,
    RETRY_STATUSES,
    RateLimiter,
    Throttle,
)
from archive.waits import waiting

DEFAULT_BASE = "https://web.archive.org"


def raw_url(base: str, timestamp: str, url: str) -> str:
    """Where a Wayback Machine at ``base`` serves snapshot ``timestamp`` of ``url`` raw
    (``id_``: the payload as archived, no banner, no rewritten links)."""
    return f"{base}/web/{timestamp}id_/{url}"
BASE_ENV = "PROVENANCE_WAYBACK"
KEYS_PAGE = "https://archive.org/account/s3.php"
CONFIG_ENV = "PROVENANCE_IA_CONFIG"
_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0, "week": 604800.0,
          "month": 2629800.0, "year": 31557600.0}
_SAME_SNAPSHOT = re.compile(r"same snapshot had been made (\d+|less than an?) "
                            r"(second|minute|hour|day|week|month|year)s? ago", re.I)
# The job an anonymous save's HTML page watches: spn.watchJob("spn2-<40 hex>", "…/_static/", …)
_WATCH_JOB = re.compile(r"""spn\.watchJob\(\s*["']([A-Za-z0-9-]{1,100})["']""")
_TAGS = re.compile(r"<[^>]*>")
CDX_PAGE_ROWS = 1000  # rows per CDX request; the resume key brings the rest
MAX_CDX_ROWS = 200_000  # more than this for one URL is an error asking for a date range
NEED_KEYS = ("the Internet Archive refused an anonymous save (HTTP {code}): set IA_ACCESS_KEY "
             "and IA_SECRET_KEY or put them in ~/.config/provenance/ia.ini (get them at "
             f"{KEYS_PAGE})")
# SPN2 job errors that may go away if we ask again later; any other error:* is final. Beyond
# the SPN2 API document: "error:host-crawling-paused" ("Please try again in ~10 min. Crawling
# this host is paused", internetarchive/wayback-machine-webextension#1110), "error:no-captures"
# (a reachable docs.python.org, internetarchive/wayback#304), the daily bandwidth caps and a
# broken connection, each named by SPN2 clients that met them.
RETRYABLE_JOB_ERRORS = frozenset({
    "error:bad-gateway", "error:bandwidth-limit-exceeded", "error:browsing-timeout",
    "error:cannot-fetch", "error:capture-location-error", "error:celery",
    "error:gateway-timeout", "error:host-crawling-paused", "error:internal-server-error",
    "error:invalid-server-response", "error:job-failed", "error:max-daily-bandwidth",
    "error:max-daily-bandwidth-from-ip", "error:max-daily-bandwidth-host",
    "error:no-browsers-available", "error:no-captures", "error:protocol-error",
    "error:proxy-error", "error:read-timeout", "error:service-unavailable",
    "error:soft-time-limit-exceeded", "error:too-many-daily-captures",
    "error:too-many-requests", "error:user-session-limit",
})


def config_paths(env: Mapping[str, str]) -> list[str]:
    """Where keys are looked for when the environment has none, in order."""
    home = env.get("HOME") or os.path.expanduser("~")
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    ia_tool = env.get("IA_CONFIG_FILE") or os.path.join(config_home, "internetarchive",
                                                         "ia.ini")
    return [os.path.join(config_home, "provenance", "ia.ini"), ia_tool]


def resolve_base(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``explicit``, else ``$PROVENANCE_WAYBACK``, else ``https://web.archive.org``."""
    env = os.environ if env is None else env
    return (explicit or env.get(BASE_ENV) or DEFAULT_BASE).rstrip("/")


@dataclass(frozen=True)
class Keys:
    """Internet Archive S3-style keys, as SPN2 wants them.

    Found, first match wins: the environment (``IA_ACCESS_KEY`` and ``IA_SECRET_KEY``),
    then a config file: ``$PROVENANCE_IA_CONFIG`` if set, else
    ``$XDG_CONFIG_HOME/provenance/ia.ini`` (``~/.config/provenance/ia.ini``), else the
    file the ``ia`` command's ``ia configure`` writes (``$IA_CONFIG_FILE``, else
    ``$XDG_CONFIG_HOME/internetarchive/ia.ini``). Every one of these files is INI with::

        [s3]
        access = YOUR_ACCESS_KEY
        secret = YOUR_SECRET_KEY
    """

    access: str
    secret: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Keys | None:
        env = os.environ if env is None else env
        access, secret = env.get("IA_ACCESS_KEY", ""), env.get("IA_SECRET_KEY", "")
        return cls(access, secret) if access and secret else None

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None) -> Keys | None:
        """Keys from the environment, else from the first config file that exists."""
        env = os.environ if env is None else env
        keys = cls.from_env(env)
        if keys is not None:
            return keys
        explicit = env.get(CONFIG_ENV, "").strip()
        if explicit:
            if not os.path.isfile(explicit):
                raise ConfigError(f"{CONFIG_ENV}={explicit}: no such file")
            return cls.from_file(explicit)
        for path in config_paths(env):
            if os.path.isfile(path):
                return cls.from_file(path)
        return None

    @classmethod
    def from_file(cls, path: str) -> Keys:
        """``access`` and ``secret`` under ``[s3]`` in an INI file (ConfigError if not)."""
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
            raise ConfigError(f"cannot read Internet Archive keys from {path}: {reason}"
                              ) from None
        access = parser.get("s3", "access", fallback="").strip()
        secret = parser.get("s3", "secret", fallback="").strip()
        if not (access and secret):
            raise ConfigError(f"{path}: put 'access = ...' and 'secret = ...' under [s3] "
                              f"(keys from {KEYS_PAGE})")
        return cls(access, secret)

    @property
    def header(self) -> str:
        return f"LOW {self.access}:{self.secret}"


@dataclass(frozen=True)
class SaveOptions:
    """SPN2 options: skip a fresh duplicate, keep embedded resources, no first-archive mail."""

    if_not_archived_within: str | None = None  # e.g. "10m", "1d"; None: always a new capture
    capture_all: bool = True  # also keep 4xx/5xx pages: an error page is evidence too
    skip_first_archive: bool = True  # faster; we do not need the "first archive" flag

    def form(self, url: str) -> dict[str, str]:
        data = {"url": url}
        if self.if_not_archived_within:
            data["if_not_archived_within"] = self.if_not_archived_within
        if self.capture_all:
            data["capture_all"] = "1"
        if self.skip_first_archive:
            data["skip_first_archive"] = "1"
        return data


class WaybackClient:
    """One Wayback Machine (or a mirror at ``base``); share one instance between threads."""

    name = "ia"

    def __init__(
        self,
        base: str | None = None,
        *,
        session: requests.Session | None = None,
        keys: Keys | None = None,
        timeout: Any = (10, 120),
        options: SaveOptions | None = None,
        save_throttle: Throttle | None = None,
        read_throttle: Throttle | None = None,
        poll_interval: float = IA_POLL_INTERVAL,
        job_deadline: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = resolve_base(base)
        self.session = session or BoundedSession()
        self.keys = keys
        self.timeout = timeout
        self.options = options or SaveOptions()
        interval = IA_KEYED_INTERVAL if keys else IA_ANONYMOUS_INTERVAL
        self.save_throttle = save_throttle or Throttle(RateLimiter(interval))
        self.read_throttle = read_throttle or Throttle(RateLimiter(IA_READ_INTERVAL))
        self.poll_interval = poll_interval
        self.job_deadline = job_deadline
        self._sleep = sleep
        self._clock = clock

    # -- saving ------------------------------------------------------------------------------

    def save(self, url: str) -> Submission:
        """Ask the Wayback Machine to archive ``url`` now. Never raises WitnessError."""
        try:
            return self._save_spn2(url) if self.keys else self._save_anonymous(url)
        except WitnessError as exc:
            return Submission.from_error(exc)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.keys:
            headers["Authorization"] = self.keys.header
        return headers

    def _save_anonymous(self, url: str) -> Submission:
        target = f"{self.base}/save/{url}"
        response = self.save_throttle.send(
            lambda: self.session.get(target, timeout=self.timeout, allow_redirects=False,
                                     **api_cap(self.session)),
            what="Wayback Machine save", retry_statuses=RETRY_STATUSES - {429})
        with response:
            code = response.status_code
            if code in (401, 403, 429):
                return Submission(PENDING, error=NEED_KEYS.format(code=code), retryable=True)
            if code >= 400:
                return Submission(FAILED, error=f"Wayback Machine save answered HTTP {code}",
                                  retryable=False)
            found = memento_from_response(response, self.base)
            page = "" if found else response.content[:MAX_PAGE_SCAN].decode("utf-8", "replace")
        if found is None:
            return self._progress_page(page, url)
        memento, stamp = found
        named = ts_from_url(memento)
        if named and not same_page(named[1], url):  # e.g. where the page redirected to
            return Submission(UNKNOWN, retryable=True, error=(
                f"the Wayback Machine named a snapshot of another page ({memento[:200]}), "
                f"not of {url}: not a copy of this page"))
        return Submission(ARCHIVED, url=memento, timestamp=stamp, original=url)

    def _progress_page(self, page: str, url: str) -> Submission:
        """An anonymous save answered with Save Page Now's HTML page instead of a snapshot.

        Since about 2020 the answer names no snapshot (no Content-Location: palewire/
        savepagenow#26, #65): it is the progress page, whose script watches the job
        (``spn.watchJob("spn2-<40 hex>", …)``, read by every client that still saves
        anonymously), or says "The same snapshot had been made N minutes ago". The job is
        polled like SPN2's; the recent snapshot is looked up in the index."""
        job = _WATCH_JOB.search(page)
        if job is not None:
            sub = self.wait_for_job(job.group(1), url)
            refused = re.search(r"answered HTTP (401|403)\b", sub.error or "")
            if sub.status == FAILED and refused:  # the status of a job needs keys now
                return Submission(PENDING, retryable=True, job_id=sub.job_id,
                                  error=NEED_KEYS.format(code=refused.group(1)))
            return sub
        age = same_snapshot_age(" ".join(_TAGS.sub(" ", page).split()))
        if age is not None:
            return self._recent_snapshot(url, *age)
        return Submission(UNKNOWN, retryable=True,
                          error="the Wayback Machine answered without naming a snapshot")

    def _save_spn2(self, url: str) -> Submission:
        response = self.save_throttle.send(
            lambda: self.session.post(f"{self.base}/save", data=self.options.form(url),
                                      headers=self._headers(), timeout=self.timeout,
                                      **api_cap(self.session)),
            what="Wayback Machine save")
        with response:
            if response.status_code in (401, 403):
                return Submission(FAILED, retryable=False, error=(
                    f"the Internet Archive refused the keys (HTTP {response.status_code}): "
                    f"check IA_ACCESS_KEY / IA_SECRET_KEY at {KEYS_PAGE}"))
            answer = _json(response, "Wayback Machine save")
        if answer.get("status") == "error":
            return self._job_error(answer, None)
        job_id = answer.get("job_id")
        if not job_id:
            if answer.get("timestamp"):  # "the same snapshot had been made N minutes ago"
                return self._archived(answer, url)
            age = same_snapshot_age(str(answer.get("message") or ""))
            if age is not None:
                return self._recent_snapshot(url, *age)
            return Submission(UNKNOWN, retryable=True, error=(
                "the Wayback Machine accepted the save but gave no job id"
                + (f": {answer['message']}" if answer.get("message") else "")))
        return self.wait_for_job(str(job_id), url)

    def wait_for_job(self, job_id: str, url: str) -> Submission:
        """Poll ``/save/status/<job_id>`` until success or error; ``unknown`` at the deadline."""
        deadline = self._clock() + self.job_deadline
        said = False
        while True:
            try:
                response = self.read_throttle.send(
                    lambda: self.session.get(f"{self.base}/save/status/{quote(job_id)}",
                                             headers=self._headers(), timeout=self.timeout,
                                             **api_cap(self.session)),
                    what="Wayback Machine job status")
                with response:
                    answer = _json(response, "Wayback Machine job status")
            except WitnessError as exc:
                return Submission.from_error(exc, status=UNKNOWN, job_id=job_id)
            status = answer.get("status")
            if status == "success":
                return self._archived(answer, url, job_id)
            if status == "error":
                return self._job_error(answer, job_id)
            if self._clock() + self.poll_interval > deadline:
                return Submission(UNKNOWN, retryable=True, job_id=job_id, error=(
                    f"Wayback Machine job {job_id} still pending after "
                    f"{self.job_deadline:g} s"))
            budget = current()  # the whole submission's deadline, if the caller set one
            if budget is not None and budget.remaining() < self.poll_interval:
                return Submission(UNKNOWN, retryable=True, job_id=job_id, error=(
                    f"Wayback Machine job {job_id} still pending when the "
                    f"{budget.seconds:g} s allowed for this page ran out"))
            if not said:
                said = True
                waiting(deadline - self._clock(), f"for Wayback Machine job {job_id} to "
                        f"finish (asking every {self.poll_interval:g} s)", up_to=True)
            self._sleep(self.poll_interval)

    def _recent_snapshot(self, url: str, age: float, unit: float) -> Submission:
        """SPN2's "The same snapshot had been made N minutes ago" without its timestamp (as
        the real service answers): the snapshot is looked up in the CDX, the one made
        closest to N ago; whether it is recent enough is the caller's window to judge."""
        now = datetime.now(timezone.utc)
        made = now - timedelta(seconds=age)
        since = (made - timedelta(seconds=unit + 300)).strftime("%Y%m%d%H%M%S")
        try:
            rows = self.snapshots(url, since=since)
        except WitnessError as exc:
            return Submission(UNKNOWN, retryable=True, error=(
                f"the Wayback Machine said it already had a snapshot, but it could not be "
                f"looked up: {exc}"))
        dated = [(row, when) for row in rows if (when := ts_to_datetime(row.timestamp))]
        if not dated:
            return Submission(UNKNOWN, retryable=True, error=(
                f"the Wayback Machine said it had a snapshot made {describe_age(age)} ago, "
                "but its index does not list it"))
        row = min(dated, key=lambda pair: abs((pair[1] - made).total_seconds()))[0]
        return Submission(ARCHIVED, url=f"{self.base}/web/{row.timestamp}/{row.original}",
                          timestamp=row.timestamp, original=row.original)

    def _archived(self, answer: dict[str, Any], url: str, job_id: str | None = None
                  ) -> Submission:
        stamp = str(answer.get("timestamp") or "")
        original = str(answer.get("original_url") or url)
        if not (stamp.isdigit() and len(stamp) == 14):
            return Submission(UNKNOWN, retryable=True, job_id=job_id,
                              error=f"Wayback Machine job gave no usable timestamp ({stamp!r})")
        if not same_page(original, url):  # a job reused, or an answer about another page
            return Submission(UNKNOWN, retryable=True, job_id=job_id, error=(
                f"the Wayback Machine reported a snapshot of {original[:200]}, not of {url}: "
                "not a copy of this page"))
        return Submission(ARCHIVED, url=f"{self.base}/web/{stamp}/{original}",
                          timestamp=stamp, original=original, job_id=job_id)

    def _job_error(self, answer: dict[str, Any], job_id: str | None) -> Submission:
        code = str(answer.get("status_ext") or "error:unknown")
        message = " ".join(str(answer.get("message") or "").split())
        retryable = code in RETRYABLE_JOB_ERRORS
        return Submission(PENDING if retryable else FAILED, job_id=job_id, retryable=retryable,
                          error=f"Wayback Machine: {code}" + (f" ({message})" if message else ""))

    # -- reading -----------------------------------------------------------------------------

    def _read(self, url: str, params: dict[str, str] | None = None) -> requests.Response:
        return self.read_throttle.send(
            lambda: self.session.get(url, params=params, timeout=self.timeout,
                                     **api_cap(self.session)),
            what="Wayback Machine")

    def available(self, url: str, timestamp: str | None = None) -> CdxRow | None:
        """The closest snapshot per ``/wayback/available``, or None."""
        params = {"url": url}
        if timestamp:
            params["timestamp"] = timestamp
        with self._read(f"{self.base}/wayback/available", params) as response:
            answer = _json(response, "Wayback Machine availability")
        closest = (answer.get("archived_snapshots") or {}).get("closest") or {}
        if not closest.get("available") or not closest.get("timestamp"):
            return None
        status = str(closest.get("status") or "")
        return CdxRow(timestamp=str(closest["timestamp"]), original=url,
                      statuscode=int(status) if status.isdigit() else None,
                      digest=None, mimetype=None, length=None)

    def snapshots(self, url: str, *, since: str | None = None, until: str | None = None,
                  page_rows: int = CDX_PAGE_ROWS, max_rows: int = MAX_CDX_ROWS
                  ) -> list[CdxRow]:
        """Every snapshot the CDX server lists for ``url`` (exact match), oldest first.

        Pages of ``page_rows`` are followed by their resume key to the end; more than
        ``max_rows`` in all is an error (give ``since``/``until``, 4 to 14 digits), never
        a silent cut. Rows the index repeats are collapsed, and rows for another page
        (:mod:`archive.pagekey`) dropped. A blocked site raises ExcludedByArchive."""
        params = {"url": url, "limit": str(page_rows), "showResumeKey": "true",
                  "resolveRevisits": "true"}
        params.update({k: v for k, v in (("from", since), ("to", until)) if v})
        rows: list[CdxRow] = []
        keys: set[str] = set()
        # An index that sends an empty page with a new key each time never repeats a key
        # and never passes max_rows: pages are counted too.
        max_pages = 2 * -(-max_rows // max(1, page_rows)) + 10
        while True:
            if len(keys) >= max_pages:
                raise WitnessError(f"Wayback Machine CDX sent more than {max_pages} pages for "
                                   f"{url} without ending", retryable=False)
            with self._read(f"{self.base}/cdx/search/cdx", params) as response:
                if response.status_code != 200:
                    raise _cdx_error(response, url)
                page = parse_cdx_page(response.text, source="Wayback Machine CDX")
            rows += page.rows
            if len(rows) > max_rows:
                raise WitnessError(f"the Wayback Machine lists more than {max_rows} snapshots "
                                   f"of {url}: give a date range", retryable=False)
            if not page.resume_key:
                return rows_of(collapse_duplicates(rows), url)
            if page.resume_key in keys:
                raise WitnessError(f"Wayback Machine CDX repeated its resume key for {url}")
            keys.add(page.resume_key)
            params["resumeKey"] = page.resume_key

    def raw_url(self, timestamp: str, url: str) -> str:
        return raw_url(self.base, timestamp, url)

    def raw(self, timestamp: str, url: str) -> RawCopy:
        return fetch_raw(self.session, self.raw_url(timestamp, url), timeout=self.timeout,
                         timestamp=timestamp,
                         send=lambda req: self.read_throttle.send(req, what="Wayback raw copy",
                                                                 mementos=True))


def same_snapshot_age(message: str) -> tuple[float, float] | None:
    """``(seconds ago, the unit's seconds)`` from SPN2's "The same snapshot had been made
    4 minutes ago" (or "less than a minute ago"); None for any other message."""
    found = _SAME_SNAPSHOT.search(message)
    if found is None:
        return None
    count, unit = found.group(1).lower(), found.group(2).lower()
    size = _UNITS[unit]
    return (0.0 if count.startswith("less") else float(count) * size), size


def describe_age(seconds: float) -> str:
    for unit in ("year", "day", "hour", "minute"):
        if seconds >= _UNITS[unit]:
            return f"{int(seconds // _UNITS[unit])} {unit}s"
    return f"{int(seconds)} seconds"


def _cdx_error(response: requests.Response, url: str) -> WitnessError:
    """A CDX answer that is not a list: a blocked site (403 with a reason), or a failure."""
    code = response.status_code
    if code == 403:
        reason = exclusion_reason(code, response.headers, response.content[:MAX_PAGE_SCAN])
        return ExcludedByArchive(f"excluded by the archive: the Wayback Machine will not list "
                                 f"{url} ({reason})", reason=reason)
    return WitnessError(f"Wayback Machine CDX answered HTTP {code}",
                        retryable=code >= 500 or code == 429)


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise WitnessError(f"{what} answered HTTP {response.status_code}",
                           retryable=response.status_code >= 500 or response.status_code == 429)
    try:
        answer = response.json()
    except ValueError:
        raise WitnessError(f"{what} did not answer JSON (HTTP {response.status_code})") from None
    if not isinstance(answer, dict):
        raise WitnessError(f"{what} answered JSON that is not an object")
    return answer

