"""A captured page shown again from our own WARC, never from the live site.

The response the capture ended on (after redirects) is read from the capture's WARC, which
the store re-hashes first (:meth:`Store.read_verified`); its Content-Encoding is undone by
warcio with a bound on the decoded size (a bomb stops there). The page is then served with
its own character set, under :data:`provenance.web.security.REPLAY_POLICY`: sandboxed with
no script, and nothing loaded from anywhere, so replaying a page never contacts its site
(its images show as missing: they were not part of the capture).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from provenance.errors import ProvenanceError

MAX_REPLAY_BYTES = 32 * 1024 * 1024
"""The most of a decoded body a replay serves."""
MAX_RECORDS = 10_000
_SHOWN_AS_IS = {"text/html", "text/plain", "image/png", "image/jpeg", "image/gif",
                "image/webp"}
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]{1,40})", re.I)


@dataclass(frozen=True)
class Replay:
    """The body to show and the Content-Type to show it with."""

    body: bytes
    content_type: str
    url: str


def replay_from_warc(warc: bytes, url: str | None) -> Replay:
    """The decoded body of the response for ``url`` in ``warc`` (the last response if no
    record names ``url``), with a safe Content-Type: HTML, plain text and common images as
    they are, anything else as plain text."""
    found: Replay | None = None
    try:
        for count, record in enumerate(ArchiveIterator(io.BytesIO(warc))):
            if count > MAX_RECORDS:
                break
            if record.rec_type != "response":
                continue
            target = record.rec_headers.get_header("WARC-Target-URI") or ""
            declared = (record.http_headers.get_header("Content-Type") or ""
                        if record.http_headers else "")
            body = record.content_stream().read(MAX_REPLAY_BYTES + 1)
            if len(body) > MAX_REPLAY_BYTES:
                raise ProvenanceError(f"the page is larger than {MAX_REPLAY_BYTES >> 20} MiB "
                                      "decoded: not replayed")
            found = Replay(body, safe_type(declared), target)
            if url is not None and target == url:
                break
    except (ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
        raise ProvenanceError(f"the WARC holds no readable response "
                              f"({str(exc).strip() or type(exc).__name__})") from None
    if found is None:
        raise ProvenanceError("the WARC holds no response to replay")
    return found


def safe_type(declared: str) -> str:
    """The captured Content-Type reduced to one we show as is, with its charset."""
    mime = declared.split(";")[0].strip().lower()
    charset = _CHARSET.search(declared)
    if mime in ("application/xhtml+xml",):
        mime = "text/html"
    if mime not in _SHOWN_AS_IS:
        mime = "text/plain"
    if mime.startswith("text/") and charset:
        return f"{mime}; charset={charset.group(1)}"
    return mime
