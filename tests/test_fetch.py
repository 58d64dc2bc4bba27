"""Fetcher against a real loopback server: every hop kept, every limit a FetchError."""

from __future__ import annotations

import gzip
import socket
import threading
import time

import pytest
import requests
from webfixtures import CHUNKS, GZIP_BODY, GZIP_HTML, RU_UTF8, closed_port, page_body

from archive.deadline import abort_all
from archive.errors import BadUrl, FetchError
from archive.fetch import (
    DEFAULT_USER_AGENT,
    Exchange,
    Fetcher,
    decode_payload_for_text,
    decoded_body,
)


@pytest.fixture
def fetcher():
    return Fetcher(connect_timeout=2, read_timeout=2, total_timeout=10, max_bytes=1_000_000)


def test_plain_page_is_kept_byte_for_byte(web, fetcher):
    result = fetcher.fetch(web.url("/ru/utf8"))
    ex = result.final
    assert ex.status == 200 and ex.reason == "OK" and ex.http_version == "HTTP/1.1"
    assert ex.body == RU_UTF8
    assert ex.ip_address == "127.0.0.1"
    assert result.redirects == [] and result.final_url == web.url("/ru/utf8")
    assert ex.request_head.startswith(b"GET /ru/utf8 HTTP/1.1\r\n")
    assert ex.request_head.endswith(b"\r\n\r\n")
    assert f"User-Agent: {DEFAULT_USER_AGENT}\r\n".encode() in ex.request_head
    assert ex.response_head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert ex.response_head.endswith(b"\r\n\r\n")
    assert f"Content-Length: {len(RU_UTF8)}\r\n".encode() in ex.response_head
    assert ("Content-Type", "text/html; charset=utf-8") in ex.headers
    assert result.fetched_at.endswith("Z") and ex.started_at.endswith("Z")
    assert ex.elapsed >= 0


def test_gzip_body_is_kept_compressed(web, fetcher):
    ex = fetcher.fetch(web.url("/gzip")).final
    assert ex.body == GZIP_BODY
    assert ex.header("content-encoding") == "gzip"
    assert decoded_body(ex) == GZIP_HTML


def test_chunked_body_is_dechunked(web, fetcher):
    ex = fetcher.fetch(web.url("/chunked")).final
    assert ex.body == b"".join(CHUNKS)
    assert b"Transfer-Encoding: chunked\r\n" in ex.response_head


def test_redirect_chain_is_recorded_hop_by_hop(web, fetcher):
    result = fetcher.fetch(web.url("/redirect/3"))
    assert [ex.status for ex in result.exchanges] == [302, 302, 302, 200]
    assert result.redirects == [web.url("/redirect/3"), web.url("/redirect/2"),
                                web.url("/redirect/1")]
    assert result.final_url == web.url("/ru/utf8")
    assert result.url == web.url("/redirect/3")
    assert result.final.body == RU_UTF8
    assert all(ex.request_head.startswith(f"GET {ex.url[len(web.base):]} ".encode())
               for ex in result.exchanges)


MOVED_BODY = b"<p>Moved <a href='/ru/utf8'>here</a></p>" * 100


def _redirect_with_body(h):
    from webfixtures import send

    send(h, 301, MOVED_BODY, {"Location": "/ru/utf8"})


@pytest.mark.parametrize("injected", [False, True], ids=["own-session", "caller-session"])
def test_a_redirects_body_is_kept_as_received(web, injected):
    """requests drains a 3xx body itself (to prepare Response.next) even with redirects not
    followed: the 301's bytes were kept as b"" (a WARC record short of its Content-Length,
    and the SHA-256 of nothing for every redirect)."""
    web.add_route("/moved-with-body", _redirect_with_body)
    fetcher = Fetcher(requests.Session() if injected else None, total_timeout=10)
    result = fetcher.fetch(web.url("/moved-with-body"))
    first = result.exchanges[0]
    assert first.status == 301 and first.body == MOVED_BODY
    assert result.final.body == RU_UTF8
    one = fetcher.fetch_one(web.url("/moved-with-body")).final
    assert one.status == 301 and one.body == first.body


