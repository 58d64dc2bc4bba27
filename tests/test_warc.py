"""The capture WARC: warcio reads it back, its SHA-256 digests hold, its bytes are exact."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.archiveiterator import ArchiveIterator
from webfixtures import CHUNKS, GZIP_BODY, RU_UTF8

from archive.capture import capture
from archive.fetch import Fetcher
from archive.warc import read_response_payload, verify_warc, write_capture_warc


def _warc(result, **kw) -> bytes:
    out = io.BytesIO()
    write_capture_warc(result, out, **kw)
    return out.getvalue()


def _records(data: bytes) -> list[tuple[dict, bytes, bytes | None]]:
    """(WARC headers, raw block payload, http head) for every record, digests checked."""
    found = []
    iterator = ArchiveIterator(io.BytesIO(data), check_digests="raise")
    for record in iterator:
        headers = dict(record.rec_headers.headers)
        found.append((headers, record.raw_stream.read(), record.http_headers))
    return found


@pytest.fixture(scope="module")
def redirected(web):
    return Fetcher().fetch(web.url("/redirect/1"))


def test_records_in_order_with_sha256_digests(redirected):
    records = _records(_warc(redirected, metadata={"batch": "b1"}))
    types = [h["WARC-Type"] for h, _, _ in records]
    assert types == ["warcinfo", "request", "response", "request", "response", "metadata"]
    for headers, _, _ in records[1:]:
        assert headers["WARC-Block-Digest"].startswith("sha256:")
        assert headers["WARC-Payload-Digest"].startswith("sha256:")
    info = records[0][1].decode()
    assert "software: provenance/" in info and "warcio/" in info


def test_request_and_response_are_linked_and_exact(redirected):
    records = _records(_warc(redirected))
    for i, ex in enumerate(redirected.exchanges):
        req_h, req_body, req_http = records[1 + 2 * i]
        resp_h, resp_body, _ = records[2 + 2 * i]
        assert req_h["WARC-Target-URI"] == resp_h["WARC-Target-URI"] == ex.url
        assert req_h["WARC-Concurrent-To"] == resp_h["WARC-Record-ID"]
        assert resp_h["WARC-Concurrent-To"] == req_h["WARC-Record-ID"]
        assert resp_h["WARC-IP-Address"] == "127.0.0.1"
        assert resp_h["WARC-Date"] == ex.started_at
        assert resp_body == ex.body
        digest = base64.b32encode(hashlib.sha256(ex.body).digest()).decode()
        assert resp_h["WARC-Payload-Digest"] == f"sha256:{digest}"
        assert req_body == b"" and req_http.statusline.startswith("/")
    assert records[-2][1] == RU_UTF8


def test_http_block_is_byte_exact(web):
    result = Fetcher().fetch(web.url("/gzip"))
    data = _warc(result)
    with_heads = io.BytesIO(data)
    for record in ArchiveIterator(with_heads, check_digests="raise"):
        if record.rec_type == "response":
            break
    # The block is the response head as received followed by the body as received.
    block_digest = record.rec_headers.get_header("WARC-Block-Digest")
    exact = result.final.response_head + GZIP_BODY
    expected = base64.b32encode(hashlib.sha256(exact).digest()).decode()
    assert block_digest == f"sha256:{expected}"
    assert read_response_payload(io.BytesIO(data)) == GZIP_BODY  # still gzip-compressed


def test_metadata_record(redirected):
    headers, body, _ = _records(_warc(redirected, metadata={"batch": "b1"}))[-1]
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["final_url"] == redirected.final_url
    assert doc["redirects"] == redirected.redirects
    assert doc["metadata"] == {"batch": "b1"}
    assert [hop["status"] for hop in doc["hops"]] == [302, 200]


def test_chunked_response_reads_back(web):
    result = Fetcher().fetch(web.url("/chunked"))
    data = _warc(result)
    assert verify_warc(io.BytesIO(data)) == []
    for record in ArchiveIterator(io.BytesIO(data)):
        if record.rec_type == "response":
            assert record.content_stream().read() == b"".join(CHUNKS)


def test_verify_and_read_back_from_a_file(tmp_path, redirected):
    path = tmp_path / "c.warc.gz"
    path.write_bytes(_warc(redirected))
    assert verify_warc(str(path)) == []
    assert read_response_payload(str(path)) == RU_UTF8
    assert read_response_payload(str(path), url=redirected.redirects[0]) == b""
    with pytest.raises(KeyError):
        read_response_payload(str(path), url="http://elsewhere/")


def test_truncated_warc_is_reported(tmp_path, redirected):
    data = _warc(redirected)
    path = tmp_path / "t.warc.gz"
    path.write_bytes(data[: len(data) - 40])
    assert verify_warc(str(path))


@pytest.fixture(scope="module")
def warc_bytes(redirected) -> bytes:
    return _warc(redirected)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255))
def test_any_flipped_byte_is_reported(warc_bytes, position, flip):
    warc = bytearray(warc_bytes)
    index = int(position * len(warc))
    warc[index] ^= flip
    if verify_warc(io.BytesIO(bytes(warc))):
        return
    # Only bytes no checksum covers may pass: a gzip member's MTIME/XFL/OS header fields,
    # which change nothing in the WARC itself (the store's file hash still catches them).
    assert gzip.decompress(bytes(warc)) == gzip.decompress(warc_bytes), f"byte {index} missed"


def test_flipped_payload_byte_in_an_uncompressed_warc(redirected):
    """Without gzip's CRC in the way, the payload digest itself must catch the change."""
    from archive.warc import _ExactHeaders, _Sha256WARCWriter

    out = io.BytesIO()
    writer = _Sha256WARCWriter(out, gzip=False, warc_version="1.1")
    ex = redirected.final
    writer.write_record(writer.create_warc_record(
        ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body),
        http_headers=_ExactHeaders(ex.response_head, is_request=False)))
    data = bytearray(out.getvalue())
    assert verify_warc(io.BytesIO(bytes(data))) == []
    at = data.index(b"9 861")
    data[at] = ord("8")
    problems = verify_warc(io.BytesIO(bytes(data)))
    assert any("digest" in p for p in problems), problems


