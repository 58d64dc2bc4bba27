"""A capture's text made again from its WARC, by today's extractor.

Two texts made by different extractors (a new trafilatura, a new walk of ours) differ where
the page did not: a diff between them would report a change only the extractor made. The
WARC keeps the page as received, so both sides can be extracted again by one extractor.
"""

from __future__ import annotations

from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.text import MAX_HTML_BYTES, PageText, extract_text

MAX_RECORDS = 10_000  # a capture WARC holds a request and a response per redirect


def text_from_warc(path_or_fileobj: Any, url: str) -> PageText | None:
    """The text of the response for ``url`` in a WARC (None: no such response), read as
    :func:`archive.capture.capture` reads a fetched page: at most MAX_HTML_BYTES decoded."""
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
            content_type = record.http_headers.get_header("Content-Type") \
                if record.http_headers else None
            body = record.content_stream().read(MAX_HTML_BYTES + 1)
            return extract_text(body, content_type, url)
    finally:
        if not opened:
            fh.close()
    return None
