"""The replay's rewrite (provenance.web.rewrite) against what a page could hide a URL in.

Each construct below would make a browser navigate to or load from the live site; after
the rewrite none of the site's URLs is left, except as our own replay of a resource the
WARC holds. Chromium's view of the same pages is tested in test_serve_replay.py.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from lxml import html as lxml_html

from provenance.web.rewrite import neutralise_css, neutralise_html

SITE = "http://live.example/news/"
HELD = {"http://live.example/held.png": "/ours/held.png",
        "http://live.example/held.css": "/ours/held.css"}


def link(url: str) -> str | None:
    return HELD.get(url)


TRAPS = [
    '<a href="http://live.example/x">a</a>',
    '<A HREF=http://live.example/x>a</A>',
    '<a href="&#104;ttp://live.example/x">entity</a>',
    '<a href = "  //live.example/x">protocol-relative</a>',
    '<a href="javascript:location=\'http://live.example/x\'">js</a>',
    '<a href="x" ping="http://live.example/p">relative</a>',
    '<area href="http://live.example/x">',
    '<form action="http://live.example/f"><button formaction="http://live.example/g">'
    '</button></form>',
    '<base href="http://live.example/"><a href="x">after base</a>',
    '<meta http-equiv="Refresh" content="0;url=http://live.example/r">',
    '<meta http-equiv="refresh" content="0; URL=\'http://live.example/r\'">',
    '<link rel="preload" href="http://live.example/p.js" as="script">',
    '<link rel="prefetch dns-prefetch" href="http://live.example/">',
    '<img src="http://live.example/a.png" srcset="http://live.example/b.png 2x">',
    '<picture><source srcset="http://live.example/c.webp"><img src="/d.png"></picture>',
    '<iframe src="http://live.example/f" srcdoc="<a href=http://live.example/x>x</a>">'
    '</iframe>',
    '<object data="http://live.example/o"></object><embed src="http://live.example/e">',
    '<video poster="http://live.example/v.png"><source src="http://live.example/v.mp4">'
    '<track src="http://live.example/t.vtt"></video>',
    '<svg><a xlink:href="http://live.example/s"><text>s</text></a>'
    '<image href="http://live.example/i.png"/><use href="http://live.example/u#x"/></svg>',
    '<math><a href="http://live.example/m">m</a></math>',
    '<table background="http://live.example/bg.png"><tr><td>t</td></tr></table>',
    '<div style="background:url(http://live.example/a.png)">s</div>',
    '<div style="background:u\\72l(http://live.example/a.png)">escaped</div>',
    '<style>@import url("http://live.example/i.css"); @import \'http://live.example/j.css\';'
    ' b{background-image:image-set("http://live.example/k.png" 1x)}</style>',
    '<style>p{content:"</style><a href=http://live.example/x>"}</style>',
    '<script>location="http://live.example/s"</script><noscript><a href="http://live.'
    'example/n">n</a></noscript>',
    '<img src=x onerror="location=\'http://live.example/o\'">',
    '<a href="http://live.example/x" target="_blank" rel="opener">t</a>',
    '<!-- <a href="http://live.example/c"> --><![CDATA[http://live.example/d]]>',
    '<iframe src="data:text/html,&lt;a href=http://live.example/x&gt;x&lt;/a&gt;"></iframe>',
    '<iframe src="data:image/svg+xml,&lt;svg xmlns=%22http://www.w3.org/2000/svg%22&gt;'
    '&lt;a href=%22http://live.example/x%22&gt;&lt;/a&gt;&lt;/svg&gt;"></iframe>',
    '<object data="data:text/html,&lt;a href=http://live.example/x&gt;"></object>'
    '<embed src="data:text/html;base64,PGEgaHJlZj1odHRwOi8vbGl2ZS5leGFtcGxlL3g+"><svg>'
    '<use href="data:image/svg+xml,&lt;svg id=%22x%22&gt;&lt;a href=%22http://live.'
    'example/x%22/&gt;&lt;/svg&gt;#x"/></svg>',
    '<portal src="http://live.example/p"></portal><img attributionsrc="http://live.example/a">',
]


@pytest.mark.parametrize("html", TRAPS)
def test_no_live_url_survives(html):
    out = neutralise_html(f"<html><body>{html}</body></html>", SITE, link)
    assert "live.example" not in out.replace("&#x27;", "'"), out
    assert "data:text" not in out and "data:image/svg" not in out, out
    lowered = out.lower()
    for word in ("<script", "<base", "http-equiv", "ping=", "action=", "srcdoc", "onerror",
                 "target="):
        assert word not in lowered, (word, out)


def test_held_resources_become_ours_and_text_stays():
    html = ('<link rel="stylesheet" href="held.css"><h1>Заголовок &amp; &lt;b&gt;</h1>'
            '<img src="/held.png" srcset="/held.png 1x, /gone.png 2x"><a href="#top">up</a>'
            '<div style="background:url(\'../held.png\')"></div>')
    out = neutralise_html(html, "http://live.example/", link)
    assert '<link rel="stylesheet" href="/ours/held.css">' in out
    assert 'src="/ours/held.png"' in out and 'srcset="/ours/held.png 1x"' in out
    assert 'href="#top"' in out
    assert "<h1>Заголовок &amp; &lt;b&gt;</h1>" in out
    assert 'url(&quot;/ours/held.png&quot;)' in out


def test_css_urls():
    css = ('@import "held.css"; a{background:url(held.png)} b{background:url("http://'
           'other.example/x.png")} c{background:url(data:image/png;base64,AAAA)}')
    out = neutralise_css(css, "http://live.example/", link)
    assert '@import "/ours/held.css"' in out and 'url("/ours/held.png")' in out
    assert "other.example" not in out and "background:none" in out
    assert 'url("data:image/png;base64,AAAA")' in out


# --- real pages (tests/realworld_text, from trafilatura's evaluation set; see its README) ------

REAL_PAGES = sorted((Path(__file__).parent / "realworld_text" / "pages").glob("*.html.gz"))
_URL_ATTRS = {"href", "src", "srcset", "action", "formaction", "poster", "background", "data",
              "ping", "xlink:href", "{http://www.w3.org/1999/xlink}href", "cite", "longdesc"}
_LIVE = re.compile(r"(?i)^\s*(https?:|//|javascript:|data:(?!\s*(image|font)/))")


def _live_urls(out: str) -> list[str]:
    """Every attribute or CSS ``url()`` in the rewritten page that a browser would follow
    off the viewer: what Chromium parses, checked with another parser (lxml)."""
    found: list[str] = []
    for element in lxml_html.document_fromstring(out).iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag in ("script", "base") or (tag == "meta" and (element.get("http-equiv") or "")
                                         .lower() == "refresh"):
            found.append(f"<{tag}>")
        css = element.text or "" if tag == "style" else ""
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"{tag} {name}")
            elif name.lower() in _URL_ATTRS:
                found += [f"{tag} {name}={value[:60]}" for part in value.split(",")
                          if _LIVE.match(part)]
            elif name.lower() == "style":
                css += value
        found += [f"{tag} css url({url[:60]})" for url in
                  re.findall(r"""(?i)url\(\s*["']?([^"')]*)""", css) if _LIVE.match(url)]
    return found


def _visible_text(page: str) -> str:
    document = lxml_html.document_fromstring(page)
    for hidden in document.xpath("//script|//style|//template"):
        hidden.drop_tree()
    return document.text_content()


@pytest.mark.parametrize("path", REAL_PAGES, ids=lambda p: p.name[:40])
def test_real_pages_keep_no_live_url(path):
    """29 real news and blog pages (scripts, trackers, lazy images, inline SVG, fonts): after
    the rewrite none of them can reach the live web, and the article's words are still there.
    (The whole 990-page set was run through the same check once: no live URL survived.)"""
    raw = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
    base = "https://news.example/article"
    held = {}

    def ours(url: str) -> str | None:  # every third resource as if the WARC held it
        held.setdefault(url, f"/replay/{len(held)}" if len(held) % 3 == 0 else None)
        return held[url]

    out = neutralise_html(raw, base, ours)
    assert _live_urls(out) == []
    words = re.findall(r"\w{6,}", _visible_text(raw))
    kept = lxml_html.document_fromstring(out).text_content()
    assert sum(word in kept for word in words) >= 0.9 * len(words)
