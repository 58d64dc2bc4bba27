"""trafilatura's article text checked against the page it came from: leads back, chrome out.

On trafilatura's evaluation set (990 real pages) two kinds of error are structural rather than
one site's quirk, and both can be judged from where trafilatura's own paragraphs sit in the
page's tree:

* a lead, teaser, intro, deck, subtitle or (a review's) verdict paragraph (a single block whose
  class or id says so, or a paragraph beside the headline in the article's
  ``<header>``/``<hgroup>``, or one marked as the article's schema.org ``description``) just before
  or among the article's paragraphs is dropped: trafilatura discards every ``teaser`` block, meant
  for lists of links to other articles. It is put back when it is one block (no sibling of the same
  class, which would make it a list of teasers), has few links, is in no link (a card of another
  article, whose whole box is the link) and has no chrome around it;
* a standfirst right under the article's ``<h1>`` (the one the page's ``<title>`` names), in
  the headline's own box but no ``<header>``, or in a row of the page's hero below it (no
  more than a date between them, no picture), is dropped; the first paragraph there, plain,
  is put back;
* the article's first paragraph is dropped when it sits apart from the body (in bold, in a
  wrapper of its own above the body's): the nearest paragraph above the first one kept,
  within :data:`FIRST_REACH` characters of a byline or date, in the same ``<article>``
  element, plain (few links, in no link, no chrome around it, no notice), is put back;
* chrome inside the article's column is kept: an author box, share and rating bars, a
  newsletter or subscription box, a cookie blocker, an advertising disclosure, an aside. A
  line of the text is left out when its block sits, below the element holding most of the
  article's paragraphs, inside a landmark (``aside``, ``nav``, ``footer``, ``form``, a
  navigation or complementary role) or an element whose class or id names such chrome;
* the page's chrome after the article is kept: a short line (shorter than a paragraph,
  :data:`ANCHOR_CHARS`: a label, a menu entry, a date, a credit, a one-line comment) after the
  article's last paragraph and outside the element holding the article's column ("Beiträge
  aus dem Forum", "Letzte Änderung 14.02.2019", "#1 Kommentar von …"). It is left out;
* a teaser of the site's own articles is kept: a short line after the article's first
  paragraph that is nothing but one link to another page of the same site, or sits inside
  one (a card): "Richtig frühstücken: Die besten Tipps …", ">> Ex von Helena Fürst: …". A
  reader sees a link to read something else, not the article; a link the author cites goes
  to another site (a petition, a source, a Facebook event) and is kept.

Ancestors that hold article paragraphs are never chrome, whatever their class says
(``layout-header-and-sidebar`` wraps real articles), nor is the article's own
``<header>`` (its headline and standfirst, in a box named ``widget-hero``), and names are
read by whole parts of a class (``leading-snug`` is no lead, ``has-ads`` and ``no-paywall``
are no chrome), and a section's id made of its own heading names nothing
(``sharing-with-a-single-developer``, :func:`_heading_anchor`).

Bounds: the markup is already bounded in size, nesting and tag count by :mod:`archive.text`;
parsing and finding the blocks is linear in the tags; a page of more than :data:`MAX_BLOCKS`
blocks is left as trafilatura made it (every later step walks up from each block, at most
the page's depth, :data:`archive.text.MAX_DEPTH`); the search of blocks in the text is capped
at :data:`MAX_SEARCHES` substring searches (past that, only whole lines are matched).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from lxml import etree

from archive.boilerplate import is_label, is_notice, is_plea

REFINE_VERSION = "24"  # bump when what this keeps or drops changes (how pages decode, lines cut)
BLOCK_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote",
                        "figcaption", "dd", "dt", "td", "th", "pre", "caption", "div",
                        "section", "article", "header", "main"})
UNSEEN_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "button", "select",
               "textarea", "input", "object", "embed", "canvas", "dialog", "menu")
LANDMARKS = frozenset({"nav", "aside", "footer", "form"})
NOT_LEAD_TAGS = LANDMARKS | {"figure", "figcaption"}  # a caption is no lead
CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search",
                          "dialog", "alertdialog", "menu", "menubar"})
# What a lead may never sit in (below the article's own wrappers): a caption, a byline...
_NOT_LEAD = frozenset({
    "comment", "comments", "related", "share", "sharing", "social", "newsletter", "subscribe",
    "promo", "ad", "ads", "advert", "sponsor", "sponsored", "sidebar", "widget", "breadcrumb",
    "breadcrumbs", "tag", "tags", "author", "bio", "byline", "meta", "footer", "nav", "menu",
    "cookie", "consent", "rating", "recommend", "more", "popular", "further", "other",
    "teasers", "login", "signup", "paywall", "caption", "credit", "credits", "copyright",
    "date", "time", "hidden", "list"})
_NOT_META = _NOT_LEAD - {"meta"}
# A block of the article's column that is not the article.
_CHROME = frozenset({
    "comment", "comments", "related", "share", "sharing", "sharedaddy", "social", "newsletter",
    "subscribe", "subscription", "promo", "ad", "ads", "advert", "advertisement", "anzeige",
    "sponsor", "sponsored", "sidebar", "widget", "breadcrumb", "breadcrumbs", "author", "bio",
    "byline", "cookie", "consent", "rating", "recommend", "recommended", "popular", "further",
    "teasers", "login", "signup", "paywall", "cta", "infobox", "factbox", "donate", "donation",
    "code-block", "disclosure"})
# "no-paywall", "has-ads", "tag-x_social", "with-sidebar": real wrappers of real articles
_NEGATING = frozenset({"no", "has", "tag", "with", "without"})
_PARTS = re.compile(r"[_-]+|(?<=[a-z])(?=[A-Z])")  # "article-teaser", "TestReport__AuthorBox"
# What names a lead (a whole part of a class: "leading-snug" is a line height, not a lead).
_LEAD = frozenset({"lead", "lede", "teaser", "intro", "excerpt", "summary", "subtitle",
                   "subheadline", "sub-headline", "subline", "preface", "standfirst", "abstract",
                   "kicker", "chapo", "description", "deck", "dek", "verdict"})
_SPACES = re.compile(r"\s+")

ANCHOR_CHARS = 40  # a block this long found in the text is surely one of its paragraphs
LEAD_CHARS = 30  # a shorter "lead" is a label, not a paragraph
LEAD_LINKS = 0.2  # share of a lead's characters that may be link text
LEAD_REACH = 1000  # characters of other blocks a lead may stand before the first paragraph
LEAD_DEPTH = 4  # levels above a block where its lead class may be
FIRST_REACH = 100  # characters of other blocks (a date, a byline) above the first paragraph
TITLE_WORDS = 0.5  # share of a headline's words the page's <title> must say too
CORE_SHARE = 0.7  # the article's column: deepest element holding this share of its paragraphs
MAX_SEARCHES = 5000  # substring searches of blocks in the text
MAX_BLOCKS = 20_000  # a real article page has a few thousand; past this the text is kept as is
LIKE_CHARS = 40  # a paragraph (or an interview's question) of another text module of the article
# a module's paragraphs and subheadings (not the page's <h1>: the set counts it as chrome)
LIKE_TAGS = ("p", "h2", "h3", "h4", "h5", "h6")
MAX_INGREDIENT_CHARS = 200  # an ingredient, or a heading over some of them
_INGREDIENT = frozenset({"ingredient", "ingredients", "zutat", "zutaten", "ingredientes"})
# What any element of a page could name one by: its classes, ids and itemprops (one path
# each: a union of them would be sorted into document order, for nothing)
_CLASSES = etree.XPath("//@class", smart_strings=False)
_IDS = etree.XPath("//@id", smart_strings=False)
_ITEMPROPS = etree.XPath("//@itemprop", smart_strings=False)
BODY_CHARS = 150  # a line this long is the article's: pleas are judged only after the last
TEASER_CHARS = 150  # a teaser's headline (with its kicker) is no longer than this
TEASER_LINKS = 0.9  # share of a teaser's characters that are its one link's text
LABEL_LINKS = 0.5  # share of link text that makes a line under a "Read also:" label a teaser


def fold(text: str, spaces: re.Pattern[str] = _SPACES) -> str:
    """``spaces.sub(" ", text)`` (runs of white space as one space), without its cost (a
    copy of the text) when there is nothing to fold: every white space character but the
    space is unprintable, so printable text without two spaces in a row is folded already.
    ``spaces`` must match only white space."""
    if text.isprintable() and "  " not in text:
        return text
    return spaces.sub(" ", text)


@dataclass(frozen=True)
class _Header:
    """A ``<header>``/``<hgroup>`` of the page, as a standfirst's place (read once each)."""

    titles_article: bool  # it holds the article's headline (:func:`_headline_outside_nav`)
    has_nav: bool  # a breadcrumb in it: then only a paragraph is a standfirst


