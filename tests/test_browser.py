"""``--browser`` captures: real Debian Chromium, real loopback pages, real WARCs.

Each capture is checked with tools that are not ours where they exist: warcio reads the
browser's WARC, Tesseract reads our own screenshot, ``check`` and an exported bundle must
cover every file the render added, and any byte changed in them must be caught.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import ipaddress
import json
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browserpages import (
    HEADLINE,
    JS_ARTICLE,
    JS_JSON,
    JS_PARAGRAPHS,
    LAZY_COLOUR,
    LAZY_TOP,
    add_browser_routes,
    red_png,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from evalset import draw_article
from PIL import Image
from warcio.archiveiterator import ArchiveIterator
from webfixtures import WebServer, send

from archive.browser.chromium import chromium_binary
from archive.browser.pool import BrowserPool
from archive.browser.proxy import TOKEN_HEADER
from archive.browser.render import LoadingPolicy, RenderStatus
from provenance.api import Evidence
from provenance.cli.main import main
from provenance.screens.ocr import ocr_image
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE
from provenance.store.ledger import Ledger
from provenance.store.references import own_problems

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pages(web):
    add_browser_routes(web)
    return web


REPO = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def record_of(store: Path, ref: str):
    with Ledger(Store(store)) as ledger:
        return ledger.find(ref)


def file_of(store: Path, record, role: str) -> Path:
    (entry,) = [f for f in record.files if f["role"] == role]
    return store / entry["path"]


def warc_records(path: Path) -> list[tuple[str, str, bytes, bytes]]:
    """(type, target URI, HTTP head, payload) of each record, read by warcio."""
    found = []
    with open(path, "rb") as handle:
        for rec in ArchiveIterator(handle):
            head = rec.http_headers.to_bytes() if rec.http_headers is not None else b""
            found.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI") or "",
                          head, rec.content_stream().read()))
    return found


def archive(capsys, store: Path, url: str, *extra: str) -> tuple[int, dict, str]:
    code, items, err = run(capsys, "--store", str(store), "archive", url, "--to", "none",
                           "--tsa", "none", "--browser", *extra)
    assert len(items) == 1, err
    return code, items[0], err


# --- the article whose text arrives by fetch() ------------------------------------------------


@pytest.fixture(scope="module")
def js_capture(pages, tmp_path_factory):
    store = tmp_path_factory.mktemp("browser") / "ev"
    code = main(["--json", "--store", str(store), "archive", pages.url("/js/article"),
                 "--to", "none", "--tsa", "none", "--browser"])
    assert code == 0
    with Ledger(Store(store)) as ledger:
        (record,) = list(ledger.records(kind=CAPTURE))
    return store, record


def test_js_article_text_comes_from_the_render(js_capture):
    store, record = js_capture
    served = file_of(store, record, "text").read_text(encoding="utf-8")
    rendered = file_of(store, record, "browser-text").read_text(encoding="utf-8")
    assert HEADLINE not in served and JS_PARAGRAPHS[0] not in served
    assert HEADLINE in rendered and all(p in rendered for p in JS_PARAGRAPHS)
    browser = record.data["browser"]
    assert browser["status"] == "ok" and browser["prefer_text"] is True
    assert browser["render"]["policy"]["viewport_width"] == 1280
    dom = file_of(store, record, "browser-dom").read_text(encoding="utf-8")
    assert HEADLINE in dom  # the HTML after scripts ran, not the HTML the server sent


def test_js_article_warc_holds_the_json_request_and_response(js_capture):
    store, record = js_capture
    path = file_of(store, record, "browser-warc")
    records = warc_records(path)
    json_url = record.data["url"].rsplit("/", 1)[0] + "/article.json"
    responses = [r for r in records if r[0] == "response" and r[1] == json_url]
    requests = [r for r in records if r[0] == "request" and r[1] == json_url]
    assert len(responses) == 1 and len(requests) == 1
    assert responses[0][3] == JS_JSON  # byte for byte what the server sent
    assert requests[0][2].startswith(b"GET /js/article.json HTTP/1.1\r\n")
    assert TOKEN_HEADER.lower().encode() not in requests[0][2].lower()  # ours, never sent on
    assert any(r[0] == "response" and r[1] == record.data["url"] for r in records)
    checked = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(path)],
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "digest fail" not in checked.stdout, checked.stdout


def test_our_ocr_of_our_screenshot_finds_the_headline(js_capture):
    store, record = js_capture
    shot = file_of(store, record, "browser-screenshot")
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size[0] == 1280
    result = ocr_image(shot, "eng")
    assert HEADLINE.lower() in " ".join(result.text.split()).lower()


def test_verify_against_uses_the_rendered_text(js_capture, tmp_path, capsys):
    """The closed loop: our screenshot, checked against our capture, matches; against a
    capture with only the server's text it could not."""
    store, record = js_capture
    shot = file_of(store, record, "browser-screenshot")
    code, items, err = run(capsys, "--store", str(store), "verify", str(shot), "--against",
                           record.id, "--tsa", "none")
    assert code == 0, err
    assert items[0]["verdict"] == "match"
    assert items[0]["against"]["compared_text"] == "browser-text"


