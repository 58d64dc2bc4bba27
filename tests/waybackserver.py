"""A real HTTP server on 127.0.0.1 that speaks the Wayback Machine's protocols, for tests.

What it implements, as the Internet Archive documents them:

* SavePageNow 1: ``GET /save/<url>`` fetches the page for real (loopback only), stores it and
  answers with ``Content-Location: /web/<ts>/<url>`` and a ``Link`` header with the memento;
* SavePageNow 2: ``POST /save`` (form ``url=…``, ``Authorization: LOW key:secret``) returns
  ``{"url", "job_id"}``; ``GET /save/status/<job>`` reads ``pending`` for ``pending_polls``
  polls, then ``success`` with ``timestamp`` and ``original_url`` (or ``error`` with
  ``status_ext`` when ``job_error`` is set, or ``pending`` forever with ``job_never_ends``);
* ``GET /wayback/available?url=``, ``GET /cdx/search/cdx?url=&output=json``;
* ``GET /web/<ts>/<url>`` (replay, with a banner) and ``GET /web/<ts>id_/<url>`` (raw).

Knobs: :meth:`fail_next` queues answers such as 429 + Retry-After, 503 or 520 for the next
requests to a path; ``anonymous_status`` answers every anonymous save with e.g. 401 or 429;
``anonymous_progress`` makes it answer as web.archive.org does since about 2020: an HTML
page whose script watches an SPN2 job (``spn.watchJob("spn2-…", …)``), or, with
``same_snapshot``, says "The same snapshot had been made N minutes ago"; ``keys`` makes
SPN2 check the Authorization header; ``tamper`` stores a different body than the page
served. Every request's arrival time (``time.monotonic``) is kept in ``hits``.

Dates: ``snapshot_age`` (seconds) dates every new snapshot that far in the past, as a
Wayback Machine that answers a save with a snapshot it already had (its raw copy is served
at that time too); ``same_snapshot`` makes ``POST /save`` answer SPN2's "The same snapshot
had been made N ago" with that snapshot's timestamp and no job; ``raw_memento_datetime``
replaces the raw copy's ``Memento-Datetime`` header.

Recorded answers: :meth:`replay` loads a cassette of real web.archive.org traffic (the JSON
files in ``tests/realworld_wayback``, converted from edgi-govdata-archiving/wayback's VCR
recordings); a request that matches a recorded one (same path; for CDX the same ``url``,
``resumeKey``, ``from`` and ``to``) gets the recorded status, headers and body bytes, with
``https://web.archive.org`` in its headers pointed at this server.

CDX: ``output=json`` answers IA's JSON table; without it, IA's space-separated text. With
``showResumeKey=true`` and ``limit=N`` a longer answer stops after N rows, then a blank line
and a resume key (``resumeKey=`` continues), as web.archive.org does. ``cdx_duplicates``
repeats every row that many times (the real CDX repeats rows). ``same_snapshot_timestamp``
False makes the "same snapshot" answer carry no timestamp, as the real SPN2 answer does.

Adversarial answers: :meth:`slow` makes every request under a path prefix ``drip`` (the whole
answer, status line included, one byte every ``drip_interval`` seconds) or ``endless`` (a
``200`` whose body never stops).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from webfixtures import send

TAMPER_MARK = b"<!-- altered by the witness -->"


@dataclass
class Snap:
    timestamp: str
    url: str
    status: int
    content_type: str
    content_encoding: str | None
    body: bytes

    @property
    def digest(self) -> str:
        return base64.b32encode(hashlib.sha1(self.body).digest()).decode()


@dataclass
class Recorded:
    """One real interaction from a cassette."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    served: int = 0


CDX_MATCH = ("url", "resumeKey", "from", "to")


def load_cassette(path: str | Path) -> list[Recorded]:
    data = json.loads(Path(path).read_text())
    found = []
    for item in data["interactions"]:
        parts = urlsplit(item["uri"])
        body = base64.b64decode(item["body_base64"])
        headers = [(k, v) for k, v in item["headers"]]
        if body[:2] != b"\x1f\x8b":  # a recorder that kept the body decoded (edgi's tutorial)
            headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"
                       or v.strip().lower() not in ("gzip", "x-gzip")]
        found.append(Recorded(item["method"], unquote(parts.path), parse_qs(parts.query),
                              item["status"], item["reason"], headers, body))
    return found


@dataclass
class Hit:
    time: float
    method: str
    path: str
    authorization: str | None
    query: str = ""  # the request's query string, as sent


@dataclass
class Job:
    url: str
    polls: int = 0
    snap: Snap | None = None