@dataclass(frozen=True)
class _Block:
    """A leaf block of the page (no block inside it) and its text, spaces folded."""

    element: etree._Element
    text: str


def refine(text: str, markup: str, root: etree._Element | None = None,
           url: str | None = None) -> str:
    """``text`` (trafilatura's, one paragraph a line) with what it lost put back (leads, the
    rest of an article split over several like wrappers) and chrome
    left out (chrome blocks in the article's column, teasers of the site's own pages,
    boilerplate lines).

    ``root``: ``markup`` as :func:`parse` reads it, if the caller has it already; it is
    changed (what no reader sees is cut from it). ``url``: the page's, which tells the
    site's own links from others (without it, only relative links are the site's)."""
    if root is None:
        root = parse(markup)
    blocks = _blocks(root) if root is not None else []
    if not blocks or len(blocks) > MAX_BLOCKS:
        return text  # each block's walk up is bounded by the page's depth, their number here
    lines = [fold(line).strip() for line in text.splitlines()]
    spans: dict[int, list[int]] = {}
    line_of = _locate(blocks, lines, spans)
    anchors = [i for i, at in enumerate(line_of)
               if at is not None and len(blocks[i].text) >= ANCHOR_CHARS]
    if not anchors:
        return text
    article: set[etree._Element] = set()
    for i in anchors:
        for node in blocks[i].element.iterancestors():
            if node in article:
                break  # and so are all above it: linear in the page, however deep
            article.add(node)
    column = _column(blocks, anchors)
    added = set(_leads(blocks, line_of, anchors, article))
    added |= _standfirst(blocks, line_of, anchors[0])
    added |= _first_paragraph(blocks, line_of, anchors[0], article)
    if column is not None:
        added |= _like_columns(blocks, line_of, column)
    added |= _ingredients(blocks, line_of)
    dropped = (_chrome_lines(blocks, line_of, column, lines, spans)
               | _tail_lines(blocks, line_of, anchors[-1], column)
               | _teaser_lines(blocks, line_of, anchors[0], url))
    cut = _boilerplate_lines(lines, blocks, line_of, anchors)
    before: dict[int, list[str]] = {}
    after: dict[int, list[str]] = {}
    seen = set(lines)
    for i in sorted(added):
        if blocks[i].text in seen:
            continue  # a list shown twice (for phones and for desktops) is read once
        seen.add(blocks[i].text)
        kept = [j for j in anchors if j < i]
        if kept:
            after.setdefault(line_of[kept[-1]] or 0, []).append(blocks[i].text)
        else:
            before.setdefault(line_of[anchors[0]] or 0, []).append(blocks[i].text)
    out: list[str] = []
    for n, (raw, line) in enumerate(zip(text.splitlines(), lines, strict=True)):
        out += before.get(n, [])
        if line not in dropped and n not in cut:
            out.append(raw)
        out += after.get(n, [])
    return "\n".join(out)


