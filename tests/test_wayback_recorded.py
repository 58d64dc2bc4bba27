"""Our Wayback Machine client against real web.archive.org answers, replayed on loopback.

The cassettes in ``tests/realworld_wayback`` are edgi-govdata-archiving/wayback's recordings
of real traffic (BSD-3-Clause); :meth:`waybackserver.WaybackServer.replay` serves them.
Each test is a way the real service answered that our client once read wrongly.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from waybackserver import Snap
from webfixtures import page_body

from archive.cdx import CdxRow, collapse_duplicates, parse_cdx_page
from archive.errors import WitnessError
from archive.memento import (
    AnswerKind,
    ExcludedByArchive,
    judge_answer,
    memento_from_response,
)
from archive.ratelimit import Backoff
from archive.wayback import same_snapshot_age
from archive.witness import WitnessConfig, WitnessSpec, open_witness

CASSETTES = Path(__file__).parent / "realworld_wayback"
KEYS = ("test-access", "test-secret")


def witness(wayback, *, keys=None):
    env = {"PROVENANCE_WAYBACK": wayback.base}
    if keys:
        env.update(IA_ACCESS_KEY=keys[0], IA_SECRET_KEY=keys[1])
    cfg = WitnessConfig(ia_save_interval=0.0, ia_read_interval=0.0, ia_poll_interval=0.02,
                        backoff=Backoff(tries=2, base=0.05, cap=0.1), timeout=(2, 10))
    return open_witness(WitnessSpec.parse("ia"), cfg, env=env)


def client(wayback, *, keys=None):
    env = {"PROVENANCE_WAYBACK": wayback.base}
    if keys:
        env.update(IA_ACCESS_KEY=keys[0], IA_SECRET_KEY=keys[1])
    cfg = WitnessConfig(ia_save_interval=0.0, ia_read_interval=0.0, ia_poll_interval=0.02,
                        backoff=Backoff(tries=2, base=0.05, cap=0.1), timeout=(2, 10))
    return open_witness(WitnessSpec.parse("ia"), cfg, env=env).client


def recorded(name: str) -> list[dict]:
    return json.loads((CASSETTES / f"{name}.json").read_text())["interactions"]


def body_of(interaction: dict) -> bytes:
    body = base64.b64decode(interaction["body_base64"])
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


# --- the memento's time ---------------------------------------------------------------------


def test_the_memento_time_is_memento_datetime_not_the_last_memento_link(wayback):
    """A real replay's Link names first/prev/next/last mementos too: the snapshot is the one
    in Memento-Datetime (20171124151315), not the "last memento" listed last."""
    wayback.replay(CASSETTES / "test_get_memento.json")
    url = f"{wayback.base}/web/20171124151315id_/https://www.fws.gov/birds/"
    response = requests.get(url, timeout=10, allow_redirects=False)
    assert "last memento" in response.headers["Link"]
    memento, stamp = memento_from_response(response, wayback.base)
    assert stamp == "20171124151315"
    assert memento == f"{wayback.base}/web/20171124151315/https://www.fws.gov/birds/"


def test_a_link_with_only_first_and_last_mementos_names_no_snapshot(wayback, web):
    """No Memento-Datetime, no Location: a "first memento" / "last memento" link is never
    taken for the snapshot."""
    link = ('<http://x/>; rel="original", <http://w/web/19990101000000/http://x/>; '
            'rel="first memento"; datetime="Fri, 01 Jan 1999 00:00:00 GMT", '
            '<http://w/web/20200101000000/http://x/>; rel="last memento"')
    web.add_route("/links-only", lambda h: _send(h, 200, {"Link": link}))
    response = requests.get(web.url("/links-only"), timeout=10)
    assert memento_from_response(response, "http://w") is None


def _send(h, status, headers):
    from webfixtures import send

    send(h, status, b"", headers)


# --- exclusions ------------------------------------------------------------------------------


def test_an_excluded_url_is_excluded_not_a_copy(wayback):
    """web.archive.org answers an excluded URL's id_ with HTTP 200 and its own page ("This
    URL has been excluded"), without Memento-Datetime: never a copy to compare."""
    wayback.replay(CASSETTES / "test_get_memento_raises_blocked_error.json")
    with pytest.raises(ExcludedByArchive) as caught:
        client(wayback).raw("20170929002712", "https://nationalpost.com/health/")
    assert "excluded from the Wayback Machine" in caught.value.reason
    assert not caught.value.retryable and "\n" not in str(caught.value)


