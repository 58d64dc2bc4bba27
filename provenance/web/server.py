"""The viewer served by waitress, a pure-Python WSGI server that is well kept and meant for
production (unlike the development server that comes with Flask/werkzeug): a pool of
threads, bounded request bodies, and no C extension to build."""

from __future__ import annotations

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
    try:
        server = create_server(app, host=host, port=port, threads=THREADS,
                               max_request_body_size=settings.max_upload + (1 << 20),
                               channel_timeout=120, ident="provenance",
                               clear_untrusted_proxy_headers=True)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    access.port = int(server.effective_port)
    return Running(server, access)
