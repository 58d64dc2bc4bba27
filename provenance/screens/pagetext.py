"""Every text a page shows, one block a line: menus, dates, captions, teasers included.

A real screenshot shows more than the article text a capture keeps: the navigation, the
byline and date, a photo caption, the headlines of other stories. ``verify --against``
looks for a screenshot paragraph in this text when the article text lacks it, so the
page's own chrome is recognised as the page's (and a figure changed in it is still a
mismatch) instead of counting as a paragraph the page does not have.
"""

from __future__ import annotations

from lxml import etree

from archive.article_refine import parse

MAX_HTML_CHARS = 16 * 1024 * 1024
"""A page's HTML beyond this is not read for its chrome (the article text still is)."""

_HIDDEN = {"script", "style", "noscript", "template", "head", "title", "meta", "link",
           "svg", "iframe", "object", "select", "option", "datalist"}
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i",
           "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time",
           "u", "var", "wbr", "label", "img", "input", "button"}


def visible_text(markup: str) -> str:
    """The text of every element a browser shows, one block element a line; "" when the
    HTML cannot be parsed or is longer than :data:`MAX_HTML_CHARS`. ``markup`` is the
    page decoded as a browser decodes it (:func:`archive.reextract.markup_from_warc`)."""
    if not markup or len(markup) > MAX_HTML_CHARS:
        return ""
    root = parse(markup)
    if root is None:
        return ""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = " ".join(" ".join(current).split())
        if text:
            lines.append(text)
        current.clear()

    def walk(element: etree._Element) -> None:
        tag = element.tag
        if not isinstance(tag, str) or tag in _HIDDEN or element.get("hidden") is not None:
            if element.tail:  # a comment or a hidden element: only what follows it shows
                current.append(element.tail)
            return
        block = tag not in _INLINE
        if block:
            flush()
        if tag == "img" and element.get("alt"):
            current.append(element.get("alt") or "")
        if element.text:
            current.append(element.text)
        for child in element:
            walk(child)
        if block:
            flush()
        if element.tail:
            current.append(element.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    flush()
    return "\n".join(lines)