def test_verify_against_a_url_records_the_text_it_compared_like_against_an_id(
        js_capture, capsys):
    """``--against URL`` compares with the same rendered text as ``--against ID``, and its
    record says so the same way (a reader must know which text the verdict rests on)."""
    store, record = js_capture
    shot = file_of(store, record, "browser-screenshot")
    code, [by_id], err = run(capsys, "--store", str(store), "verify", str(shot), "--against",
                             record.id, "--tsa", "none")
    assert code == 0, err
    code, [by_url], err = run(capsys, "--store", str(store), "verify", str(shot),
                              "--against", record.data["url"], "--to", "none", "--tsa", "none")
    assert code == 0 and by_url["verdict"] == "match", err
    assert by_url["against"]["capture"] == record.id
    assert by_url["against"]["compared_text"] == by_id["against"]["compared_text"]
    assert by_url["against"]["compared_text"] == "browser-text"
    (copy,) = by_url["against"]["copies"]
    assert copy["compared_text"] == "browser-text"
    recorded = record_of(store, by_url["id"])
    assert recorded.data["against"]["compared_text"] == "browser-text"


def test_check_and_export_cover_the_render(js_capture, tmp_path, capsys):
    store, record = js_capture
    code, _, err = run(capsys, "--store", str(store), "check")
    assert code == 0, err
    out = tmp_path / "bundle.zip"
    code, _, err = run(capsys, "--store", str(store), "export", record.id, "--out", str(out))
    assert code == 0, err
    with zipfile.ZipFile(out) as bundle:
        names = bundle.namelist()
        for role in ("browser-warc", "browser-screenshot", "browser-dom", "browser-text"):
            entry = next(f for f in record.files if f["role"] == role)
            assert any(name.endswith(entry["path"]) for name in names), role


@pytest.mark.parametrize("role", ["browser-screenshot", "browser-warc", "browser-text",
                                  "browser-dom"])
def test_a_changed_byte_in_a_render_file_fails_check(pages, tmp_path, capsys, role):
    store = tmp_path / "ev"
    code, item, err = archive(capsys, store, pages.url("/js/article"))
    assert code == 0, err
    path = file_of(store, record_of(store, item["id"]), role)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    code = main(["--store", str(store), "check"])
    said = capsys.readouterr()
    assert code == 1
    assert path.name in said.out + said.err


def test_old_records_without_a_browser_part_still_read(pages, tmp_path, capsys):
    store = tmp_path / "ev"
    code, items, err = run(capsys, "--store", str(store), "archive", pages.url("/js/article"),
                           "--to", "none", "--tsa", "none")
    assert code == 0, err
    assert "browser" not in items[0]
    record = record_of(store, items[0]["id"])
    assert "browser" not in record.data and {f["role"] for f in record.files} == {"warc", "text"}


# --- lazy content -----------------------------------------------------------------------------


def test_lazy_image_below_the_fold_is_loaded_and_shown(pages, tmp_path, capsys):
    store = tmp_path / "ev"
    code, item, err = archive(capsys, store, pages.url("/js/lazy"))
    assert code == 0, err
    record = record_of(store, item["id"])
    records = warc_records(file_of(store, record, "browser-warc"))
    image_url = pages.url("/js/red.png")
    assert any(r[0] == "response" and r[1] == image_url and r[3] == red_png() for r in records)
    with Image.open(file_of(store, record, "browser-screenshot")) as shot:
        assert shot.size[1] > LAZY_TOP + 300  # the whole page, not the first screen
        pixel = shot.convert("RGB").getpixel((200, LAZY_TOP + 150))
    assert all(abs(a - b) <= 8 for a, b in zip(pixel, LAZY_COLOUR, strict=True)), pixel


