"""Writing a fetch as a WARC/1.1 file and checking one later.

Layout of a capture WARC (gzip, one member per record)::

    warcinfo                      software, format
    request  / response           one pair per HTTP hop, redirects included
    metadata (application/json)   final URL, redirect chain, timing, the caller's metadata;
                                  its WARC-Target-URI is ``urn:provenance:metadata:<uuid>``
                                  (see :func:`metadata_uri`), so replay serves the page

Digests are SHA-256 (``sha256:BASE32``, as warcio and the WARC 1.1 spec write them); warcio
writes SHA-1 by default, so the writer overrides its digester. The HTTP heads are written
byte for byte as sent and received; the payload is the body as received (compressed bodies
stay compressed). One exception keeps the record readable: when the server used chunked
transfer coding, the framing is not in the body (requests removes it), so the head's
``Transfer-Encoding: chunked`` line is renamed ``X-Provenance-Orig-Transfer-Encoding`` and the
metadata record says so.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as _version
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from archive.fetch import TOOL_VERSION, Exchange, FetchResult, utc_now

SOFTWARE = f"provenance/{TOOL_VERSION} (warcio/{_version('warcio')})"
DIGEST_ALGORITHM = "sha256"
_CHUNKED_LINE = b"\r\ntransfer-encoding: chunked\r\n"
_RENAMED = b"X-Provenance-Orig-Transfer-Encoding"
GZIP_LEVEL = 6  # zlib's default; warcio's 9 took 1.8x the time on real pages for 0.5 % less


class _Sha256WARCWriter(WARCWriter):
    """warcio's writer with SHA-256 block and payload digests instead of SHA-1."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester(DIGEST_ALGORITHM)


class _GzipMembers:
    """``out`` written as one gzip member per WARC record, at :data:`GZIP_LEVEL`.

    warcio compresses at level 9: on trafilatura's 990 real pages that costs 4.2 ms of CPU a
    page against 2.4 ms at level 6, for 21.2 % against 21.3 % of the size. The writer is
    given this stream with its own gzip off; it flushes the stream at the end of every
    record, which ends the member (the framing readers and ``verify_warc`` expect)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self._compressor = self._new()

    @staticmethod
    def _new() -> Any:
        return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        self.out.write(self._compressor.compress(data))

    def flush(self) -> None:
        self.out.write(self._compressor.flush())
        self.out.flush()
        self._compressor = self._new()


class _QuietIterator(ArchiveIterator):
    """warcio's iterator without its stderr warning; verify_warc reports ``err_count``."""

    INC_RECORD = ""


class _ExactHeaders(StatusAndHeaders):
    """HTTP headers that serialize to exactly the bytes they were parsed from."""

    def __init__(self, raw: bytes, *, is_request: bool) -> None:
        verbs = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
                 "TRACE"] if is_request else None
        parsed = StatusAndHeadersParser(verbs, verify=False).parse(io.BytesIO(raw))
        super().__init__(parsed.statusline, parsed.headers, parsed.protocol)
        self._raw = raw
        self.headers_buff = raw

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self._raw


def warc_response_head(ex: Exchange) -> bytes:
    """The response head as written in the WARC (see the module docstring for chunked)."""
    head = ex.response_head
    lower = head.lower()
    start = lower.find(_CHUNKED_LINE)
    if start < 0 or not _dechunked(ex):
        return head
    name_at = start + 2
    return head[:name_at] + _RENAMED + head[name_at + len("transfer-encoding"):]


def _dechunked(ex: Exchange) -> bool:
    return (ex.header("transfer-encoding") or "").strip().lower() == "chunked"


def write_capture_warc(result: FetchResult, out: BinaryIO, *,
                       metadata: dict[str, Any] | None = None) -> None:
    """Write ``result`` to ``out`` as a gzipped WARC/1.1 (warcinfo, request/response per hop,
    metadata)."""
    writer = new_writer(out, _request_header(result.exchanges[0], "user-agent")
                        if result.exchanges else None)
    final_response_id = None
    hops = []
    for ex in result.exchanges:
        final_response_id = write_exchange(writer, ex)
        hops.append(_hop(ex))
    doc = {
        "software": SOFTWARE,
        "url": result.url,
        "final_url": result.final_url,
        "redirects": result.redirects,
        "fetched_at": result.fetched_at,
        "hops": hops,
        "metadata": metadata or {},
    }
    write_metadata(writer, doc, final_response_id,
                   result.final.started_at if result.exchanges else None)


def new_writer(out: BinaryIO, user_agent: str | None) -> WARCWriter:
    """A gzipped WARC/1.1 writer with SHA-256 digests, its warcinfo record written."""
    writer = _Sha256WARCWriter(_GzipMembers(out), gzip=False, warc_version="1.1")
    info = {
        "software": SOFTWARE,
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                      "warc-format/warc-1.1/",
        "http-header-user-agent": user_agent,
        "digest-algorithm": DIGEST_ALGORITHM,
    }
    writer.write_record(writer.create_warcinfo_record("", info))
    return writer


