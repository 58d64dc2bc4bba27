"""A captured page shown again from our own WARC, never from the live site.

The WARC is read from the store, which re-hashes it first (:meth:`Store.read_verified`);
each response's Content-Encoding is undone by warcio with a bound on the decoded size (a
bomb stops there). :class:`WarcIndex` holds the responses by URL (redirects inside the WARC
followed), so a page's images, stylesheets and fonts are served from the WARC by URL
(``archive --browser`` records every request the browser made), never fetched. An HTML
page is made inert first (:mod:`provenance.web.rewrite`: no link, form, refresh or load
leaves our server) and served as UTF-8 under
:data:`provenance.web.security.REPLAY_POLICY` (sandboxed, no script, nothing from any other
origin).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.charsets import codec_for_label
from archive.text import decode_bytes
from provenance.errors import ProvenanceError
from provenance.web.rewrite import Link, absolute, neutralise_css, neutralise_html

MAX_REPLAY_BYTES = 32 * 1024 * 1024
"""The most of a decoded body a replay serves."""
MAX_INDEX_BYTES = 128 * 1024 * 1024
"""The most decoded bytes one WARC's index holds (responses beyond are not replayed)."""
MAX_RECORDS = 10_000
MAX_REDIRECTS = 10
_SHOWN_AS_IS = {"text/html", "text/plain", "image/png", "image/jpeg", "image/gif",
                "image/webp"}
_RESOURCE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
                   "image/x-icon", "image/vnd.microsoft.icon", "text/css", "font/woff",
                   "font/woff2", "font/ttf", "font/otf", "application/font-woff",
                   "text/html", "application/xhtml+xml"}
"""What a replayed page may load from the WARC: pictures, styles, fonts, frames (HTML,
made inert). Never a script, never SVG (a document that can hold one)."""
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]{1,40})", re.I)
_CSS_CHARSET = re.compile(rb"""@charset\s*["']([A-Za-z0-9._:-]{1,40})["']""", re.I)


@dataclass(frozen=True)
class Captured:
    """One response a WARC holds, decoded."""

    url: str
    status: int
    declared_type: str
    location: str | None
    body: bytes


@dataclass(frozen=True)
class Replay:
    """The body to show and the Content-Type to show it with."""

    body: bytes
    content_type: str
    url: str


class WarcIndex:
    """The responses of one WARC by target URL (the first response for a URL wins: what
    the page got first), and the last response read."""

    def __init__(self, responses: dict[str, Captured], last: Captured | None,
                 size: int = 0) -> None:
        self.responses = responses
        self.last = last
        self.size = size  # decoded bytes read into it (what keeping it costs)

    @classmethod
    def from_warc(cls, warc: bytes) -> WarcIndex:
        responses: dict[str, Captured] = {}
        last: Captured | None = None
        total = 0
        try:
            for count, record in enumerate(ArchiveIterator(io.BytesIO(warc))):
                if count > MAX_RECORDS or total > MAX_INDEX_BYTES:
                    break
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                target = record.rec_headers.get_header("WARC-Target-URI") or ""
                headers = record.http_headers
                body = record.content_stream().read(MAX_REPLAY_BYTES + 1)
                if len(body) > MAX_REPLAY_BYTES:
                    continue  # too large to replay: shown as missing
                total += len(body)
                try:
                    status = int(headers.get_statuscode() or 0)
                except ValueError:
                    status = 0
                last = Captured(target, status, headers.get_header("Content-Type") or "",
                                headers.get_header("Location"), body)
                key = absolute(target, target)
                if key is not None:
                    responses.setdefault(key, last)
        except (ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
            raise ProvenanceError(f"the WARC holds no readable response "
                                  f"({str(exc).strip() or type(exc).__name__})") from None
        return cls(responses, last, total)

    def get(self, url: str) -> Captured | None:
        """The response for ``url``, following redirects the WARC also holds."""
        key = absolute(url, url)
        for _ in range(MAX_REDIRECTS):
            found = self.responses.get(key) if key else None
            if found is None or not (300 <= found.status < 400 and found.location):
                return found
            key = absolute(found.location, found.url)
        return None

    def resource(self, url: str) -> Captured | None:
        """The response for ``url`` if it is something a replayed page may load."""
        found = self.get(url)
        if found is None or not 200 <= found.status < 300:
            return None
        return found if _mime(found.declared_type) in _RESOURCE_TYPES else None


def shown(body: bytes, declared: str, base: str, link: Link) -> Replay:
    """``body`` as we serve it: HTML and CSS made inert (UTF-8), plain text and common
    images as they are, anything else as plain text."""
    mime = safe_type(declared).split(";")[0]
    if _mime(declared) == "text/css":
        css = body.decode(_charset(body, declared), errors="replace")
        return Replay(neutralise_css(css, base, link).encode("utf-8"),
                      "text/css; charset=utf-8", base)
    if mime == "text/html":  # decoded as the captured text was: one reading of the page
        header = _CHARSET.search(declared)
        html, _ = decode_bytes(body, header.group(1) if header else None, html=True)
        return Replay(neutralise_html(html, base, link).encode("utf-8"),
                      "text/html; charset=utf-8", base)
    if _mime(declared) in _RESOURCE_TYPES and _mime(declared).startswith(("image/", "font/")):
        return Replay(body, _mime(declared), base)
    return Replay(body, safe_type(declared), base)


def style_sheet(found: Captured | None) -> str | None:
    """``found``'s text if it is a style sheet served as one (a browser applies no other)."""
    if found is None or _mime(found.declared_type) != "text/css":
        return None
    return found.body.decode(_charset(found.body, found.declared_type), errors="replace")


def _mime(declared: str) -> str:
    return declared.split(";")[0].strip().lower()


def _charset(body: bytes, declared: str) -> str:
    """A style sheet's character set: its header's, else its ``@charset``'s, else UTF-8
    (labels as browsers read them)."""
    header, rule = _CHARSET.search(declared), _CSS_CHARSET.match(body)
    label = header.group(1) if header else rule.group(1).decode("ascii") if rule else None
    return codec_for_label(label) or "utf-8"


def safe_type(declared: str) -> str:
    """The captured Content-Type reduced to one we show as is, with its charset."""
    mime = _mime(declared)
    charset = _CHARSET.search(declared)
    if mime in ("application/xhtml+xml",):
        mime = "text/html"
    if mime not in _SHOWN_AS_IS:
        mime = "text/plain"
    if mime.startswith("text/") and charset:
        return f"{mime}; charset={charset.group(1)}"
    return mime
