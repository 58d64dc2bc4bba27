"""The viewer's replay in a real headless Chromium: it never reaches the live site, and an
``archive --browser`` capture replays as the reader saw it, from our own WARC.

The "live site" is a loopback fixture server; every request the browser makes while it
shows a replay is counted through Playwright's request events, and the fixture server
counts what reached it: a replay must make none there (clicking links, submitting forms
and waiting out a meta refresh included). Screenshots go to tests/artifacts/serve/.
"""

from __future__ import annotations

import html
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from browser import snap
from PIL import Image
from webfixtures import send

from provenance.api import Evidence
from provenance.capture.rendered import BROWSER_SCREENSHOT
from provenance.web.server import listen

pytestmark = pytest.mark.slow

LIVE = "/serve-live/"
LIVE_PATHS = ["target", "relative-target", "base/relative-target", "ping", "form",
              "refresh", "style.css", "import.css", "bg.png", "pic.png", "pic2.png",
              "div.png", "frame", "poster.png", "svg", "preload.png", "icon.png"]
LIVE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<base href="{base}/serve-live/base/">
<meta http-equiv="refresh" content="1;url={base}/serve-live/refresh">
<link rel="stylesheet" href="{base}/serve-live/style.css">
<link rel="preload" as="image" href="{base}/serve-live/preload.png">
<link rel="icon" href="{base}/serve-live/icon.png">
<style>@import "{base}/serve-live/import.css";
body {{ background: url({base}/serve-live/bg.png) }}</style>
<title>Live links</title></head><body>
<h1 id="headline">Shown offline</h1>
<p><a id="live" href="{base}/serve-live/target" target="_blank">the live site</a></p>
<p><a id="relative" href="relative-target">a relative link</a></p>
<p><a id="ping" href="#here" ping="{base}/serve-live/ping">a link that pings</a></p>
<form id="form" action="{base}/serve-live/form" method="get"><input name="q" value="x">
<button id="submit" type="submit">send</button></form>
<img id="pic" src="{base}/serve-live/pic.png" alt="pic"
 srcset="{base}/serve-live/pic.png 1x, {base}/serve-live/pic2.png 2x">
<div style="background-image:url('{base}/serve-live/div.png')">styled</div>
<iframe src="{base}/serve-live/frame"></iframe>
<video poster="{base}/serve-live/poster.png"></video>
<svg width="200" height="30"><a id="svg" href="{base}/serve-live/svg">
<text x="0" y="20">svg link</text></a></svg>
<p id="here">end</p>
</body></html>"""
"""A page whose every part would reach its site (absolute and relative URLs, a <base>)."""

JS_PAGE = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Built by script</title>
<link rel="stylesheet" href="/serve-js/style.css"></head><body><main id="story">Loading</main>
<script>
fetch('/serve-js/story.json').then(r => r.json()).then(d => {
  const main = document.getElementById('story'); main.textContent = '';
  const h = document.createElement('h1'); h.id = 'headline'; h.textContent = d.headline;
  const img = document.createElement('img'); img.id = 'pic'; img.src = '/serve-js/red.png';
  const p = document.createElement('p'); p.textContent = d.text;
  main.append(h, img, p);
});
</script></body></html>"""
JS_HEADLINE = "Dam spill doubled overnight"
JS_TEXT = ("The regional authority opened the third spillway gate at four in the morning, "
           "its engineers said, after the level rose by two metres in a single day.")
JS_PATHS = ["/serve-js/page", "/serve-js/style.css", "/serve-js/story.json",
            "/serve-js/red.png"]


def _red_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (220, 20, 20)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def site(web):
    page = LIVE_PAGE.replace("{base}", web.base).replace("{{", "{").replace("}}", "}")
    web.add_route(LIVE + "page", lambda h: send(h, 200, page.encode(),
                                                 content_type="text/html; charset=utf-8"))
    for path in LIVE_PATHS:
        web.add_route(LIVE + path, lambda h: send(h, 200, b"x", content_type="text/plain"))
    story = json.dumps({"headline": JS_HEADLINE, "text": JS_TEXT}).encode()
    routes = {"/serve-js/page": (JS_PAGE, "text/html; charset=utf-8"),
              "/serve-js/style.css": (b"h1 { color: rgb(1, 90, 200); }", "text/css"),
              "/serve-js/story.json": (story, "application/json"),
              "/serve-js/red.png": (_red_png(), "image/png")}
    for path, (body, kind) in routes.items():
        web.add_route(path, lambda h, body=body, kind=kind: send(h, 200, body,
                                                                 content_type=kind))
    return web


@pytest.fixture(scope="module")
def served(tmp_path_factory, site):
    """A store with the live-links page captured plainly, and the script-built page
    captured twice with ``--browser`` (and once without); the viewer serving it."""
    store = tmp_path_factory.mktemp("replay") / "evidence"
    with Evidence(store) as evidence:
        live = evidence.archive([site.url(LIVE + "page")]).outcomes[0].record
        js_url = site.url("/serve-js/page")
        plain = evidence.archive([js_url]).outcomes[0].record
        rendered = evidence.archive([js_url], browser=True, jobs=1,
                                    again=True).outcomes[0].record
        assert rendered.file(BROWSER_SCREENSHOT) is not None, rendered.data
        running = listen(evidence, "127.0.0.1", 0)
        running.start()
        try:
            yield running, evidence, {"live": live, "plain": plain, "rendered": rendered}
        finally:
            running.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _off_viewer(page, running) -> list[str]:
    """Every request the browser made anywhere but the viewer itself."""
    ours = _origin(running.url)
    return [url for url in page.requested
            if _origin(url) != ours and not url.startswith(("data:", "about:"))]