def parse(markup: str) -> etree._Element | None:
    """The page's tree as lxml reads it (None for a page without a single element)."""
    # lxml.html's own parser and document_fromstring make this very tree, but look up a
    # Python class for every element touched: plain elements cost a third less to walk
    parser = etree.HTMLParser(encoding="utf-8")
    try:
        root: etree._Element | None = etree.fromstring(markup.encode("utf-8", "replace"),
                                                       parser=parser)
    except (etree.LxmlError, ValueError):
        return None  # now read for every page's metadata: a parse error must not end it
    return root  # None: "Document is empty" to lxml.html


def text_content(element: etree._Element) -> str:
    """An element's text and its descendants' (lxml.html's ``text_content``, an XPath
    ``string()``: both are libxml2's xmlNodeGetContent, this without the XPath around it)."""
    return str(etree.tostring(element, method="text", encoding="unicode", with_tail=False))


def _drop_tree(element: etree._Element) -> None:
    """Cut an element and its descendants, keeping its tail (lxml.html's ``drop_tree``)."""
    parent = element.getparent()
    assert parent is not None
    if element.tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + element.tail
        else:
            previous.tail = (previous.tail or "") + element.tail
    parent.remove(element)


def _blocks(root: etree._Element) -> list[_Block]:
    for tag in list(root.iter(*UNSEEN_TAGS)):
        _drop_tree(tag)
    holds_block: set[etree._Element] = set()
    leaves = []
    for element in reversed(list(root.iter(etree.Element))):  # children before parents
        if element.tag in BLOCK_TAGS:
            if element not in holds_block:
                leaves.append(element)
        elif element not in holds_block:
            continue
        parent = element.getparent()
        if parent is not None:
            holds_block.add(parent)
    blocks = []
    for element in reversed(leaves):  # page order
        text = fold(text_content(element)).strip()
        if text:
            blocks.append(_Block(element, text))
    return blocks


def _locate(blocks: list[_Block], lines: list[str],
            spans: dict[int, list[int]] | None = None) -> list[int | None]:
    """The line of ``lines`` each block is (or is in), or None when the text lacks it.
    ``spans`` is given, for each block found over several lines, those lines."""
    whole = {line: n for n, line in reversed(list(enumerate(lines)))}
    # a block may span lines of the text (a paragraph with <br>): search with breaks as spaces,
    # which keeps every offset where it is; empty lines (<br><br>) are left out, or the
    # paragraph would read with two spaces there, not be found, and be put back twice
    filled = [n for n, line in enumerate(lines) if line]
    joined = " ".join(lines[n] for n in filled)
    starts = []
    pos = 0
    for n in filled:
        starts.append(pos)
        pos += len(lines[n]) + 1
    found: list[int | None] = []
    searches = 0
    for block in blocks:
        at = whole.get(block.text)
        if at is None and len(block.text) >= ANCHOR_CHARS and searches < MAX_SEARCHES:
            searches += 1
            offset = joined.find(block.text)
            if offset >= 0:
                first = _line_at(starts, offset)
                last = _line_at(starts, offset + len(block.text) - 1)
                at = filled[first]
                if spans is not None and last > first:
                    spans[len(found)] = filled[first:last + 1]
        found.append(at)
    return found


