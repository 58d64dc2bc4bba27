"""Pages that need a browser, for the ``--browser`` tests: served by :mod:`webfixtures`.

``add_browser_routes(web)`` adds them to the session's loopback server:

- ``/js/article``: the article text arrives by ``fetch()`` of ``/js/article.json`` after load;
  the HTML the server sends holds none of it.
- ``/js/redirect``: a page whose script moves the browser to ``/js/article`` after load.
- ``/js/lazy``: a red image with ``loading="lazy"`` far below the first screen.
- ``/kp/article``: the Komsomolskaya Pravda demo page (examples/site/kp/article.html).
- ``/fault/*``: a page that never finishes, one that grows forever as it is scrolled, one
  that opens pop-ups and dialogs, one that allocates memory without end, one that loops
  forever in JavaScript, one over any small size cap.
"""

from __future__ import annotations

import io
import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from PIL import Image
from webfixtures import Handler, WebServer, send

REPO = Path(__file__).resolve().parent.parent
HEADLINE = "Reservoir levels fell by 41 percent"
JS_PARAGRAPHS = [
    "The regional water authority said on Monday that the main reservoir now holds "
    "less than at any time since records began in 1952.",
    "Engineers expect the level to recover only if the autumn rains arrive on time, "
    "the authority's spokesperson told reporters at the dam.",
]
LAZY_COLOUR = (220, 20, 20)
LAZY_TOP = 2600  # px from the top of the page where the lazy image starts


def _html(body: str, title: str = "Fixture") -> bytes:
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            "<style>body{margin:0;font-family:DejaVu Sans,sans-serif;background:#fff}"
            "h1{font-size:40px;margin:20px}p{font-size:20px;margin:20px}</style></head>"
            f"<body>{body}</body></html>").encode()


JS_ARTICLE = _html("""<main id="story"><p class="loading">Loading…</p></main>
<script>
fetch('/js/article.json', {headers: {'Accept': 'application/json'}})
  .then(r => r.json())
  .then(d => {
    const main = document.getElementById('story');
    main.innerHTML = '';
    const art = document.createElement('article');
    const h = document.createElement('h1'); h.textContent = d.headline; art.appendChild(h);
    for (const t of d.paragraphs) {
      const p = document.createElement('p'); p.textContent = t; art.appendChild(p);
    }
    main.appendChild(art);
  });
</script>""", title="Water news")
JS_JSON = json.dumps({"headline": HEADLINE, "paragraphs": JS_PARAGRAPHS}).encode("utf-8")


JS_REDIRECT = _html("""<h1>Moved</h1><p>Taking you to the article…</p>
<script>setTimeout(() => location.replace('/js/article'), 150);</script>""")


def red_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), LAZY_COLOUR).save(out, "PNG")
    return out.getvalue()


LAZY_PAGE = _html(f"""<h1>A page with a picture far below</h1>
<div style="height:{LAZY_TOP}px"></div>
<img id="lazy" src="/js/red.png" loading="lazy" width="400" height="300" alt="">
<div style="height:400px"></div>""")

POPUP_PAGE = _html("""<h1>Pop-ups and dialogs</h1>
<p>This page opens windows and alerts as soon as it loads.</p>
<script>
alert('hello'); confirm('sure?');
for (let i = 0; i < 3; i++) window.open('/fault/popup-child', '_blank');
setInterval(() => window.open('/fault/popup-child', '_blank'), 200);
</script>""")

SCROLL_PAGE = _html("""<h1>Endless feed</h1><div id="feed"></div>
<script>
const feed = document.getElementById('feed');
function more() { for (let i = 0; i < 5; i++) { const p = document.createElement('p');
  p.style.height = '400px'; p.textContent = 'Item ' + feed.children.length;
  feed.appendChild(p); } }
more();
window.addEventListener('scroll', more);
</script>""")

ALLOC_PAGE = _html("""<h1>Hungry</h1><script>
const keep = [];
setTimeout(() => { while (true) keep.push(new Array(1 << 20).fill(Math.random())); }, 10);
</script>""")

LOOP_PAGE = _html("""<h1>Busy</h1><script>
window.addEventListener('load', () => { while (true) {} });
</script>""")

# A parser-blocking script: the browser must read all of it. (An <img> of bytes that are no
# image was the first form, but Chromium may cancel such a load once it cannot decode the start,
# so the page stayed under the cap whenever the cancel beat the proxy: a flaky test.)
BIG_PAGE = _html("""<h1>Heavy</h1><script src="/fault/big.js"></script><p>after</p>""")


NEVER_PAGE = _html("""<h1>Never done</h1><p>A script in the page never finishes loading.</p>
<script src="/fault/drip.js"></script><p>after</p>""")


def _drip(h: BaseHTTPRequestHandler) -> None:
    """Sends the start of a script, then a byte every half second, for ever (until cut)."""
    h.send_response(200)
    h.send_header("Content-Type", "text/javascript")
    h.end_headers()
    try:
        h.wfile.write(b"var x = 1;")
        h.wfile.flush()
        for _ in range(600):
            time.sleep(0.5)
            h.wfile.write(b" ")
            h.wfile.flush()
    except OSError:
        pass


def _route(body: bytes, content_type: str = "text/html; charset=utf-8") -> Handler:
    return lambda h: send(h, 200, body, content_type=content_type)


def add_browser_routes(web: WebServer) -> None:
    web.add_route("/js/article", _route(JS_ARTICLE))
    web.add_route("/js/article.json", _route(JS_JSON, "application/json"))
    web.add_route("/js/lazy", _route(LAZY_PAGE))
    web.add_route("/js/redirect", _route(JS_REDIRECT))
    web.add_route("/js/red.png", _route(red_png(), "image/png"))
    kp = (REPO / "examples" / "site" / "kp" / "article.html").read_bytes()
    web.add_route("/kp/article", _route(kp))
    web.add_route("/fault/never", _route(NEVER_PAGE))
    web.add_route("/fault/drip.js", _drip)
    web.add_route("/fault/popup", _route(POPUP_PAGE))
    web.add_route("/fault/popup-child", _route(_html("<h1>child</h1>")))
    web.add_route("/fault/scroll", _route(SCROLL_PAGE))
    web.add_route("/fault/alloc", _route(ALLOC_PAGE))
    web.add_route("/fault/loop", _route(LOOP_PAGE))
    web.add_route("/fault/big", _route(BIG_PAGE))
    web.add_route("/fault/big.js", _route(b"/*" + b"x" * 3_000_000 + b"*/", "text/javascript"))
