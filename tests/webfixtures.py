"""A real HTTP server on 127.0.0.1 for tests: pages, redirects and misbehaving servers.

Routes are a dict of path -> handler, so another test module adds its own with
``web.add_route("/mine", handler)`` (exact path) or a key ending in "/" (a prefix route).
Each handler gets the ``BaseHTTPRequestHandler`` and writes the whole response; ``send`` does
the common case. ``web.hits(path)`` counts requests per path (for resume tests).
"""

from __future__ import annotations

import functools
import gzip
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]

# --- the Russian article, as Russian sites serve it ---------------------------------------

TITLE = "Потери России на Украине"
PUBLISHED = "2022-03-20T16:04:00+03:00"
MODIFIED = "2022-03-21T11:30:00+03:00"
CANONICAL = "https://www.example.ru/news/2022/03/20/poteri/"
ARTICLE = [
    "Потери России на Украине: данные Минобороны",
    "По данным Министерства обороны, с начала специальной военной операции "
    "Россия потеряла 9 861 человек убитыми, 16 153 ранеными.",
    "В ведомстве подчеркнули, что эти сведения уточняются.",
    "Ранее официально сообщалось о 498 погибших военнослужащих.",
]
DATE_TEXT = "20 марта 2022"
ARTICLE_TEXT = "\n".join([ARTICLE[0], DATE_TEXT, *ARTICLE[1:]])  # what extraction must give
NAV_WORDS = ["Главная", "Политика", "Экономика"]
FOOTER_TEXT = "Все права защищены"
AD_TEXT = "Купите наши курсы"
COOKIE_TEXT = "Мы используем файлы cookie"


def article_html(meta_charset: str | None = None) -> str:
    """The article page with the clutter extraction must drop (nav, ads, footer, scripts)."""
    meta = ""
    if meta_charset:
        meta = f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">'
    head, lead, rest, tail = ARTICLE[0], ARTICLE[1], ARTICLE[2], ARTICLE[3]
    return f"""<!DOCTYPE html>
<html lang="ru"><head>{meta}
<title>{TITLE}</title>
<link rel="canonical" href="{CANONICAL}">
<meta property="article:published_time" content="{PUBLISHED}">
<meta property="article:modified_time" content="{MODIFIED}">
<script>var counter = "Метрика";</script>
<style>body {{ font-family: serif; }}</style>
</head><body>
<header><div class="logo">Комсомольская правда</div>
<nav><ul>{"".join(f'<li><a href="/{w}">{w}</a></li>' for w in NAV_WORDS)}</ul></nav></header>
<div class="cookie-banner">{COOKIE_TEXT} <button>OK</button></div>
<main><article>
<h1>{head}</h1>
<time datetime="{PUBLISHED}">{DATE_TEXT}</time>
<p>{lead}</p>

<p>{rest}<script>document.write("реклама");</script></p>
<aside class="ad">{AD_TEXT}</aside>
<p>
  {tail}
</p>
</article></main>
<form action="/subscribe"><input name="email"> Подписаться на рассылку</form>
<footer>{FOOTER_TEXT} © 2022</footer>
</body></html>
"""


RU_UTF8 = article_html().encode("utf-8")
RU_CP1251 = article_html().encode("cp1251")
RU_KOI8 = article_html(meta_charset="koi8-r").encode("koi8_r")
GZIP_HTML = RU_UTF8
GZIP_BODY = gzip.compress(GZIP_HTML, mtime=0)


@functools.lru_cache(maxsize=1)
def gzip_bomb(inflated: int = 200_000_000) -> bytes:
    """Gzip of ``inflated`` bytes of nested ``<div>`` tags (made once, on first use)."""
    out = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"<div>" * (1 << 16)
    parts = [out.compress(b"<html><body>")]
    for _ in range(inflated // len(block)):
        parts.append(out.compress(block))
    parts.append(out.flush())
    return b"".join(parts)


CHUNKS = [b"<html><body><p>first chunk</p>", b"<p>second chunk</p>", b"</body></html>"]
PAGE_COUNT = 200


def page_body(n: int) -> bytes:
    return (f"<html><head><title>Page {n}</title></head><body><article><p>Page number {n}."
            f"</p></article></body></html>").encode()


# --- handlers --------------------------------------------------------------------------------


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"",
         headers: dict[str, str] | None = None, content_type: str = "text/html") -> None:
    """A complete response with Content-Length."""
    h.send_response(status)
    if content_type:
        h.send_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def redirect(to: str, status: int = 302) -> Handler:
    return lambda h: send(h, status, b"", {"Location": to})


