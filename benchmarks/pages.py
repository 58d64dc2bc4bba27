"""A loopback server of N small distinct pages, for benchmarks that capture many URLs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>Page {n}</title></head>"
        "<body><nav>menu</nav><article><h1>Сообщение {n}</h1><p>По данным ведомства, "
        "потеряли {n} человек.</p>{filler}</article><footer>footer</footer></body></html>")
FILLER = "<p>" + "Текст статьи. " * 400 + "</p>"


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0
    # Headers and body in one write, sent at once: two small writes on a kept-alive
    # connection meet the client's delayed ACK and stall 40 ms a page (wget measured that).
    wbufsize = 1 << 20
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802
        if self.delay:
            time.sleep(self.delay)  # a real server's time to answer
        n = self.path.rsplit("/", 1)[-1]
        body = PAGE.format(n=n, filler=FILLER).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve_pages(delay: float = 0.0) -> Iterator[str]:
    """Yields the base URL; pages are ``BASE/page/<n>``, each answered after ``delay`` s."""
    handler = type("_DelayedPages", (_Pages,), {"delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.request_queue_size = 128
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