@dataclass
class _State:
    keys: tuple[str, str] | None = None
    anonymous_status: int | None = None
    anonymous_progress: bool = False  # GET /save/<url> answers SPN's HTML progress page
    pending_polls: int = 1
    job_error: str | None = None
    job_never_ends: bool = False
    job_original: str | None = None  # a "success" that names this URL instead of the job's
    tamper: bool = False
    snapshot_age: float = 0.0
    same_snapshot: bool = False
    same_snapshot_timestamp: bool = True
    cdx_duplicates: int = 1
    recorded: list[Recorded] = field(default_factory=list)
    raw_memento_datetime: str | None = None
    drip_interval: float = 0.5
    slow_paths: dict[str, str] = field(default_factory=dict)
    snaps: dict[str, list[Snap]] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    failures: dict[str, deque[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)


def _ts(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S")


def describe_age(seconds: float) -> str:
    """SPN2's wording: ``25 years``, ``3 minutes``."""
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600),
                       ("minutes", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} seconds"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "text/html; charset=utf-8") -> None:
        send(self, status, body, headers, content_type)

    def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers, "application/json")

    def _begin(self, method: str) -> bool:
        """Record the hit; answer a queued failure instead if one is due (returns True)."""
        state = self.server.state
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            state.hits.append(Hit(time.monotonic(), method, path,
                                  self.headers.get("Authorization"),
                                  self.path.partition("?")[2]))
            queued = None
            for prefix, queue in state.failures.items():
                if path.startswith(prefix) and queue:
                    queued = queue.popleft()
                    break
        if queued is not None:
            status, headers = queued
            self._json(status, {"status": "error", "message": f"HTTP {status}"}, headers)
            return True
        mode = next((m for prefix, m in state.slow_paths.items() if path.startswith(prefix)),
                    None)
        if mode is not None:
            self.close_connection = True
            try:
                self._drip() if mode == "drip" else self._endless()
            except OSError:
                pass  # the client hung up: what a bounded client does
            return True
        return False

    def _drip(self) -> None:
        body = json.dumps({"status": "pending", "message": "x" * 4000}).encode()
        answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        for byte in answer:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(self.server.state.drip_interval)

    def _endless(self) -> None:
        when = format_datetime(datetime.now(timezone.utc), usegmt=True)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         + f"Memento-Datetime: {when}\r\n".encode()
                         + b"Connection: close\r\n\r\n" + b'{"status": "pending", "x": "')
        block = b"x" * 65536
        while True:
            self.wfile.write(block)

    # -- routes -------------------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if self._begin("POST"):
            return
        if self.path.split("?", 1)[0].rstrip("/") != "/save":
            self._send(404, b"not found")
            return
        if not self._authorized():
            self._json(401, {"status": "error", "message": "You need to be logged in"})
            return
        url = (form.get("url") or [""])[0]
        if not url:
            self._json(400, {"status": "error", "status_ext": "error:invalid-url-syntax",
                             "message": "no url"})
            return
        if self.server.state.same_snapshot:
            snap = self.server.capture(url)
            if snap is not None:
                ago = describe_age(self.server.state.snapshot_age)
                answer = {"url": url, "message": (
                    f"The same snapshot had been made {ago} ago. You can make new capture "
                    "of this URL after 45 minutes.")}
                if self.server.state.same_snapshot_timestamp:
                    answer["timestamp"] = snap.timestamp
                self._json(200, answer)
                return
        job_id = "spn2-" + uuid.uuid4().hex
        with self.server.lock:
            self.server.state.jobs[job_id] = Job(url)
        self._json(200, {"url": url, "job_id": job_id})

    def do_GET(self) -> None:  # noqa: N802
        if self._begin("GET") or self._recorded():
            return
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        if path.startswith("/save/status/"):
            self._status(path[len("/save/status/"):])
        elif path.startswith("/save/"):
            self._save_anonymous(self.path[len("/save/"):])
        elif path == "/wayback/available":
            self._available((query.get("url") or [""])[0])
        elif path == "/cdx/search/cdx":
            self._cdx(query)
        elif path.startswith("/web/"):
            self._replay(self.path[len("/web/"):])
        else:
            self._send(404, b"not found")

    def _authorized(self) -> bool:
        keys = self.server.state.keys
        if keys is None:
            return True
        return self.headers.get("Authorization") == f"LOW {keys[0]}:{keys[1]}"

    def _save_anonymous(self, url: str) -> None:
        state = self.server.state
        if state.anonymous_status is not None:
            headers = {"Retry-After": "60"} if state.anonymous_status == 429 else {}
            self._send(state.anonymous_status, b"<p>Sorry</p>", headers)
            return
        if state.anonymous_progress:
            self._progress_page(url)
            return
        snap = self.server.capture(url)
        if snap is None:
            self._send(520, b"<p>Job failed</p>")
            return
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        when = format_datetime(datetime.strptime(snap.timestamp, "%Y%m%d%H%M%S")
                               .replace(tzinfo=timezone.utc), usegmt=True)
        link = (f'<{url}>; rel="original", '
                f'<{base}/web/{snap.timestamp}/{url}>; rel="memento"; datetime="{when}"')
        self._send(200, b"<p>Saved</p>", {"Content-Location": f"/web/{snap.timestamp}/{url}",
                                            "Link": link})

    def _progress_page(self, url: str) -> None:
        """Save Page Now's HTML answer to an anonymous save: the script watching the job, or
        the "same snapshot" paragraph; no Content-Location, no Link."""
        state = self.server.state
        if state.same_snapshot and self.server.capture(url) is not None:
            ago = describe_age(state.snapshot_age)
            self._send(200, (f"<h2>Saving page</h2><p>The same snapshot had been made {ago} "
                             "ago. You can make new capture of this URL after 1 hour.</p>"
                             ).encode())
            return
        job_id = "spn2-" + uuid.uuid4().hex + "0" * 8
        with self.server.lock:
            state.jobs[job_id] = Job(url)
        self._send(200, (f'<h2 id="spn-title">Saving page {url}</h2><script>\n'
                         f'spn.watchJob("{job_id}", "https://web-static.archive.org/_static/",'
                         '\n     6000,\n     false);\n</script>').encode())

    def _status(self, job_id: str) -> None:
        state = self.server.state
        with self.server.lock:
            job = state.jobs.get(job_id)
            if job is not None:
                job.polls += 1
        if job is None or state.job_never_ends or job.polls <= state.pending_polls:
            self._json(200, {"status": "pending", "job_id": job_id})  # unknown ids read pending
            return
        if state.job_error:
            self._json(200, {"status": "error", "status_ext": state.job_error, "job_id": job_id,
                             "message": "Couldn't resolve host for " + job.url})
            return
        if job.snap is None:
            job.snap = self.server.capture(job.url)
        if job.snap is None:
            self._json(200, {"status": "error", "status_ext": "error:not-found",
                             "job_id": job_id, "message": "not found"})
            return
        self._json(200, {"status": "success", "job_id": job_id, "timestamp": job.snap.timestamp,
                         "original_url": state.job_original or job.url,
                         "duration_sec": 0.1})

    def _available(self, url: str) -> None:
        snaps = self.server.snaps(url)
        closest = {}
        if snaps:
            snap = snaps[-1]
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            closest = {"closest": {"available": True, "status": str(snap.status),
                                   "timestamp": snap.timestamp,
                                   "url": f"{base}/web/{snap.timestamp}/{url}"}}
        self._json(200, {"url": url, "archived_snapshots": closest})

    def _recorded(self) -> bool:
        """Answer with a recorded real interaction when one matches (True if answered)."""
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        with self.server.lock:
            matches = [r for r in self.server.state.recorded if r.path == path and all(
                r.query.get(key) == query.get(key) for key in CDX_MATCH)]
            if not matches:
                return False
            chosen = next((r for r in matches if r.served == 0), matches[-1])
            chosen.served += 1
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.send_response(chosen.status, chosen.reason)
        for key, value in chosen.headers:
            if key.lower() in ("transfer-encoding", "content-length", "connection"):
                continue
            self.send_header(key, value.replace("https://web.archive.org", base))
        self.send_header("Content-Length", str(len(chosen.body)))
        self.end_headers()
        self.wfile.write(chosen.body)
        return True

    def _cdx(self, query: dict[str, list[str]]) -> None:
        url = (query.get("url") or [""])[0]
        since, until = (query.get("from") or [""])[0], (query.get("to") or [""])[0]
        rows: list[list[str]] = []
        for snap in self.server.snaps(url):
            if (since and snap.timestamp < since.ljust(14, "0")) or (
                    until and snap.timestamp > until.ljust(14, "9")):
                continue
            row = ["127,0,0,1)/", snap.timestamp, snap.url, snap.content_type.split(";")[0],
                   str(snap.status), snap.digest, str(len(snap.body))]
            rows += [row] * self.server.state.cdx_duplicates
        key = (query.get("resumeKey") or ["0"])[0]
        if not key.isdigit():
            self._send(400, b"bad resumeKey", content_type="text/plain")
            return
        start = int(key)
        limit = int((query.get("limit") or ["0"])[0]) or len(rows)
        page, rest = rows[start:start + limit], rows[start + limit:]
        resume = str(start + limit) if rest and query.get("showResumeKey") == ["true"] else None
        if query.get("output") == ["json"]:
            header = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest",
                      "length"]
            table: list[list[str]] = [header, *page] if page else []
            if resume:
                table += [[], [resume]]
            self._json(200, table)
            return
        text = "".join(" ".join(row) + "\n" for row in page)
        if resume:
            text += f"\n{resume}\n"
        self._send(200, text.encode(), content_type="text/plain;charset=UTF-8")

    def _replay(self, rest: str) -> None:
        stamp, _, url = rest.partition("/")
        raw = stamp.endswith("id_")
        stamp = stamp[:-3] if raw else stamp
        snaps = self.server.snaps(url)
        if not snaps:
            self._send(404, b"<p>Wayback Machine has not archived that URL.</p>")
            return
        exact = [s for s in snaps if s.timestamp == stamp]
        if not exact:
            closest = min(snaps, key=lambda s: abs(int(s.timestamp) - int(stamp or 0)))
            marker = "id_" if raw else ""
            self._send(302, b"", {"Location": f"/web/{closest.timestamp}{marker}/{url}"})
            return
        snap = exact[-1]
        when = format_datetime(datetime.strptime(snap.timestamp, "%Y%m%d%H%M%S")
                               .replace(tzinfo=timezone.utc), usegmt=True)
        headers = {"Memento-Datetime": when}
        if raw and self.server.state.raw_memento_datetime is not None:
            headers["Memento-Datetime"] = self.server.state.raw_memento_datetime
        if raw:
            if snap.content_encoding:
                headers["Content-Encoding"] = snap.content_encoding
            self._send(snap.status, snap.body, headers, snap.content_type)
        else:
            self._send(snap.status, b"<!-- WAYBACK TOOLBAR -->" + snap.body, headers,
                       snap.content_type)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        pass

    def snaps(self, url: str) -> list[Snap]:
        with self.lock:
            return list(self.state.snaps.get(url, []))

    def capture(self, url: str) -> Snap | None:
        """Fetch ``url`` (127.0.0.1 only) byte for byte and keep it as a snapshot."""
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1" or parts.scheme != "http":
            return None  # tests never leave the loopback
        conn = http.client.HTTPConnection("127.0.0.1", parts.port or 80, timeout=10)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", target, headers={"Accept-Encoding": "gzip"})
            response = conn.getresponse()
            body = response.read()
            status = response.status
            content_type = response.getheader("Content-Type") or "text/html"
            encoding = response.getheader("Content-Encoding")
        except OSError:
            return None
        finally:
            conn.close()
        if self.state.tamper:
            body = body.replace(b"</body>", TAMPER_MARK + b"</body>") if encoding is None \
                else body + TAMPER_MARK
        with self.lock:
            existing = self.state.snaps.setdefault(url, [])
            when = (datetime.now(timezone.utc).replace(microsecond=0)
                    - timedelta(seconds=self.state.snapshot_age))
            stamp = _ts(when)
            while any(s.timestamp == stamp for s in existing):
                when += timedelta(seconds=1)  # one snapshot per URL per second, as in the IA
                stamp = _ts(when)
            snap = Snap(stamp, url, status, content_type, encoding, body)
            existing.append(snap)
        return snap


