"""The readable text of a captured page: what a reader of the article saw, one passage a line.

The text is what later comparisons (a screenshot's claim, a later capture) work on, so it must
be the article and only the article: navigation, headers, footers, asides, forms, scripts and
cookie banners are dropped, and each paragraph is one line so a diff points at a passage.

Decoding follows what browsers do and what Russian sites need: the charset declared in
Content-Type, then in ``<meta>``, then detection. A declaration is trusted only if it decodes
cleanly and does not look like mojibake (UTF-8 bytes labelled windows-1251, KOI8-R labelled
windows-1251, windows-1251 served as ISO-8859-1 by a server's default ...); otherwise the
bytes decide.

Parsing is bounded: at most :data:`MAX_HTML_BYTES` of a page are read, and a page nested
deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_ELEMENTS` tags (which would make
the tree walk recurse without bound, or take minutes) is read by a flat, linear scan of its
visible text instead. Either way :attr:`PageText.note` says so.
"""

from __future__ import annotations

import bisect
import codecs
import html as htmllib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import charset_normalizer
from bs4 import BeautifulSoup, CData, NavigableString, ParserRejectedMarkup, Tag
from lxml import etree

from archive.article_refine import fold, parse
from archive.charset_guess import better_than_label, guess_single_byte
from archive.charsets import codec_for_label, decode_replacing, decode_strict, is_single_byte
from archive.declared_body import declared_body, declared_scripts
from archive.extract_article import TRAFILATURA, Extractor, trafilatura_text
from archive.meta_charset import meta_charset
from archive.page_meta import bs4_attrs, page_meta

BINARY_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
BINARY_TYPES = {"application/pdf", "application/octet-stream", "application/zip",
                "application/gzip", "application/x-gzip", "application/msword",
                "application/vnd.ms-excel", "application/wasm"}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
DROP_TAGS = ["script", "style", "noscript", "template", "nav", "aside", "iframe",
             "svg", "button", "input", "select", "textarea", "object", "embed", "canvas",
             "dialog", "menu"]
PAGE_CHROME = ["header", "footer"]
DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog",
              "alertdialog", "menu", "menubar"}
_CLUTTER_WORDS = (r"cookie|cookies|consent|gdpr|ad|ads|adv|advert|advertisement|banner-ad|promo|"
                  r"sponsored|share|social|subscribe|newsletter|paywall")
# A class or id token is clutter when it starts with one of the words ("ad-slot", "share-bar")
# or ends with one ("post-share"); "no-paywall", "has-ad-left" and "tag-x_social" (real
# content wrappers on real sites) are not.
_CLUTTER = re.compile(rf"^(?:(?:{_CLUTTER_WORDS})(?:[_-].*)?|(?!(?:no|has|tag|with)[_-])"
                      rf"[^\s]*[_-](?:{_CLUTTER_WORDS}))$", re.I)
BLOCK_TAGS = {"address", "article", "blockquote", "br", "dd", "details", "div", "dl", "dt",
              "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header",
              "footer", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table",
              "tbody", "thead", "tfoot", "td", "th", "tr", "ul", "caption", "body", "html"}
TEXT_VERSION = "7"  # of our own walk: bump when what it keeps changes (or how pages decode)
OURS = Extractor("archive.text", TEXT_VERSION)
VISIBLE = Extractor("archive.text:visible", TEXT_VERSION)  # the whole visible text, no choice
FLAT = Extractor("archive.text:flat", TEXT_VERSION)
DECLARED = Extractor("archive.text:articleBody", TEXT_VERSION)  # schema.org's, as declared
MAX_RESEGMENT_STEPS = 200_000  # candidate blocks tried a page (each one slice of a line)
LAYOUT_CELL_CHARS = 400  # a table cell this long holds paragraphs: the table lays out a page
MIN_ARTICLE_CHARS = 100  # an "article" shorter than this is taken as none found
WHOLE_PAGE_SHARE = 0.5  # a <form> holding this share of the page's text wraps the page
LOST_PAGE_CHARS = 400  # a page showing this many letters has text an article could be
LOST_SHARE = 0.25  # an article with less than this share of them lost the page's text
ROOT_SHARE = 0.2  # an <article>/<main> with less than this share of the text is a teaser
_SPACES = re.compile(r"[ \t\r\n\f\v]+")  # not NBSP or thin spaces: "9 861" keeps its space
# What str.isalnum() is not: \w is exactly the characters isalnum() accepts, plus "_"
# (tests/test_capture_speed.py checks every code point), so counting letters is one C pass.
_NOT_ALNUM = re.compile(r"[\W_]+")
# Python's names for them, as codec_for_label gives them (codecs.lookup(...).name)
_CYRILLIC_SINGLE_BYTE = ("cp1251", "koi8-r", "koi8-u", "iso8859-5", "mac-cyrillic", "cp866")
_COMMON_RU = set("оеаинтсрвлкмдпуяы")
MAX_HTML_BYTES = 8 * 1024 * 1024  # of decoded HTML parsed for text; a real article is far less
MAX_DEPTH = 256  # nesting a tree walk may follow (real pages stay well under 100)
MAX_ELEMENTS = 250_000  # tags given to the full parser (a large real page has ~20,000)
MAX_STRAY = 20  # unclosed "<tag" openings: html.parser rescans the rest of the page for each
RAW_TEXT_TAGS = ("script", "style", "template", "noscript", "textarea", "title", "xmp")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "param", "source", "track", "wbr"}
# a comment's start (read on by hand), a tag, a declaration or stray end, text, a lone "<"
_TOKEN = re.compile(r"(<!--)|<(/?)([A-Za-z][^\s/<>]*)([^<>]*)>|<[!?/][^<>]*>?"
                    r"|[^<]+|<", re.S)
