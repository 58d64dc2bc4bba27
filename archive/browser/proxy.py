"""The browser's recording proxy: every request the browser makes and every response it gets,
kept byte for byte, the way :mod:`archive.fetch` keeps a server capture.

Why our own and not warcprox or pywb's recording proxy: warcprox pins ``cryptography<46``
(it would downgrade a library the time-stamp code and pywb's pyOpenSSL rely on) and writes
WARCs from a background thread with no point at which "this page's WARC is complete" is
known; pywb's proxy serves the browser through its rewriter. Here each capture gets a
:class:`Recording`, the proxy adds exchanges to it as they finish, and the caller ends it
knowing nothing more will be added. The WARC is written by :mod:`archive.warc`, in exactly
the format of a server capture.

Only the page's requests are carried: each carries the recording's random token
(:data:`TOKEN_HEADER`, removed before the request goes on), anything else the browser sends
by itself is refused and never leaves the machine. One request per connection: the request
goes upstream with ``Connection: close`` (recorded as sent), the response comes back to the
browser as received, and both connections are then closed. Every read has a time limit,
every head a size limit, and each recording a byte budget; a response over the budget is cut
and the recording marked :attr:`Recording.overflow`.

HTTPS is intercepted with a certificate made by :class:`archive.browser.mitm.MitmAuthority`
for this proxy only; the browser trusts its key alone (Chromium's
``--ignore-certificate-errors-spki-list``), while the proxy checks the real server's
certificate as any client does.
"""

from __future__ import annotations

import secrets
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from archive.browser.mitm import MitmAuthority
from archive.fetch import Exchange, utc_now

MAX_HEAD = 64 * 1024  # bytes of one request or response head
MAX_REQUEST_BODY = 16 * 1024 * 1024
CHUNK = 64 * 1024
TOKEN_HEADER = "X-Provenance-Capture"
REFUSED_HEADER = "X-Provenance-Proxy-Refused"  # on answers the proxy made up, not the server
_HOP_HEADERS = {b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive",
                TOKEN_HEADER.lower().encode()}


class ProxyFault(Exception):
    """One exchange could not be carried; the browser gets an error response or a cut."""


