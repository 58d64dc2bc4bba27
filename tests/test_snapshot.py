"""An archive's copy kept as evidence: fetched once, raw, written as a WARC, digests checked."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from webfixtures import GZIP_BODY, RU_UTF8

from archive.cdx import parse_cdx_page
from archive.errors import WitnessError
from archive.fetch import Fetcher
from archive.memento import ExcludedByArchive
from archive.ratelimit import Backoff, RateLimiter
from archive.snapshot import DigestCheck, SnapshotRef, fetch_snapshot, sha1_base32
from archive.warc import read_response_payload, verify_warc
from archive.witness import WitnessConfig, WitnessSpec, open_witness

CASSETTES = Path(__file__).parent / "realworld_wayback"


def witness(wayback):
    cfg = WitnessConfig(ia_save_interval=0.0, ia_read_interval=0.0, timeout=(2, 10),
                        backoff=Backoff(tries=2, base=0.05, cap=0.1))
    return open_witness(WitnessSpec.parse("ia"), cfg, env={"PROVENANCE_WAYBACK": wayback.base})


def records(copy):
    out = io.BytesIO()
    copy.write_warc(out)
    data = out.getvalue()
    assert verify_warc(io.BytesIO(data)) == []
    found = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
             for r in ArchiveIterator(io.BytesIO(data), check_digests="raise")]
    return data, found


def test_a_snapshot_is_kept_as_a_warc_of_its_raw_copy(wayback, web):
    url = web.url("/ru/utf8")
    w = witness(wayback)
    w.client.save(url)
    (row,) = w.snapshots(url)
    before = len(wayback.hits("/web/"))
    copy = w.fetch_snapshot(row)
    assert len(wayback.hits("/web/")) == before + 1  # fetched once
    assert copy.status == 200 and copy.sha256 == hashlib.sha256(RU_UTF8).hexdigest()
    assert copy.digest_check is DigestCheck.AGREES and copy.agrees is True
    assert copy.ref.raw_url == f"{wayback.base}/web/{row.timestamp}id_/{url}"
    assert copy.memento_datetime == row.captured_at
    data, found = records(copy)
    assert [kind for kind, _, _ in found] == ["warcinfo", "request", "response", "metadata"]
    assert found[2][1] == copy.ref.raw_url and found[2][2] == RU_UTF8  # never the replay
    meta = json.loads(found[3][2])["metadata"]["snapshot"]
    assert meta["archive"] == "ia" and meta["original_url"] == url
    assert meta["memento_datetime"] == row.captured_at and meta["timestamp"] == row.timestamp
    assert meta["cdx_digest"] == f"sha1:{row.digest}" and meta["digest_check"] == "agrees"
    assert read_response_payload(io.BytesIO(data)) == RU_UTF8


def test_a_compressed_copy_agrees_with_a_digest_of_the_stored_bytes(wayback, web):
    """Our server's index hashes the gzip bytes as stored, as pywb does."""
    url = web.url("/gzip")
    w = witness(wayback)
    w.client.save(url)
    (row,) = w.snapshots(url)
    copy = w.fetch_snapshot(row)
    assert row.digest == sha1_base32(GZIP_BODY)
    assert copy.agrees is True and copy.sha256 == hashlib.sha256(GZIP_BODY).hexdigest()


def test_real_ia_digest_covers_the_decoded_payload(wayback):
    """web.archive.org gzips zew.de's 1997 page on the fly; its CDX digest is the SHA-1 of
    the page itself. The other row at the same second names another payload: differs."""
    wayback.replay(CASSETTES / "test_memento_rate_limits.json")
    recorded = json.loads((CASSETTES / "test_memento_rate_limits.json").read_text())
    cdx = base64.b64decode(recorded["interactions"][0]["body_base64"])
    rows = parse_cdx_page(gzip.decompress(cdx).decode()).rows  # the first of its pages
    same_second = [r for r in rows if r.timestamp == "19970427191925"]
    assert [r.digest for r in same_second] == ["GOE2BMK6YVBA6HNPZJW2N5SHBJPHJBD4",
                                               "YHY3SP2A6U2P6RAWJOXO3QEJDDZLWYJY"]
    raw = f"{wayback.base}/web/19970427191925id_/http://www.zew.de/"
    checks = []
    for row in same_second:
        ref = SnapshotRef("ia", "http://www.zew.de/", row.timestamp,
                          f"{wayback.base}/web/19970427191925/http://www.zew.de/", raw, row.digest)
        checks.append(fetch_snapshot(ref).digest_check)
    assert checks == [DigestCheck.AGREES, DigestCheck.DIFFERS]


