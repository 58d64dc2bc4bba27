"""Which elements a page's own style sheets hide (``display: none``, ``visibility: hidden``).

A page can withdraw a paragraph without deleting it: ``<p class="withdrawn">`` and a rule
``.withdrawn { display: none }`` in a ``<style>`` element. Its HTML still holds the text,
and a reader of the page never sees it. Text read without the style sheets would "show" it.

This is not a style engine, and it errs on one side only: an element counts as hidden only
when the page's own style sheets hide it for sure. Only ``display`` and ``visibility`` are
read, with their cascade (``!important``, the inline ``style``, specificity, order). Any
rule that may show an element keeps it shown. Such a rule may sit under a condition: a
``@media`` query, ``@supports``, ``@layer``, a selector on a state such as ``:hover`` or
``:checked``. A rule that hides under a condition, or by a selector that cannot be
evaluated, hides nothing. Style sheets in other files (``<link rel=stylesheet>``) are read
where the caller has them (a ``--browser`` capture recorded them), in their place in the
cascade; those it has not, and ``@import`` ones, are counted in :attr:`StyleHiding.unread`.
A script may still show what a style sheet hides: the callers say so.

Tree: lxml's (:func:`archive.article_refine.parse`). Selectors: cssselect (the scrapy
project's CSS-to-XPath translator, which lxml's own ``cssselect`` uses); style sheets:
tinycss2 (the CSS Syntax Level 3 parser of WeasyPrint's authors).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from threading import Lock
from urllib.parse import urljoin

import cssselect
import tinycss2
from cssselect.xpath import ExpressionError
from lxml import etree

MAX_CSS_CHARS = 2 * 1024 * 1024
"""Style sheet text read per page; past it, sheets are not read (and counted unread)."""
VEIL_SHARE = 0.5
"""A rule that hides this share of the page's text or more is a loading veil (``body {
visibility: hidden }`` until a script lifts it, a frame-busting ``body { display: none }``),
not a withdrawal: it hides nothing here. A paragraph withdrawn from a page among its menus
and teasers is far less (a short note alone on a bare page could pass for a veil)."""
MAX_SECONDS = 3.0
"""Time for all selectors of a page; past it nothing is sure (the page hides nothing)."""
MAX_SIBLINGS = 256
"""Past this many children of one element, selectors that count siblings (``:nth-child``,
``:last-of-type``, ``a ~ b``) are not evaluated: each costs an XPath that walks every
sibling of every candidate, quadratic in a long list (20,000 items: minutes a selector)."""
MAX_MATCHES = 200_000
"""Element-rule pairs kept per page (the most on the 990 real pages: 15,747); past it
nothing is sure. Bounds memory: 4,000 copies of ``* { display: block }`` on a big page
would keep hundreds of millions."""
MAX_SELECTORS = 4000
"""Selectors of ``display``/``visibility`` rules evaluated per page: each is one XPath
over the whole tree. Past it, the page counts as having unread rules and hides nothing."""

_HIDE = {"display": {"none"}, "visibility": {"hidden", "collapse"}}
_STATIC_PSEUDO = {
    "root", "first-child", "last-child", "only-child", "first-of-type", "last-of-type",
    "only-of-type", "nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type",
    "empty", "not", "is", "where", "matches", "any", "has", "lang"}
"""Pseudo-classes that say where an element is, not what a reader did (``:hover``,
``:checked``, ``:target``) or what a script did (``:defined``)."""
_PSEUDO = re.compile(r"(?<!:):([a-zA-Z-]+)(\((?:[^()]|\([^()]*\))*\))?")
_SCREEN_MEDIA = {"", "all", "screen", "only screen", "only all"}
_NOT_SCREEN_MEDIA = {"print", "speech", "only print", "only speech", "aural", "braille",
                     "embossed", "handheld", "projection", "tty", "tv"}
_TRANSLATOR = cssselect.HTMLTranslator()
_NOT_LETTERS = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Hiding:
    """The rule that hides an element, as the page writes it (for a reason line)."""

    selector: str
    declaration: str  # "display: none"

    def __str__(self) -> str:
        return f"{self.selector} {{ {self.declaration} }}"


@dataclass
class StyleHiding:
    """What the page's ``<style>`` elements hide, by element."""

    display_none: dict[etree._Element, Hiding] = field(default_factory=dict)
    visibility: dict[etree._Element, Hiding | None] = field(default_factory=dict)
    """Elements whose own ``visibility`` is set: the hiding rule, or None for visible
    (which shows the element inside a hidden one; ``visibility`` is inherited)."""
    unread: int = 0
    """Style sheets not read: other files, sheets past :data:`MAX_CSS_CHARS`."""

    def __bool__(self) -> bool:
        return bool(self.display_none) or any(self.visibility.values())


