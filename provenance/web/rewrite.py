"""A captured page made inert before it is shown: nothing in it can navigate or load from
outside.

The replay's Content-Security-Policy stops scripts and loads from other origins, but not a
click: a link in a page opened alone (or in a frame) takes the reader to the live site,
which then learns who looked and when. So every URL the page holds is rewritten here:
a sub-resource (image, stylesheet, font, frame) becomes our own replay of it when the
capture's WARC holds that URL (``link`` says so), and is removed otherwise; links, form
actions, ``<base>``, meta refresh, ``ping``, scripts and event handlers are removed
outright (a fragment link ``#id`` stays). CSS (``<style>``, ``style=``) gets the same
treatment for ``url()``, ``@import`` and ``image-set()``.

The output is re-serialised from what :mod:`html.parser` parsed, text escaped and attribute
values quoted, so what the browser parses is what was checked here (no parser
differential can smuggle a tag past the rewrite).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

Link = Callable[[str], "str | None"]
"""An absolute URL of the captured page's world to our own URL for it, or None."""

_DROPPED_ELEMENTS = {"script"}
"""Left out with everything inside them."""
_DROPPED_TAGS = {"base", "portal"}
_RESOURCE_ATTRS = {"src", "poster", "data", "background", "lowsrc", "dynsrc"}
"""Attributes that load something: kept only as our own replay of what they name."""
_LINK_RESOURCE_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon"}
_NAVIGATING_ATTRS = {"href", "xlink:href", "action", "formaction", "ping", "longdesc",
                     "cite", "manifest", "codebase", "archive", "classid", "usemap",
                     "profile", "itemtype", "srcdoc", "attributionsrc"}
"""Attributes that navigate, send or name another document: removed (``href`` to a
fragment stays; ``href`` that loads, on ``<link rel=stylesheet>`` and SVG ``<image>``, is
a resource)."""
_RESOURCE_HREF_TAGS = {"image", "use", "feimage"}
_DOCUMENT_TAGS = {"iframe", "frame", "object", "embed", "portal", "fencedframe"}
"""Elements whose resource is a document of its own: never a ``data:`` URL."""
_ATTR_NAME = re.compile(r"[a-zA-Z_][-a-zA-Z0-9_:.]{0,63}")
_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr", "param", "keygen"}
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
_CSS_IMAGE_SET = re.compile(r"""(image-set\()([^)]*)\)""", re.I)
_CSS_STRING = re.compile(r"""(?:"([^"]*)"|'([^']*)')""")
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})\s?|(.))", re.S)


def absolute(url: str, base: str) -> str | None:
    """``url`` resolved against ``base`` without its fragment; None unless http(s)."""
    try:
        joined = urljoin(base, url.strip())
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _resource(value: str, base: str, link: Link, *, inline: bool = True) -> str | None:
    """Our URL for a resource ``value`` names; a ``data:`` URL as it is when ``inline`` (an
    image or a style: it cannot navigate), never for a frame or an object, whose document
    could hold a link of its own."""
    stripped = value.strip()
    if stripped.lower().startswith("data:"):
        return stripped if inline else None
    found = absolute(stripped, base)
    return link(found) if found else None


def neutralise_css(css: str, base: str, link: Link) -> str:
    """``css`` with every URL it loads made our own (or removed). CSS escapes could
    spell ``url(`` past these patterns, so they are decoded first (the CSP still stops
    any load from elsewhere)."""
    if "\\" in css:
        css = _CSS_ESCAPE.sub(_unescape, css)

    def url(match: re.Match[str]) -> str:
        value = next(g for g in match.groups() if g is not None)
        ours = _resource(value, base, link)
        return f'url("{_css_quote(ours)}")' if ours else "none"

    def imported(match: re.Match[str]) -> str:
        value = next(g for g in match.groups() if g is not None)
        ours = _resource(value, base, link)
        return f'@import "{_css_quote(ours)}"' if ours else '@import ""'

    def string(match: re.Match[str]) -> str:
        value = next(g for g in match.groups() if g is not None)
        return f'"{_css_quote(_resource(value, base, link) or "")}"'

    def image_set(match: re.Match[str]) -> str:
        return match.group(1) + _CSS_STRING.sub(string, match.group(2)) + ")"

    css = _CSS_URL.sub(url, css)
    css = _CSS_IMPORT.sub(imported, css)
    css = _CSS_IMAGE_SET.sub(image_set, css)
    return css.replace("</", "<\\/")  # never ends the <style> element it is written in