def test_capture_bundles_warc_text_and_hashes(web):
    cap = capture(web.url("/gzip"), Fetcher(), metadata={"who": "test"})
    assert cap.sha256 == hashlib.sha256(GZIP_BODY).hexdigest()
    assert cap.text_sha256 == hashlib.sha256(cap.text.text.encode()).hexdigest()
    assert "9 861 человек убитыми" in cap.text.text
    assert verify_warc(io.BytesIO(cap.warc)) == []
    assert read_response_payload(io.BytesIO(cap.warc)) == GZIP_BODY


def test_our_warc_replays_in_pywb_as_the_page(pywb, tmp_path):
    """``wb-manager add`` of a capture, then replay: pywb serves the page, not our JSON
    metadata record (once indexed under the page's URL at the same second, and served)."""
    import requests
    from webfixtures import WebServer

    with WebServer() as gone:  # the page's server stops: pywb can only replay our WARC
        result = Fetcher().fetch(gone.url("/ru/utf8"))
    path = tmp_path / "capture-replay.warc.gz"
    path.write_bytes(_warc(result, metadata={"batch": "b1"}))
    pywb.add_warc(path)
    stamp = result.final.started_at.replace("-", "").replace(":", "").replace("T", "")[:14]
    raw = requests.get(f"{pywb.base}/{stamp}id_/{result.final_url}", timeout=20)
    assert raw.status_code == 200 and raw.content == RU_UTF8
    assert raw.headers["Content-Type"].startswith("text/html")
    framed = requests.get(f"{pywb.base}/{stamp}/{result.final_url}", timeout=20)
    assert framed.status_code == 200 and f"{stamp}" in framed.text
    page = requests.get(f"{pywb.base}/{stamp}mp_/{result.final_url}", timeout=20)  # in frame
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert RU_UTF8.decode("utf-8")[-200:].strip()[:40] in page.text
    assert '"final_url"' not in page.text and '"final_url"' not in raw.text


def test_the_metadata_record_names_the_page_without_being_it(redirected):
    data = _warc(redirected)
    records = list(ArchiveIterator(io.BytesIO(data)))
    (meta,) = [r for r in records if r.rec_type == "metadata"]
    target = meta.rec_headers.get_header("WARC-Target-URI")
    assert target.startswith("urn:provenance:metadata:") and target != redirected.final_url
    final_id = [r for r in ArchiveIterator(io.BytesIO(data))
                if r.rec_type == "response"][-1].rec_headers.get_header("WARC-Record-ID")
    assert meta.rec_headers.get_header("WARC-Refers-To") == final_id


def _members(data: bytes) -> list[bytes]:
    """The gzip members of ``data``, each as its compressed bytes."""
    members, rest = [], data
    while rest:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(rest)
        assert inflater.eof, "a gzip member is cut off"
        used = len(rest) - len(inflater.unused_data)
        members.append(rest[:used])
        rest = inflater.unused_data
    return members


def test_one_gzip_member_a_record_at_the_default_level(redirected):
    """Each record is its own gzip member (what replay tools seek to), compressed at zlib's
    default level: warcio's level 9 cost 1.8x the CPU on real pages for 0.5 % of size.
    (A member's XFL byte says the level: 2 for 9, 0 for the default.)"""
    data = _warc(redirected)
    members = _members(data)
    assert len(members) == len(_records(data)) == 6  # warcinfo, 2 hops x 2, metadata
    assert [m[8] for m in members] == [0] * len(members)
    for member in members:  # every member alone is one whole record
        assert len(_records(member)) == 1