# --- setup errors -----------------------------------------------------------------------------


def test_missing_chromium_is_one_line_and_exit_2(pages, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PROVENANCE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    store = tmp_path / "ev"
    code = main(["--store", str(store), "archive", pages.url("/js/article"), "--to", "none",
                 "--tsa", "none", "--browser"])
    err = capsys.readouterr().err
    assert code == 2
    assert "apt-get install chromium" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    # and without --browser, captures work as before
    code, items, err = run(capsys, "--store", str(store), "archive", pages.url("/js/article"),
                           "--to", "none", "--tsa", "none")
    assert code == 0 and items[0]["http_status"] == 200


def test_the_api_takes_browser_true(pages, tmp_path):
    with Evidence(tmp_path / "ev") as ev:
        run_ = ev.archive([pages.url("/js/article")], browser=True, jobs=1)
    (outcome,) = run_.outcomes
    assert outcome.record is not None
    assert outcome.record.data["browser"]["status"] == "ok"


def test_chromium_is_found():
    assert Path(chromium_binary()).exists()




# --- faults: the server capture is kept, the render says what went wrong, the run goes on ---

FAULT_POLICY = LoadingPolicy(navigation_timeout=4.0, quiet_limit=2.0, step_quiet_limit=0.5,
                             scroll_steps=8, max_height=6000, page_limit=15.0,
                             max_bytes=1_000_000)


@pytest.fixture(scope="module")
def fault_run(pages, tmp_path_factory):
    urls = [pages.url(p) for p in ("/fault/never", "/fault/scroll", "/fault/popup",
                                   "/fault/alloc", "/fault/loop", "/fault/big", "/js/article")]
    started = time.monotonic()
    with Evidence(tmp_path_factory.mktemp("faults") / "ev") as ev:
        run_ = ev.archive(urls, browser=FAULT_POLICY, jobs=2)
    elapsed = time.monotonic() - started
    by_path = {urlsplit(o.url).path: o for o in run_.outcomes}
    return by_path, elapsed


def browser_of(outcome) -> dict:
    assert outcome.record is not None, outcome.error  # the server capture is always kept
    return outcome.record.data["browser"]


def test_faults_never_hang_the_run(fault_run):
    by_path, elapsed = fault_run
    assert len(by_path) == 7
    # 7 pages, 2 browsers, each page bounded by page_limit (15 s) and its proxy drain
    assert elapsed < 120


def test_a_page_that_never_finishes_loading_fails_with_timeout(fault_run):
    browser = browser_of(fault_run[0]["/fault/never"])
    assert browser["status"] == "failed" and browser["reason"] == "timeout"
    assert browser["screenshot_sha256"] is None and browser["warc_sha256"] is not None


def test_a_page_that_grows_forever_is_cut_at_the_scroll_limits(fault_run):
    browser = browser_of(fault_run[0]["/fault/scroll"])
    assert browser["status"] == "ok"
    limits = browser["render"]["limits_hit"]
    assert "scroll-steps" in limits or "max-height" in limits
    assert browser["render"]["height"] <= FAULT_POLICY.max_height


def test_pop_ups_are_closed_and_dialogs_dismissed(fault_run):
    browser = browser_of(fault_run[0]["/fault/popup"])
    assert browser["status"] == "ok"
    assert browser["render"]["popups"] >= 3 and browser["render"]["dialogs"] >= 2


def test_an_endless_allocation_crashes_only_its_render(fault_run):
    browser = browser_of(fault_run[0]["/fault/alloc"])
    assert browser["status"] == "failed"
    assert browser["reason"] == "renderer-crashed", browser


def test_an_endless_loop_is_stopped_at_the_page_limit(fault_run):
    browser = browser_of(fault_run[0]["/fault/loop"])
    assert browser["status"] == "failed" and browser["reason"] == "time-limit", browser


def test_a_page_over_the_size_cap_fails_as_too_large(fault_run):
    browser = browser_of(fault_run[0]["/fault/big"])
    assert browser["status"] == "failed" and browser["reason"] == "too-large", browser


def test_the_run_goes_on_after_the_faults(fault_run):
    browser = browser_of(fault_run[0]["/js/article"])
    assert browser["status"] == "ok" and browser["prefer_text"] is True


def test_a_renderer_crash_is_said(pages):
    with BrowserPool(1, FAULT_POLICY) as pool:
        crashed = pool.render("chrome://crash")
        after = pool.render(pages.url("/js/article"))
    assert crashed.status is RenderStatus.FAILED and crashed.reason == "renderer-crashed"
    assert after.ok and after.text is not None and HEADLINE in after.text.text


def test_a_stopped_browser_leaves_nothing_in_the_temporary_directory(pages, tmp_path,
                                                                      monkeypatch):
    """Chromium keeps its single-instance socket in a folder of its own under TMPDIR and
    removes it only when it exits on its own; we kill it (after a crash, at close), which
    left one ``org.chromium.Chromium.*`` folder in /tmp per ``--browser`` run."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # Chromium's
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # ours (the profile)
    with BrowserPool(1, FAULT_POLICY) as pool:
        crashed = pool.render("chrome://crash")  # its browser is stopped mid-run
        after = pool.render(pages.url("/js/article"))
    assert crashed.reason == "renderer-crashed" and after.ok
    assert sorted(path.name for path in tmp_path.iterdir()) == []


# --- the KP demo page: a real screenshot checked against our render, both in the report ---


def test_kp_screenshot_matches_a_browser_capture_and_the_report_shows_both(pages, tmp_path,
                                                                            capsys):
    store = tmp_path / "ev"
    code, item, err = archive(capsys, store, pages.url("/kp/article"))
    assert code == 0 and item["browser"]["status"] == "ok", err
    ours = file_of(store, record_of(store, item["id"]), "browser-screenshot").read_bytes()
    report = tmp_path / "check.html"
    code, items, err = run(capsys, "--store", str(store), "verify",
                           str(REPO / "examples" / "screenshot.png"), "--against", item["id"],
                           "--tsa", "none", "--report", str(report))
    assert code == 0 and items[0]["verdict"] == "match", err
    page = report.read_text(encoding="utf-8")
    shown = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(shown) == 2  # the screenshot checked, and ours beside it
    assert base64.b64decode(shown[1]) == ours
    assert hashlib.sha256(ours).hexdigest() in page

    history = tmp_path / "history.html"
    code = main(["--store", str(store), "history", pages.url("/kp/article"), "--to", "none",
                 "--report", str(history)])
    assert code == 0, capsys.readouterr().err
    assert base64.b64encode(ours).decode() in history.read_text(encoding="utf-8")


def test_a_report_never_shows_an_altered_screenshot_as_ours(pages, tmp_path, capsys):
    store = tmp_path / "ev"
    code, item, err = archive(capsys, store, pages.url("/kp/article"))
    assert code == 0, err
    path = file_of(store, record_of(store, item["id"]), "browser-screenshot")
    path.chmod(0o644)
    path.write_bytes(red_png())  # a forger's picture in place of ours
    code = main(["--store", str(store), "verify", str(REPO / "examples" / "screenshot.png"),
                 "--against", item["id"], "--tsa", "none", "--report",
                 str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code != 0 and "check" in err
    assert not (tmp_path / "r.html").exists()


# --- HTTPS: the browser trusts only the proxy's key; the proxy checks the real server ------


def _https_server(tmp_path: Path):
    """A loopback HTTPS server for the JS article, its certificate from a test CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
          .sign(key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(name).public_key(leaf_key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(
        leaf.public_bytes(pem) + leaf_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = WebServer({"/js/article": lambda h: send(h, 200, JS_ARTICLE,
                                                      content_type="text/html; charset=utf-8"),
                        "/js/article.json": lambda h: send(h, 200, JS_JSON,
                                                           content_type="application/json")})
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    return server, tmp_path / "ca.pem"


def test_https_page_is_recorded_through_the_proxy(tmp_path, monkeypatch):
    server, ca = _https_server(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the proxy trusts the test CA, as a client
    url = f"https://127.0.0.1:{server.port}/js/article"
    with server, BrowserPool(1, FAULT_POLICY) as pool:
        rendered = pool.render(url)
    assert rendered.ok, rendered.error
    assert rendered.text is not None and HEADLINE in rendered.text.text
    records = warc_records_of(rendered.warc)
    assert any(r[0] == "response" and r[1] == url + ".json" and r[3] == JS_JSON
               for r in records)


def test_https_server_with_an_untrusted_certificate_is_not_shown(tmp_path):
    """The proxy checks the server's certificate as any client does: a server our trust
    store does not vouch for is a failed render, not a page."""
    server, _ = _https_server(tmp_path)
    with server, BrowserPool(1, FAULT_POLICY) as pool:
        rendered = pool.render(f"https://127.0.0.1:{server.port}/js/article")
    assert rendered.status is RenderStatus.FAILED and rendered.reason == "not-loaded"
    assert rendered.screenshot is None and rendered.text is None
    assert any("TLS" in e for e in rendered.proxy_errors)


def warc_records_of(data: bytes) -> list[tuple[str, str, bytes, bytes]]:
    found = []
    for rec in ArchiveIterator(io.BytesIO(data)):
        head = rec.http_headers.to_bytes() if rec.http_headers is not None else b""
        found.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI") or "",
                      head, rec.content_stream().read()))
    return found


def test_watch_takes_browser_too(pages, tmp_path):
    stop = threading.Event()
    seen = []

    def on_capture(watched) -> None:
        seen.append(watched.outcome)
        stop.set()

    with Evidence(tmp_path / "ev") as ev:
        ev.watch([pages.url("/js/article")], every=3600, stop=stop, on_capture=on_capture,
                 browser=FAULT_POLICY)
    (outcome,) = seen
    assert outcome.record is not None
    assert outcome.record.data["browser"]["status"] == "ok"
    assert {"browser-screenshot", "browser-text"} <= {f["role"] for f in outcome.record.files}


def test_a_rendered_text_is_never_diffed_against_a_served_one(pages, tmp_path, capsys):
    """A --browser capture (text from the render) then a plain one (the server's empty
    text): comparing those would report the whole article as removed. It is not."""
    store = tmp_path / "ev"
    code, first, err = archive(capsys, store, pages.url("/js/article"))
    assert code == 0 and first["browser"]["prefer_text"] is True, err
    code, items, err = run(capsys, "--store", str(store), "archive", pages.url("/js/article"),
                           "--to", "none", "--tsa", "none")
    assert code == 0, err
    assert items[0]["changed"] is None
    code, history, err = run(capsys, "--store", str(store), "history", pages.url("/js/article"),
                             "--to", "none")
    assert code == 0, err
    assert [h.get("diff") for h in history if h["source"] == "local"][1] is None
    code, third, err = archive(capsys, store, pages.url("/js/article"))
    assert code == 0 and third["changed"] is None  # rendered vs served again: still none


def test_a_browser_part_must_name_the_files_it_hashes(js_capture):
    """A record (in a bundle, say) whose browser part hashes a screenshot other than the one
    its files name is a problem, never a screenshot taken as ours."""
    _, record = js_capture
    assert own_problems(CAPTURE, record.data) == []
    forged = json.loads(json.dumps(record.data))
    forged["browser"]["screenshot_sha256"] = "0" * 64
    assert own_problems(CAPTURE, forged) == [
        "names no browser-screenshot file with the browser's screenshot_sha256"]
    forged["browser"] = "ok"
    assert own_problems(CAPTURE, forged) == ["'browser' is not an object"]


def test_a_stamped_browser_capture_exports_as_an_intact_bundle(pages, tmp_path, capsys, tsa,
                                                              tsa_pki):
    """Time-stamps cover the record that names every render file; the bundle carries them
    all and checks intact with the TSA's root; a changed screenshot in it does not."""
    store = tmp_path / "ev"
    out = tmp_path / "b.zip"
    code, items, err = run(capsys, "--store", str(store), "archive", pages.url("/kp/article"),
                           "--to", "none", "--tsa", tsa.url, "--browser")
    assert code == 0, err
    kp = items[0]
    assert main(["--store", str(store), "export", kp["id"], "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["check", "--bundle", str(out), "--tsa-ca", str(tsa_pki.root)]) == 0, \
        capsys.readouterr()
    shot = next(f for f in record_of(store, kp["id"]).files if f["role"] == "browser-screenshot")
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(forged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(shot["path"]):
                data = red_png()
            dst.writestr(info, data)
    capsys.readouterr()
    assert main(["check", "--bundle", str(forged), "--tsa-ca", str(tsa_pki.root)]) == 1


def test_a_page_a_script_moves_on_is_rendered_where_it_ends(pages):
    """A script moves the page on right after load: the render is of where it ended, and
    says so (final_url)."""
    policy = LoadingPolicy(quiet_limit=3.0, step_quiet_limit=1.0)
    with BrowserPool(1, policy) as pool:
        rendered = pool.render(pages.url("/js/redirect"))
    assert rendered.ok, rendered.error
    assert rendered.final_url == pages.url("/js/article")
    assert rendered.text is not None and HEADLINE in rendered.text.text


# --- a --browser capture is read with its linked style sheets and after its scripts -------------

HIDDEN_LEAD = "The council approved the new budget of 9,861 thousand euros on Monday evening."
HIDDEN_GONE = "The mayor said that 16,153 residents had signed the petition against the plan."
HIDDEN_LATE = "A spokesman later denied that the vote had been postponed for another month."
HIDDEN_REST = "Members of the opposition left the chamber before the final vote was taken."
HIDDEN_PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Council</title>
<style>.lead {{ display: none }} .js-gone {{ display: none }}</style>
<link rel="stylesheet" href="/css/site.css">
<style>body {{ font: 22px sans-serif; width: 900px; margin: 30px }}</style></head>
<body><article><h1>Council approves the budget</h1>
<p class="lead">{HIDDEN_LEAD}</p><p class="gone">{HIDDEN_GONE}</p>
<p id="late">{HIDDEN_LATE}</p><p>{HIDDEN_REST}</p>
<p>{" ".join(["The session lasted four hours and ended after midnight."] * 6)}</p>
</article><script>document.getElementById("late").className = "js-gone";</script>
</body></html>""".encode()
HIDDEN_CSS = b".lead { display: block } .gone { display: none }"


def test_a_browser_capture_is_read_with_its_style_sheets_and_scripts(pages, tmp_path, capsys):
    """What the render showed decides: a paragraph its own <style> hides but its linked
    style sheet (recorded by the browser) shows again is shown, so our own screenshot
    matches; one the linked sheet hides, or a script hid, is no match. Read without the
    linked sheet, the shown lead would be a false mismatch; read from the server's HTML,
    the paragraph the script hid would be a false match."""
    pages.add_route("/css/withdrawn", lambda h: send(h, 200, HIDDEN_PAGE,
                                                     content_type="text/html; charset=utf-8"))
    pages.add_route("/css/site.css", lambda h: send(h, 200, HIDDEN_CSS, content_type="text/css"))
    store = tmp_path / "ev"
    code, item, err = archive(capsys, store, pages.url("/css/withdrawn"))
    assert code == 0 and item["browser"]["status"] == "ok", err
    record = record_of(store, item["id"])
    shot = file_of(store, record, "browser-screenshot")
    code, [genuine], err = run(capsys, "--store", str(store), "verify", str(shot),
                               "--against", record.id, "--tsa", "none")
    assert (code, genuine["verdict"]) == (0, "match"), genuine["reasons"]
    for shown, rule in (((HIDDEN_LEAD, HIDDEN_GONE), ".gone { display: none }"),
                        ((HIDDEN_LATE, HIDDEN_REST), ".js-gone { display: none }")):
        forged = tmp_path / "forged.png"  # the page's own passage: consecutive paragraphs
        draw_article(forged, "Council approves the budget", *shown, width=900, size=20,
                     title_size=26)
        code, [item], err = run(capsys, "--store", str(store), "verify", str(forged),
                                "--against", record.id, "--tsa", "none")
        assert (code, item["verdict"]) == (1, "mismatch"), item["reasons"]
        assert rule in item["reasons"][0] and "style sheet hides them" in item["reasons"][0]

