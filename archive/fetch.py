"""Fetching a page and keeping every byte of every HTTP hop, as it went over the wire.

A capture is evidence, so each hop (redirects included) is kept as an :class:`Exchange`: the
request head exactly as sent, the response head exactly as received and the body as received
(transfer framing removed, ``Content-Encoding`` kept). Redirects are followed here rather than
by requests so that no hop goes unrecorded and every target is checked again (a page must not
redirect us to ``file:``). Every limit (connect/read timeouts, a total deadline, a size cap, a
redirect limit) ends in a :class:`~archive.errors.FetchError` with a one-word ``reason``.

A response that is not complete is a failed fetch (reason ``incomplete``), never a capture: a
status line or header block cut off before its blank line, a body shorter than its
Content-Length, a chunked body without its last chunk. (A body that simply ends when the
server closes the connection, with no length declared, is complete by HTTP's own rules.)

The total deadline holds at every step: each fetch runs inside an
:class:`archive.deadline.Deadline` whose watchdog shuts the socket down, so a server that drips
its headers one byte at a time cannot stretch it, and :func:`archive.deadline.abort_all` stops
every fetch in flight at once (reason ``aborted``).

The exact heads come from two small hooks on urllib3's connection (what was passed to
``send`` and what ``readline`` returned while the status line and headers were parsed); with
an injected session those hooks are absent and the heads are rebuilt from the parsed values.
"""

from __future__ import annotations

import errno
import functools
import http.client
import logging
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from archive import __version__
from archive.deadline import Deadline, DeadlineConnectionMixin
from archive.errors import BadUrl, FetchError
from archive.urls import normalize_url

try:  # optional: only asked for when we can undo it
    import brotli  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None

TOOL_VERSION = __version__
_log = logging.getLogger(__name__)  # -v: one line per HTTP hop
DEFAULT_USER_AGENT = (
    f"provenance/{TOOL_VERSION} (+https://github.com/provenance-tool/provenance; evidence capture)"
)
ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
DEFAULT_MAX_DECODED = 500_000_000


@dataclass(frozen=True)
class Exchange:
    """One HTTP hop: what was sent and what came back, byte for byte."""

    url: str
    method: str
    request_head: bytes
    status: int
    reason: str
    http_version: str
    response_head: bytes
    headers: list[tuple[str, str]]
    body: bytes
    ip_address: str | None
    started_at: str
    elapsed: float
    request_body: bytes = b""  # what a POST sent (the browser's proxy records it; fetch sends none)

    def header(self, name: str) -> str | None:
        """First value of a response header, case-insensitively."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True)
class FetchResult:
    """Every hop from the URL asked for to the final response."""

    url: str
    final_url: str
    exchanges: list[Exchange] = field(default_factory=list)
    fetched_at: str = ""

    @property
    def final(self) -> Exchange:
        return self.exchanges[-1]

    @property
    def redirects(self) -> list[str]:
        """URLs of the hops before the final one, in order."""
        return [ex.url for ex in self.exchanges[:-1]]


def utc_now() -> str:
    """RFC 3339 UTC to the second, as the contract writes times."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- hooks that keep the exact heads --------------------------------------------------------


class IncompleteHead(http.client.HTTPException):
    """The connection ended inside the status line or headers (no blank line after them)."""


class _HeadTee:
    """Wraps the socket file while http.client parses the head, keeping each line it reads."""

    def __init__(self, fp: Any) -> None:
        self.fp = fp
        self.buf = bytearray()
        self.last = b""

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self.fp.readline(limit)
        self.buf += line
        self.last = line
        return line

    def close(self) -> None:
        self.fp.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fp, name)


class _RecordingResponse(http.client.HTTPResponse):
    raw_head: bytes = b""

    def begin(self) -> None:
        real = self.fp
        tee = _HeadTee(real)
        self.fp = tee  # type: ignore[assignment]
        try:
            super().begin()
        finally:
            if self.fp is tee:
                self.fp = real
            self.raw_head = bytes(tee.buf)
        if tee.last not in (b"\r\n", b"\n"):
            # http.client takes end of file for the end of the headers; we do not.
            raise IncompleteHead(f"the response ended inside its headers after "
                                 f"{len(tee.buf)} bytes")