_TITLE = re.compile(r"<title\b[^<>]*>([^<]*)", re.I)
_BOMS = [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]
PRESCAN_BYTES = 65536  # of a page searched for its charset (the head of a real page is less)
_XML_ENCODING = re.compile(rb"""<\?xml\s[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9_.:-]{1,40})""")
_COMMENT = re.compile(rb"<!--.*?(?:-->|$)", re.S)
_ISO2022_JP = re.compile(rb"\x1b\$[@B]")
_HALF_WIDTH_KANA = re.compile("[\uff61-\uff9f]")
_TOUCHING_LATIN = re.compile("(?<=[A-Za-z])[^\x00-\x7f]|[^\x00-\x7f](?=[A-Za-z])")
_BODY_TAG = re.compile(rb"<body[\s>/]", re.I)
# What detection may answer: the encodings browsers' own detectors give for web pages, not
# rare code pages (ISO-8859-3 and -4, Mac Central European, DOS) whose letters merely fit.
_DETECTABLE = ["utf_8", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256",
               "cp1257", "cp1258", "iso8859_2", "iso8859_5", "iso8859_6",
               "iso8859_7", "iso8859_8", "iso8859_13", "iso8859_15", "koi8_r", "koi8_u",
               "mac_cyrillic", "cp866", "cp874", "gb18030", "gbk", "gb2312", "big5",
               "big5hkscs", "cp950", "euc_kr", "cp949", "shift_jis", "cp932", "euc_jp",
               "iso2022_jp", "utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le",
               "utf_32_be", "euc_jis_2004", "euc_jisx0213", "shift_jis_2004",
               "shift_jisx0213"]


@dataclass
class PageText:
    """What a page says, in plain text, with the metadata a court asks about."""

    title: str | None
    text: str
    canonical_url: str | None = None
    published: str | None = None
    modified: str | None = None
    charset: str | None = None
    language: str | None = None
    note: str | None = None  # set when the text is partial or read by a fallback
    extractor: Extractor = OURS  # what made ``text``: only texts of one extractor compare


def extract_text(body: bytes, content_type: str | None, url: str) -> PageText:
    """The page's text; ``body`` must already be content-decoded (see ``decoded_body``)."""
    mime, declared = _mime_of(body, content_type)
    if mime is None:
        return PageText(title=None, text="")
    note = None
    if len(body) > MAX_HTML_BYTES:
        body = body[:MAX_HTML_BYTES]
        note = f"text read from the first {MAX_HTML_BYTES} bytes of the page only"
    if mime in HTML_TYPES or mime.endswith("+html"):
        text, charset = decode_bytes(body, declared, html=True)
        page = _html_text(text, url, charset)
    else:
        text, charset = decode_bytes(body, declared, html=False)
        page = PageText(title=None, text=text, charset=charset)
    page.note = "; ".join(n for n in (note, page.note) if n) or None
    return page


def decoded_markup(body: bytes, content_type: str | None) -> str | None:
    """A page's HTML as :func:`extract_text` decodes it (its first :data:`MAX_HTML_BYTES`),
    for a reader of the whole page (``verify --against`` looks for the page's chrome there);
    None when the body is not HTML. ``body`` must already be content-decoded."""
    mime, declared = _mime_of(body, content_type)
    if mime is None or not (mime in HTML_TYPES or mime.endswith("+html")):
        return None
    return decode_bytes(body[:MAX_HTML_BYTES], declared, html=True)[0]


def _mime_of(body: bytes, content_type: str | None) -> tuple[str | None, str | None]:
    """The media type (sniffed when the server named none; None for a kind without text)
    and the charset the server declared."""
    mime, declared = _parse_content_type(content_type)
    if mime in BINARY_TYPES or mime.startswith(BINARY_PREFIXES):
        return None, declared
    mime = mime or _sniff(body)
    return (None if mime == "binary" else mime), declared


