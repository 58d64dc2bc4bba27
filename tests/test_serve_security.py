"""``provenance serve`` against someone who means harm: requests from elsewhere, forged
forms, paths in every parameter, hostile uploads, captured pages that carry markup.

Most requests go through Flask's test client (the whole application, security hooks
included); those about who may connect go to the real waitress server on 127.0.0.1.
"""

from __future__ import annotations

import html
import io
import re
import zipfile

import pytest
import requests
from PIL import Image
from webfixtures import send

from provenance.api import Evidence
from provenance.web.app import create_app
from provenance.web.context import ServeSettings
from provenance.web.security import Access
from provenance.web.server import listen

EVIL_TITLE = "<script>alert('x')</script><img src=x onerror=alert(1)>"
PORT = 8123
BASE = f"http://127.0.0.1:{PORT}"


@pytest.fixture(scope="module")
def store(tmp_path_factory, web):
    """A store with one capture of a page whose title and text are markup."""
    shown = html.escape(EVIL_TITLE)  # text that is markup once unescaped
    page = (f"<html><head><title>{shown}</title></head><body><article><h1>"
            f"{shown}</h1><p>Обычный текст статьи, достаточно длинный для извлечения "
            "текста, с цифрой 9 861 и ещё одним предложением.</p></article></body></html>")
    web.add_route("/serve-evil", lambda h: send(h, 200, page.encode(),
                                               content_type="text/html; charset=utf-8"))
    path = tmp_path_factory.mktemp("serve-security") / "evidence"
    with Evidence(path) as evidence:
        evidence.archive([web.url("/serve-evil")])
    return path


@pytest.fixture
def evidence(store):
    with Evidence(store, create=False) as opened:
        yield opened


@pytest.fixture
def client(evidence):
    app = create_app(evidence, Access("127.0.0.1", PORT),
                     ServeSettings(max_upload=2 * 1024 * 1024))
    return app.test_client()


def get(client, path, **kwargs):
    return client.get(path, base_url=BASE, **kwargs)


def csrf_of(client) -> str:
    """The CSRF token the check form carries (after its cookie was set)."""
    page = get(client, "/check").get_data(as_text=True)
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def capture_id(evidence) -> str:
    return next(evidence.log(None, ["capture"])).id


# --- who may connect ---------------------------------------------------------------------


def test_loopback_server_refuses_another_host_name(evidence):
    """DNS rebinding: a page from evil.example that resolves to 127.0.0.1 is refused."""
    running = listen(evidence, "127.0.0.1", 0)
    running.start()
    try:
        base = f"http://127.0.0.1:{running.access.port}/"
        assert requests.get(base, timeout=10).status_code == 200
        foreign = requests.get(base, headers={"Host": f"evil.example:{running.access.port}"},
                               timeout=10)
        assert foreign.status_code == 403
        assert "answers only as 127.0.0.1" in foreign.text
    finally:
        running.close()


def test_the_loopback_address_listened_on_is_itself_allowed():
    assert "127.0.0.2:80" in Access("127.0.0.2", 80).allowed_hosts()
    assert "[::1]:80" in Access("::1", 80).allowed_hosts()
    assert Access.for_address("127.0.0.2", 80).token is None
    assert Access.for_address("::1", 80).token is None
    for host in ("0.0.0.0", "::", "192.0.2.1", "example.org"):
        assert Access.for_address(host, 80).token


def test_other_address_needs_the_token(evidence):
    """Listening on any other address: every request without the token is refused, the
    token is accepted once in the address (then as a cookie) or as a Bearer header."""
    running = listen(evidence, "0.0.0.0", 0)
    assert running.access.token and running.access.token in running.url
    running.start()
    try:
        base = f"http://127.0.0.1:{running.access.port}"
        for path in ("/", "/check", "/history?url=http://example.org/",
                     "/static/style.css", f"/record/{capture_id(evidence)}/replay"):
            refused = requests.get(base + path, timeout=10)
            assert refused.status_code == 403, path
            assert "needs its access token" in refused.text
        wrong = requests.get(base + "/?token=" + "x" * 32, timeout=10)
        assert wrong.status_code == 403
        assert requests.post(base + "/integrity", timeout=10).status_code == 403
        bearer = requests.get(base + "/", timeout=10,
                              headers={"Authorization": f"Bearer {running.access.token}"})
        assert bearer.status_code == 200
        with requests.Session() as session:
            first = session.get(f"{base}/?token={running.access.token}&q=evil", timeout=10,
                                allow_redirects=False)
            assert first.status_code == 303 and first.headers["Location"] == "/?q=evil"
            assert session.get(base + "/", timeout=10).status_code == 200  # by cookie
    finally:
        running.close()