class _RecordingMixin:
    """Keeps the bytes given to ``send`` since the last ``putrequest``, and the peer address."""

    response_class: Any = _RecordingResponse
    _prov_sent: bytearray

    def putrequest(self, *args: Any, **kwargs: Any) -> None:
        self._prov_sent = bytearray()
        super().putrequest(*args, **kwargs)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if isinstance(data, (bytes, bytearray)) and hasattr(self, "_prov_sent"):
            self._prov_sent += data
        super().send(data)  # type: ignore[misc]

    def getresponse(self) -> Any:
        sent = bytes(getattr(self, "_prov_sent", b""))
        peer: str | None = None
        try:
            peer = self.sock.getpeername()[0]  # type: ignore[attr-defined]
        except (OSError, AttributeError, IndexError, TypeError):
            peer = None
        response = super().getresponse()  # type: ignore[misc]
        response._prov_request_bytes = sent
        response._prov_peer = peer
        return response


class _RecHTTPConnection(DeadlineConnectionMixin, _RecordingMixin, HTTPConnection):
    pass


class _RecHTTPSConnection(DeadlineConnectionMixin, _RecordingMixin, HTTPSConnection):
    pass


class _RecHTTPPool(HTTPConnectionPool):
    ConnectionCls = _RecHTTPConnection


class _RecHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _RecHTTPSConnection