def _line_at(starts: list[int], offset: int) -> int:
    low, high = 0, len(starts) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if starts[mid] <= offset:
            low = mid
        else:
            high = mid - 1
    return low


def _leads(blocks: list[_Block], line_of: list[int | None], anchors: list[int],
           article: set[etree._Element]) -> list[int]:
    """Lead blocks the text lacks: just before the first paragraph, or among them."""
    first, last = anchors[0], anchors[-1]
    headers: dict[etree._Element, _Header] = {}
    found = []
    reach = 0
    for i in range(first - 1, -1, -1):
        if reach > LEAD_REACH:
            break
        if line_of[i] is not None:
            continue
        if _is_lead(blocks[i], article, headers):
            found.append(i)
        else:
            reach += len(blocks[i].text)
    found.reverse()
    found += [i for i in range(first + 1, last) if line_of[i] is None
              and _is_lead(blocks[i], article, headers)]
    return found


def _first_paragraph(blocks: list[_Block], line_of: list[int | None], first: int,
                     article: set[etree._Element]) -> set[int]:
    """The article's own first paragraph when trafilatura dropped it (set in bold, or in
    a wrapper of its own above the body's: a standfirst without a name): the nearest
    paragraph (a ``<p>`` as long as a paragraph, :data:`ANCHOR_CHARS`) before the first
    one kept, with at most :data:`FIRST_REACH` characters of other blocks between them,
    inside the same ``<article>`` element as the paragraphs (the lowest wrapper of theirs
    around it), with few links, in no link, no chrome around it, no notice."""
    reach = 0
    for i in range(first - 1, -1, -1):
        if reach > FIRST_REACH:
            break
        block = blocks[i]
        if block.element.tag != "p" or len(block.text) < ANCHOR_CHARS or line_of[i] is not None:
            reach += len(block.text)
            continue
        lowest = next((a for a in block.element.iterancestors() if a in article), None)
        if (lowest is not None and lowest.tag == "article"
                and _link_share(block) < LEAD_LINKS and _link_around(block.element) is None
                and not is_notice(block.text)
                and not _chrome(block.element, article, _NOT_LEAD, NOT_LEAD_TAGS)):
            return {i}
        break
    return set()


def _standfirst(blocks: list[_Block], line_of: list[int | None], first: int) -> set[int]:
    """The standfirst under the article's headline when trafilatura dropped it and no ``<header>``
    or class names it: the first paragraph (a ``<p>`` as long as a paragraph, :data:`ANCHOR_CHARS`)
    after the headline and before the first paragraph kept, a child or grandchild of the headline's
    own box, or, with no more than :data:`FIRST_REACH` characters of other blocks (a date) between
    them, in the box the two share a few levels up, with no picture between them
    (:func:`_shared_box`: fluessiggas.de's hero holds the headline, the row below it the date and
    the standfirst). The headline is the nearest ``<h1>`` before the first paragraph (within
    :data:`LEAD_REACH` characters), not in ``<body>`` itself, no link (a logo), and says what the
    page's ``<title>`` says (:func:`_titles_page`: a section's or the site's ``<h1>`` above an
    article does not). The paragraph has few links, is in no link, holds no ``<time>`` (a byline),
    is no notice or plea, and has no chrome around it up to the headline's box (or the shared
    one)."""
    reach = 0
    headline = None
    for i in range(first - 1, -1, -1):
        if reach > LEAD_REACH:
            return set()
        if blocks[i].element.tag == "h1":
            headline = i
            break
        reach += len(blocks[i].text)
    if headline is None:
        return set()
    box = blocks[headline].element.getparent()
    if box is None or box.tag in ("body", "html") or not _titles_page(blocks[headline]):
        return set()
    between = 0
    for i in range(headline + 1, first):
        block = blocks[i]
        if block.element.tag != "p" or len(block.text) < ANCHOR_CHARS:
            between += len(block.text)
            continue  # a date, a kicker, a caption's credit
        ancestors = list(block.element.iterancestors())
        # in the headline's own box, or right under it (a date at most between them) in
        # the box the two share (the page's hero: headline above, standfirst in a row below)
        shared = box if box in ancestors[:2] else (
            _shared_box(blocks[headline].element, block.element, ancestors)
            if between <= FIRST_REACH else None)
        if (line_of[i] is None and shared is not None
                and _link_share(block) < LEAD_LINKS and _link_around(block.element) is None
                and block.element.find(".//time") is None
                and not is_notice(block.text) and not is_plea(block.text)
                and not _chrome(block.element, {shared}, _NOT_LEAD, NOT_LEAD_TAGS)):
            return {i}
        break  # only the first paragraph under the headline
    return set()