def write_exchange(writer: WARCWriter, ex: Exchange) -> str:
    """One HTTP hop as a request and a response record; returns the response's record id."""
    request_id = writer._make_warc_id()
    response_id = writer._make_warc_id()
    common = {"WARC-Date": _warc_date(ex.started_at)}
    if ex.ip_address:
        common["WARC-IP-Address"] = ex.ip_address
    request = writer.create_warc_record(
        ex.url, "request", payload=io.BytesIO(ex.request_body), length=len(ex.request_body),
        http_headers=_ExactHeaders(ex.request_head, is_request=True),
        warc_headers_dict={**common, "WARC-Record-ID": request_id,
                           "WARC-Concurrent-To": response_id})
    response = writer.create_warc_record(
        ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body),
        http_headers=_ExactHeaders(warc_response_head(ex), is_request=False),
        warc_headers_dict={**common, "WARC-Record-ID": response_id,
                           "WARC-Concurrent-To": request_id})
    writer.write_record(request)
    writer.write_record(response)
    return str(response_id)


def write_metadata(writer: WARCWriter, doc: dict[str, Any], refers_to: str | None,
                   date: str | None) -> None:
    """The closing metadata record (JSON) of a capture WARC."""
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    extra = {"WARC-Concurrent-To": refers_to, "WARC-Refers-To": refers_to} if refers_to else {}
    if date:
        extra["WARC-Date"] = _warc_date(date)
    record = writer.create_warc_record(metadata_uri(refers_to or writer._make_warc_id()),
                                       "metadata", payload=io.BytesIO(body),
                                       length=len(body), warc_content_type="application/json",
                                       warc_headers_dict=extra)
    writer.write_record(record)


def _hop(ex: Exchange) -> dict[str, Any]:
    return {"url": ex.url, "status": ex.status, "started_at": ex.started_at,
            "elapsed": round(ex.elapsed, 6), "ip_address": ex.ip_address,
            "body_bytes": len(ex.body),
            "transfer_encoding_removed": "chunked" if _dechunked(ex) else None}


def metadata_uri(response_id: str) -> str:
    """The metadata record's WARC-Target-URI: a name of its own, never the page's URL.

    Replay tools index every record with a target URI but ``request``, ``warcinfo`` and
    ``application/warc-fields``; pywb indexed our JSON under the page's URL at the same
    second as the page and served it instead of the page. The record still names the page
    (``final_url`` in its JSON) and its response (``WARC-Refers-To``)."""
    return "urn:provenance:metadata:" + response_id.strip("<>").rsplit(":", 1)[-1]


def _request_header(ex: Exchange, name: str) -> str | None:
    prefix = name.lower().encode() + b":"
    for line in ex.request_head.split(b"\r\n")[1:]:
        if line.lower().startswith(prefix):
            return line[len(prefix):].strip().decode("latin-1")
    return None


def _warc_date(rfc3339: str) -> str:
    return rfc3339 or utc_now()  # already RFC 3339 UTC ("...Z"), as WARC-Date wants


# --- reading back ---------------------------------------------------------------------------


@contextmanager
def _open(path_or_fileobj: str | Any) -> Iterator[BinaryIO]:
    if not isinstance(path_or_fileobj, (str, bytes)) and hasattr(path_or_fileobj, "read"):
        path_or_fileobj.seek(0)
        yield path_or_fileobj
    else:
        with open(path_or_fileobj, "rb") as fh:
            yield fh


def verify_warc(path_or_fileobj: str | Any) -> list[str]:
    """Problems found in a WARC (empty list: intact).

    Checks the gzip framing (CRC and length of every member, truncation), that every record
    carries a block digest, and every block and payload digest (warcio ``check_digests``).
    """
    problems: list[str] = []
    with _open(path_or_fileobj) as fh:
        if fh.read(2) == b"\x1f\x8b":  # gzip: every member's CRC and length, and truncation
            fh.seek(0)
            try:
                with gzip.GzipFile(fileobj=fh) as gz:
                    while gz.read(1 << 20):
                        pass
            except (OSError, EOFError, zlib.error) as exc:
                problems.append(f"gzip stream damaged: {exc}")
        fh.seek(0)
        count = 0
        try:
            iterator = _QuietIterator(fh, check_digests=True)
            for record in iterator:
                count += 1
                rid = record.rec_headers.get_header("WARC-Record-ID") or f"#{count}"
                where = f"{record.rec_type} record {rid}"
                if not record.rec_headers.get_header("WARC-Block-Digest"):
                    problems.append(f"{where} has no WARC-Block-Digest")
                while record.raw_stream.read(1 << 20):
                    pass
                target = record.rec_headers.get_header("WARC-Target-URI") or ""
                for problem in record.digest_checker.problems:
                    problems.append(f"{where} <{target}>: {problem}")
            if iterator.err_count:
                problems.append(f"{iterator.err_count} record(s) not followed by a blank line "
                                "(a Content-Length does not match its record)")
        except (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError) as exc:
            problems.append(f"WARC unreadable after {count} records: {_first_line(exc)}")
        if count == 0 and not problems:
            problems.append("no WARC records")
    return problems


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def read_response_payload(path_or_fileobj: str | Any, url: str | None = None) -> bytes:
    """The payload (body as received) of the response for ``url``, or of the last response."""
    found: bytes | None = None
    with _open(path_or_fileobj) as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                continue
            if url is not None and record.rec_headers.get_header("WARC-Target-URI") != url:
                continue
            found = record.raw_stream.read()
            if url is not None:
                break
    if found is None:
        raise KeyError(f"no response record{' for ' + url if url else ''} in the WARC")
    return found
