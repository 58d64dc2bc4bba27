"""The viewer served by waitress, a pure-Python WSGI server that is well kept and meant for
production (unlike the development server that comes with Flask/werkzeug): a pool of
threads, bounded request bodies, and no C extension to build."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from typing import Any

from waitress.server import create_server

from provenance.api import Evidence
from provenance.errors import UsageError
from provenance.web.app import create_app
from provenance.web.context import ServeSettings
from provenance.web.security import Access

THREADS = 4


def _bound(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port``, made here so that an address that cannot be
    used is one line (and nothing of a half-made server is left open)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


@dataclass
class Running:
    """A server listening (not yet serving: :meth:`serve` or :meth:`start` does that)."""

    server: Any
    access: Access
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open: with the token when one is required."""
        host = self.access.host
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{self.access.port}/"
        return base + (f"?token={self.access.token}" if self.access.token else "")

    def serve(self) -> None:
        """Answer requests until :meth:`close` (or Ctrl-C)."""
        self.server.run()

    def start(self) -> threading.Thread:
        """Answer requests in a background thread (tests, embedding)."""
        self.thread = threading.Thread(target=self.serve, name="provenance-serve",
                                       daemon=True)
        self.thread.start()
        return self.thread

    def close(self) -> None:
        """Stop: let the requests being answered finish (5 s at most), then close every
        connection and the listening socket, which ends the serving loop."""
        self.server.task_dispatcher.shutdown(timeout=5)
        for channel in list(self.server._map.values()):
            channel.close()
        if self.thread is not None:
            self.thread.join(timeout=5)


def listen(evidence: Evidence, host: str = "127.0.0.1", port: int = 8080,
           settings: ServeSettings | None = None) -> Running:
    """Listen on ``host``:``port`` (0: any free port) for the viewer of ``evidence``. Any
    address other than loopback gets an access token, required on every request."""
    settings = settings or ServeSettings()
    access = Access.for_address(host, port)
    app = create_app(evidence, access, settings)
    sock = _bound(host, port)
    server = create_server(app, sockets=[sock], threads=THREADS,
                           max_request_body_size=settings.max_upload + (1 << 20),
                           channel_timeout=120, ident="provenance",
                           clear_untrusted_proxy_headers=True)
    access.port = int(server.effective_port)
    return Running(server, access)