PICTURES = ("img", "picture", "figure", "video")


def _shared_box(headline: etree._Element, element: etree._Element,
                ancestors: list[etree._Element]) -> etree._Element | None:
    """The lowest element holding both the headline and a block (``element``, whose
    ancestors are given), when it is no more than :data:`LEAD_DEPTH` levels above the
    headline's box and is not ``<body>`` (the page's hero, not the whole page), and no
    picture stands between the two or in the block (a paragraph under a picture, or
    around it, is its caption)."""
    above = set(ancestors)
    for depth, node in enumerate(headline.iterancestors()):
        if depth > LEAD_DEPTH or node.tag in ("body", "html"):
            return None
        if node in above:
            break
    else:
        return None
    if next(element.iter(*PICTURES), None) is not None:
        return None  # a picture's box with its caption
    seen = False
    for tag in node.iter(headline.tag, element.tag, *PICTURES):
        if tag is headline:
            seen = True
        elif tag is element:
            return node if seen else None
        elif seen and tag.tag in PICTURES:
            return None
    return None


_WORD = re.compile(r"\w{3,}")


def _titles_page(headline: _Block) -> bool:
    """The ``<h1>`` is the page's headline: no link (a logo is one), and at least
    :data:`TITLE_WORDS` of its words (of three letters or more) are words of the page's
    ``<title>``, which names the article (often with the site's name)."""
    if _link_share(headline) >= LEAD_LINKS:
        return False
    title = headline.element.getroottree().getroot().find(".//title")
    if title is None:
        return False
    words = set(_WORD.findall(headline.text.lower()))
    said = set(_WORD.findall(text_content(title).lower()))
    return bool(words) and len(words & said) >= TITLE_WORDS * len(words)


def _is_lead(block: _Block, article: set[etree._Element],
             headers: dict[etree._Element, _Header]) -> bool:
    if (len(block.text) < LEAD_CHARS or _link_share(block) >= LEAD_LINKS
            or _link_around(block.element) is not None):
        return False
    if not (_named_lead(block.element, article) or _under_headline(block.element, headers)):
        return False
    # the page's schema.org description on the block's own box: a "recipe-meta" box above it
    # holds the recipe's facts, not a byline
    described = any("description" in str(node.get("itemprop") or "").split()
                    for node in [block.element, block.element.getparent()] if node is not None)
    return not _chrome(block.element, article, _NOT_META if described else _NOT_LEAD,
                       NOT_LEAD_TAGS)


def _under_headline(element: etree._Element,
                    headers: dict[etree._Element, _Header]) -> bool:
    """A standfirst: a paragraph or subheading in the article's ``<header>``/``<hgroup>`` with
    its ``<h1>`` (not the site's banner: no navigation in it, not a child of ``<body>``)."""
    if element.tag == "h1" or element.find(".//time") is not None:
        return False
    for depth, node in enumerate(element.iterancestors()):
        if depth >= LEAD_DEPTH or node.tag in ("body", "html"):
            return False
        if node.tag in ("header", "hgroup"):
            if node not in headers:  # once a header: its blocks must not each search it
                parent = node.getparent()
                has_nav = node.find(".//nav") is not None
                headers[node] = _Header(_headline_outside_nav(node, has_nav)
                                        and parent is not None and parent.tag != "body",
                                        has_nav)
            header = headers[node]
            # with a breadcrumb in the header, only a paragraph is a standfirst (a site's
            # banner header titles the page with a heading, never with a paragraph)
            return header.titles_article and (element.tag == "p" or not header.has_nav)
    return False


def _headline_outside_nav(header: etree._Element, has_nav: bool) -> bool:
    """The header holds the article's headline: an ``<h1>`` with no navigation in the
    header, or an ``<h1>``/``<h2>`` outside the header's breadcrumb navigation (a site
    that puts its ``<h1>`` in the breadcrumb titles the article with an ``<h2>``)."""
    if not has_nav:
        return header.find(".//h1") is not None
    return any(not any(a.tag == "nav" for a in h.iterancestors())
               for h in header.iterfind(".//h1")) or any(
        not any(a.tag == "nav" for a in h.iterancestors()) for h in header.iterfind(".//h2"))


def _named_lead(element: etree._Element, article: set[etree._Element]) -> bool:
    """A lead class on the block or a few levels up, on one element (not a list of them);
    schema.org microdata's ``itemprop="description"`` (the summary of the page's article or
    recipe) names a lead as a class does."""
    for depth, node in enumerate([element, *element.iterancestors()]):
        if depth >= LEAD_DEPTH or node in article or node.tag in ("body", "html"):
            return False
        if (any(_names(token, _LEAD) for token in _tokens(node))
                or "description" in str(node.get("itemprop") or "").split()):
            parent = node.getparent()
            return parent is None or not any(
                sibling is not node and sibling.tag == node.tag
                and sibling.get("class") == node.get("class") for sibling in parent)
    return False