def test_a_redirects_endless_body_hits_the_byte_cap(web):
    def endless_redirect(h):
        h.send_response(302)
        h.send_header("Location", "/ru/utf8")
        h.end_headers()
        try:
            while True:
                h.wfile.write(b"x" * 65536)
        except OSError:
            pass

    web.add_route("/moved-endless", endless_redirect)
    with pytest.raises(FetchError) as info:
        Fetcher(max_bytes=50_000, total_timeout=10).fetch(web.url("/moved-endless"))
    assert info.value.reason == "too-large"


def test_404_is_evidence_not_an_error(web, fetcher):
    ex = fetcher.fetch(web.url("/404")).final
    assert ex.status == 404 and b"Not found" in ex.body


def test_redirect_loop(web, fetcher):
    with pytest.raises(FetchError) as info:
        fetcher.fetch(web.url("/loop/a"))
    assert info.value.reason == "redirect-loop"


def test_too_many_redirects(web):
    with pytest.raises(FetchError) as info:
        Fetcher(max_redirects=2).fetch(web.url("/redirect/3"))
    assert info.value.reason == "too-many-redirects"
    assert Fetcher(max_redirects=3).fetch(web.url("/redirect/3")).final.status == 200


def test_redirect_to_file_is_refused(web, fetcher):
    with pytest.raises(FetchError) as info:
        fetcher.fetch(web.url("/to-file"))
    assert info.value.reason == "bad-redirect"
    assert "file:" in str(info.value)


def test_connection_refused(fetcher):
    with pytest.raises(FetchError) as info:
        fetcher.fetch(f"http://127.0.0.1:{closed_port()}/")
    assert info.value.reason == "refused"


def test_dns_failure(fetcher):
    with pytest.raises(FetchError) as info:
        fetcher.fetch("http://no-such-host.invalid/")
    assert info.value.reason == "dns"
    assert "no-such-host.invalid" in str(info.value)