@dataclass(frozen=True)
class _Rule:
    selector: str
    prop: str
    value: str
    important: bool
    certain: bool  # False: under a condition (media, state pseudo-class): may apply
    order: int


@dataclass
class _Candidate:
    key: tuple[int, int, tuple[int, int, int], int]  # important, inline, specificity, order
    value: str
    hiding: Hiding | None


Sheets = Callable[[str], str | None]
"""A linked style sheet's text by its URL as the page writes it (resolved against the
page's ``<base href>``, if any): None when it is not at hand."""


def style_hiding(root: etree._Element, linked: Sheets | None = None) -> StyleHiding:
    """What the style sheets of ``root``'s page hide for sure (module docstring): its
    ``<style>`` elements, and its ``<link rel=stylesheet>`` ones that ``linked`` has."""
    result = StyleHiding()
    rules: list[_Rule] = []
    budget = MAX_CSS_CHARS
    base = root.find("head/base[@href]")
    for element in root.iter("style", "link"):
        if any(a.tag in ("noscript", "template") for a in element.iterancestors()):
            continue  # what a browser with scripts never applies
        if element.tag == "link":
            rel = str(element.get("rel") or "").lower().split()
            if "stylesheet" not in rel or "alternate" in rel or element.get("disabled") is not None:
                continue
        elif str(element.get("type") or "text/css").strip().lower() != "text/css":
            continue
        certain = _media_applies(str(element.get("media") or ""))
        if certain is None:  # print only; unless a script turns it on once loaded
            result.unread += element.tag == "link" and element.get("onload") is not None
            continue
        if element.tag == "link":
            href = str(element.get("href") or "").strip()
            if base is not None:
                href = urljoin(str(base.get("href") or "").strip(), href)
            css = linked(href) if linked is not None and href else None
            if css is None:
                result.unread += 1
                continue
        else:
            css = "".join(element.itertext())
        if len(css) > budget:
            result.unread += 1
            continue
        budget -= len(css)
        if "display" not in css and "visibility" not in css:
            result.unread += css.count("@import")
            continue
        result.unread += _read_css(css, certain, rules)
    if not rules:
        return result
    candidates = _matches(root, rules)
    if candidates is None:
        result.unread += 1
        return result
    for (element, prop), found in candidates.items():
        inline = _inline(element, prop)
        if inline is not None:
            found.append(inline)
        winner = max((c for c in found if c.key[3] >= 0), key=lambda c: c.key, default=None)
        maybe_shown = any(c.key[3] < 0 and c.value not in _HIDE[prop] for c in found)
        # a winner's ``hiding`` is set exactly when its value hides
        hiding = winner.hiding if winner is not None and not maybe_shown else None
        if prop == "display":
            if hiding is not None:
                result.display_none[element] = hiding
        elif hiding is not None or winner is not None or maybe_shown:
            result.visibility[element] = hiding  # None: set visible, which children inherit
    _lift_veils(root, result)
    return result


def _lift_veils(root: etree._Element, result: StyleHiding) -> None:
    """Drop the hides of :data:`VEIL_SHARE` or more of the page (module docstring)."""
    body = root.find("body")
    page = body if body is not None else root
    letters = _letter_counts(page)
    total = letters.get(page, 0)
    hiding = [*result.display_none, *(e for e, h in result.visibility.items() if h)]
    for element in hiding:
        if letters.get(element, 0) >= VEIL_SHARE * total:
            result.display_none.pop(element, None)
            result.visibility.pop(element, None)