def test_a_blocked_site_in_the_cdx_is_excluded(wayback):
    wayback.replay(CASSETTES / "test_search_raises_for_blocked_urls.json")
    with pytest.raises(ExcludedByArchive) as caught:
        client(wayback).snapshots("https://nationalpost.com/health", since="20191001000000",
                                  until="20191002000000")
    assert "Blocked Site Error" in caught.value.reason


# --- archived redirects -----------------------------------------------------------------------


def test_an_archived_redirect_is_a_copy_of_the_redirect(wayback):
    """epa.gov answered 301 when archived: the copy is that 301 (hashed), not its target."""
    wayback.replay(CASSETTES /
                   "test_get_memento_follow_redirects_does_not_follow_historical_redirects.json")
    copy = client(wayback).raw("20200201023757", "https://www.epa.gov/climatechange")
    archived = recorded(
        "test_get_memento_follow_redirects_does_not_follow_historical_redirects")[1]
    assert copy.status == 301
    assert copy.sha256 == hashlib.sha256(body_of(archived)).hexdigest()
    assert len(wayback.hits("/web/")) == 1


def test_an_archived_redirects_body_is_kept_in_the_snapshot(wayback):
    """The snapshot of epa.gov's archived 301 keeps its 267 bytes as received (it kept none:
    requests reads a 3xx body itself, so the hash was the SHA-256 of nothing, the same for
    every archived redirect, and the WARC record fell short of its Content-Length)."""
    name = "test_get_memento_follow_redirects_does_not_follow_historical_redirects"
    wayback.replay(CASSETTES / f"{name}.json")
    archived = body_of(recorded(name)[1])
    row = CdxRow("20200201023757", "https://www.epa.gov/climatechange", 301, None,
                 "text/html", len(archived))
    copy = witness(wayback).fetch_snapshot(row)
    assert copy.status == 301 and copy.exchange.body == archived and len(archived) == 267
    assert copy.sha256 == hashlib.sha256(archived).hexdigest()
    assert copy.memento_datetime == "2020-02-01T02:37:57Z"


def test_an_archived_redirect_loop_is_fetched_once(wayback):
    """springer.com redirected in a loop through the archive: one request, a copy of a 303."""
    wayback.replay(CASSETTES / "test_get_memento_raises_for_mementos_that_redirect_in_a_loop.json")
    copy = client(wayback).raw("20200925075402",
                               "https://link.springer.com/article/10.1007/s00382-012-1331-2")
    assert copy.status == 303 and len(wayback.hits("/web/")) == 1


SPRINGER_LOGIN = ("https://idp.springer.com/authorize?response_type=cookie&client_id="
                  "springerlink&redirect_uri=https://link.springer.com/article/10.1007/"
                  "s00382-012-1331-2")


def test_a_copy_whose_link_header_escapes_its_query_is_of_this_page(wayback):
    """web.archive.org writes Link targets HTML-escaped (``&amp;``): the archived 302 of
    springer's login page names its original ``…cookie&amp;client_id=…``. It is a copy of
    the page asked for (it was rejected as a copy of another page)."""
    wayback.replay(CASSETTES / "test_get_memento_raises_for_mementos_that_redirect_in_a_loop.json")
    copy = client(wayback).raw("20200925075411", SPRINGER_LOGIN)
    assert copy.status == 302 and len(wayback.hits("/web/")) == 1
    response = requests.get(f"{wayback.base}/web/20200925075411id_/{SPRINGER_LOGIN}",
                            timeout=10, allow_redirects=False)
    memento, stamp = memento_from_response(response, wayback.base)
    assert stamp == "20200925075411"
    assert memento == f"{wayback.base}/web/20200925075411/{SPRINGER_LOGIN}"


def test_an_archived_redirects_path_only_location_never_names_its_memento(wayback):
    """whitehouse.gov's archived 301 sends /web/20201027215555id_/…/ostp/about/student/faqs
    (path only, the same second, another page): the answer is the snapshot of the page
    asked for, the 301 itself, not of the page it redirected to."""
    wayback.replay(CASSETTES / "test_get_memento_with_path_based_redirects.json")
    asked = "https://www.whitehouse.gov/administration/eop/ostp/about/student/faqs"
    response = requests.get(f"{wayback.base}/web/20201027215555id_/{asked}", timeout=10,
                            allow_redirects=False)
    assert response.headers["Location"].startswith("/web/20201027215555id_/")
    memento, stamp = memento_from_response(response, wayback.base)
    assert (memento, stamp) == (f"{wayback.base}/web/20201027215555/{asked}", "20201027215555")
    copy = client(wayback).raw("20201027215555", asked)
    assert copy.status == 301 and len(wayback.hits("/web/")) == 2