def test_slow_server_times_out(web):
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        Fetcher(read_timeout=0.3).fetch(web.url("/slow"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - start < 1.5


def test_endless_body_hits_the_total_deadline(web):
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        Fetcher(read_timeout=5, total_timeout=0.5, max_bytes=10**9).fetch(web.url("/endless"))
    assert info.value.reason == "timeout"
    assert time.monotonic() - start < 2


def test_endless_body_hits_the_byte_cap(web):
    with pytest.raises(FetchError) as info:
        Fetcher(max_bytes=50_000).fetch(web.url("/endless"))
    assert info.value.reason == "too-large"
    assert "50000" in str(info.value) and "max_bytes" in str(info.value)


def test_declared_length_over_the_cap(web):
    with pytest.raises(FetchError) as info:
        Fetcher(max_bytes=1000).fetch(web.url("/big"))
    assert info.value.reason == "too-large"


def test_bad_url_is_refused_before_any_traffic(fetcher):
    with pytest.raises(BadUrl):
        fetcher.fetch("file:///etc/passwd")
    with pytest.raises(BadUrl):
        fetcher.fetch("example.com/x")


def test_one_fetcher_shared_by_eight_threads(web):
    fetcher = Fetcher()
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def work(start: int) -> None:
        try:
            for n in range(start, 80, 8):
                results[n] = fetcher.fetch(web.url(f"/page/{n}")).final.body
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == {n: page_body(n) for n in range(80)}


def test_injected_session_is_used(web):
    session = requests.Session()
    ex = Fetcher(session).fetch(web.url("/ru/utf8")).final
    assert ex.body == RU_UTF8
    assert ex.request_head.startswith(b"GET /ru/utf8 HTTP/1.1\r\n")
    assert ex.response_head.startswith(b"HTTP/1.1 200")


def _exchange(body: bytes, encoding: str | None) -> Exchange:
    headers = [("Content-Encoding", encoding)] if encoding else []
    return Exchange(url="http://x/", method="GET", request_head=b"", status=200, reason="OK",
                    http_version="HTTP/1.1", response_head=b"", headers=headers, body=body,
                    ip_address=None, started_at="", elapsed=0.0)


def test_decoded_body_refuses_a_decompression_bomb():
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(FetchError) as info:
        decoded_body(_exchange(bomb, "gzip"), max_bytes=1_000_000)
    assert info.value.reason == "too-large"
    assert decoded_body(_exchange(bomb, "gzip"), max_bytes=5_000_000) == b"\0" * 5_000_000


def test_decoded_body_deflate_and_identity():
    import zlib

    assert decoded_body(_exchange(zlib.compress(b"hello"), "deflate")) == b"hello"
    raw = zlib.compressobj(wbits=-15)
    data = raw.compress(b"hello") + raw.flush()
    assert decoded_body(_exchange(data, "deflate")) == b"hello"
    assert decoded_body(_exchange(b"plain", None)) == b"plain"
    with pytest.raises(FetchError) as info:
        decoded_body(_exchange(b"not gzip", "gzip"))
    assert info.value.reason == "bad-encoding"


# --- issue 9: incomplete responses, total deadlines that hold --------------------------------


class RawServer:
    """A loopback server that answers every connection with exactly ``payload`` and closes."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/page"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.payload)
                conn.shutdown(socket.SHUT_WR)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


BROKEN = {
    "status line only": b"HTTP/1.1 200 OK",
    "cut inside a header": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Pad: ab",
    "no blank line": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n",
    "short body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<p>9 861</p>",
    "cut chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n<p>9 861",
    "no last chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_an_incomplete_response_is_a_failed_fetch(name):
    with RawServer(BROKEN[name]) as server, pytest.raises(FetchError) as info:
        Fetcher(read_timeout=2, total_timeout=5).fetch(server.url)
    assert info.value.reason == "incomplete", str(info.value)
    assert "\n" not in str(info.value)


def test_cut_status_line_is_a_failed_fetch():
    with RawServer(b"HTTP/1.1 20") as server, pytest.raises(FetchError):
        Fetcher(read_timeout=2, total_timeout=5).fetch(server.url)


def test_a_body_ended_by_closing_the_connection_is_complete():
    """No length declared: HTTP says the close ends the body, so it is a capture."""
    with RawServer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<p>all</p>") as server:
        ex = Fetcher(read_timeout=2, total_timeout=5).fetch(server.url).final
    assert ex.status == 200 and ex.body == b"<p>all</p>"


def test_headers_dripping_in_hit_the_total_deadline(web):
    """/drip-head sends a byte every 0.5 s: no read timeout fires, the total deadline must."""
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        Fetcher(read_timeout=5, total_timeout=1.5).fetch(web.url("/drip-head"))
    assert info.value.reason == "timeout"
    assert "1.5 s" in str(info.value)
    assert time.monotonic() - start < 3


def test_a_body_cut_by_the_deadline_is_not_a_short_capture(web):
    """/endless has no Content-Length: the watchdog's shutdown must not pass for its end."""
    with pytest.raises(FetchError) as info:
        Fetcher(read_timeout=5, total_timeout=0.7, max_bytes=10**9).fetch(web.url("/endless"))
    assert info.value.reason == "timeout"


def test_abort_all_stops_a_fetch_in_flight(web):
    timer = threading.Timer(0.7, abort_all)
    timer.start()
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        Fetcher(read_timeout=30, total_timeout=60).fetch(web.url("/drip-head"))
    timer.join()
    assert info.value.reason == "aborted"
    assert time.monotonic() - start < 3


def test_a_cut_gzip_stream_is_incomplete():
    data = gzip.compress(RU_UTF8)
    for cut in (len(data) - 8, len(data) // 2, 20):
        with pytest.raises(FetchError) as info:
            decode_payload_for_text(data[:cut], "gzip", "http://x/", keep=10**6)
        assert info.value.reason == "incomplete"
        with pytest.raises(FetchError) as info:
            decoded_body(_exchange(data[:cut], "gzip"))
        assert info.value.reason == "incomplete"
    whole = decode_payload_for_text(data, "gzip", "http://x/", keep=100)
    assert whole.data == RU_UTF8[:100] and whole.size == len(RU_UTF8) and whole.checked


def test_decode_payload_for_text_keeps_little_and_bounds_the_work():
    bomb = gzip.compress(b"<div>" * 2_000_000)  # 10 MB inflated
    found = decode_payload_for_text(bomb, "gzip", "http://x/", keep=1000, limit=100_000_000)
    assert found.data == b"<div>" * 200 and found.size == 10_000_000 and found.checked
    capped = decode_payload_for_text(bomb, "gzip", "http://x/", keep=1000, limit=1_000_000)
    assert len(capped.data) == 1000 and not capped.checked and capped.size <= 1_100_000
    with pytest.raises(FetchError) as info:
        decode_payload_for_text(b"not gzip at all", "gzip", "http://x/", keep=1000)
    assert info.value.reason == "bad-encoding"
    plain = decode_payload_for_text(b"plain text", None, "http://x/", keep=5)
    assert plain.data == b"plain" and plain.size == 10


def test_a_request_prepared_by_the_fetcher_is_byte_for_byte_what_session_get_sends(web):
    """Our own sessions send a request prepared directly (archive.fetch.prepared_get, issue
    16); a session given to the Fetcher goes through ``session.get``. The heads sent (kept
    in the WARC) must be the same bytes, hop for hop: the URL's query and escapes, its own
    credentials (Basic auth), and a cookie set by a redirect sent on the next hop."""
    from webfixtures import send

    from archive.fetch import new_session

    def sets_cookie(h):
        send(h, 302, b"", {"Location": "/fetch-prepared/landed?x=%C3%A9&y=a+b",
                           "Set-Cookie": "session=abc123; Path=/"})

    web.add_route("/fetch-prepared/start", sets_cookie)
    web.add_route("/fetch-prepared/landed", lambda h: send(h, 200, b"<p>landed</p>"))
    port = web.url("/").split(":")[2].split("/")[0]
    urls = [web.url("/fetch-prepared/start"),
            web.url("/fetch-prepared/landed?q=%D0%BF%D1%80%D0%B8&empty=&a=1&a=2"),
            f"http://reader:p%40ss@127.0.0.1:{port}/fetch-prepared/landed",
            web.url("/redirect/2")]
    for url in urls:
        ours = Fetcher().fetch(url)
        theirs = Fetcher(session=new_session()).fetch(url)
        assert [e.request_head for e in ours.exchanges] == \
            [e.request_head for e in theirs.exchanges], url
        assert [e.status for e in ours.exchanges] == [e.status for e in theirs.exchanges]
    cookie_hop = Fetcher().fetch(urls[0]).exchanges[1].request_head
    assert b"Cookie: session=abc123" in cookie_hop
    assert b"Authorization: Basic " in Fetcher().fetch(urls[2]).exchanges[0].request_head


@pytest.mark.parametrize("url", ["http://example.org/a?b=c%20d&e=", "http://u:p@example.org/",
                                 "https://пример.рф/путь?ключ=значение"])
def test_prepared_get_is_what_the_session_prepares(url):
    from archive.fetch import new_session, prepared_get

    session = new_session()
    session.cookies.set("seen", "1", domain="example.org", path="/")
    headers = {"User-Agent": "ours/1", "Accept-Encoding": "gzip"}
    mine = prepared_get(session, url, headers)
    theirs = session.prepare_request(requests.Request("GET", url, headers=headers))
    assert (mine.method, mine.url, mine.body) == (theirs.method, theirs.url, theirs.body)
    assert list(mine.headers.items()) == list(theirs.headers.items())
