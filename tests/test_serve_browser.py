"""``provenance serve`` in a real headless Chromium: what a journalist clicks through.

The Komsomolskaya Pravda reconstruction (examples/site/kp) is published on 127.0.0.1,
captured, edited (the figures removed) and captured again, with a real TSA stamping every
record. The browser opens the list, searches it, opens a capture and sees its replay,
opens the URL's timeline, uploads examples/screenshot.png (MATCH) and a forged copy
drawn by examples/make_screenshot.py with 9 881 (MISMATCH), and downloads a bundle that
``provenance check --bundle`` finds intact. A page whose replay would reach the network
(an image, a meta refresh, a script) is replayed without a single request to its site.
Screenshots of each page are kept under tests/artifacts/serve/.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from pathlib import Path

import pytest
from browser import snap
from tsaserver import TsaServer
from webfixtures import send

from provenance.api import Evidence
from provenance.cli.main import main
from provenance.web.server import listen

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLAIM = "потеряли 9 861 человек убитыми и 16 153 ранеными"
KP = "/serve-kp/article.html"
BEACON = "/serve-beacon/page.html"
BEACON_PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
               "<meta http-equiv='refresh' content='0;url={base}/serve-beacon/refreshed'>"
               "<link rel='stylesheet' href='{base}/serve-beacon/style.css'>"
               "<title>Beacon</title></head><body><h1 id='headline'>Replayed offline</h1>"
               "<img src='{base}/serve-beacon/pixel.png'><script src='{base}/serve-beacon/"
               "script.js'></script><script>fetch('{base}/serve-beacon/fetch')</script>"
               "</body></html>")
"""A page that reaches its site (absolute URLs) every way it can when it is shown."""
BEACON_PATHS = ["/serve-beacon/refreshed", "/serve-beacon/style.css", "/serve-beacon/pixel.png",
                "/serve-beacon/script.js", "/serve-beacon/fetch"]


def _make_screenshot_module():
    spec = importlib.util.spec_from_file_location("make_screenshot",
                                                  EXAMPLES / "make_screenshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kp_site(web):
    """The KP article on the ``web`` server; ``edited`` set: the version without figures."""
    edited = threading.Event()
    pages = {name: (EXAMPLES / "site" / "kp" / name).read_bytes()
             for name in ("article.html", "article-edited.html")}

    def article(h):
        send(h, 200, pages["article-edited.html" if edited.is_set() else "article.html"])

    web.add_route(KP, article)
    beacon = BEACON_PAGE.replace("{base}", web.base).encode()
    web.add_route(BEACON, lambda h: send(h, 200, beacon,
                                         content_type="text/html; charset=utf-8"))
    for path in BEACON_PATHS:
        web.add_route(path, lambda h: send(h, 200, b"x", content_type="text/plain"))
    return web, edited


@pytest.fixture(scope="module")
def served(tmp_path_factory, kp_site, tsa_pki):
    """A store with the KP page captured twice (before and after the edit) and the beacon
    page, every capture time-stamped; the viewer serving it on a free loopback port."""
    web, edited = kp_site
    store = tmp_path_factory.mktemp("serve") / "evidence"
    with TsaServer(tsa_pki) as tsa, Evidence(store) as evidence:
        url = web.url(KP)
        evidence.archive([url], tsas=[tsa.url])
        edited.set()
        evidence.archive([url, web.url(BEACON)], tsas=[tsa.url])
        running = listen(evidence, "127.0.0.1", 0)
        running.start()
        try:
            yield running, evidence, url, tsa
        finally:
            running.close()


def test_list_search_capture_and_replay(served, page, kp_site):
    running, evidence, url, _ = served
    web, _ = kp_site
    page.goto(running.url)
    rows = page.locator("#captures tbody tr")
    assert rows.count() == 3
    assert "3 records" in page.inner_text("main")
    snap(page, "captures")

    page.fill("#q", "serve-kp")
    page.click("#search")
    assert rows.count() == 2
    assert all("serve-kp" in rows.nth(i).inner_text() for i in range(2))
    assert "changed" in rows.nth(0).inner_text()  # the later capture: the figures went
    assert "granted" in rows.nth(0).inner_text()  # its time-stamp
    snap(page, "captures-search")

    rows.nth(1).locator("td.url a").click()  # the first capture, with the figures
    page.wait_for_selector("#metadata")
    assert page.inner_text("#http-status") == "200"
    assert "9 861" in page.inner_text("#text")
    assert "granted" in page.inner_text("#stamps")
    frame = page.frame_locator("#replay")
    assert "9 861" in frame.locator("article").inner_text()  # windows-1251, shown right
    assert '"kind": "capture"' in page.inner_text("#ledger-json")
    snap(page, "capture")
    snap(page.locator("#replay"), "capture-replay")  # a full-page shot leaves frames blank


def test_replay_never_reaches_the_site(served, page, kp_site):
    """A captured page with an image, a stylesheet, scripts and a meta refresh is replayed
    from the WARC without one request to its site, and its scripts do not run."""
    running, evidence, _, _ = served
    web, _ = kp_site
    before = {path: web.hits(path) for path in BEACON_PATHS}
    page.goto(running.url + "?q=serve-beacon")
    page.locator("#captures tbody tr td.url a").first.click()
    frame = page.frame_locator("#replay")
    assert frame.locator("#headline").inner_text() == "Replayed offline"
    page.wait_for_timeout(1500)  # the refresh would have fired at 0 s
    assert frame.locator("#headline").inner_text() == "Replayed offline"
    assert {path: web.hits(path) for path in BEACON_PATHS} == before
    snap(page.locator("#replay"), "replay-offline")


def test_history_shows_the_removed_figures(served, page):
    running, _, url, _ = served
    page.goto(running.url + "?q=serve-kp")
    page.locator("#captures a.bad", has_text="changed").click()  # the KP timeline
    assert page.inner_text("#history-url") == url
    timeline = page.locator("#timeline")
    removed = timeline.locator("p.removed del")
    assert removed.count() == 1 and "9 861" in removed.inner_text()
    assert re.search(r"9 861\s+gone", timeline.locator("table.figures").inner_text())
    colour = removed.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(176, 0, 32)"  # struck through in red
    assert removed.evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    snap(page, "history")


def test_check_a_screenshot_match_and_forged_mismatch(served, page, tmp_path):
    running, evidence, url, _ = served
    forged = tmp_path / "forged.png"
    maker = _make_screenshot_module()
    maker.draw(maker.POST.replace("9 861", "9 881")).save(forged)
    before = evidence.ledger.count()

    page.goto(running.url.rstrip("/") + "/check")
    page.set_input_files("#image", str(EXAMPLES / "screenshot.png"))
    page.fill("#claim", CLAIM)
    page.click("#check")
    assert page.inner_text("#verdict") == "MATCH"
    assert "found" in page.inner_text("#figures")
    assert page.locator("#annotated").evaluate("e => e.naturalWidth") > 100
    snap(page, "check-match")
    page.locator("main p a").first.click()  # the verification record, from the ledger
    assert page.inner_text("p.verdict").startswith("MATCH")
    assert page.locator("img.shot").evaluate("e => e.naturalWidth") == 760  # as uploaded
    snap(page, "verification-record")

    page.goto(running.url.rstrip("/") + "/check")
    page.set_input_files("#image", str(forged))
    page.fill("#claim", CLAIM)
    page.click("#check")
    assert page.inner_text("#verdict") == "MISMATCH"
    assert "9 881" in page.inner_text("#figures")
    snap(page, "check-forged")

    page.goto(running.url.rstrip("/") + "/check")
    page.set_input_files("#image", str(EXAMPLES / "screenshot.png"))
    page.fill("#against", url)
    page.click("#check")
    assert page.inner_text("#verdict") == "MATCH"  # the page did show it, then not
    assert "not shown from" in page.inner_text("#timeline-summary")
    snap(page, "check-against-url")

    kinds = [r.kind for r in evidence.log(None, ["verification"])]
    assert len(kinds) == 3 and evidence.ledger.count() > before  # recorded as verify does


def test_export_downloads_a_bundle_that_checks(served, page, tmp_path, tsa_pki, capsys):
    running, evidence, url, _ = served
    captures = list(evidence.log(url, ["capture"]))
    page.goto(running.url.rstrip("/") + "/?q=serve-kp")
    for box in page.locator("#captures tbody input[type=checkbox]").all():
        box.check()
    page.click("text=Export the records picked")
    assert page.locator("#picked tr").count() == 1 + len(captures)
    snap(page, "export")
    with page.expect_download() as info:
        page.click("#download")
    bundle = tmp_path / "bundle.zip"
    info.value.save_as(bundle)
    assert main(["check", "--bundle", str(bundle), "--tsa-ca", str(tsa_pki.root)]) == 0
    assert "intact" in capsys.readouterr().out


def test_integrity_page_runs_check(served, page):
    running, _, _, _ = served
    page.goto(running.url.rstrip("/") + "/integrity")
    page.click("#run-check")
    assert page.inner_text("#result") == "intact"
    snap(page, "integrity")