class RecordingAdapter(HTTPAdapter):
    """A requests adapter whose connections keep the exact request and response heads."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _RecHTTPPool, "https": _RecHTTPSPool}


def new_session() -> requests.Session:
    """A session whose connections record heads exactly; no proxies from the environment."""
    session = requests.Session()
    session.trust_env = False  # a capture must not silently go through an ambient proxy
    adapter = RecordingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def prepared_get(session: requests.Session, url: str,
                 headers: dict[str, str]) -> requests.PreparedRequest:
    """The GET of ``url`` that ``session.get(url, headers=headers)`` sends, for a session of
    :func:`new_session` (no parameters, auth, hooks or proxies of its own, no environment):
    its headers merged under ours, its cookies, the URL's own credentials, as
    ``Session.prepare_request`` makes them. Sent with ``Session.send``, whose settings
    ``Session.request`` would merge to ``proxies={}``, the session's ``verify`` and ``cert``.
    Preparing it here skips eight setting merges a request (each a runtime check against a
    typing Protocol in requests 2.34): a tenth of a capture's fetch (issue 16). A test
    compares the bytes sent both ways."""
    merged = CaseInsensitiveDict(session.headers)
    merged.update(headers)
    for name in [name for name, value in merged.items() if value is None]:
        del merged[name]
    request = requests.PreparedRequest()
    request.prepare(method="GET", url=url, headers=merged,
                    cookies=merge_cookies(RequestsCookieJar(), session.cookies))
    return request


# --- the fetcher ----------------------------------------------------------------------------


class Fetcher:
    """Fetches URLs with limits; one instance may be shared by many threads."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float = 120.0,
        max_redirects: int = 10,
        max_bytes: int = 50_000_000,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        self._session = session
        self._local = threading.local()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self.max_bytes = max_bytes
        self.user_agent = user_agent

    def session(self) -> requests.Session:
        """The injected session, else this thread's own (requests sessions are not thread-safe)."""
        if self._session is not None:
            return self._session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session()
        return session

    def fetch(self, url: str) -> FetchResult:
        """Fetch ``url``, following redirects; raises BadUrl or FetchError.

        Everything (connects, every redirect hop, heads and bodies) shares one total deadline
        of ``total_timeout`` seconds.
        """
        url = normalize_url(url)
        session = self.session()
        if self._session is None:
            session.cookies.clear()  # what a capture sees must not depend on earlier captures
        with Deadline(self.total_timeout) as deadline:
            try:
                return self._follow(session, url, deadline)
            except FetchError:
                if deadline.fired:
                    raise self._deadline_error(url, deadline) from None
                raise

    def fetch_one(self, url: str) -> FetchResult:
        """One request to ``url``, its redirect (if any) not followed; within
        ``total_timeout``. For an archived copy, where a 3xx is itself the evidence."""
        url = normalize_url(url)
        session = self.session()
        with Deadline(self.total_timeout) as deadline:
            fetched_at = utc_now()
            try:
                exchange = self._hop(session, url, deadline)
            except FetchError:
                if deadline.fired:
                    raise self._deadline_error(url, deadline) from None
                raise
        return FetchResult(url=url, final_url=url, exchanges=[exchange], fetched_at=fetched_at)

    def _deadline_error(self, url: str, deadline: Deadline) -> FetchError:
        if deadline.remaining() > 0.05:  # cut before its time: abort_all (a second Ctrl-C)
            return FetchError(f"aborted: the fetch of {url} was stopped", reason="aborted")
        return FetchError(f"timeout: {url} did not answer completely within "
                          f"{self.total_timeout:g} s in all", reason="timeout")

    def _follow(self, session: requests.Session, url: str, deadline: Deadline) -> FetchResult:
        fetched_at = utc_now()
        exchanges: list[Exchange] = []
        seen: set[str] = set()
        current = url
        while True:
            key = urldefrag(current)[0]
            if key in seen:
                raise FetchError(f"redirect loop: {current} was already visited "
                                 f"(from {url})", reason="redirect-loop")
            seen.add(key)
            exchange = self._hop(session, current, deadline)
            exchanges.append(exchange)
            location = exchange.header("location")
            if exchange.status not in REDIRECT_STATUSES or not location:
                return FetchResult(url=url, final_url=current, exchanges=exchanges,
                                   fetched_at=fetched_at)
            if len(exchanges) > self.max_redirects:
                raise FetchError(f"too many redirects (more than {self.max_redirects}) "
                                 f"from {url}", reason="too-many-redirects")
            try:
                current = normalize_url(urljoin(current, location.strip()))
            except BadUrl as exc:
                raise FetchError(f"refused redirect from {current}: {exc}",
                                 reason="bad-redirect") from None

    def _hop(self, session: requests.Session, url: str, deadline: Deadline) -> Exchange:
        started_at = utc_now()
        start = time.monotonic()
        remaining = deadline.remaining()
        if deadline.expired:
            raise self._deadline_error(url, deadline)
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": ACCEPT_ENCODING}
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        kept: list[bytes] = []
        hooks: dict[str, Any] = {"response": [functools.partial(
            self._keep_body, url=url, deadline=deadline, kept=kept)]}
        try:
            if self._session is not None:  # a session of the caller's: all its settings
                resp = session.get(url, headers=headers, stream=True, allow_redirects=False,
                                   timeout=timeout, hooks=hooks)
            else:
                request = prepared_get(session, url, headers)
                request.hooks = hooks
                resp = session.send(request, stream=True, allow_redirects=False,
                                    timeout=timeout, proxies={}, verify=session.verify,
                                    cert=session.cert)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError,
                http.client.HTTPException, ValueError) as exc:
            # ValueError: UnicodeError and LocationParseError from odd hosts; never a traceback.
            raise _fetch_error(url, exc, self) from None
        try:
            body = kept[0] if kept else self._read_body(resp, url, deadline)
            if deadline.fired:  # the watchdog's shutdown reads as an end of file: not an end
                raise self._deadline_error(url, deadline)
            exchange = _exchange(resp, url, body, started_at, time.monotonic() - start)
            _log.info("GET %s -> %d %s (%d bytes, %.2f s)", url, exchange.status,
                      exchange.reason, len(body), exchange.elapsed)
            return exchange
        finally:
            resp.close()

    def _keep_body(self, resp: requests.Response, *args: Any, url: str, deadline: Deadline,
                   kept: list[bytes], **kwargs: Any) -> requests.Response:
        """A response hook: read the body as received before ``Session.send`` goes on.

        Given ``allow_redirects=False``, requests still reads a 3xx answer's body (decoded,
        with no cap) to prepare ``Response.next``, and the socket is then empty: an archived
        301's 267 bytes were kept as 0 (a WARC record short of its Content-Length, and the
        SHA-256 of nothing, equal for any two redirects). Read here, within our limits, the
        bytes are ours and requests finds them already read."""
        try:
            body = self._read_body(resp, url, deadline)
        except BaseException:
            resp.close()
            raise
        kept.append(body)
        resp._content = body  # what requests' redirect handling drains: never read twice
        resp._content_consumed = True
        return resp

    def _read_body(self, resp: requests.Response, url: str, deadline: Deadline) -> bytes:
        """The body as received, within the byte cap and the total deadline."""
        raw = resp.raw
        declared = resp.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise _too_large(url, self.max_bytes, f"it declares {int(declared)} bytes")
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                if deadline.expired:
                    raise self._deadline_error(url, deadline)
                _set_socket_timeout(raw, min(self.read_timeout, deadline.remaining()))
                chunk = raw.read1(CHUNK, decode_content=False)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise _too_large(url, self.max_bytes, "the body is larger")
                parts.append(chunk)
        except FetchError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError,
                http.client.HTTPException) as exc:
            raise _fetch_error(url, exc, self) from None
        return b"".join(parts)