def _html_text(markup: str, url: str, charset: str) -> PageText:
    """The structured extraction when the page is sane, else the flat scan (and why)."""
    tokens: list[_Token] = []  # the page's tokens, read once for both checks and flat text
    why = _too_complex(markup, keep=tokens)
    if why is None:
        try:
            return _from_html(markup, url, charset, tokens)
        except RecursionError:
            why = "its structure is too deep to walk"
        except ParserRejectedMarkup:  # html.parser gives up on some markup (``<![foo[``)
            why = "the HTML parser rejected its markup"
    return PageText(title=_flat_title(markup), text=flat_text(markup), charset=charset,
                    note=f"flat text extraction: {why}", extractor=FLAT)


_Token = tuple[str, str, str]  # kind, tag name, text (see _tokens)


def _too_complex(markup: str, *, keep: list[_Token] | None = None) -> str | None:
    """Why the tree parser must not get this page (too deep, too many tags), or None.
    ``keep`` is given every token read (all of the page's when the answer is None)."""
    depth = count = stray = 0
    for token in _tokens(markup):
        if keep is not None:
            keep.append(token)
        kind, name, _ = token
        if kind == "text":
            continue
        if kind == "stray":
            stray += 1
            if stray > MAX_STRAY:
                return f"the page has more than {MAX_STRAY} unclosed tags"
            continue
        count += 1
        if count > MAX_ELEMENTS:
            return f"the page has more than {MAX_ELEMENTS} tags"
        if kind == "end":
            depth = max(depth - 1, 0)
        elif kind == "start" and name not in VOID_TAGS:
            depth += 1
            if depth > MAX_DEPTH:
                return f"the page nests tags more than {MAX_DEPTH} deep"
    return None


def _tokens(markup: str) -> Iterator[tuple[str, str, str]]:
    """(kind, tag name, text) in one linear pass; kinds: start, end, empty, text, stray.

    The content of script, style and the other raw-text elements is skipped whole, as a
    browser reads it, so a ``<div>`` inside a script string counts for nothing.
    """
    lower: str | None = None
    pos, end = 0, len(markup)
    comments_close = True  # False once a "<!--" is known to have no "-->" after it
    match_at = _TOKEN.match
    while pos < end:
        match = match_at(markup, pos)
        if match is None:  # pragma: no cover - the last alternative matches any character
            break
        comment, slash, name, attrs = match.groups()
        if comment is not None:
            close = markup.find("-->", pos + 4) if comments_close else -1
            if close >= 0:
                pos = close + 3
                continue
            comments_close = False  # html.parser then reads what follows as markup
            yield "stray", "", ""
            pos += 4
            continue
        pos = match.end()
        if name is None:
            token = match.group()
            if token == "<":
                if markup[pos:pos + 1].isalpha():
                    yield "stray", "", token  # "<a" never closed: text to us, trouble to a parser
                yield "text", "", token
            elif token[0] != "<":
                yield "text", "", token
            continue
        name = name.lower()
        if slash:
            yield "end", name, ""
        elif name in VOID_TAGS or (attrs and (attrs[-1] == "/" or attrs[-1].isspace())
                                   and attrs.rstrip().endswith("/")):
            yield "empty", name, ""
        else:
            yield "start", name, ""
            if name in RAW_TEXT_TAGS:
                lower = markup.lower() if lower is None else lower
                close = lower.find(f"</{name}", pos)
                pos = end if close < 0 else close


def flat_text(markup: str, tokens: list[_Token] | None = None) -> str:
    """Visible text by a linear scan, one block a line: no tree, so no depth to overflow.

    Scripts, styles and the like are left out; navigation and other chrome are not (telling
    them apart needs the tree this is the fallback for). ``tokens``: the page's, if already
    read (:func:`_too_complex`).
    """
    lines: list[str] = []
    current: list[str] = []
    for kind, name, text in (_tokens(markup) if tokens is None else tokens):
        if kind == "text":
            current.append(htmllib.unescape(text) if "&" in text else text)
        elif kind != "stray" and name in BLOCK_TAGS:
            _flush(current, lines)
    _flush(current, lines)
    return "\n".join(lines)


def verbatim_blocks(markup: str, tokens: list[_Token] | None = None) -> frozenset[str]:
    """The blocks of :func:`flat_text` inside a ``<pre>``, whose line breaks a reader sees
    (code, verse): :func:`resegment` never joins lines into one of them."""
    blocks: list[str] = []
    current: list[str] = []
    depth = 0
    for kind, name, text in (_tokens(markup) if tokens is None else tokens):
        if kind == "text":
            if depth:
                current.append(htmllib.unescape(text) if "&" in text else text)
        elif kind != "stray" and name in BLOCK_TAGS:
            _flush(current, blocks)
            if name == "pre" and kind in ("start", "end"):
                depth = max(depth + (1 if kind == "start" else -1), 0)
    _flush(current, blocks)
    return frozenset(blocks)