def _letter_counts(page: etree._Element) -> dict[etree._Element, int]:
    """The letters and digits of each element's text with its descendants' (what
    :func:`~archive.article_refine.text_content` holds), all in one pass: counting each
    hidden element's text apart is quadratic in nested ones."""
    counts: dict[etree._Element, int] = {}
    for element in reversed(list(page.iter())):
        own = _count(element.text) if isinstance(element.tag, str) else 0
        counts[element] = own + sum(counts.get(child, 0) + _count(child.tail)
                                    for child in element)
    return counts


def _count(text: str | None) -> int:
    return len(_NOT_LETTERS.sub("", text)) if text else 0


_TOKENS = re.compile(r"/\*.*?(?:\*/|$)|\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?|\\.|[{};]",
                     re.S)


def _relevant(css: str) -> str:
    """Only the top-level statements of ``css`` that may hold ``display``, ``visibility``
    or ``@import`` (tokenising the rest, most of a big sheet, costs seconds): a statement
    ends at a top-level ``;`` or at the ``}`` that closes its block, comments and strings
    read as CSS reads them."""
    kept: list[str] = []
    depth = start = 0
    for token in _TOKENS.finditer(css):
        char = token.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char != ";" or depth:
            continue
        if depth <= 0:
            statement = css[start:token.end()]
            start, depth = token.end(), 0
            if "display" in statement or "visibility" in statement or "@import" in statement:
                kept.append(statement)
    kept.append(css[start:])
    return "\n".join(kept)


_parsed: OrderedDict[tuple[bytes, bool], tuple[tuple[_Rule, ...], int]] = OrderedDict()
_parsed_lock = Lock()
MAX_PARSED = 64
"""Style sheets whose rules are kept, by their text's digest: the captures of one site
share their sheets, and parsing them is a third of the cost of a page."""


def _read_css(css: str, certain: bool, rules: list[_Rule]) -> int:
    """:func:`_read_sheet` of a sheet's text, parsed once per text (the rules are the same
    each time: only their order in the page's cascade is counted again)."""
    key = (hashlib.sha256(css.encode("utf-8", "surrogatepass")).digest(), certain)
    with _parsed_lock:
        found = _parsed.get(key)
        if found is not None:
            _parsed.move_to_end(key)
    if found is None:
        own: list[_Rule] = []
        unread = _read_sheet(tinycss2.parse_stylesheet(
            _relevant(css), skip_comments=True, skip_whitespace=True), certain, own)
        found = (tuple(own), unread)
        with _parsed_lock:
            _parsed[key] = found
            while len(_parsed) > MAX_PARSED:
                _parsed.popitem(last=False)
    base = len(rules)
    rules.extend(replace(rule, order=base + rule.order) for rule in found[0])
    return found[1]


def _media_applies(media: str) -> bool | None:
    """True: on every screen; False: on some screens only (a condition); None: never on a
    screen (print, speech)."""
    queries = [q.strip().lower() for q in media.split(",")]
    if any(" ".join(q.split()) in _SCREEN_MEDIA for q in queries):
        return True
    if all(" ".join(q.split()) in _NOT_SCREEN_MEDIA for q in queries):
        return None
    return False


def _read_sheet(items: Iterable[object], certain: bool, rules: list[_Rule]) -> int:
    """Append the ``display``/``visibility`` rules of a parsed sheet; the count of sheets
    it imports (not read)."""
    unread = 0
    for item in items:
        if isinstance(item, tinycss2.ast.QualifiedRule):
            _read_rule(item, certain, rules)
        elif isinstance(item, tinycss2.ast.AtRule):
            keyword = item.lower_at_keyword
            if keyword == "import":
                unread += 1
            elif keyword == "media" and item.content is not None:
                applies = _media_applies(tinycss2.serialize(item.prelude))
                if applies is not None:
                    unread += _read_sheet(tinycss2.parse_rule_list(
                        item.content, skip_comments=True, skip_whitespace=True),
                        certain and applies, rules)
            elif keyword in ("supports", "layer", "container", "scope", "document",
                             "-moz-document", "starting-style") and item.content is not None:
                unread += _read_sheet(tinycss2.parse_rule_list(
                    item.content, skip_comments=True, skip_whitespace=True), False, rules)
    return unread