@dataclass
class Recording:
    """What the proxy carried for one capture, and what it could not."""

    max_bytes: int
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    exchanges: list[Exchange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    received: int = 0
    overflow: bool = False
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _idle: threading.Condition = field(init=False, repr=False)
    _active: int = 0

    def __post_init__(self) -> None:
        self._idle = threading.Condition(self._lock)

    def charge(self, size: int) -> bool:
        """Count ``size`` received bytes; False once the budget is spent."""
        with self._lock:
            self.received += size
            if self.received > self.max_bytes:
                self.overflow = True
            return not self.overflow

    def enter(self) -> bool:
        with self._lock:
            if self.closed:
                return False
            self._active += 1
            return True

    def leave(self, exchange: Exchange | None, error: str | None) -> None:
        with self._lock:
            self._active -= 1
            if not self.closed:
                if exchange is not None:
                    self.exchanges.append(exchange)
                if error is not None and len(self.errors) < 100:
                    self.errors.append(error)
            self._idle.notify_all()

    def close(self, wait: float) -> None:
        """Stop taking exchanges, after waiting up to ``wait`` s for those in flight."""
        deadline = time.monotonic() + wait
        with self._lock:
            while self._active and time.monotonic() < deadline:
                self._idle.wait(max(0.0, deadline - time.monotonic()))
            if self._active:
                self.errors.append(f"{self._active} exchange(s) still open at the end: "
                                   "not recorded")
            self.closed = True


class RecordingProxy:
    """A loopback HTTP(S) proxy that adds what it carries to the current :class:`Recording`."""

    def __init__(self, *, timeout: float = 20.0, authority: MitmAuthority | None = None,
                 upstream_tls: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.authority = authority or MitmAuthority()
        self.upstream_tls = upstream_tls or ssl.create_default_context()
        self.current: Recording | None = None
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 64

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="recording-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def begin(self, max_bytes: int) -> Recording:
        self.current = Recording(max_bytes)
        return self.current

    def end(self, recording: Recording, wait: float = 2.0) -> Recording:
        if self.current is recording:
            self.current = None
        recording.close(wait)
        return recording

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- one connection ------------------------------------------------------------------------

    def _handle(self, client: socket.socket) -> None:
        recording = self.current
        if recording is None or not recording.enter():
            client.close()
            return
        exchange: Exchange | None = None
        error: str | None = None
        opened: list[Any] = [client]  # sockets and their readers, all closed at the end
        try:
            client.settimeout(self.timeout)
            exchange = self._carry(client, recording, opened)
        except (ProxyFault, OSError, ValueError) as exc:
            error = str(exc) or type(exc).__name__
        finally:
            recording.leave(exchange, error)
            for thing in reversed(opened):
                try:
                    thing.close()
                except OSError:
                    pass

    def _carry(self, client: socket.socket, recording: Recording,
               opened: list[Any]) -> Exchange | None:
        reader: BinaryIO = client.makefile("rb")
        opened.append(reader)
        head = read_head(reader)
        method, target, _ = _request_line(head)
        if method == "CONNECT":
            host, port = _host_port(target, 443)
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            tls = self.authority.server_context(host).wrap_socket(client, server_side=True)
            opened.append(tls)
            tls.settimeout(self.timeout)
            client, reader = tls, tls.makefile("rb")
            opened.append(reader)
            head = read_head(reader)
            method, target, _ = _request_line(head)
            url = f"https://{target_host(host, port, 443)}{target}"
            secure = True
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                _refuse(client, 400, "absolute http URL expected")
                raise ProxyFault(f"not a proxy request: {target[:200]}")
            host, port = parts.hostname, parts.port or 80
            url, secure = target, False
        if _header(head, TOKEN_HEADER) != recording.token:
            # The browser's own traffic (update checks, account lookups) never leaves: only
            # the page's requests carry the capture's token (Playwright adds it to each).
            _refuse(client, 403, "not a request of the page being captured")
            return None
        body = _request_body(reader, head)
        sent = _upstream_head(head, url)
        started, started_at = time.monotonic(), utc_now()
        try:
            upstream = socket.create_connection((host, port), timeout=self.timeout)
        except OSError as exc:
            _refuse(client, 502, "cannot connect")
            raise ProxyFault(f"{url}: cannot connect: {exc}") from None
        opened.append(upstream)
        if secure:
            try:
                upstream = self.upstream_tls.wrap_socket(upstream, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                _refuse(client, 502, "server certificate not trusted")
                raise ProxyFault(f"{url}: TLS: {exc}") from None
            opened.append(upstream)
        upstream.settimeout(self.timeout)
        peer = upstream.getpeername()[0]
        upstream.sendall(sent + body)
        upstream_reader = upstream.makefile("rb")
        opened.append(upstream_reader)
        return self._relay(upstream_reader, client, recording, Exchange(
            url=url, method=method, request_head=sent, status=0, reason="",
            http_version="HTTP/1.1", response_head=b"", headers=[], body=b"",
            ip_address=str(peer), started_at=started_at, elapsed=0.0,
            request_body=body), started)

    def _relay(self, reader: BinaryIO, client: socket.socket, recording: Recording,
               draft: Exchange, started: float) -> Exchange:
        while True:
            head = read_head(reader)
            client.sendall(head)
            version, status, reason = _status_line(head)
            if not 100 <= status < 200 or status == 101:
                break  # 1xx (103 Early Hints) go to the browser and the final head follows
        if status == 101:
            raise ProxyFault(f"{draft.url}: protocol upgrade (WebSocket) not recorded")
        headers = parse_headers(head)
        body = _relay_body(reader, client, recording, draft, status, headers)
        return Exchange(
            url=draft.url, method=draft.method, request_head=draft.request_head,
            status=status, reason=reason, http_version=version, response_head=head,
            headers=headers, body=body, ip_address=draft.ip_address,
            started_at=draft.started_at, elapsed=time.monotonic() - started,
            request_body=draft.request_body)


class _Pipe:
    """Bytes from the server to the browser, counted against the recording's budget."""

    def __init__(self, reader: BinaryIO, client: socket.socket, recording: Recording,
                 url: str) -> None:
        self.reader, self.client, self.recording, self.url = reader, client, recording, url

    def forward(self, data: bytes) -> bytes:
        if self.recording.closed:
            raise ProxyFault(f"{self.url}: still loading when the capture ended: cut")
        if data and not self.recording.charge(len(data)):
            raise ProxyFault(f"{self.url}: over the {self.recording.max_bytes}-byte cap")
        self.client.sendall(data)
        return data

    def take(self, size: int | None) -> bytes:
        """Up to ``size`` bytes (None: what is there, b"" at the end), forwarded."""
        if size is None:
            return self.forward(self.reader.read1(CHUNK))  # type: ignore[attr-defined]
        return self.forward(self.reader.read(size))

    def exactly(self, size: int) -> bytes:
        body = bytearray()
        while len(body) < size:
            data = self.take(min(CHUNK, size - len(body)))
            if not data:
                raise ProxyFault(f"{self.url}: the server closed before the end of the body")
            body += data
        return bytes(body)

    def line(self) -> bytes:
        line = self.reader.readline(1024)
        if len(line) >= 1024 and not line.endswith(b"\n"):
            raise ProxyFault(f"{self.url}: a chunk framing line over 1 KiB")
        return self.forward(line)


def _relay_body(reader: BinaryIO, client: socket.socket, recording: Recording,
                draft: Exchange, status: int, headers: list[tuple[str, str]]) -> bytes:
    """Pass the body to the browser as received; return it without chunked framing."""
    lower = {k.lower(): v for k, v in headers}
    if draft.method == "HEAD" or status in (204, 304):
        return b""
    pipe = _Pipe(reader, client, recording, draft.url)
    if lower.get("transfer-encoding", "").strip().lower() == "chunked":
        return _relay_chunked(pipe)
    if "content-length" in lower:
        try:
            size = int(lower["content-length"].strip())
        except ValueError:
            raise ProxyFault(f"{draft.url}: a malformed Content-Length") from None
        return pipe.exactly(size)
    body = bytearray()
    while data := pipe.take(None):
        body += data
    return bytes(body)


def _relay_chunked(pipe: _Pipe) -> bytes:
    """Relay a chunked body frame by frame; the body returned is without the framing."""
    body = bytearray()
    while True:
        line = pipe.line()
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProxyFault(f"{pipe.url}: a malformed chunk size") from None
        if size == 0:
            while pipe.line() not in (b"\r\n", b"\n", b""):
                pass  # trailers, forwarded
            return bytes(body)
        body += pipe.exactly(size)
        pipe.line()


def read_head(reader: BinaryIO) -> bytes:
    """An HTTP head up to and including its blank line, at most :data:`MAX_HEAD` bytes."""
    head = bytearray()
    while True:
        line = reader.readline(MAX_HEAD + 1 - len(head))
        if not line:
            raise ProxyFault("connection closed before a complete head")
        head += line
        if line in (b"\r\n", b"\n") and len(head) > len(line):
            return bytes(head)
        if len(head) > MAX_HEAD:
            raise ProxyFault(f"a head over {MAX_HEAD} bytes")


def parse_headers(head: bytes) -> list[tuple[str, str]]:
    found = []
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            found.append((name.strip().decode("latin-1"), value.strip().decode("latin-1")))
    return found


def _header(head: bytes, name: str) -> str | None:
    lower = name.lower()
    return next((v for k, v in parse_headers(head) if k.lower() == lower), None)


def _request_line(head: bytes) -> tuple[str, str, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3:
        raise ProxyFault("a malformed request line")
    return parts[0].upper(), parts[1], parts[2]


def _status_line(head: bytes) -> tuple[str, int, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    try:
        return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""
    except (IndexError, ValueError):
        raise ProxyFault("a malformed status line") from None


def _host_port(target: str, default: int) -> tuple[str, int]:
    parts = urlsplit("//" + target)
    if not parts.hostname:
        raise ProxyFault(f"a CONNECT without a host: {target[:200]}")
    return parts.hostname, parts.port or default


def target_host(host: str, port: int, default: int) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == default else f"{name}:{port}"


def _request_body(reader: BinaryIO, head: bytes) -> bytes:
    headers = {k.lower(): v for k, v in parse_headers(head)}
    if "transfer-encoding" in headers:
        raise ProxyFault("a chunked request body is not supported")
    size = int(headers.get("content-length", "0").strip() or 0)
    if not 0 <= size <= MAX_REQUEST_BODY:
        raise ProxyFault(f"a request body of {size} bytes")
    body = reader.read(size) if size else b""
    if len(body) != size:
        raise ProxyFault("the browser closed before the end of its request body")
    return body


def _upstream_head(head: bytes, url: str) -> bytes:
    """The request as the server gets it: origin-form target, hop headers replaced by
    ``Connection: close``."""
    lines = head.split(b"\r\n")
    method = lines[0].split(b" ", 1)[0]
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    out = [method + b" " + path.encode("latin-1", "replace") + b" HTTP/1.1"]
    out += [line for line in lines[1:] if line
            and line.split(b":", 1)[0].strip().lower() not in _HOP_HEADERS]
    out.append(b"Connection: close")
    return b"\r\n".join(out) + b"\r\n\r\n"


def _refuse(client: socket.socket, status: int, why: str) -> None:
    body = why.encode()
    try:
        client.sendall(f"HTTP/1.1 {status} {why}\r\nContent-Type: text/plain\r\n"
                       f"{REFUSED_HEADER}: {why}\r\n"
                       f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                       + body)
    except OSError:
        pass