def _chrome_lines(blocks: list[_Block], line_of: list[int | None],
                  column: etree._Element | None, lines: list[str],
                  spans: dict[int, list[int]]) -> set[str]:
    """Lines whose every block is chrome inside the article's column. A line that holds a
    block of the article, or is part of one found over several lines, is the article's,
    whatever chrome elsewhere says the same (a headline "<span>Headline:</span> Energiewende
    …" over two lines, and a menu's "Energiewende …"; a quest's list items that the text
    gives as one line, and a reader's comment quoting that whole list)."""
    if column is None:
        return set()
    known: dict[etree._Element, bool] = {node: False
                                         for node in [column, *column.iterancestors()]}
    chrome: set[str] = set()
    content: set[str] = set()
    for n, (block, at) in enumerate(zip(blocks, line_of, strict=True)):
        if at is not None:
            # the article's own header (its headline, standfirst) is never chrome, whatever
            # a wrapper above it is named ("widget-hero")
            is_chrome = (_chrome_memo(block.element, known)
                         and not _in_article_header(block.element))
            (chrome if is_chrome else content).add(block.text)
            if not is_chrome:
                # the line holding it (the block is a part of it, or it): a reader's
                # comment quoting that very line is chrome, the line is not
                content.add(lines[at])
                content.update(lines[k] for k in spans.get(n, ()))
    return chrome - content


def _in_article_header(element: etree._Element) -> bool:
    """The element is in the article's ``<header>``/``<hgroup>``: the nearest one around it
    holds the article's headline (:func:`_headline_outside_nav`) and is no child of
    ``<body>`` (the site's banner)."""
    for node in element.iterancestors():
        if node.tag in ("body", "html"):
            return False
        if node.tag in ("header", "hgroup"):
            parent = node.getparent()
            return (parent is not None and parent.tag != "body"
                    and _headline_outside_nav(node, node.find(".//nav") is not None))
    return False


def _chrome_memo(element: etree._Element, known: dict[etree._Element, bool]) -> bool:
    """:func:`_chrome` for the column, each element judged once (``known`` holds the answers;
    the column and its ancestors are known not to be chrome)."""
    path = []
    node: etree._Element | None = element
    while node is not None and node not in known and node.tag not in ("body", "html"):
        path.append(node)
        node = node.getparent()
    answer = known.get(node, False) if node is not None else False
    for visited in reversed(path):  # from the top down: chrome once an ancestor is
        answer = answer or _chrome(visited, set(), _CHROME, LANDMARKS, only_self=True)
        known[visited] = answer
    return answer


def _column(blocks: list[_Block], anchors: list[int]) -> etree._Element | None:
    """The deepest element holding :data:`CORE_SHARE` of the article's paragraphs' text."""
    own: dict[etree._Element, int] = {}
    for i in anchors:
        own[blocks[i].element] = own.get(blocks[i].element, 0) + len(blocks[i].text)
    total = sum(own.values())
    root = blocks[anchors[0]].element.getroottree().getroot()
    held: dict[etree._Element, int] = {}
    for node in reversed(list(root.iter())):  # children before parents: one pass
        weight = held.pop(node, 0) + own.get(node, 0)
        parent = node.getparent()
        if weight and parent is not None:
            held[parent] = held.get(parent, 0) + weight
        if weight >= CORE_SHARE * total and node not in own:
            return node  # the first is the deepest: the holders of enough are one chain
    return None


def _chrome(element: etree._Element, stop: set[etree._Element], words: frozenset[str],
            tags: frozenset[str], *, only_self: bool = False) -> bool:
    """Chrome by landmark, role, hiding or name, up to (not including) ``stop``."""
    for node in [element] if only_self else [element, *element.iterancestors()]:
        if node in stop or node.tag in ("body", "html"):
            return False
        if node.tag in tags or str(node.get("role") or "").lower() in CHROME_ROLES:
            return True
        style = str(node.get("style") or "").replace(" ", "").lower()
        if ("display:none" in style or node.get("hidden") is not None
                or node.get("aria-hidden") == "true"):
            return True
        named = _heading_words(words) if node.tag in HEADINGS else words
        if any(_names(token, named) and not _heading_anchor(node, token)
               for token in _tokens(node)):
            return True
    return False


HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Names of a type size in a design system ("caption-s5-fx", "typography--caption"): on a
# heading they say how big it is set, not that it captions a picture (a caption is no heading)
_TYPE_SCALE = frozenset({"caption"})


@functools.lru_cache(maxsize=8)
def _heading_words(words: frozenset[str]) -> frozenset[str]:
    """``words`` less :data:`_TYPE_SCALE`, one set each (its hash kept for :func:`_names`)."""
    return words - _TYPE_SCALE

