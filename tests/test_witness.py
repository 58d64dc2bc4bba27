"""--to specs and CDX rows: the parts of the witness interface that need no server."""

from __future__ import annotations

import pytest

from archive.cdx import parse_cdx_json, rfc3339_to_ts, ts_to_rfc3339
from archive.errors import WitnessError
from archive.memento import parse_links, ts_from_url
from archive.pywb import PywbClient
from archive.wayback import WaybackClient
from archive.witness import BadWitnessSpec, WitnessSpec, parse_specs, raw_copy_url


def test_parse_specs():
    assert parse_specs(None) == [WitnessSpec("ia")]
    assert parse_specs(["none"]) == []
    assert parse_specs(["ia", "pywb=http://127.0.0.1:8080/news/", "ia"]) == [
        WitnessSpec("ia"), WitnessSpec("pywb", "http://127.0.0.1:8080/news")]
    assert WitnessSpec.parse("pywb=http://127.0.0.1:8080/news").name == \
        "pywb=http://127.0.0.1:8080/news"
    with pytest.raises(BadWitnessSpec, match="cannot be combined"):
        parse_specs(["none", "ia"])
    with pytest.raises(BadWitnessSpec, match="unknown witness"):
        parse_specs(["archive.today"])


def test_ia_cdx_table():
    text = ('[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],'
            '["x","20220321140307","https://a/","text/html","200","ABC","123"],'
            '["x","20220320000000","https://a/","warc/revisit","-","-","-"]]')
    rows = parse_cdx_json(text)
    assert [r.timestamp for r in rows] == ["20220320000000", "20220321140307"]
    assert rows[1].captured_at == "2022-03-21T14:03:07Z"
    assert (rows[1].statuscode, rows[1].digest, rows[1].length) == (200, "ABC", 123)
    assert (rows[0].statuscode, rows[0].digest, rows[0].length) == (None, None, None)
    assert parse_cdx_json("[]") == [] and parse_cdx_json("") == []


def test_pywb_cdx_lines():
    text = ('{"urlkey": "k", "timestamp": "20261125085609", "url": "http://h/p", '
            '"mime": "text/html", "status": "200", "digest": "D", "length": "402"}\n')
    (row,) = parse_cdx_json(text)
    assert (row.original, row.mimetype, row.statuscode, row.length) == \
        ("http://h/p", "text/html", 200, 402)


def test_unreadable_cdx_is_a_witness_error():
    with pytest.raises(WitnessError):
        parse_cdx_json("[[oops")


def test_timestamps_round_trip():
    assert ts_to_rfc3339("2022") == "2022-01-01T00:00:00Z"
    assert rfc3339_to_ts("2022-03-21T17:03:07+03:00") == "20220321140307"
    with pytest.raises(ValueError):
        ts_to_rfc3339("yesterday")


def test_memento_links():
    header = ('<http://h/p>; rel="original", '
              '<http://w/web/20220321140307/http://h/p>; rel="memento"; datetime="Mon, 21 Mar '
              '2022 14:03:07 GMT"')
    links = parse_links(header)
    assert links[1][0] == "http://w/web/20220321140307/http://h/p"
    assert links[1][1]["rel"] == "memento"
    assert ts_from_url(links[1][0]) == ("20220321140307", "http://h/p")
    assert ts_from_url("/web/20220321140307id_/http://h/p") == ("20220321140307", "http://h/p")


def test_config_from_env_intervals_and_tries():
    from archive.witness import WitnessConfig

    config = WitnessConfig.from_env({"PROVENANCE_IA_INTERVAL": "2.5",
                                     "PROVENANCE_IA_READ_INTERVAL": "0",
                                     "PROVENANCE_WITNESS_TRIES": "2"})
    assert (config.ia_save_interval, config.ia_read_interval, config.backoff.tries) == (
        2.5, 0.0, 2)
    assert WitnessConfig.from_env({}) == WitnessConfig()
    for name, value in (("PROVENANCE_IA_READ_INTERVAL", "-1"), ("PROVENANCE_IA_INTERVAL", "x"),
                        ("PROVENANCE_WITNESS_TRIES", "0")):
        with pytest.raises(BadWitnessSpec, match=name):
            WitnessConfig.from_env({name: value})


def test_snapshot_window_places_times_and_parses_its_setting():
    from datetime import datetime, timedelta, timezone

    from archive.window import BadWindow, SnapshotWindow, Timing, describe

    ours = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    now = ours + timedelta(hours=3)
    window = SnapshotWindow(before=1800, after=7200)
    at = [window.place(ours + timedelta(seconds=s), ours, now)
          for s in (-1801, -1800, 0, 7200, 7201)]
    assert at == [Timing.BEFORE, Timing.WITHIN, Timing.WITHIN, Timing.WITHIN, Timing.AFTER]
    assert window.place(now + timedelta(seconds=301), ours, now) is Timing.FUTURE
    assert SnapshotWindow.parse(" 60 , 120 ") == SnapshotWindow(60, 120)
    for bad in ("", "x", "1,2,3", "-1", "inf"):
        with pytest.raises(BadWindow):
            SnapshotWindow.parse(bad)
    assert describe(-27 * 365.25 * 86400) == "27 years before"
    assert describe(3 * 86400 - 1) == "3 days after"
    assert describe(40) == "40 s after"


def test_a_pywb_copy_outside_the_window_is_not_archived(pywb, web):
    """The window is the witness interface's, not the Internet Archive's: the same for pywb."""
    from datetime import datetime, timedelta, timezone

    from archive.ratelimit import Backoff
    from archive.witness import WitnessConfig, open_witness

    config = WitnessConfig(pywb_confirm_deadline=20.0, pywb_confirm_interval=0.2,
                           backoff=Backoff(tries=2, base=0.05, cap=0.1))
    witness = open_witness(WitnessSpec.parse(f"pywb={pywb.base}"), config)
    url = web.url("/page/70")
    late = witness.submit(url, captured_at=datetime.now(timezone.utc) - timedelta(days=3))
    assert (late.status, late.retryable, late.raw_sha256) == ("late", False, None)
    stale = witness.submit(url, captured_at=datetime.now(timezone.utc) + timedelta(hours=3))
    assert (stale.status, stale.retryable, stale.raw_sha256) == ("stale", True, None)
    assert "older snapshot" in stale.error and stale.archived_at


def test_the_raw_copy_url_of_a_snapshot_is_the_one_its_client_hashes():
    page = "https://example.org/news/1?a=b"
    ia = WitnessSpec.parse("ia")
    snap = f"https://web.archive.org/web/20220321140307/{page}"
    assert raw_copy_url(ia, snap) == WaybackClient("https://web.archive.org").raw_url(
        "20220321140307", page)
    assert raw_copy_url(ia, WaybackClient("https://web.archive.org").raw_url(
        "20220321140307", page)) is None  # already the raw copy
    pywb = WitnessSpec.parse("pywb=http://127.0.0.1:8080/news")
    assert raw_copy_url(pywb, f"http://127.0.0.1:8080/news/20220321140307/{page}") == (
        PywbClient("http://127.0.0.1:8080/news").raw_url("20220321140307", page))
    assert raw_copy_url(ia, "https://example.org/not-a-snapshot") is None
    assert raw_copy_url(ia, None) is None