def _flat_title(markup: str) -> str | None:
    match = _TITLE.search(markup, 0, 65536)
    title = _SPACES.sub(" ", htmllib.unescape(match.group(1))).strip() if match else ""
    return title or None


# --- decoding -------------------------------------------------------------------------------


def decode_bytes(body: bytes, declared: str | None, *, html: bool) -> tuple[str, str]:
    """Decode ``body`` as a browser does: BOM, then the declared charset (the HTTP header),
    then what the document says (an XML declaration; in HTML, ``<meta>``), then detection;
    returns the text and the codec. Labels mean what they mean to browsers
    (:mod:`archive.charsets`)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(name, errors="replace"), name
    candidates = [codec_for_label(declared)]
    candidates += [codec_for_label(label, in_document=True)
                   for label in _labels_in_document(body, html=html)]
    not_utf8 = False  # the bytes are known to be neither UTF-8 nor nearly: not tried again
    for codec in candidates:
        if codec is None or (codec == "utf-8" and not_utf8):
            continue
        if codec in ("utf-16-le", "utf-16-be") and b"\0" not in body[:4096]:
            continue  # no NUL in its markup: not UTF-16, whatever the header says
        try:
            text = decode_strict(body, codec)
        except UnicodeDecodeError:
            nearly = _nearly(body, codec)
            if nearly is not None:
                return nearly, codec
            not_utf8 = not_utf8 or codec == "utf-8"
            continue  # mislabelled: let the bytes decide
        better = _unmojibake(body, codec, text)
        return better if better else (text, codec)
    return _detect(body, not_utf8=not_utf8)


def _labels_in_document(body: bytes, *, html: bool) -> list[str]:
    """The charset an XML declaration gives (only at the very start: XHTML, RSS and Atom
    feeds, any XML), then for HTML the first ``<meta>`` declaring a charset a browser
    knows (:mod:`archive.meta_charset`), outside comments, in the head: browsers read
    it however far down the head it comes, so the scan stops at ``<body`` (or
    :data:`PRESCAN_BYTES`), not at 1024 bytes."""
    head = body[:PRESCAN_BYTES]
    labels = []
    xml = _XML_ENCODING.match(head)
    if xml:
        labels.append(xml.group(1).decode("ascii"))
    if not html:
        return labels
    head = _COMMENT.sub(b" ", head)
    start = _BODY_TAG.search(head, 1024)
    label = meta_charset(head[:start.start()] if start else head,
                         lambda name: codec_for_label(name, in_document=True) is not None)
    if label:
        labels.append(label)
    return labels


def _unmojibake(body: bytes, codec: str, text: str) -> tuple[str, str] | None:
    """A better reading when the declared single-byte charset is evidently wrong."""
    if codec in ("utf-8", "utf-16-le", "utf-16-be") or body.isascii():
        return None
    try:
        return body.decode("utf-8"), "utf-8"  # valid non-ASCII UTF-8 is never an accident
    except UnicodeDecodeError:
        pass
    # Any script first: Czech served as KOI8-R reads as Cyrillic letters, but as no language.
    better = better_than_label(body, codec) if is_single_byte(codec) else None
    if better:
        return decode_strict(body, better), better
    if codec in _CYRILLIC_SINGLE_BYTE or _cyrillic_letters(text) > 20:
        best = _best_cyrillic(body)
        if best and best[1] == "koi8-u" and codec == "koi8-r" and _ukrainian_in_koi8_r(text):
            return best  # a few Ukrainian letters hardly move the Russian score
        if best and best[1] != codec and _russian_score(best[0]) > _russian_score(text) + 0.2:
            return best
    return None


def _detect(body: bytes, *, not_utf8: bool = False) -> tuple[str, str]:
    """``not_utf8``: a declared UTF-8 already failed, strictly and nearly (not redone)."""
    if body.isascii():
        if _ISO2022_JP.search(body):  # 7-bit Japanese: escapes to JIS X 0208 and back
            try:
                return body.decode("iso2022_jp"), "iso2022_jp"
            except UnicodeDecodeError:
                pass
        return body.decode("ascii"), "ascii"
    if not not_utf8:
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        nearly = _nearly(body, "utf-8")
        if nearly is not None:
            return nearly, "utf-8"
    # Asked without limits (asked for a list, it ranks differently: single-byte readings
    # of a short Big5 passage came first), then the first answer browsers could give. Only
    # a multi-byte answer is taken from it: which single-byte code page, the letters decide.
    for answer in (m.encoding for m in charset_normalizer.from_bytes(body)):
        codec = codec_for_label(answer) if answer in _DETECTABLE else None
        if codec is None:
            continue
        if is_single_byte(codec):
            break
        if codec.startswith("utf") or _reads_as_cjk(decode_replacing(body[:CJK_CHECK_BYTES],
                                                                      codec)):
            return decode_replacing(body, codec), codec
    codec = guess_single_byte(body)
    return decode_replacing(body, codec), codec


CJK_CHECK_BYTES = 200_000
"""Of a page read in a multi-byte charset to check it reads as CJK text (the start says)."""


def _reads_as_cjk(text: str) -> bool:
    """Is a multi-byte (Shift_JIS, GBK, Big5 ...) reading of unlabelled bytes plausible?
    Not when most of its characters sit inside Latin words ("f顤esl緳": Swedish ö and å, each
    taken with the next byte as one Big5 character), nor when they are mostly half-width
    katakana (KOI8-R or ISO-8859-2 letters, one byte each in Shift_JIS): CJK prose comes in
    runs of full-width characters."""
    wide = len(text) - len(text.encode("ascii", errors="ignore"))
    if not wide:
        return True
    in_words = len(_TOUCHING_LATIN.findall(text))
    kana = len(_HALF_WIDTH_KANA.findall(text))
    return in_words * 2 <= wide and kana * 4 < wide


STRAY_BYTES_SHARE = 0.1
"""At most this share of a UTF-8 page's non-ASCII characters may be stray bytes."""
STRAY_BYTES_SHARE_LEGACY = 0.01
"""The same for a page labelled Shift_JIS, GBK, Big5, EUC-KR or EUC-JP: windows-1251 text
mislabelled GBK reads as CJK pairs with a stray byte every few words, so far fewer."""
STRAY_BYTES_AT_LEAST = 2
"""For those labels, a character cut at each end of a short page is still a glitch (not for
UTF-8, which detection also tries: two bytes of windows-1252 are not "nearly UTF-8")."""