ANCHOR_WORDS = 4  # a name of this many words made of a heading is a sentence, not a role
_SLUG_WORD = re.compile(r"[^\W_]+")


def _heading_anchor(element: etree._Element, token: str) -> bool:
    """The class or id is the element's own heading made into a name (documentation and
    blog generators give each section the id ``sharing-with-a-single-developer`` of its
    heading "Sharing with a single developer"): it says what the section is about, not that
    it is a share bar. Only a heading of :data:`ANCHOR_WORDS` words or more counts, the
    element's first child or itself: ``<div id="comments"><h2>Comments</h2>`` is chrome."""
    words = _SLUG_WORD.findall(token.lower())
    if len(words) < ANCHOR_WORDS:
        return False
    heading = element if element.tag in HEADINGS else next(
        (child for child in element if isinstance(child.tag, str)), None)
    if heading is None or heading.tag not in HEADINGS:
        return False
    title = _SLUG_WORD.findall(text_content(heading).lower())
    return words == title or (words[:-1] == title and words[-1].isdigit())


@functools.lru_cache(maxsize=16384)  # a page repeats its classes; so do a site's pages
def _names(token: str, words: frozenset[str]) -> bool:
    """Whether a class or id token names one of ``words`` (a part of it, or two joined by -)."""
    parts = [part.lower() for part in _PARTS.split(token) if part]
    if "overflow" in parts:  # "overflow-hidden", "overflow-x-hidden": a CSS utility's value
        parts = parts[:parts.index("overflow")]
    for n, part in enumerate(parts):
        if n and parts[n - 1] in _NEGATING:
            continue
        if part in words or (n + 1 < len(parts) and f"{part}-{parts[n + 1]}" in words):
            return True
    return False


def _tokens(node: etree._Element) -> list[str]:
    return [*str(node.get("class") or "").split(), *str(node.get("id") or "").split()]


def _link_share(block: _Block) -> float:
    linked = sum(len(fold(text_content(a)).strip())
                 for a in block.element.iter("a"))
    return linked / max(len(block.text), 1)


def _ingredients(blocks: list[_Block], line_of: list[int | None]) -> set[int]:
    """A recipe's ingredients (blocks in an element named for them, or marked up as
    schema.org ``recipeIngredient``) that the text lacks: trafilatura reads a list of short
    lines, often links to the products, as boilerplate; a reader sees the recipe's text."""
    found: set[int] = set()
    tree = blocks[0].element.getroottree()
    # a part of a token names one only if this has it (lowered: no other letter lowers to these)
    names = f"{' '.join(_CLASSES(tree))} {' '.join(_IDS(tree))}".lower()
    if "ingredient" not in names and "zutat" not in names and not any(
            prop in ("recipeIngredient", "ingredients") for prop in _ITEMPROPS(tree)):
        return found  # no element of the page names one: no need to look up from each block
    for i, block in enumerate(blocks):
        if line_of[i] is not None or len(block.text) > MAX_INGREDIENT_CHARS:
            continue
        for depth, node in enumerate([block.element, *block.element.iterancestors()]):
            if depth >= LEAD_DEPTH or node.tag in ("body", "html"):
                break
            if (node.get("itemprop") in ("recipeIngredient", "ingredients")
                    or any(_names(token, _INGREDIENT) for token in _tokens(node))):
                if not _chrome(block.element, {node}, _CHROME, LANDMARKS):
                    found.add(i)
                break
    return found


def _signature(node: etree._Element) -> tuple[tuple[str, str], ...]:
    """An element's tag and class, and its ancestors' up to ``<body>``: its place in the
    page's template."""
    return tuple((str(n.tag), str(n.get("class") or ""))
                 for n in [node, *node.iterancestors()])


def _like_columns(blocks: list[_Block], line_of: list[int | None],
                  column: etree._Element) -> set[int]:
    """Paragraphs in other elements of the column's very template (same tags and classes up
    to ``<body>``): one article split over several text modules, of which trafilatura keeps
    one. Only plain paragraphs and headings (a closing paragraph set as an ``<h3>`` in a
    module of its own): long, few links, no chrome around them."""
    signature = _signature(column)
    depth = len(signature)
    if not signature[0][1]:
        return set()  # a bare <div> in a bare <div>: every box of the page looks like it
    found = set()
    same: dict[etree._Element, bool] = {}
    for i, block in enumerate(blocks):
        if (line_of[i] is not None or block.element.tag not in LIKE_TAGS
                or len(block.text) < LIKE_CHARS or _link_share(block) >= LEAD_LINKS):
            continue
        ancestors = list(block.element.iterancestors())
        extra = len(ancestors) + 1 - depth
        if extra < 1 or extra > LEAD_DEPTH + 1:
            continue
        node = ancestors[extra - 1]
        if node is column:
            continue
        if node not in same:
            same[node] = _signature(node) == signature
        if same[node] and not _chrome(block.element, {node}, _CHROME, LANDMARKS):
            found.add(i)
    return found