def _read_rule(rule: tinycss2.ast.QualifiedRule, certain: bool, rules: list[_Rule]) -> None:
    selectors = tinycss2.serialize(rule.prelude).strip()
    for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True,
                                               skip_whitespace=True):
        if isinstance(item, tinycss2.ast.QualifiedRule):
            # CSS nesting: its selectors are relative to this rule's; read it as a rule
            # that may apply anywhere under it ("& .x", ".x"), never as a sure hide.
            _read_nested(item, selectors, rules)
        elif isinstance(item, tinycss2.ast.Declaration) and item.lower_name in _HIDE:
            value = tinycss2.serialize(item.value).strip().lower()
            rules.append(_Rule(selectors, item.lower_name, value, item.important, certain,
                               len(rules)))


def _read_nested(rule: tinycss2.ast.QualifiedRule, parent: str, rules: list[_Rule]) -> None:
    inner = tinycss2.serialize(rule.prelude).strip()
    combined = ", ".join(
        (part.replace("&", f":is({parent})") if "&" in part else f":is({parent}) {part}")
        for part in (p.strip() for p in inner.split(",")) if part)
    before = len(rules)
    _read_rule(rule, False, rules)
    rules[before:] = [_Rule(combined, r.prop, r.value, r.important, False, r.order)
                      for r in rules[before:]]


def _matches(root: etree._Element, rules: list[_Rule]
             ) -> dict[tuple[etree._Element, str], list[_Candidate]] | None:
    """Each element a rule applies to, with the rule's cascade key (a rule that may
    apply has order -1: it never wins, it only keeps an element shown). None when the
    page has more such selectors than :data:`MAX_SELECTORS`."""
    found: dict[tuple[etree._Element, str], list[_Candidate]] = {}
    evaluated = matches = 0
    present = _names(root)
    wide = max((len(e) for e in root.iter()), default=0) > MAX_SIBLINGS
    deadline = time.monotonic() + MAX_SECONDS
    for rule in rules:
        for selector_text, selector in _selectors(rule.selector):
            if selector.pseudo_element is not None:
                continue  # ::before, :first-line: not the element's own text
            if not _required(selector.parsed_tree) <= present:
                continue  # a class or id the page has nowhere: it matches nothing
            dynamic = _has_state(selector_text)
            hides = rule.value in _HIDE[rule.prop]
            sure = rule.certain and not dynamic
            if not sure and hides:
                continue  # a hide under a condition hides nothing here
            xpath = None if wide and _counts_siblings(selector.parsed_tree) else _xpath(
                selector, selector_text, strip_states=dynamic)
            if xpath is None:
                if hides:
                    continue
                return None  # a rule that may show anything: nothing is sure
            evaluated += 1
            if evaluated > MAX_SELECTORS or time.monotonic() > deadline:
                return None
            key = (int(rule.important), 0, selector.specificity(), rule.order if sure else -1)
            hiding = Hiding(selector_text, f"{rule.prop}: {rule.value}") if hides else None
            selected = _select(root, xpath)
            matches += len(selected)
            if matches > MAX_MATCHES:
                return None
            for element in selected:
                found.setdefault((element, rule.prop), []).append(
                    _Candidate(key, rule.value, hiding))
    return found


def _names(root: etree._Element) -> set[str]:
    """Every ``.class`` and ``#id`` the page's elements carry."""
    names: set[str] = set()
    for element in root.iter():
        classes = element.get("class") if isinstance(element.tag, str) else None
        if classes:
            names.update("." + name for name in classes.split())
        ident = element.get("id") if isinstance(element.tag, str) else None
        if ident:
            names.add("#" + ident)
    return names


