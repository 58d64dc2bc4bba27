"""The article's text as its publisher declares it: schema.org ``articleBody`` in JSON-LD.

A page built by scripts (a single-page app) may send almost none of its article as markup:
the text is in its data, and the browser writes it into the page. Such a page often also
declares its article for search engines, as a schema.org ``Article`` (``NewsArticle``,
``BlogPosting`` …) whose ``articleBody`` is the whole text. When the text read from the
markup is a small part of that declared body, the declared body is the article a reader of
the page saw; :mod:`archive.text` then takes it (and says so in the text's note and
extractor).

Only one declaration is believed: a page that declares two different bodies (a list of
articles) has none. The JSON is read only from scripts that name ``articleBody``, each at
most :data:`MAX_SCRIPT_CHARS`, at most :data:`MAX_SCRIPTS` of them, and walked to at most
:data:`MAX_DEPTH` levels and :data:`MAX_NODES` values.
"""

from __future__ import annotations

import html
import json
import re

from lxml import etree

MAX_SCRIPT_CHARS = 2 * 1024 * 1024  # one JSON-LD script (a long article's body is ~100 KB)
MAX_SCRIPTS = 20  # JSON-LD scripts naming an articleBody read on one page
MAX_DEPTH = 8  # nesting of the JSON walked (a @graph of objects is 3 deep)
MAX_NODES = 5000  # JSON values visited, over all of a page's scripts
_BLANK_LINES = re.compile(r"\s*\n\s*")
# a body some CMSs declare as markup: its blocks become lines, other tags go
_BLOCK_TAG = re.compile(r"<(?:br|/?(?:p|div|h[1-6]|li|ul|ol|blockquote|figure|figcaption|table"
                        r"|tr|section|pre))\b[^<>]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def declared_scripts(root: etree._Element | None) -> list[str]:
    """The JSON-LD scripts of the page that may declare an ``articleBody`` (their text, not
    yet parsed: read before the tree's scripts are cut, parsed only when needed)."""
    if root is None:
        return []
    found = []
    for script in root.iter("script"):
        text = script.text or ""
        if (str(script.get("type") or "").strip().lower() == "application/ld+json"
                and "articleBody" in text and len(text) <= MAX_SCRIPT_CHARS):
            found.append(text)
            if len(found) >= MAX_SCRIPTS:
                break
    return found


def declared_body(scripts: list[str]) -> str | None:
    """The one ``articleBody`` of an Article the scripts declare, one paragraph a line; None
    when they declare none, or two different ones."""
    bodies: set[str] = set()
    budget = [MAX_NODES]
    for script in scripts:
        try:
            data = json.loads(script)
        except (ValueError, RecursionError):
            continue  # a broken declaration declares nothing
        _collect(data, bodies, budget, 0)
    if len(bodies) != 1:
        return None
    return bodies.pop()


def _collect(data: object, bodies: set[str], budget: list[int], depth: int) -> None:
    if depth > MAX_DEPTH or budget[0] <= 0:
        return
    budget[0] -= 1
    if isinstance(data, list):
        for item in data:
            _collect(item, bodies, budget, depth + 1)
        return
    if not isinstance(data, dict):
        return
    body = data.get("articleBody")
    if isinstance(body, str) and _is_article(data.get("@type")):
        text = _paragraphs(body)
        if text:
            bodies.add(text)
    for value in data.values():
        if isinstance(value, dict | list):
            _collect(value, bodies, budget, depth + 1)


def _is_article(kind: object) -> bool:
    """schema.org's Article or one of its kinds (``NewsArticle``, ``OpinionNewsArticle``,
    ``BlogPosting``, ``Report`` …); a list of types counts when one of them is."""
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and (k.endswith("Article") or k in ("BlogPosting", "Report"))
               for k in kinds)


def _paragraphs(body: str) -> str:
    """The body one paragraph a line (its own line breaks, or its markup's blocks), spaces
    folded."""
    if _TAG.search(body):
        body = html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", body)))
    lines = (_SPACES.sub(" ", line).strip() for line in _BLANK_LINES.split(body.strip()))
    return "\n".join(line for line in lines if line)
