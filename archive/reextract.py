"""A capture's text made again from its WARC, by today's extractor.

Two texts made by different extractors (a new trafilatura, a new walk of ours) differ where
the page did not: a diff between them would report a change only the extractor made. The
WARC keeps the page as received, so both sides can be extracted again by one extractor.
"""

from __future__ import annotations

from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.capture import DECODED_FACTOR, start_text
from archive.errors import FetchError
from archive.fetch import decode_payload_for_text
from archive.text import MAX_HTML_BYTES, PageText, decoded_markup
from archive.textpool import inline

MAX_RECORDS = 10_000  # a capture WARC holds a request and a response per redirect
MAX_PAYLOAD_BYTES = 50_000_000  # the default fetch cap (archive.fetch.Fetcher.max_bytes)


def text_from_warc(path_or_fileobj: Any, url: str) -> PageText | None:
    """The text of the response for ``url`` in a WARC (None: no such response, or one whose
    stream is cut), made as :func:`archive.capture.capture` makes a fetched page's, by
    :func:`archive.capture.start_text` from the payload as received: a payload that does not
    decode has no text and a note, as it had when captured, never its raw bytes as text."""
    response = _response(path_or_fileobj, url)
    if response is None:
        return None
    payload, encoding, content_type = response
    try:
        return start_text(payload, encoding, content_type, url,
                          MAX_PAYLOAD_BYTES * DECODED_FACTOR, inline)()
    except FetchError:
        return None  # a cut stream: no text may stand for the page


def markup_from_warc(path_or_fileobj: Any, url: str) -> str | None:
    """The HTML of the response for ``url`` in a WARC, decoded as its text was (content
    coding undone, then the charset a browser would use), for a reader of the whole page;
    None when there is no such response, its stream is cut or does not decode, or it is not
    HTML. Never the bytes as sent: a gzipped or unlabelled page read raw is mojibake."""
    response = _response(path_or_fileobj, url)
    if response is None:
        return None
    payload, encoding, content_type = response
    try:
        body = decode_payload_for_text(payload, encoding, url, keep=MAX_HTML_BYTES,
                                       limit=MAX_PAYLOAD_BYTES * DECODED_FACTOR)
    except FetchError:
        return None
    return decoded_markup(body.data, content_type)


def _response(path_or_fileobj: Any, url: str) -> tuple[bytes, str | None, str | None] | None:
    """The payload as received of the response for ``url``, with its Content-Encoding and
    Content-Type; None when the WARC has none (or more records than a capture makes) or the
    payload is larger than any capture keeps."""
    opened = hasattr(path_or_fileobj, "read")
    fh = path_or_fileobj if opened else open(path_or_fileobj, "rb")  # noqa: SIM115
    try:
        for count, record in enumerate(ArchiveIterator(fh)):
            if count > MAX_RECORDS:
                return None
            if record.rec_type != "response":
                continue
            if record.rec_headers.get_header("WARC-Target-URI") != url:
                continue
            headers = record.http_headers
            content_type = headers.get_header("Content-Type") if headers else None
            encoding = headers.get_header("Content-Encoding") if headers else None
            payload = record.raw_stream.read(MAX_PAYLOAD_BYTES + 1)  # as received, encoded
            if len(payload) > MAX_PAYLOAD_BYTES:
                return None  # larger than any capture keeps: not a page to compare
            return payload, encoding, content_type
    finally:
        if not opened:
            fh.close()
    return None