def test_a_forged_digest_is_not_agreement(wayback, web):
    url = web.url("/ru/utf8")
    w = witness(wayback)
    w.client.save(url)
    (row,) = w.snapshots(url)
    ref = w.snapshot_ref(row)
    forged = SnapshotRef(ref.archive, ref.original, ref.timestamp, ref.memento_url, ref.raw_url,
                         sha1_base32(RU_UTF8 + b" "))
    assert fetch_snapshot(forged).agrees is False
    bare = SnapshotRef(ref.archive, ref.original, ref.timestamp, ref.memento_url, ref.raw_url)
    assert fetch_snapshot(bare).agrees is None


def test_an_archived_redirect_is_kept_as_the_redirect(wayback):
    wayback.replay(CASSETTES /
                   "test_get_memento_follow_redirects_does_not_follow_historical_redirects.json")
    raw = f"{wayback.base}/web/20200201023757id_/https://www.epa.gov/climatechange"
    ref = SnapshotRef("ia", "https://www.epa.gov/climatechange", "20200201023757",
                      raw.replace("id_", ""), raw)
    copy = fetch_snapshot(ref, limiter=RateLimiter(0.0))
    assert copy.status == 301 and len(copy.result.exchanges) == 1
    assert copy.memento_datetime == "2020-02-01T02:37:57Z"
    _, found = records(copy)
    assert [(kind, target) for kind, target, _ in found if kind == "response"] == [
        ("response", raw)]


def test_an_exclusion_page_is_not_a_copy(wayback):
    wayback.replay(CASSETTES / "test_get_memento_raises_blocked_error.json")
    raw = f"{wayback.base}/web/20170929002712id_/https://nationalpost.com/health/"
    ref = SnapshotRef("ia", "https://nationalpost.com/health/", "20170929002712", raw, raw)
    with pytest.raises(ExcludedByArchive, match="excluded"):
        fetch_snapshot(ref)


def test_a_copy_of_another_time_is_refused(wayback, web):
    url = web.url("/ru/utf8")
    w = witness(wayback)
    w.client.save(url)
    (row,) = w.snapshots(url)
    wayback.raw_memento_datetime = "Fri, 24 Nov 2017 15:13:15 GMT"
    with pytest.raises(WitnessError, match="got 20171124151315"):
        w.fetch_snapshot(row)


def test_a_copy_over_the_size_cap_is_refused(wayback, web):
    url = web.url("/ru/utf8")
    w = witness(wayback)
    w.client.save(url)
    (row,) = w.snapshots(url)
    with pytest.raises(WitnessError, match="too large") as caught:
        fetch_snapshot(w.snapshot_ref(row), fetcher=Fetcher(max_bytes=100))
    assert not caught.value.retryable


def test_a_raw_copy_redirected_to_the_replay_page_is_refused(web):
    """The archive answers the raw copy (``id_``) with a redirect to its replay of the same
    snapshot: the banner and rewritten links it adds are not the page, and its text would
    show as an edit of the page in history."""
    from webfixtures import send

    stamp, original = "20220321140307", "http://x.test/page"
    prefix = "/replay-archive"

    def answer(h):
        if f"/web/{stamp}id_/" in h.path:
            return send(h, 302, b"", {"Location": web.url(f"{prefix}/web/{stamp}/{original}")})
        return send(h, 200, b"<div id='wm-ipp'>Wayback Machine</div><p>The page.</p>",
                    {"Memento-Datetime": "Mon, 21 Mar 2022 14:03:07 GMT"})

    web.add_route(f"{prefix}/", answer)
    raw = web.url(f"{prefix}/web/{stamp}id_/{original}")
    ref = SnapshotRef("ia", original, stamp, raw.replace("id_", ""), raw)
    with pytest.raises(WitnessError, match="replay page"):
        fetch_snapshot(ref, limiter=RateLimiter(0.0))