def _required(node: object) -> set[str]:
    """The classes and ids an element must carry (or its relatives, across combinators)
    for the selector to match; those inside ``:not()``, ``:is()``, ``:has()`` are not
    required and are left out."""
    names: set[str] = set()
    while node is not None:
        if isinstance(node, cssselect.parser.CombinedSelector):
            names |= _required(node.subselector)
        elif isinstance(node, cssselect.parser.Class):
            names.add("." + node.class_name)
        elif isinstance(node, cssselect.parser.Hash):
            names.add("#" + node.id)
        node = getattr(node, "selector", None)
    return names


_SIBLING_PSEUDO = {"first-child", "last-child", "only-child", "first-of-type", "last-of-type",
                   "only-of-type"}


def _counts_siblings(node: object) -> bool:
    """Does the selector look at an element's siblings (``+``, ``~``, ``:nth-*``,
    ``:*-child``, ``:*-of-type``), anywhere in it?"""
    if isinstance(node, cssselect.parser.CombinedSelector) and node.combinator in "+~":
        return True
    if isinstance(node, cssselect.parser.Function) and node.name.lower().startswith("nth-"):
        return True
    if isinstance(node, cssselect.parser.Pseudo) and node.ident.lower() in _SIBLING_PSEUDO:
        return True
    if isinstance(node, cssselect.parser.Relation):  # :has(+ x), :has(~ x)
        if any(getattr(token, "value", None) in ("+", "~") for token, _ in node.arguments):
            return True
        children: list[object] = [node.selector, *(inner for _, inner in node.arguments)]
    else:
        children = [getattr(node, name, None) for name in ("selector", "subselector")]
        children.extend(getattr(node, "selector_list", None) or [])
    return any(_counts_siblings(child) for child in children if child is not None)


def _selectors(text: str) -> Iterator[tuple[str, cssselect.Selector]]:
    """Each selector of a selector list with its own text; none for an unparsable list
    (a browser drops the whole rule too)."""
    try:
        parsed = cssselect.parse(text)
    except cssselect.SelectorError:
        return
    parts = _split_top_level(text)
    for n, selector in enumerate(parsed):
        yield (parts[n] if len(parts) == len(parsed) else text), selector


def _split_top_level(text: str) -> list[str]:
    """``text`` cut at its top-level commas (not those inside ``:is(a, b)``)."""
    parts: list[str] = []
    depth = start = 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _has_state(selector_text: str) -> bool:
    """Does the selector depend on what a reader or a script did (``:hover``)?"""
    return any(m.group(1).lower() not in _STATIC_PSEUDO for m in _PSEUDO.finditer(selector_text))


def _xpath(selector: cssselect.Selector, text: str, *, strip_states: bool) -> etree.XPath | None:
    """The selector as a compiled XPath; with ``strip_states`` its state pseudo-classes
    dropped (it then matches every element it may match). None when not translatable."""
    try:
        if strip_states:
            bare = _PSEUDO.sub(lambda m: m.group(0) if m.group(1).lower() in _STATIC_PSEUDO
                               else "", text)
            selector = cssselect.parse(bare or "*")[0]
        return etree.XPath(_TRANSLATOR.selector_to_xpath(selector))
    except (cssselect.SelectorError, ExpressionError, etree.XPathError, IndexError, ValueError):
        return None


def _select(root: etree._Element, xpath: etree.XPath) -> list[etree._Element]:
    try:
        found = xpath(root)
    except etree.XPathError:
        return []
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def _inline(element: etree._Element, prop: str) -> _Candidate | None:
    """The element's own ``style`` for ``prop``: it beats every rule but an important one."""
    style = element.get("style")
    if not style or prop not in style.lower():
        return None
    winner: _Candidate | None = None
    for item in tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True):
        if isinstance(item, tinycss2.ast.Declaration) and item.lower_name == prop:
            value = tinycss2.serialize(item.value).strip().lower()
            hiding = Hiding("style attribute", f"{prop}: {value}")
            winner = _Candidate((int(item.important), 1, (0, 0, 0), 0), value,
                                hiding if value in _HIDE[prop] else None)
    return winner