def _set_socket_timeout(raw: Any, seconds: float) -> None:
    conn = getattr(raw, "connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(seconds, 0.001))
        except OSError:
            pass


def _too_large(url: str, cap: int, why: str) -> FetchError:
    return FetchError(f"too large: {url} is over the {cap}-byte cap ({why}); "
                      "raise the cap (max_bytes) to keep it", reason="too-large")


def _exchange(resp: requests.Response, url: str, body: bytes, started_at: str,
              elapsed: float) -> Exchange:
    raw = resp.raw
    original = getattr(raw, "_original_response", None)
    version = {9: "HTTP/0.9", 10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(
        getattr(original, "version", 11), "HTTP/1.1")
    headers = list(original.msg.items()) if original is not None else list(resp.headers.items())
    response_head = getattr(original, "raw_head", b"") or _rebuild_response_head(
        version, resp.status_code, resp.reason or "", headers)
    request_head = _request_head(getattr(raw, "_prov_request_bytes", b"")) or \
        _rebuild_request_head(resp.request)
    return Exchange(
        url=url,
        method=resp.request.method or "GET",
        request_head=request_head,
        status=resp.status_code,
        reason=resp.reason or "",
        http_version=version,
        response_head=response_head,
        headers=headers,
        body=body,
        ip_address=getattr(raw, "_prov_peer", None) or _peer_of(raw),
        started_at=started_at,
        elapsed=elapsed,
    )


def _request_head(sent: bytes) -> bytes:
    end = sent.find(b"\r\n\r\n")
    return sent[: end + 4] if end >= 0 else b""


def _rebuild_request_head(req: requests.PreparedRequest) -> bytes:

    parts = urlsplit(str(req.url or ""))
    lines = [f"{req.method} {req.path_url} HTTP/1.1"]
    if not any(k.lower() == "host" for k in req.headers):
        lines.append(f"Host: {parts.netloc!s}")
    lines += [f"{_text(k)}: {_text(v)}" for k, v in req.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _rebuild_response_head(version: str, status: int, reason: str,
                           headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{version} {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def _peer_of(raw: Any) -> str | None:
    try:
        return str(raw.connection.sock.getpeername()[0])
    except (AttributeError, OSError, IndexError, TypeError):
        return None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests nests urllib3 nests socket errors)."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or item in found:
            continue
        found.append(item)
        todo += [item.__cause__, item.__context__]
        todo += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return found


def _fetch_error(url: str, exc: BaseException, fetcher: Fetcher) -> FetchError:
    """One line and one reason word for a transport failure."""
    causes = _causes(exc)
    if any(isinstance(c, (socket.gaierror, urllib3.exceptions.NameResolutionError,
                          UnicodeError)) for c in causes):
        return FetchError(f"DNS lookup failed for {url}: the host name does not resolve",
                          reason="dns")
    if any(isinstance(c, ConnectionRefusedError) or getattr(c, "errno", None) ==
           errno.ECONNREFUSED for c in causes):
        return FetchError(f"connection refused by {url}", reason="refused")
    if any(isinstance(c, (requests.Timeout, socket.timeout, TimeoutError,
                          urllib3.exceptions.TimeoutError)) for c in causes):
        return FetchError(f"timeout: {url} did not answer within "
                          f"{fetcher.connect_timeout:g} s (connect) / "
                          f"{fetcher.read_timeout:g} s (read)", reason="timeout")
    incomplete = next((c for c in causes if isinstance(
        c, (IncompleteHead, http.client.IncompleteRead, urllib3.exceptions.IncompleteRead))),
        None)
    if incomplete is not None:
        what = (str(incomplete) if isinstance(incomplete, IncompleteHead) else
                f"the body ended early ({_first_line(incomplete)})")
        return FetchError(f"incomplete response from {url}: {what}; not kept as a capture",
                          reason="incomplete")
    if any(isinstance(c, (ssl.SSLError, requests.exceptions.SSLError)) for c in causes):
        return FetchError(f"TLS error with {url}: {_first_line(exc)}", reason="tls")
    if any(isinstance(c, (ConnectionResetError, ConnectionAbortedError)) for c in causes):
        return FetchError(f"connection reset by {url}", reason="connection")
    if any(isinstance(c, (urllib3.exceptions.ProtocolError, http.client.HTTPException,
                          requests.exceptions.ChunkedEncodingError)) for c in causes):
        return FetchError(f"broken HTTP response from {url}: {_first_line(exc)}",
                          reason="protocol")
    return FetchError(f"could not fetch {url}: {_first_line(exc)}", reason="connection")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


# --- content decoding -----------------------------------------------------------------------


def decoded_body(ex: Exchange, max_bytes: int = DEFAULT_MAX_DECODED) -> bytes:
    """The body with its Content-Encoding undone (what a browser renders), at most ``max_bytes``.

    The stored evidence stays the encoded bytes; this is for text extraction. A body that
    expands beyond ``max_bytes`` (a decompression bomb) raises FetchError ``too-large``.
    """
    return decode_payload(ex.body, ex.header("content-encoding"), ex.url, max_bytes)


def decode_payload(data: bytes, content_encoding: str | None, url: str,
                   max_bytes: int = DEFAULT_MAX_DECODED) -> bytes:
    """:func:`decoded_body` of a payload kept apart from its exchange (a WARC's)."""
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",")]
    for encoding in reversed([e for e in encodings if e and e != "identity"]):
        data = _decode_one(data, encoding, max_bytes, url)
    return data


@dataclass(frozen=True)
class DecodedBody:
    """The start of a decoded body, for text: ``data`` is at most the bytes asked for."""

    data: bytes
    size: int  # decoded bytes seen in all (more than len(data) when cut short)
    checked: bool  # the encoded stream was followed to its proper end (False: too big to)


def decode_payload_for_text(data: bytes, content_encoding: str | None, url: str, *, keep: int,
                            limit: int = DEFAULT_MAX_DECODED) -> DecodedBody:
    """The first ``keep`` decoded bytes of a payload (a response's body, a WARC's), in
    bounded memory and work.

    A gzip or deflate stream is inflated in chunks, keeping only ``keep`` bytes, up to
    ``limit`` bytes in all, so a bomb costs neither memory nor more than ``limit`` of work.
    A stream that stops before its end raises FetchError ``incomplete`` (the text of a cut
    page must never stand for the page); undecodable bytes raise ``bad-encoding``.
    """
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",")]
    encodings = [e for e in encodings if e and e != "identity"]
    if len(encodings) == 1 and encodings[0] in ("gzip", "x-gzip", "deflate"):
        return _inflate_bounded(data, encodings[0], keep, limit, url)
    decoded = decode_payload(data, content_encoding, url, limit)  # rare (br, stacked codings)
    return DecodedBody(data=decoded[:keep], size=len(decoded), checked=True)


