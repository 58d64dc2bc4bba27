"""One URL in, one capture out: the fetch, its WARC bytes, its text and their hashes.

This is the single call the evidence side (``provenance``) makes per URL; it holds no store
and writes no file, so it can be used, and tested, on its own. With a
:class:`~archive.textpool.TextPool` the text is extracted in a worker process while this
thread writes the WARC (the same function on the same bytes: the same text).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archive.blockpage import MAX_MARKUP, MAX_TEXT_CHARS, MAX_WORDS, BlockPage, detect
from archive.errors import FetchError
from archive.fetch import Exchange, Fetcher, FetchResult, decode_payload_for_text
from archive.text import MAX_HTML_BYTES, PageText
from archive.textpool import Pending, TextPool, inline
from archive.warc import write_capture_warc

DECODED_FACTOR = 4  # decoding work allowed: this many times the fetch byte cap


@dataclass
class Capture:
    """A fetched page ready to be stored: ``sha256`` is of the final body as received."""

    result: FetchResult
    warc: bytes
    text: PageText
    sha256: str
    text_sha256: str
    blocked: BlockPage | None = None  # a bot check or captcha was served, not the page


def capture(url: str, fetcher: Fetcher, *, metadata: dict[str, Any] | None = None,
            texts: TextPool | None = None) -> Capture:
    """Fetch ``url`` and build its WARC and text; raises BadUrl or FetchError.

    ``texts``: extract the text in its worker processes (default: in this thread)."""
    result = fetcher.fetch(url)
    final = result.final
    start = texts.start if texts is not None else inline
    pending = start_text(final.body, final.header("content-encoding"),
                         final.header("content-type"), result.final_url,
                         max(fetcher.max_bytes, 1) * DECODED_FACTOR, start)
    try:  # the WARC is written while a worker extracts the text
        buffer = io.BytesIO()
        write_capture_warc(result, buffer, metadata=metadata)
        sha256 = hashlib.sha256(final.body).hexdigest()
    finally:
        text = pending()  # always waited for: the worker is ours until then
    return Capture(
        result=result,
        warc=buffer.getvalue(),
        text=text,
        sha256=sha256,
        text_sha256=hashlib.sha256(text.text.encode("utf-8")).hexdigest(),
        blocked=blocked_page(final, text, final.status, final.headers),
    )


def blocked_page(final: Exchange, text: PageText, status: int | None,
                 headers: list[tuple[str, str]]) -> BlockPage | None:
    """The bot check, captcha or "access denied" page the server sent instead of the page,
    judged on its status, headers, title, text and (a short page only) its markup.
    ``status`` and ``headers``: the page's (an archive's copy has its own and the page's)."""
    if len(text.text) > MAX_TEXT_CHARS or len(text.text.split()) > MAX_WORDS:
        return None  # an article: never read for a challenge's markup (nor split whole)
    try:
        markup: bytes | None = decode_payload_for_text(
            final.body, final.header("content-encoding"), final.url, keep=MAX_MARKUP,
            limit=MAX_MARKUP * DECODED_FACTOR).data
    except FetchError:
        markup = None  # undecodable or cut: judged on its words alone
    return detect(status, text.title, text.text, headers=headers, markup=markup)


Start = Callable[[bytes, "str | None", str], Pending]  # TextPool.start, or in this thread


def start_text(payload: bytes, content_encoding: str | None, content_type: str | None,
               url: str, limit: int, start: Start) -> Pending:
    """Start making a response's text as every capture makes it (``start``: where); the
    returned call waits for it. One way for a fetch and for a WARC read again (history),
    so a page never has one text when captured and another when extracted again.

    A payload that does not decode (mislabelled bytes) has no text, and a note says so;
    one whose stream is cut raises FetchError ``incomplete`` (no text may stand for it).
    Extraction that fails (a bug of ours) gives no text and a note: the bytes are kept."""
    try:
        body = decode_payload_for_text(payload, content_encoding, url,
                                       keep=MAX_HTML_BYTES + 1, limit=limit)
    except FetchError as exc:
        if exc.reason != "bad-encoding":
            raise  # a cut gzip stream: a failed fetch, not a capture
        # The server sent bytes it mislabelled; they are still evidence, the text is not known.
        bad = PageText(title=None, text="", note=f"no text: {exc}")
        return lambda: bad
    pending = start(body.data, content_type, url)
    cut = None if body.checked else (
        f"the body decodes to more than {body.size} bytes: its end was not read")

    def wait() -> PageText:
        text = _text_or_note(pending)
        if cut:
            text.note = "; ".join(filter(None, [text.note, cut]))
        return text
    return wait


def _text_or_note(pending: Pending) -> PageText:
    """The page's text; if extraction fails (a bug of ours on odd markup), no text and a
    note saying so: the bytes as received are the evidence and are kept all the same."""
    try:
        return pending()
    except Exception as exc:  # noqa: BLE001 - never lose a capture to its text
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return PageText(title=None, text="", note=f"no text: extracting it failed "
                        f"({type(exc).__name__}{': ' + first if first else ''}; a bug in "
                        "provenance, please report it)")