def _nearly(body: bytes, codec: str) -> str | None:
    """The body read in ``codec`` when only a few stray bytes break it (one bad byte in a
    page, a truncated character at a cut), each read as U+FFFD, as browsers read a labelled
    page; else None. Text in another charset is not near: most of its non-ASCII bytes break
    a multi-byte charset (for UTF-8, valid sequences do not happen by accident)."""
    share, least = STRAY_BYTES_SHARE, 0.0
    if codec != "utf-8":  # a page labelled Shift_JIS, GBK, Big5, EUC-KR or EUC-JP
        share, least = STRAY_BYTES_SHARE_LEGACY, STRAY_BYTES_AT_LEAST
        try:
            body.decode("utf-8")
            return None  # valid UTF-8 is never an accident: detection reads it as UTF-8
        except UnicodeDecodeError:
            pass
    text = decode_replacing(body, codec)
    stray = text.count("\ufffd") - body.count("\ufffd".encode())  # those the page itself had
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return text if stray <= max(non_ascii * share, least) else None


def _best_cyrillic(body: bytes) -> tuple[str, str] | None:
    readings = []
    for codec in ("cp1251", "koi8_r", "iso8859_5", "cp866", "mac_cyrillic"):
        try:
            readings.append((body.decode(codec), codecs.lookup(codec).name))
        except UnicodeDecodeError:
            continue
    best = max(readings, key=lambda r: _russian_score(r[0]), default=None)
    if best is not None and best[1] == "koi8-r":
        # KOI8-U differs from KOI8-R only where KOI8-R has box-drawing signs, which no
        # page's text is made of: there KOI8-U has Ukrainian (and Belarusian) letters.
        ukrainian = decode_replacing(body, "koi8_u")
        if ukrainian != best[0]:
            return ukrainian, "koi8-u"
    return best


_KOI8_U_LETTERS = "╓╔╕╜╢╥╤╙╝╬"  # є і ї ґ Є І Ї Ґ ў Ў, read as KOI8-R
_CYRILLIC = "[\u0400-\u04ff]"
_BOX_TOUCHING = re.compile(f"(?<={_CYRILLIC})[{_KOI8_U_LETTERS}]"
                           f"|[{_KOI8_U_LETTERS}](?={_CYRILLIC})")
_BOX_INSIDE = re.compile(f"(?<={_CYRILLIC})[{_KOI8_U_LETTERS}](?={_CYRILLIC})")