def test_a_link_naming_another_query_is_still_another_page():
    link = ('<https://idp.springer.com/authorize?response_type=cookie&amp;client_id=other>; '
            'rel="original"')
    answer = judge_answer(f"http://w/web/20200925075411id_/{SPRINGER_LOGIN}", 200,
                          {"Memento-Datetime": "Fri, 25 Sep 2020 07:54:11 GMT", "Link": link},
                          b"")
    assert answer.kind is AnswerKind.OTHER_PAGE


def test_the_archives_redirect_to_another_snapshot_is_not_followed(wayback):
    """IA's own 302 ("found capture at 20150503090125"), no Memento-Datetime: not our copy."""
    wayback.replay(CASSETTES / "test_get_memento_should_fail_for_non_playbackable_mementos.json")
    with pytest.raises(WitnessError, match="got 20150503090125"):
        client(wayback).raw("20150509080314", "https://www.fws.gov/birds/")
    assert len(wayback.hits("/web/")) == 1


# --- archived error pages ---------------------------------------------------------------------


def test_an_archived_429_is_content_not_throttling(wayback):
    """reddit answered 429 when the crawler came: that page is the copy, fetched once."""
    wayback.replay(CASSETTES / "test_get_memento_works_on_archived_rate_limit_responses.json")
    copy = client(wayback).raw("20150129034904", "http://www.reddit.com/r/PokemonGiveaway")
    archived = recorded("test_get_memento_works_on_archived_rate_limit_responses")[0]
    assert copy.status == 429
    assert copy.sha256 == hashlib.sha256(body_of(archived)).hexdigest()
    assert len(wayback.hits("/web/")) == 1


def test_a_real_429_without_memento_datetime_is_still_retried(wayback, web):
    url = web.url("/page/60")
    client(wayback).save(url)
    (snap,) = wayback.snapshots(url)
    wayback.fail_next(429, path="/web/")
    copy = client(wayback).raw(snap.timestamp, url)
    assert copy.status == 200 and len(wayback.hits("/web/")) == 2


# --- CDX completeness -------------------------------------------------------------------------


def _rows_in(name: str) -> list[CdxRow]:
    rows: list[CdxRow] = []
    for interaction in recorded(name):
        rows += parse_cdx_page(body_of(interaction).decode()).rows
    return rows


def test_cdx_pages_are_followed_by_resume_key_and_duplicates_collapsed(wayback):
    """cnn.com in April 2001: 15 pages of 25 rows, each capture listed up to 4 times."""
    wayback.replay(CASSETTES / "test_search_multipage.json")
    rows = client(wayback).snapshots("cnn.com", since="20010410000000",
                                     until="20010510000000", page_rows=25)
    everything = _rows_in("test_search_multipage")
    assert len(wayback.hits("/cdx/")) == 15
    assert rows == collapse_duplicates(everything)
    assert len(rows) < len(everything)
    assert len({(r.timestamp, r.original, r.digest) for r in rows}) == len(rows)
    assert rows[0].timestamp == "20010410213930" and rows[-1].timestamp >= "20010509235544"


def test_cdx_keeps_distinct_captures_at_the_same_second(wayback):
    """energystar.gov: revisits and redirects, some at the same second; none collapsed."""
    wayback.replay(CASSETTES / "test_search_does_not_repeat_results.json")
    rows = client(wayback).snapshots("energystar.gov/", since="20200612000000",
                                     until="20200613000000")
    assert rows == collapse_duplicates(_rows_in("test_search_does_not_repeat_results"))
    assert all(r.statuscode in (200, 301, None) for r in rows)


