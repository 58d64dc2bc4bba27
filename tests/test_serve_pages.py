"""What the viewer's pages show for records the browser tests do not make: a capture with
our browser's screenshot (``archive --browser``), a verification, other kinds, a replay of
a non-HTML body."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from webfixtures import send

from provenance.api import Evidence
from provenance.web.app import create_app
from provenance.web.replay import safe_type
from provenance.web.security import Access

BASE = "http://127.0.0.1:8124"


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def evidence(tmp_path, web):
    web.add_route("/serve-pages", lambda h: send(
        h, 200, "<html><body><article><p>Страница для проверки просмотра.</p></article>"
        "</body></html>".encode(), content_type="text/html; charset=utf-8"))
    web.add_route("/serve-pages.svg", lambda h: send(
        h, 200, b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        content_type="image/svg+xml"))
    with Evidence(tmp_path / "evidence") as opened:
        yield opened


def _client(evidence):
    return create_app(evidence, Access("127.0.0.1", 8124)).test_client()


def test_a_capture_with_our_browser_screenshot_shows_it(evidence, web):
    """A capture whose record lists a browser screenshot: shown, served as a PNG, and
    refused once the file no longer has its recorded hash."""
    capture = evidence.archive([web.url("/serve-pages")]).outcomes[0].record
    shot = evidence.store.put_bytes(_png("red"), role="browser-screenshot", suffix=".png")
    data = {**capture.data, "files": [*capture.files, shot.to_json()]}
    record = evidence.ledger.append("capture", data, subject=capture.subject)
    client = _client(evidence)
    page = client.get(f"/record/{record.id}", base_url=BASE).get_data(as_text=True)
    src = re.search(r'id="browser-shot" src="([^"]+)"', page).group(1)
    assert src == f"/record/{record.id}/file/browser-screenshot"
    image = client.get(src, base_url=BASE)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.get_data() == _png("red")
    path = evidence.store.path(shot.path)
    path.chmod(0o644)
    path.write_bytes(_png("blue"))
    altered = client.get(src, base_url=BASE)
    assert altered.status_code == 409 and "was altered" in altered.get_data(as_text=True)
    assert _png("blue") not in altered.get_data()


def test_a_capture_without_one_shows_none(evidence, web):
    record = evidence.archive([web.url("/serve-pages")]).outcomes[0].record
    page = _client(evidence).get(f"/record/{record.id}", base_url=BASE)
    assert 'id="browser-shot"' not in page.get_data(as_text=True)


def test_an_svg_capture_is_replayed_as_text(evidence, web):
    record = evidence.archive([web.url("/serve-pages.svg")]).outcomes[0].record
    replay = _client(evidence).get(f"/record/{record.id}/replay", base_url=BASE)
    assert replay.status_code == 200 and replay.mimetype == "text/plain"
    assert safe_type("image/svg+xml") == "text/plain"
    assert safe_type("text/html; charset=windows-1251") == "text/html; charset=windows-1251"
    assert safe_type('text/html; charset="utf-8\r\nX: y"') == "text/html; charset=utf-8"
    assert safe_type("application/xhtml+xml") == "text/html"


def test_other_kinds_and_lists_of_them(evidence, web):
    evidence.archive([web.url("/serve-pages")])
    client = _client(evidence)
    for kind in ("witness", "timestamp", "ocr", "verification", "changed", "snapshot"):
        listed = client.get(f"/?kind={kind}", base_url=BASE)
        assert listed.status_code == 200 and "no records" in listed.get_data(as_text=True)
    missing = client.get("/record/999999", base_url=BASE)
    assert missing.status_code == 404 and "no record 999999" in missing.get_data(as_text=True)
    capture = next(evidence.log(None, ["capture"]))
    assert client.get(f"/record/{capture.seq}", base_url=BASE).status_code == 200


def test_only_a_true_agrees_reads_agrees(evidence, web):
    """A witness record whose ``agrees`` is not exactly true (1, "yes": a damaged or
    hand-made record) is never shown as agreeing."""
    capture = evidence.archive([web.url("/serve-pages")]).outcomes[0].record
    for agrees in (1, "yes", None):
        evidence.ledger.append("witness", {"capture_seq": capture.seq, "witness": "ia",
                                           "status": "archived", "agrees": agrees},
                               subject=capture.subject)
    client = _client(evidence)
    for path in ("/", f"/record/{capture.id}"):
        page = client.get(path, base_url=BASE).get_data(as_text=True)
        assert "\">agrees</td>" not in page and ", agrees</span>" not in page, path
        assert page.count("not compared") >= 3
    evidence.ledger.append("witness", {"capture_seq": capture.seq, "witness": "ia",
                                       "status": "archived", "agrees": True},
                           subject=capture.subject)
    page = client.get(f"/record/{capture.id}", base_url=BASE).get_data(as_text=True)
    assert page.count("\">agrees</td>") == 1


def test_history_never_calls_an_unreadable_text_unchanged(evidence, web):
    url = web.url("/serve-pages")
    first = evidence.archive([url]).outcomes[0].record
    evidence.archive([url])
    path = evidence.store.path(first.file("text")["path"])
    path.chmod(0o644)
    path.write_text("altered", encoding="utf-8")
    page = _client(evidence).get(f"/history?url={url}", base_url=BASE).get_data(as_text=True)
    assert "no change" not in page and "not compared with the copy before" in page


def test_integrity_lists_each_problem(evidence, web):
    record = evidence.archive([web.url("/serve-pages")]).outcomes[0].record
    path = evidence.store.path(record.file("warc")["path"])
    path.chmod(0o644)
    path.write_bytes(b"not the WARC")
    client = _client(evidence)
    form = client.get("/integrity", base_url=BASE).get_data(as_text=True)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', form).group(1)
    page = client.post("/integrity", base_url=BASE, data={"csrf": token}
                       ).get_data(as_text=True)
    assert 'id="result" class="bad">DAMAGED<' in page
    problems = re.search(r'<ul id="problems">(.*?)</ul>', page, re.S).group(1)
    assert record.file("warc")["path"] in problems or f"#{record.seq}" in problems


def test_history_lists_kept_archive_copies_and_links_only_web_addresses(evidence, web):
    url = web.url("/serve-pages")
    evidence.archive([url])
    for memento in ("https://web.archive.org/web/20220320161245/" + url,
                    "javascript:alert(1)"):
        evidence.ledger.append("snapshot", {"archive": "ia", "url": url,
                                            "memento_url": memento, "http_status": 200,
                                            "memento_datetime": "2022-03-20T16:12:45Z",
                                            "files": []}, subject=url)
    page = _client(evidence).get(f"/history?url={url}", base_url=BASE).get_data(as_text=True)
    table = re.search(r'<table class="list" id="snapshots">(.*?)</table>', page, re.S).group(1)
    assert 'href="https://web.archive.org/web/20220320161245/' in table
    assert 'href="javascript' not in page