def _ukrainian_in_koi8_r(text: str) -> bool:
    """Is a page labelled KOI8-R in KOI8-U (Ukrainian served with the Russian label)? Its
    і ї є ґ read as KOI8-R are box-drawing signs inside words ("М╔н╔стерство"), which a
    real KOI8-R table never has: its signs touch each other, not letters. One between two
    letters, and most of them touching a letter (a lone "і", "and", touches none)."""
    boxes = sum(text.count(ch) for ch in _KOI8_U_LETTERS)
    if not boxes or not _BOX_INSIDE.search(text):
        return False
    return len(_BOX_TOUCHING.findall(text)) * 2 >= boxes


def _cyrillic_letters(text: str) -> int:
    return sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")


def _russian_score(text: str) -> float:
    """Share of non-ASCII characters that are common lower-case Russian letters (high = real
    Russian text; a wrong Cyrillic codec gives capitals, symbols and rare letters)."""
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return 0.0
    return sum(1 for ch in non_ascii if ch in _COMMON_RU) / len(non_ascii)


def _parse_content_type(value: str | None) -> tuple[str, str | None]:
    if not value:
        return "", None
    parts = [p.strip() for p in value.split(";")]
    charset = None
    for param in parts[1:]:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return parts[0].lower(), charset


def _sniff(body: bytes) -> str:
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "text/html"
    if b"\0" in body[:4096] and not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "binary"
    return "text/plain"


# --- HTML -----------------------------------------------------------------------------------


def _from_html(markup: str, url: str, charset: str, tokens: list[_Token]) -> PageText:
    root = parse(markup)  # one lxml parse, read for the metadata, then cut by the refinement
    meta = page_meta(markup, url, root)
    page = PageText(title=meta.title, text="", canonical_url=meta.canonical_url,
                    published=meta.published, modified=meta.modified, charset=charset,
                    language=meta.language)
    page.text, page.extractor, page.note = _article(markup, url, root, tokens)
    return page


def _article(markup: str, url: str, root: etree._Element | None,
             tokens: list[_Token]) -> tuple[str, Extractor, str | None]:
    """The article by trafilatura, else by our walk, else the whole visible text (and why).

    A page whose article neither finds is never reduced to (almost) nothing while it shows
    text: a genuine screenshot of it must not look ``absent``. A page whose markup holds
    less than :data:`LOST_SHARE` of the article it declares (schema.org ``articleBody``,
    :mod:`archive.declared_body`: a page its scripts write) has that declared article.
    """
    declared = declared_scripts(root)  # read before the refinement cuts the scripts
    text, extractor, note = _from_markup(markup, url, root, tokens)
    body = declared_body(declared) if declared else None
    if body is not None:
        shown = _letters(body)
        if shown >= LOST_PAGE_CHARS and _letters(text) < LOST_SHARE * shown:
            return body, DECLARED, ("the page's markup shows little of its article: the text "
                                    "is the article's body as the page declares it (schema.org "
                                    "articleBody)")
    return text, extractor, note


def _from_markup(markup: str, url: str, root: etree._Element | None,
                 tokens: list[_Token]) -> tuple[str, Extractor, str | None]:
    """The article read from the page's markup (see :func:`_article`)."""
    found = trafilatura_text(markup, url, root)
    if found is not None:
        found = resegment(found, flat_text(markup, tokens).splitlines(),
                          verbatim_blocks(markup, tokens))
    if found is not None and _has_letters(found, MIN_ARTICLE_CHARS):
        return found, TRAFILATURA, None
    ours = visible_text(BeautifulSoup(markup, "html.parser"))  # consumes its soup
    best, extractor = (ours, OURS) if _letters(ours) else (found or "", TRAFILATURA)
    if _letters(best) < MIN_ARTICLE_CHARS:
        whole = whole_visible_text(markup)
        shown = _letters(whole)
        if shown >= LOST_PAGE_CHARS and _letters(best) < LOST_SHARE * shown:
            return whole, VISIBLE, "no article found: the whole visible text is kept"
    return best, extractor, None