def _unescape(match: re.Match[str]) -> str:
    if match.group(1):
        code = int(match.group(1), 16)
        return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"
    return match.group(2)


def _css_quote(value: str) -> str:
    return value.replace("\\", "").replace('"', "%22").replace("\n", "")


def _srcset(value: str, base: str, link: Link) -> str | None:
    kept = []
    for candidate in value.split(","):
        pieces = candidate.strip().split()
        if not pieces:
            continue
        ours = _resource(pieces[0], base, link)
        if ours and " " not in ours and "," not in ours:
            kept.append(" ".join([ours, *pieces[1:2]]))
    return ", ".join(kept) or None


class _Neutraliser(HTMLParser):
    def __init__(self, base: str, link: Link) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.link = link
        self.out: list[str] = []
        self.skipping: str | None = None
        self.in_style = 0
        self.seen_base = False

    # -- tags -------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if self.skipping:
            return
        if tag in _DROPPED_ELEMENTS:
            if not closed:
                self.skipping = tag
            return
        if tag == "base":
            href = dict(attrs).get("href")
            if href and not self.seen_base:  # the page's own links resolve against it
                self.base = urljoin(self.base, href.strip())
                self.seen_base = True
            return
        if tag in _DROPPED_TAGS or (tag == "meta" and any(
                name in ("http-equiv", "charset") for name, _ in attrs)):
            return
        kept = self._attrs(tag, attrs)
        text = "".join(f' {name}="{escape(value, quote=True)}"' for name, value in kept)
        self.out.append(f"<{tag}{text}>")
        if tag == "style" and not closed:
            self.in_style += 1

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
        kept: list[tuple[str, str]] = []
        rels = set((dict(attrs).get("rel") or "").lower().split())
        for name, raw in attrs:
            value = raw or ""
            if not _ATTR_NAME.fullmatch(name) or name.startswith("on"):
                continue
            if name in ("href", "xlink:href") and (
                    (tag == "link" and rels & _LINK_RESOURCE_RELS)
                    or tag in _RESOURCE_HREF_TAGS):
                ours = _resource(value, self.base, self.link, inline=tag != "use")
                if ours:
                    kept.append((name, ours))
            elif name in ("href", "xlink:href") and value.strip().startswith("#"):
                kept.append((name, value.strip()))
            elif name in _NAVIGATING_ATTRS or (tag == "link" and name == "href"):
                continue
            elif name in _RESOURCE_ATTRS:
                ours = _resource(value, self.base, self.link,
                                 inline=tag not in _DOCUMENT_TAGS and name != "data")
                if ours:
                    kept.append((name, ours))
            elif name in ("srcset", "imagesrcset"):
                ours = _srcset(value, self.base, self.link)
                if ours:
                    kept.append((name, ours))
            elif name == "style":
                kept.append((name, neutralise_css(value, self.base, self.link)))
            elif name == "target":
                continue  # nothing to open elsewhere
            else:
                kept.append((name, value))
        return kept

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping:
                self.skipping = None
            return
        if tag in _DROPPED_ELEMENTS or tag in _DROPPED_TAGS or tag in _VOID:
            return
        if tag == "style" and self.in_style:
            self.in_style -= 1
        self.out.append(f"</{tag}>")

    # -- text -------------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.in_style:
            self.out.append(neutralise_css(data, self.base, self.link))
        else:
            self.out.append(escape(data, quote=False))

    def handle_decl(self, decl: str) -> None:
        if re.fullmatch(r"(?i)doctype[^<>]*", decl):
            self.out.append(f"<!{decl}>")

    # comments, processing instructions and other declarations are left out


def neutralise_html(html: str, base: str, link: Link) -> str:
    """``html`` (a page captured at ``base``) with nothing left that navigates or loads
    from outside; resources ``link`` knows point to our own replay of them."""
    parser = _Neutraliser(base, link)
    parser.feed(html)
    parser.close()
    return "".join(parser.out)