def test_cdx_revisits_and_unknown_types_across_three_pages(wayback):
    """dw.com, Oct 2019 to Feb 2020: 1,000 + 1,000 + 245 rows under http://, https://,
    www. and not, most of them revisits (warc/revisit, status "-") and some of type "unk",
    the index's word for an unknown type: every row is kept, none has a status or a type
    it did not give."""
    wayback.replay(CASSETTES / "test_search_with_date.json")
    rows = client(wayback).snapshots("dw.com", since="20191001000000", until="20200301000000")
    everything = _rows_in("test_search_with_date")
    assert len(wayback.hits("/cdx/")) == 3 and len(everything) == 2245
    assert rows == collapse_duplicates(everything) and len(rows) == 2205
    revisits = [r for r in rows if r.mimetype == "warc/revisit"]
    assert revisits and all(r.statuscode is None for r in revisits)
    assert "unk" not in {r.mimetype for r in rows}
    assert {r.mimetype for r in rows} == {"warc/revisit", "text/html", "text/plain", None}


def test_more_than_a_thousand_snapshots_are_all_listed(wayback):
    """The CDX answers 1,000 rows at a time; the rest come by resume key, never cut."""
    url = "http://127.0.0.1:9/many"
    wayback.state.snaps[url] = [
        Snap(f"2020{n // 86400 + 101:04d}{n % 86400 // 3600:02d}{n % 3600 // 60:02d}"
             f"{n % 60:02d}", url, 200, "text/html", None, b"x%d" % n) for n in range(1500)]
    wayback.cdx_duplicates = 2
    rows = client(wayback).snapshots(url)
    assert len(rows) == 1500 and len(wayback.hits("/cdx/")) == 3


def test_too_many_snapshots_is_an_error_not_a_silent_cut(wayback):
    url = "http://127.0.0.1:9/more"
    wayback.state.snaps[url] = [Snap(f"20200101{n:06d}", url, 200, "text/html", None, b"x")
                                for n in range(30)]
    with pytest.raises(WitnessError, match="more than 20 snapshots"):
        client(wayback).snapshots(url, page_rows=10, max_rows=20)


# --- SavePageNow's "same snapshot" ------------------------------------------------------------


def test_same_snapshot_answer_without_timestamp_is_looked_up(wayback, web):
    """The real SPN2 says "The same snapshot had been made 3 minutes ago" with no job id and
    no timestamp: that snapshot is found in the CDX, not marked unknown and sent again."""
    wayback.keys = KEYS
    wayback.same_snapshot = True
    wayback.same_snapshot_timestamp = False
    wayback.snapshot_age = 3 * 60
    url = web.url("/page/61")
    witness = open_witness(WitnessSpec.parse("ia"), WitnessConfig(
        ia_save_interval=0.0, ia_read_interval=0.0, backoff=Backoff(tries=2, base=0.05)),
        env={"PROVENANCE_WAYBACK": wayback.base, "IA_ACCESS_KEY": KEYS[0],
             "IA_SECRET_KEY": KEYS[1]})
    result = witness.submit(url, captured_at=datetime.now(timezone.utc))
    assert result.status == "archived", result.error
    (snap,) = wayback.snapshots(url)
    assert result.url == f"{wayback.base}/web/{snap.timestamp}/{url}"
    assert result.raw_sha256 == hashlib.sha256(page_body(61)).hexdigest()
    assert len(wayback.hits("/save", method="POST")) == 1


def test_same_snapshot_years_ago_without_timestamp_is_stale(wayback, web):
    wayback.keys = KEYS
    wayback.same_snapshot = True
    wayback.same_snapshot_timestamp = False
    wayback.snapshot_age = 25 * 365 * 86400
    witness = open_witness(WitnessSpec.parse("ia"), WitnessConfig(
        ia_save_interval=0.0, ia_read_interval=0.0, backoff=Backoff(tries=2, base=0.05)),
        env={"PROVENANCE_WAYBACK": wayback.base, "IA_ACCESS_KEY": KEYS[0],
             "IA_SECRET_KEY": KEYS[1]})
    result = witness.submit(web.url("/page/62"), captured_at=datetime.now(timezone.utc))
    assert result.status == "stale" and result.retryable


@pytest.mark.parametrize("message,expected", [
    ("The same snapshot had been made 4 minutes ago. You can make new capture of this URL "
     "after 45 minutes.", (240.0, 60.0)),
    ("The same snapshot had been made 1 hour ago.", (3600.0, 3600.0)),
    ("The same snapshot had been made less than a minute ago.", (0.0, 60.0)),
    ("Something else entirely", None),
])
def test_same_snapshot_age_is_read_from_the_message(message, expected):
    assert same_snapshot_age(message) == expected