def resegment(text: str, blocks: list[str], verbatim: frozenset[str] = frozenset()) -> str:
    """``text`` cut into the page's own blocks (paragraphs, headings, list items).

    trafilatura's fallbacks for short pages join several paragraphs into one line, so the same
    article could come out one passage a line on one day and one long line the next: a diff
    would see every passage change. A line that is wholly a sequence of blocks of the page
    (joined by spaces, cut at word boundaries; after a list item's ``- ``) becomes one line a
    block, the fewest blocks that make it; the letters kept are exactly ``text``'s. A line
    that is itself a block, or that blocks do not make whole, is left as it is: cutting out
    of a sentence a short block of elsewhere on the page ("2" of a ranking, a site's name in
    its menu) split "2 209 Français" in two, and would split it again or not as the ranking
    changed. The other way round, consecutive lines that together are one block (trafilatura
    gives a paragraph with links in it one line for each line of the page's source) are
    joined into one line, unless the block is a ``<pre>``'s (``verbatim``, from
    :func:`verbatim_blocks`), whose line breaks a reader sees.
    At most :data:`MAX_RESEGMENT_STEPS` candidate blocks are tried a page. A table row
    (trafilatura's ``| cell | cell |``) stays one line: its cells are blocks too, and cut
    at each of them a row read as a column of lone ``|`` and cells. But a row with a cell
    longer than :data:`LAYOUT_CELL_CHARS` is a page laid out by a table (the whole article
    in one cell, a 81,000-character line on one real page): each cell is read as lines.
    """
    wanted = {b for b in (fold(block, _SPACES).strip() for block in blocks) if b}
    lengths: dict[str, set[int]] = {}  # a block's first word -> the lengths of such blocks
    for block in wanted:
        lengths.setdefault(block.split(" ", 1)[0], set()).add(len(block))
    budget = [MAX_RESEGMENT_STEPS]
    raws = text.splitlines()
    lines = [fold(raw, _SPACES).strip() for raw in raws]
    ends = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
    joinable = wanted - verbatim
    out: list[str] = []
    n = 0
    while n < len(lines):
        line = lines[n]
        table_row = len(line) > 1 and line[0] == line[-1] == "|"
        marker = "- " if line.startswith("- ") else ""  # trafilatura's list item
        body = line[len(marker):]
        last = None if table_row else _run(lines, ends, n, marker, joinable, lengths, budget)
        if last is not None:  # one block the page's source broke over lines
            out.append(" ".join(lines[n:last + 1]))
            n = last + 1
            continue
        if table_row and any(len(cell) > LAYOUT_CELL_CHARS for cell in _cells(line)):
            # a layout table: the row is the page, each cell a column of it
            for cell in _cells(line):
                out += _tiling(cell, wanted, lengths, budget) or [cell] if cell else []
        else:
            pieces = (None if table_row or line in wanted or body in wanted
                      else _tiling(body, wanted, lengths, budget))
            out += [marker + pieces[0], *pieces[1:]] if pieces else [raws[n]]
        n += 1
    return "\n".join(out)


def _cells(row: str) -> list[str]:
    """The cells of trafilatura's table row ``| a | b |`` (folded), empty ones included."""
    return [cell.strip() for cell in row[1:-1].split(" | ")]


def _run(lines: list[str], ends: list[int], first: int, marker: str, wanted: set[str],
         lengths: dict[str, set[int]], budget: list[int]) -> int | None:
    """The last of two or more lines from ``first`` on (none empty) that, joined by spaces,
    are one block of ``wanted`` (after ``marker``), the most such lines; else None.
    ``ends[k]``: where line ``k`` would start in the lines joined by spaces."""
    body = lines[first][len(marker):]
    space = body.find(" ")
    best = None
    for size in lengths.get(body[:space] if space >= 0 else body, ()):
        budget[0] -= 1
        if budget[0] < 0:
            return None
        after = bisect.bisect_left(ends, ends[first] + len(marker) + size + 1)
        if (after - 1 > first and after < len(ends) and (best is None or after - 1 > best)
                and ends[after] == ends[first] + len(marker) + size + 1
                and all(lines[first:after])
                and " ".join(lines[first:after])[len(marker):] in wanted):
            best = after - 1
    return best


def _tiling(line: str, wanted: set[str], lengths: dict[str, set[int]],
            budget: list[int]) -> list[str] | None:
    """The fewest blocks of ``wanted`` that, joined by spaces, make ``line`` (folded), or
    None when none do (or ``budget``, the candidates left to try, runs out)."""
    best: dict[int, tuple[int, int]] = {0: (0, -1)}  # start -> (pieces to it, previous start)
    end = len(line) + 1  # the start after the last piece
    for start in _word_starts(line):
        if start not in best:
            continue
        space = line.find(" ", start)
        word = line[start:space if space >= 0 else len(line)]
        for size in lengths.get(word, ()):
            budget[0] -= 1
            if budget[0] < 0:
                return None
            stop = start + size
            if stop > len(line) or (stop < len(line) and line[stop] != " "):
                continue
            if line[start:stop] in wanted:
                pieces = best[start][0] + 1
                if stop + 1 not in best or pieces < best[stop + 1][0]:
                    best[stop + 1] = (pieces, start)
    if end not in best:
        return None
    cuts = [end]
    while cuts[-1]:
        cuts.append(best[cuts[-1]][1])
    cuts.reverse()
    return [line[a:b - 1] for a, b in zip(cuts, cuts[1:], strict=False)]


def _word_starts(line: str) -> list[int]:
    """Where the words of ``line`` (single spaces between them) start, in order."""
    return [0, *(i + 1 for i, char in enumerate(line) if char == " ")]