class WaybackServer:
    """Context manager: a fake-free Wayback Machine on a free loopback port."""

    def __init__(self, *, keys: tuple[str, str] | None = None, pending_polls: int = 1) -> None:
        self.state = _State(keys=keys, pending_polls=pending_polls)
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, status: int, *, times: int = 1, path: str = "/save",
                  retry_after: str | None = None) -> None:
        """The next ``times`` requests under ``path`` answer ``status`` (with Retry-After)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self._server.lock:
            queue = self.state.failures.setdefault(path, deque())
            queue.extend([(status, headers)] * times)

    def replay(self, cassette: str | Path) -> None:
        """Serve the real interactions recorded in ``cassette`` (see the module docstring)."""
        with self._server.lock:
            self.state.recorded.extend(load_cassette(cassette))

    def slow(self, prefix: str, mode: str) -> None:
        """Every request under ``prefix`` answers ``drip`` or ``endless`` (see the module)."""
        assert mode in ("drip", "endless")
        with self._server.lock:
            self.state.slow_paths[prefix] = mode

    def hits(self, prefix: str = "/", method: str | None = None) -> list[Hit]:
        with self._server.lock:
            return [h for h in self.state.hits
                    if h.path.startswith(prefix) and (method is None or h.method == method)]

    def snapshots(self, url: str) -> list[Snap]:
        return self._server.snaps(url)

    def __getattr__(self, name: str) -> object:
        return getattr(self.state, name)

    def __setattr__(self, name: str, value: object) -> None:
        if name in _State.__dataclass_fields__:
            setattr(self.state, name, value)
        else:
            super().__setattr__(name, value)

    def __enter__(self) -> WaybackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
