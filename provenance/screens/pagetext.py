"""Every text a page shows, one block a line: menus, dates, captions, teasers included.

The numbers a browser draws before the items of an ``<ol>`` are part of what it shows (a
screenshot of a numbered list has them, the markup does not): they are written out.

A real screenshot shows more than the article text a capture keeps: the navigation, the
byline and date, a photo caption, the headlines of other stories. ``verify --against``
looks for a screenshot paragraph in this text when the article text lacks it, so the
page's own chrome is recognised as the page's (and a figure changed in it is still a
mismatch) instead of counting as a paragraph the page does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from archive.article_refine import parse
from archive.css_hidden import Sheets, StyleHiding, style_hiding
from archive.text import hidden_by_style

MAX_HTML_CHARS = 16 * 1024 * 1024
"""A page's HTML beyond this is not read for its chrome (the article text still is)."""

_HIDDEN = {"script", "style", "noscript", "template", "head", "title", "meta", "link",
           "svg", "iframe", "object", "select", "option", "datalist"}
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i",
           "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time",
           "u", "var", "wbr", "label", "img", "input", "button"}


@dataclass(frozen=True)
class PageShown:
    """What a page shows, read twice: with its own style sheets (:attr:`visible`) and
    without them (:attr:`unstyled`, what every text of its HTML would show). They differ
    only where a ``<style>`` rule hides text (:mod:`archive.css_hidden`)."""

    visible: str
    unstyled: str = ""
    hiding: tuple[str, ...] = ()
    """The rules that hide text, as the page writes them (``.withdrawn { display: none }``)."""
    unread: int = 0
    """The page's style sheets in other files, not read: they may show what these hide."""
    every: str = ""
    """Every text of the HTML, what its own attributes hide (``hidden``, an inline ``style``)
    included: asked for by ``every=True`` (:mod:`provenance.changes.hiding`), else empty."""

    def __post_init__(self) -> None:
        if not self.unstyled:
            object.__setattr__(self, "unstyled", self.visible)

    @property
    def styled(self) -> bool:
        """Does a style sheet hide any of the page's text?"""
        return self.unstyled != self.visible


def visible_text(markup: str) -> str:
    """The text of every element a browser shows, one block element a line; "" when the
    HTML cannot be parsed or is longer than :data:`MAX_HTML_CHARS`. ``markup`` is the
    page decoded as a browser decodes it (:func:`archive.reextract.markup_from_warc`)."""
    return page_shown(markup).visible


def page_shown(markup: str, linked: Sheets | None = None, *, every: bool = False) -> PageShown:
    """:func:`visible_text`, with and without what the page's own style sheets hide (its
    ``<style>`` elements, and the linked sheets ``linked`` has); with ``every``, also every
    text of the HTML (:attr:`PageShown.every`)."""
    if not markup or len(markup) > MAX_HTML_CHARS:
        return PageShown("")
    root = parse(markup)
    if root is None:
        return PageShown("")
    unstyled = _shown_text(root, None)
    whole = _shown_text(root, None, attributes=False) if every else ""
    hiding = style_hiding(root, linked)
    if not hiding:
        return PageShown(unstyled, unread=hiding.unread, every=whole)
    rules = dict.fromkeys(str(h) for h in [*hiding.display_none.values(),
                                           *hiding.visibility.values()] if h is not None)
    return PageShown(_shown_text(root, hiding), unstyled, tuple(rules), hiding.unread, whole)


def _shown_text(root: etree._Element, hiding: StyleHiding | None, *,
                attributes: bool = True) -> str:
    """The text ``root`` shows, one block a line; what ``hiding`` hides left out, and with
    ``attributes`` what elements' own ``hidden`` or ``style`` hides."""
    lines: list[str] = []
    current: list[str] = []
    markers: dict[etree._Element, str] = {}  # an <ol>'s items: the number a browser draws
    display_none = hiding.display_none if hiding is not None else {}
    visibility = hiding.visibility if hiding is not None else {}

    def _number_items(ol: etree._Element) -> None:
        items = [child for child in ol if child.tag == "li"]
        step = -1 if ol.get("reversed") is not None else 1
        number = _integer(ol.get("start"), len(items) if step < 0 else 1)
        kind = ol.get("type") or "1"
        for item in items:
            number = _integer(item.get("value"), number)
            markers[item] = f"{_marker(number, kind)}."
            number += step

    pending: list[str] = []  # a list item's number, drawn before its first line of text

    def flush() -> None:
        text = " ".join(" ".join(current).split())
        if text:
            lines.append(" ".join([*pending, text]))
            pending.clear()
        current.clear()

    def walk(element: etree._Element, invisible: bool) -> None:
        # ``invisible``: the parent's ``visibility: hidden``, which its children inherit
        # (and may undo) and its tail text keeps
        tag = element.tag
        if (not isinstance(tag, str) or tag in _HIDDEN or (attributes and _hidden(element))
                or element in display_none):
            if element.tail and not invisible:  # a comment or a hidden element: only
                current.append(element.tail)  # what follows it shows
            return
        if element in visibility:
            hidden_here = visibility[element] is not None
        else:
            hidden_here = invisible
        block = tag not in _INLINE
        if block:
            flush()
        if tag == "ol":
            _number_items(element)
        marker = markers.pop(element, None)
        if marker and not hidden_here:
            pending[:] = [marker]  # the first line of the item, even inside a <div> in it
        if tag == "img" and element.get("alt") and not hidden_here:
            current.append(element.get("alt") or "")
        if element.text and not hidden_here:
            current.append(element.text)
        for child in element:
            walk(child, hidden_here)
        if block:
            flush()
        if marker and pending:  # an item without text: its number alone
            lines.append(pending.pop())
        if element.tail and not invisible:
            current.append(element.tail)

    body = root.find("body")
    walk(body if body is not None else root, False)
    flush()
    return "\n".join(lines)


def _integer(value: str | None, default: int) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return default


def _marker(number: int, kind: str) -> str:
    """How a browser numbers a list item: ``type`` 1, a, A, i or I (HTML's ``<ol type>``)."""
    if kind in "aA" and number > 0:
        letters = ""
        while number > 0:
            number, rest = divmod(number - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters.upper() if kind == "A" else letters
    if kind in "iI" and 0 < number < 4000:
        roman = ""
        for value, numeral in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"),
                               (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"),
                               (5, "v"), (4, "iv"), (1, "i")):
            count, number = divmod(number, value)
            roman += numeral * count
        return roman.upper() if kind == "I" else roman
    return str(number)


def _hidden(element: etree._Element) -> bool:
    """Hidden by its own attributes: ``hidden``, or an inline style that hides it."""
    return element.get("hidden") is not None or hidden_by_style(element.get("style") or "")