def test_token_redirect_is_never_to_another_site(evidence):
    access = Access("0.0.0.0", PORT, token="t" * 32)
    client = create_app(evidence, access).test_client()
    answer = client.get("/", base_url=BASE, environ_overrides={
        "PATH_INFO": "//evil.example/x", "QUERY_STRING": "token=" + "t" * 32})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/evil.example/x"  # a path of ours, not //host


# --- forged forms --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/check", "/export", "/integrity"])
def test_post_without_or_with_a_wrong_csrf_token_is_refused(client, path):
    get(client, "/")  # the browser has its CSRF cookie
    assert client.post(path, base_url=BASE, data={}).status_code == 403
    answer = client.post(path, base_url=BASE, data={"csrf": "0" * 64})
    assert answer.status_code == 403
    assert "CSRF token is missing or wrong" in answer.get_data(as_text=True)


def test_csrf_token_of_another_browser_is_refused(client, evidence):
    token = csrf_of(client)
    other = create_app(evidence, Access("127.0.0.1", PORT)).test_client()
    get(other, "/")  # another cookie, and another server secret
    assert other.post("/integrity", base_url=BASE, data={"csrf": token}).status_code == 403


def test_post_from_another_site_is_refused_even_with_the_token(client):
    token = csrf_of(client)
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = client.post("/integrity", base_url=BASE, data={"csrf": token},
                             headers=headers)
        assert answer.status_code == 403
        assert "another site" in answer.get_data(as_text=True)
    ok = client.post("/integrity", base_url=BASE, data={"csrf": token},
                     headers={"Origin": BASE, "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 200 and "intact" in ok.get_data(as_text=True)


def test_state_is_never_changed_by_get(client, evidence):
    before = evidence.ledger.count()
    assert get(client, "/integrity").status_code == 200
    assert "Run the check" in get(client, "/integrity").get_data(as_text=True)
    assert get(client, "/export?ids=" + capture_id(evidence)).status_code == 200
    assert evidence.ledger.count() == before


# --- paths -------------------------------------------------------------------------------

PATHS = ["../../../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd",
         "%2Fetc%2Fpasswd", "....//....//etc/passwd", "..\\..\\ledger.sqlite3",
         "../ledger.sqlite3", "objects/../../ledger.sqlite3", "file:///etc/passwd",
         "%00", "..", "."]


def _harmless(answer, client=None) -> None:
    """Refused (400/404), or werkzeug's redirect of ``//`` to ``/`` on our own site,
    refused in turn."""
    if answer.status_code == 308 and client is not None:
        location = answer.headers["Location"]
        assert location.startswith(("/", BASE + "/")) and not location.startswith("//")
        answer = client.get(location, base_url=BASE)
    body = answer.get_data()
    assert answer.status_code in (400, 404), answer.status_code
    assert b"root:x:0" not in body and b"SQLite format" not in body


@pytest.mark.parametrize("bad", PATHS)
def test_paths_in_every_parameter(client, evidence, bad):
    ident = capture_id(evidence)
    for path in (f"/record/{bad}", f"/record/{bad}/replay", f"/record/{bad}/file/warc",
                 f"/record/{ident}/file/{bad}", f"/static/{bad}"):
        _harmless(get(client, path), client)
    for query in ({"url": bad}, ):
        _harmless(get(client, "/history", query_string=query))
    for key in ("before", "after", "kind", "since", "until"):
        _harmless(get(client, "/", query_string={key: bad}))
    _harmless(get(client, "/export", query_string={"ids": bad}))
    listed = get(client, "/", query_string={"q": bad})  # a search: no file is touched
    assert listed.status_code == 200 and b"root:x:0" not in listed.get_data()
    token = csrf_of(client)
    _harmless(client.post("/export", base_url=BASE, data={"csrf": token, "ids": bad}))
    png = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(png, "PNG")
    _harmless(client.post("/check", base_url=BASE, content_type="multipart/form-data",
                          data={"csrf": token, "against": bad,
                                "image": (io.BytesIO(png.getvalue()), bad)}))


def test_a_file_role_the_record_does_not_list_is_refused(client, evidence):
    ident = capture_id(evidence)
    answer = get(client, f"/record/{ident}/file/ledger")
    assert answer.status_code == 400 and "has no ledger file" in answer.get_data(as_text=True)
    text = get(client, f"/record/{ident}/file/text")
    assert text.status_code == 200 and text.mimetype == "text/plain"
    warc = get(client, f"/record/{ident}/file/warc")
    assert warc.headers["Content-Disposition"].startswith("attachment")


def test_an_altered_file_is_refused_not_shown(tmp_path, web):
    store = tmp_path / "evidence"
    with Evidence(store) as evidence:
        outcome = evidence.archive([web.url("/serve-evil")]).outcomes[0]
        record = outcome.record
        text = evidence.store.path(record.file("text")["path"])
        text.chmod(0o644)
        text.write_text("Россия ничего не теряла", encoding="utf-8")
        client = create_app(evidence, Access("127.0.0.1", PORT)).test_client()
        for path in (f"/record/{record.id}/file/text", f"/record/{record.id}"):
            body = get(client, path).get_data(as_text=True)
            assert "ничего не теряла" not in body
        assert "was altered" in get(client, f"/record/{record.id}").get_data(as_text=True)


# --- uploads -------------------------------------------------------------------------------


def _bomb_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")  # 400 Mpx in a few dozen KiB
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("zeros.png", b"\0" * (50 << 20))
    return out.getvalue()


UPLOADS = {
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
            b'<text y="20">9 861</text></svg>', "shot.svg", "not an image"),
    "html": (b"<!DOCTYPE html><html><body><script>alert(1)</script>9 861</body></html>",
             "shot.png", "not an image"),
    "zip bomb": (_zip_bomb(), "shot.png", "not an image"),
    "decompression bomb": (_bomb_png(), "bomb.png", "decompression bomb"),
    "empty": (b"", "empty.png", "the file is empty"),
}


@pytest.mark.parametrize("name", UPLOADS)
def test_hostile_uploads_are_refused_with_one_clear_line(client, evidence, name):
    data, filename, said = UPLOADS[name]
    assert len(data) < 2 * 1024 * 1024
    before = evidence.ledger.count()
    answer = client.post("/check", base_url=BASE, content_type="multipart/form-data",
                         data={"csrf": csrf_of(client), "claim": "9 861 убитыми",
                               "image": (io.BytesIO(data), filename)})
    assert answer.status_code == 400
    message = re.search(r'id="error">([^<]*)<', answer.get_data(as_text=True)).group(1)
    assert said in message and "\n" not in message.strip()
    assert evidence.ledger.count() == before  # nothing recorded


def test_an_upload_over_the_limit_is_refused_unread(evidence):
    """Over the limit: our page says so (or, far over it, waitress refuses it itself)."""
    running = listen(evidence, "127.0.0.1", 0, ServeSettings(max_upload=2 * 1024 * 1024))
    running.start()
    before = evidence.ledger.count()
    try:
        base = f"http://127.0.0.1:{running.access.port}"
        with requests.Session() as session:
            form = session.get(base + "/check", timeout=10).text
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)
            for size, said in (((5 << 19), "larger than 2 MiB"), ((8 << 20), "")):
                answer = session.post(base + "/check", timeout=30,
                                      data={"csrf": token, "claim": "9 861"},
                                      files={"image": ("big.png", b"\x89PNG" + b"\0" * size)})
                assert answer.status_code == 413
                assert said in answer.text
    finally:
        running.close()
    assert evidence.ledger.count() == before


# --- what a browser may do with our pages ---------------------------------------------------


def test_every_page_has_a_strict_policy(client, evidence):
    ident = capture_id(evidence)
    for path in ("/", f"/record/{ident}", "/check", "/export", "/integrity", "/nowhere",
                 "/history?url=http://example.org/"):
        answer = get(client, path)
        policy = answer.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    replay = get(client, f"/record/{ident}/replay")
    policy = replay.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert "allow-scripts" not in policy and "frame-ancestors 'self'" in policy


def test_captured_markup_is_escaped_everywhere(client, evidence):
    ident = capture_id(evidence)
    for path in ("/", f"/record/{ident}", "/export?ids=" + ident):
        page = get(client, path).get_data(as_text=True)
        assert "<script>alert" not in page and "onerror=alert(1)>" not in page
        assert "&lt;script&gt;" in page, path