def _inflater(data: bytes, encoding: str) -> Any:
    if encoding == "deflate" and data[:1] != b"\x78":
        return zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
    return zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding != "deflate" else zlib.MAX_WBITS)


def _inflate_bounded(data: bytes, encoding: str, keep: int, limit: int,
                     url: str) -> DecodedBody:
    decomp = _inflater(data, encoding)
    kept = bytearray()
    size = 0
    feed = data
    try:
        while True:
            chunk = decomp.decompress(feed, CHUNK)
            feed = decomp.unconsumed_tail
            size += len(chunk)
            if len(kept) < keep:
                kept += chunk[: keep - len(kept)]
            if decomp.eof:
                break
            if size > limit:
                return DecodedBody(bytes(kept), size, checked=False)
            if not chunk and not feed:
                raise FetchError(f"incomplete response from {url}: its {encoding} stream is "
                                 f"cut off after {len(data)} bytes; not kept as a capture",
                                 reason="incomplete")
    except zlib.error as exc:
        raise FetchError(f"cannot decode {encoding} body of {url}: {exc}",
                         reason="bad-encoding") from None
    return DecodedBody(bytes(kept), size, checked=True)


def _decode_one(data: bytes, encoding: str, max_bytes: int, url: str) -> bytes:
    if encoding in ("gzip", "x-gzip", "deflate"):
        decomp = _inflater(data, encoding)
        try:
            out: bytes = decomp.decompress(data, max_bytes + 1)
        except zlib.error as exc:
            raise FetchError(f"cannot decode {encoding} body of {url}: {exc}",
                             reason="bad-encoding") from None
        if len(out) > max_bytes or decomp.unconsumed_tail:
            raise FetchError(f"too large: the {encoding} body of {url} expands beyond "
                             f"{max_bytes} bytes", reason="too-large")
        if not decomp.eof:
            raise FetchError(f"incomplete response from {url}: its {encoding} stream is "
                             f"cut off; not kept as a capture", reason="incomplete")
        return out
    if encoding == "br" and brotli is not None:
        try:
            out = _brotli_bounded(data, max_bytes)
        except brotli.error as exc:
            raise FetchError(f"cannot decode br body of {url}: {exc}",
                             reason="bad-encoding") from None
        if len(out) > max_bytes:
            raise FetchError(f"too large: the br body of {url} expands beyond {max_bytes} bytes",
                             reason="too-large")
        return out
    raise FetchError(f"cannot decode Content-Encoding {encoding!r} of {url}",
                     reason="bad-encoding")


def _brotli_bounded(data: bytes, max_bytes: int) -> bytes:  # pragma: no cover - optional
    decomp = brotli.Decompressor()
    out = bytearray()
    for i in range(0, len(data), CHUNK):
        out += decomp.process(data[i:i + CHUNK])
        if len(out) > max_bytes:
            break
    return bytes(out)