def _tail_lines(blocks: list[_Block], line_of: list[int | None], last: int,
                column: etree._Element | None) -> set[str]:
    """Lines whose every block comes after the article's last paragraph (block ``last``)
    and outside its column: a block that short (any longer one found in the text is a
    paragraph, :data:`ANCHOR_CHARS`) there is the page's, not the article's."""
    if column is None:
        return set()
    tail: set[str] = set()
    content: set[str] = set()
    for i, (block, at) in enumerate(zip(blocks, line_of, strict=True)):
        if at is None:
            continue
        outside = i > last and not any(node is column
                                       for node in block.element.iterancestors())
        (tail if outside else content).add(block.text)
    return tail - content


def _teaser_lines(blocks: list[_Block], line_of: list[int | None], first: int,
                  url: str | None) -> set[str]:
    """Lines, after the article's first paragraph (block ``first``), whose every block is a
    teaser of the site's own pages: short, nothing but one link to another page of the
    same site (:func:`_own_link`)."""
    page = urlsplit(url) if url else None
    teasers: set[str] = set()
    content: set[str] = set()
    for i, (block, at) in enumerate(zip(blocks, line_of, strict=True)):
        if at is None:
            continue
        teaser = (i > first and len(block.text) <= TEASER_CHARS
                  and _own_link(block, page))
        (teasers if teaser else content).add(block.text)
    return teasers - content


def _own_link(block: _Block, page: SplitResult | None) -> bool:
    """The block is one link (:func:`_the_link`) to another page of the site ``page`` (a
    :func:`urllib.parse.urlsplit` result, or None: then only a relative link is the
    site's). A link within the page (``#…``), to a script, an address or the page itself
    is none."""
    link = _the_link(block)
    if link is None:
        return False
    href = str(link.get("href") or "").strip()
    if not href or href.startswith("#"):
        return False
    try:
        target = urlsplit(href)
        host = _host(target.hostname)
    except ValueError:  # "http://[::1" and the like: no link a reader could follow
        return False
    if target.scheme.lower() not in ("", "http", "https"):
        return False  # javascript:, mailto:, tel:
    if not target.netloc:
        return bool(target.path or target.query)  # relative: the site's own (not "?" alone)
    if page is None:
        return False
    try:
        same_site = host == _host(page.hostname)
    except ValueError:
        return False
    return same_site and (target.path.rstrip("/"), target.query) != (
        page.path.rstrip("/"), page.query)


def _the_link(block: _Block) -> etree._Element | None:
    """The one link a block is: its only ``<a>``, holding :data:`TEASER_LINKS` of its text,
    or, with no ``<a>`` in it, an ``<a>`` around it a few levels up (a teaser card whose
    whole box is the link); else None."""
    links = list(block.element.iter("a"))
    if links:
        return links[0] if len(links) == 1 and _link_share(block) >= TEASER_LINKS else None
    return _link_around(block.element)


def _link_around(element: etree._Element) -> etree._Element | None:
    """The ``<a>`` a few levels up around an element (a teaser card whose box is a link)."""
    for depth, node in enumerate(element.iterancestors()):
        if depth >= LEAD_DEPTH or node.tag in ("body", "html"):
            return None
        if node.tag == "a":
            return node
    return None


def _host(host: str | None) -> str:
    """A host name without its ``www.``: ``www.example.org`` and ``example.org`` are one site."""
    host = (host or "").lower()
    return host[4:] if host.startswith("www.") else host


def _boilerplate_lines(lines: list[str], blocks: list[_Block], line_of: list[int | None],
                       anchors: list[int]) -> set[int]:
    """Lines that are chrome by what they say (:mod:`archive.boilerplate`): labels of links
    to other articles and the links under them, notices anywhere; pleas only before the
    article's first paragraph or after its last long one."""
    links: dict[int, list[int]] = {}
    for block, at in zip(blocks, line_of, strict=True):
        if at is not None:
            linked = int(_link_share(block) * len(block.text))
            total = links.setdefault(at, [0, 0])
            total[0] += linked
            total[1] += len(block.text)
    first = line_of[anchors[0]] or 0
    # the article's last long line (on a page of short lines: long for that page)
    body = min(BODY_CHARS, max(map(len, lines), default=0) // 2)
    last = max((n for n, line in enumerate(lines) if len(line) >= body), default=len(lines))
    cut: set[int] = set()
    in_links = False
    for n, line in enumerate(lines):
        share = links[n][0] / max(links[n][1], 1) if n in links else 0.0
        if in_links and share >= LABEL_LINKS:
            cut.add(n)  # a teaser's headline under a "Read also:" label
            continue
        in_links = False
        if is_label(line):
            cut.add(n)
            in_links = True
        elif is_notice(line) or ((n < first or n > last) and is_plea(line)):
            cut.add(n)
    return cut