def test_replay_opened_alone_never_reaches_the_live_site(served, page, site):
    """The replay opened alone (top level, where a click would leave): clicking every link,
    submitting the form and waiting out the meta refresh make no request off the viewer,
    and the live site sees none."""
    running, _, records = served
    before = {path: site.hits(LIVE + path) for path in LIVE_PATHS}
    page.goto(running.url.rstrip("/") + f"/record/{records['live'].id}")
    with page.expect_navigation():
        page.locator("a", has_text="open the replay alone").first.click()
    assert page.inner_text("#headline") == "Shown offline"
    for link in ("#live", "#relative", "#ping", "#submit", "#svg"):
        page.click(link, no_wait_after=True)
        page.wait_for_timeout(200)
    page.wait_for_timeout(1500)  # the refresh would have fired at 1 s
    assert page.url.startswith(running.url.rstrip("/") + "/record/")
    assert page.inner_text("#headline") == "Shown offline"
    assert _off_viewer(page, running) == []
    assert {path: site.hits(LIVE + path) for path in LIVE_PATHS} == before
    html = page.content()
    assert site.base not in html and "serve-live" not in html
    snap(page, "replay-alone-offline")


def test_a_browser_capture_replays_as_the_reader_saw_it(served, page, site):
    """The --browser capture's page: our screenshot, the rendered text beside the server's,
    the render's status and limits, and a replay of the page its script built, its image
    and stylesheet served from our WARC while the live site gets no request."""
    running, _, records = served
    record = records["rendered"]
    before = {path: site.hits(path) for path in JS_PATHS}
    page.goto(running.url.rstrip("/") + f"/record/{record.id}")
    assert page.inner_text("#render-status") == "ok"
    assert page.inner_text("#render-limits") == "none"
    shot = page.locator("#browser-shot")
    assert shot.evaluate("e => e.complete && e.naturalWidth") > 100
    assert JS_HEADLINE in page.inner_text("#browser-text")
    assert JS_HEADLINE not in page.inner_text("#text")  # the server's HTML had none of it
    frame = page.frame_locator("#replay")
    assert frame.locator("#headline").inner_text() == JS_HEADLINE
    picture = frame.locator("#pic")
    picture.evaluate("e => e.complete || new Promise(r => e.onload = e.onerror = r)")
    assert picture.evaluate("e => e.naturalWidth") == 400  # from our WARC
    colour = frame.locator("#headline").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(1, 90, 200)"  # the captured stylesheet, from our WARC
    server = page.frame_locator("#replay-server")
    assert server.locator("#story").inner_text() == "Loading"  # what the server sent
    snap(page, "browser-capture")
    snap(page.locator("#replay"), "browser-capture-replay")

    with page.expect_navigation():
        page.locator("a", has_text="open the replay alone").first.click()
    page.locator("#pic").evaluate("e => e.complete || new Promise(r => e.onload = r)")
    assert page.locator("#pic").evaluate("e => e.naturalWidth") == 400
    assert _off_viewer(page, running) == []
    assert {path: site.hits(path) for path in JS_PATHS} == before
    assert any("/replay/resource?" in url for url in page.requested)


def test_a_resource_is_served_only_signed_and_only_from_the_warc(served, site):
    """A replay's resource URL works as the replay wrote it; with another URL (one the WARC
    lacks) or without its signature (another site probing the store) it is a 404, and
    nothing is fetched."""
    running, _, records = served
    base = running.url.rstrip("/")
    replay = requests.get(base + f"/record/{records['rendered'].id}/replay", timeout=10)
    written = re.search(r'src="(/record/[^"]+/replay/resource\?[^"]+)"', replay.text)
    assert written, replay.text
    src = html.unescape(written.group(1))
    image = requests.get(base + src, timeout=10)
    assert image.status_code == 200 and image.content == _red_png()
    assert image.headers["Content-Type"] == "image/png"
    before = site.hits(LIVE + "pic.png")
    query = parse_qs(urlsplit(src).query)
    for params in ({**query, "url": [site.url(LIVE + "pic.png")]},
                   {k: v for k, v in query.items() if k != "sig"},
                   {**query, "sig": ["0" * 32]}):
        answer = requests.get(base + urlsplit(src).path, params=params, timeout=10)
        assert answer.status_code == 404, params
    assert site.hits(LIVE + "pic.png") == before


def test_captures_list_marks_rendered_captures_and_history_shows_thumbnails(served, page):
    running, _, records = served
    page.goto(running.url.rstrip("/") + "/?q=serve-js")
    rows = page.locator("#captures tbody tr")
    assert rows.count() == 2
    badges = [rows.nth(i).locator(".pill.rendered").count() for i in range(2)]
    assert badges == [1, 0]  # newest first: the --browser capture, then the plain one
    page.select_option("select[name=kind]", "fetch_failed")
    page.click("#search")
    assert page.locator("#captures tbody tr").inner_text().startswith("no records")
    page.select_option("select[name=kind]", "capture")
    page.click("#search")
    assert page.locator("#captures tbody tr").count() == 2
    snap(page, "captures-rendered")

    page.locator("#captures a[href*='/history']").first.click()
    thumbs = page.locator("#timeline img.thumb")
    assert thumbs.count() == 1
    thumbs.evaluate("e => e.complete || new Promise(r => e.onload = r)")
    assert thumbs.evaluate("e => e.naturalWidth") > 100
    assert re.search(rf"/record/{records['rendered'].id}/file/browser-screenshot$",
                     thumbs.get_attribute("src"))
    snap(page, "history-thumbnails")