def _has_letters(text: str, wanted: int) -> bool:
    """``_letters(text) >= wanted``, counting a short head of the text first (a long
    article has enough there: a page's text need not be copied to say so)."""
    head = wanted * 4
    if len(text) > head and _letters(text[:head]) >= wanted:
        return True
    return _letters(text) >= wanted


def _letters(text: str) -> int:
    """How many characters of ``text`` are letters or digits (``str.isalnum``)."""
    return len(_NOT_ALNUM.sub("", text))


def has_article_text(text: str) -> bool:
    """Does extracted text hold an article, by the measure extraction itself uses?"""
    return _has_letters(text, MIN_ARTICLE_CHARS)


def whole_visible_text(markup: str) -> str:
    """Every text a reader could see, ``<noscript>`` included (a page may show only that),
    scripts, styles and hidden elements left out; no choosing of what is chrome."""
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(["script", "style", "template", "svg", "head"]):
        tag.decompose()
    for tag in soup.find_all(_is_hidden):
        tag.decompose()
    for tag in soup.find_all("noscript"):
        # html.parser keeps noscript content as a string of markup: read it as markup
        inner = BeautifulSoup(tag.decode_contents(), "html.parser")
        tag.replace_with(inner)
    return _lines(soup.body or soup)


def visible_text(soup: BeautifulSoup) -> str:
    """The article's visible text, one block (paragraph, heading, list item) per line."""
    for tag in soup.find_all(DROP_TAGS):
        tag.decompose()
    page_letters = _letters(soup.get_text())
    for tag in soup.find_all("form"):
        # ASP.NET wraps the whole page in one <form>: that is the page, not a form
        if _letters(tag.get_text()) < WHOLE_PAGE_SHARE * page_letters:
            tag.decompose()
    for tag in soup.find_all(_is_clutter):
        tag.decompose()
    root = _content_root(soup)
    for tag in root.find_all(PAGE_CHROME):
        # An article's own <header> holds its headline; any other header or footer is chrome.
        if tag.name == "footer" or (tag.find_parent("article") is None and tag is not root):
            tag.decompose()
    return _lines(root)


def _lines(root: Tag) -> str:
    lines: list[str] = []
    current: list[str] = []
    for piece in _walk(root):
        if piece is None:
            _flush(current, lines)
        else:
            current.append(piece)
    _flush(current, lines)
    return "\n".join(lines)


def _is_hidden(tag: Tag) -> bool:
    attrs = tag.attrs or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    return hidden_by_style(str(attrs.get("style", "")))


def hidden_by_style(style: str) -> bool:
    """An inline ``style`` that hides its element (``display: none``, ``visibility:
    hidden``); what a style sheet hides cannot be known without it."""
    style = style.replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _is_clutter(tag: Tag) -> bool:
    if tag.name in ("html", "body", "main", "article"):
        return False
    attrs = tag.attrs or {}
    if _is_hidden(tag):
        return True
    if str(attrs.get("role", "")).lower() in DROP_ROLES:
        return True
    classes: Any = attrs.get("class") or []
    tokens = classes if isinstance(classes, list) else str(classes).split()
    tokens = [*tokens, *str(attrs.get("id", "")).split()]
    return any(_CLUTTER.match(token) for token in tokens)


def _content_root(soup: BeautifulSoup) -> Tag:
    """The article's element: one <article>, an articleBody, <main>; the body when the
    candidate is empty or a teaser (less than :data:`ROOT_SHARE` of the page's text)."""
    body = soup.body or soup
    total = _letters(body.get_text())

    def holds_text(tag: object) -> bool:
        return isinstance(tag, Tag) and _letters(tag.get_text()) >= ROOT_SHARE * total

    articles = soup.find_all("article")
    if len(articles) == 1 and holds_text(articles[0]):
        return articles[0]
    body_prop = soup.find(attrs=bs4_attrs(itemprop="articleBody"))
    if isinstance(body_prop, Tag) and holds_text(body_prop) and len(articles) != 1:
        return body_prop
    main = soup.find("main") or soup.find(attrs=bs4_attrs(role="main"))
    if isinstance(main, Tag) and holds_text(main):
        return main
    return body


def _walk(node: Tag) -> Iterator[str | None]:
    """Text pieces in document order; ``None`` marks a block boundary."""
    for child in node.children:
        if isinstance(child, Tag):
            block = child.name in BLOCK_TAGS
            if block:
                yield None
            if child.name == "br":
                continue
            if child.name == "pre":
                yield from (line for line in child.get_text().splitlines())
                yield None
                continue
            yield from _walk(child)
            if block:
                yield None
        elif type(child) is NavigableString or isinstance(child, CData):
            yield str(child)


def _flush(current: list[str], lines: list[str]) -> None:
    line = fold("".join(current), _SPACES).strip()
    current.clear()
    if line:
        lines.append(line)