def _redirect_n(h: BaseHTTPRequestHandler) -> None:
    n = int(h.path.rstrip("/").rsplit("/", 1)[1])
    target = "/ru/utf8" if n <= 1 else f"/redirect/{n - 1}"
    send(h, 302, b"", {"Location": target})


def _page(h: BaseHTTPRequestHandler) -> None:
    n = int(h.path.rsplit("/", 1)[1])
    if not 0 <= n < PAGE_COUNT:
        send(h, 404, b"no such page")
        return
    send(h, 200, page_body(n), content_type="text/html; charset=utf-8")


def _slow(h: BaseHTTPRequestHandler) -> None:
    time.sleep(2.0)
    try:
        send(h, 200, b"<p>too late</p>")
    except OSError:
        pass


def _endless(h: BaseHTTPRequestHandler) -> None:
    """Streams without end (stops after 30 s so the server thread ends)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/plain")
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True
    stop = time.monotonic() + 30
    try:
        while time.monotonic() < stop:
            h.wfile.write(b"x" * 4096)
            h.wfile.flush()
            time.sleep(0.01)
    except OSError:
        pass


def _drip_head(h: BaseHTTPRequestHandler) -> None:
    """Sends its status line and headers one byte at a time, 0.5 s apart (for 60 s at most).

    Each byte arrives well within any read timeout, so only a total deadline stops it.
    """
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"a" * 200
    try:
        for byte in head[:120]:
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(0.5)
    except OSError:
        pass
    h.close_connection = True


def _gzip_bomb(h: BaseHTTPRequestHandler) -> None:
    """About 200 KB of gzip that inflates to 200 MB of nested tags."""
    send(h, 200, gzip_bomb(), {"Content-Encoding": "gzip"},
         content_type="text/html; charset=utf-8")


def _big(h: BaseHTTPRequestHandler) -> None:
    size = 10_000_000
    h.send_response(200)
    h.send_header("Content-Type", "application/octet-stream")
    h.send_header("Content-Length", str(size))
    h.end_headers()
    try:
        for _ in range(size // 65536):
            h.wfile.write(b"\0" * 65536)
    except OSError:
        pass


def _chunked(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    for chunk in CHUNKS:
        h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    h.wfile.write(b"0\r\n\r\n")


ROUTES: dict[str, Handler] = {
    "/ru/utf8": lambda h: send(h, 200, RU_UTF8, content_type="text/html; charset=utf-8"),
    "/ru/cp1251": lambda h: send(h, 200, RU_CP1251, content_type="text/html; charset=windows-1251"),
    "/ru/koi8": lambda h: send(h, 200, RU_KOI8, content_type="text/html"),
    "/ru/cp1251-undeclared": lambda h: send(h, 200, RU_CP1251, content_type="text/html"),
    "/gzip": lambda h: send(h, 200, GZIP_BODY, {"Content-Encoding": "gzip"},
                            content_type="text/html; charset=utf-8"),
    "/redirect/": _redirect_n,
    "/loop/a": redirect("/loop/b"),
    "/loop/b": redirect("/loop/a"),
    "/404": lambda h: send(h, 404, b"<html><body><p>Not found</p></body></html>"),
    "/slow": _slow,
    "/endless": _endless,
    "/drip-head": _drip_head,
    "/gzip-bomb": _gzip_bomb,
    "/big": _big,
    "/to-file": redirect("file:///etc/passwd"),
    "/page/": _page,
    "/chunked": _chunked,
}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path = self.path.split("?", 1)[0]
        self.server.count(path)
        handler = self.server.routes.get(path)
        if handler is None:
            prefixes = [p for p in self.server.routes if p.endswith("/") and path.startswith(p)]
            handler = self.server.routes[max(prefixes, key=len)] if prefixes else None
        if handler is None:
            send(self, 404, b"no route")
            return
        handler(self)

    do_POST = do_GET  # noqa: N815 - a TSA or SavePageNow stand-in that misbehaves the same way

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, Handler]) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.routes = routes
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, path: str) -> None:
        with self._lock:
            self._counts[path] += 1

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up on /endless is expected, not a test failure


class WebServer:
    """Context manager: a threaded server on 127.0.0.1 with :data:`ROUTES` (plus yours)."""

    def __init__(self, routes: dict[str, Handler] | None = None) -> None:
        self._server = _Server(dict(ROUTES if routes is None else routes))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add_route(self, path: str, handler: Handler) -> None:
        self._server.routes[path] = handler

    def hits(self, path: str) -> int:
        with self._server._lock:
            return self._server._counts[path]

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
