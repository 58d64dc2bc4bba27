"""Adversarial witnesses: archives and index answers built to pass for what they are not.

Each test is an attack on a verdict that rests on a witness archive or on page history (a
snapshot "of this page", a copy that "agrees", a page "removed"), against a loopback server
that answers as a broken or hostile archive would.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from test_scenario import cli
from webfixtures import send

from archive.cdx import parse_cdx_page
from archive.errors import WitnessError
from archive.memento import AnswerKind, ExcludedByArchive, judge_answer
from archive.pagekey import same_page
from archive.timemap import MementoClient
from archive.wayback import WaybackClient

HEADER = '["urlkey","timestamp","original","mimetype","statuscode","digest","length"]'
BODY = b"<html><body><article><p>The minister resigned on Monday.</p></article></body></html>"


def now_ts() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")


def http_date(ts: str) -> str:
    when = datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    return format_datetime(when, usegmt=True)


def archive_at(web, monkeypatch, answer) -> str:
    """A Wayback Machine at a fresh prefix whose every GET is ``answer(handler, rest)``
    (``rest``: the path after the prefix); its base URL."""
    prefix = f"/adv-{random.randrange(1 << 30)}"
    web.add_route(f"{prefix}/", lambda h: answer(h, h.path[len(prefix):]))
    monkeypatch.setenv("PROVENANCE_WAYBACK", web.url(prefix))
    monkeypatch.setenv("PROVENANCE_IA_READ_INTERVAL", "0")
    monkeypatch.setenv("PROVENANCE_IA_INTERVAL", "0")
    return web.url(prefix)


def cdx_answer(rows: list[tuple[str, str]]) -> bytes:
    return ("[" + ",".join([HEADER] + [
        json.dumps(["k", ts, original, "text/html", "200", "-", "1"]) for ts, original in rows
    ]) + "]").encode()


def page(web, status: int = 200, body: bytes = BODY) -> str:
    path = f"/adv/page-{random.randrange(1 << 30)}"
    web.add_route(path, lambda h: send(h, status, body))
    return web.url(path)


# --- which URLs are the same page ------------------------------------------------------------

@pytest.mark.parametrize("original, asked, same", [
    ("https://www.example.org/a/", "http://example.org/a", True),  # scheme, www, slash
    ("http://example.org:80/a?b=2&a=1#x", "http://example.org/a?a=1&b=2", True),
    ("http://www2.Example.ORG/a", "http://example.org/a", True),
    ("http://example.org/%7Euser", "http://example.org/~user", True),
    ("example.org/a", "http://example.org/a", True),  # a CDX query without a scheme
    ("http://example.org/a-2", "http://example.org/a", False),  # a prefix match's other row
    ("http://example.org/a/b", "http://example.org/a", False),
    ("http://news.example.org/a", "http://example.org/a", False),
    ("http://example.org.evil.test/a", "http://example.org/a", False),
    ("http://example.org/A", "http://example.org/a", False),  # two pages on many servers
    ("http://example.org/a?id=2", "http://example.org/a?id=1", False),
    ("http://example.org/a?id=1", "http://example.org/a", False),
    ("http://example.org:8080/a", "http://example.org/a", False),
    ("ftp://example.org/a", "http://example.org/a", False),
    ("", "http://example.org/a", False),
])
def test_same_page_is_what_the_archive_conflates_and_no_more(original, asked, same):
    assert same_page(original, asked) is same


# --- the index: rows that are not snapshots of this page ---------------------------------------

def test_index_rows_for_another_page_or_an_impossible_time_are_not_snapshots(
        capsys, tmp_path, web, monkeypatch):
    """A prefix match (``/page-2`` for ``/page``), a row for another host, and a 14-digit
    timestamp with month 13: none is a snapshot of the page; pull neither keeps nor fetches
    them, and says nothing it cannot show (no traceback on the impossible time)."""
    url = page(web)
    good = "20220320100000"
    rows = [("20221301000000", url), (good, url + "-2"),
            (good, url.replace("127.0.0.1", "x.test")), (good, url)]
    fetched: list[str] = []

    def answer(h, rest):
        if rest.startswith("/cdx/search/cdx"):
            return send(h, 200, cdx_answer(rows), content_type="application/json")
        fetched.append(rest)
        return send(h, 200, BODY, {"Memento-Datetime": http_date(good)})

    archive_at(web, monkeypatch, answer)
    store = str(tmp_path / "ev")
    code, items, err = cli(capsys, "--store", store, "pull", url, "--to", "ia")
    assert code == 0, err
    assert [(i["timestamp"], i["status"]) for i in items[:-1]] == [(good, "kept")]
    assert fetched == [f"/web/{good}id_/{url}"]


def test_cdx_parser_drops_a_row_at_an_impossible_time():
    table = ('[' + HEADER + ',["k","20221301000000","http://x.test/","text/html","200","-","1"],'
             '["k","20220230000000","http://x.test/","text/html","200","-","1"],'
             '["k","20220320100000","http://x.test/","text/html","200","-","1"]]')
    page_ = parse_cdx_page(table)
    assert [r.timestamp for r in page_.rows] == ["20220320100000"]
    assert [r.captured_at for r in page_.rows] == ["2022-03-20T10:00:00Z"]


def test_a_timemap_listing_mementos_of_another_page(web):
    url = "http://x.test/page"
    timemap = (f'<{url}>; rel="original",\n'
               f'<http://arch.test/20220320100000/{url}>; rel="memento"; '
               'datetime="Sun, 20 Mar 2022 10:00:00 GMT",\n'
               f'<http://arch.test/20220320110000/{url}-2>; rel="memento"; '
               'datetime="Sun, 20 Mar 2022 11:00:00 GMT",\n'
               f'<http://arch.test/20221301000000/{url}>; rel="memento"\n').encode()
    other = (f'<{url}-2>; rel="original",\n<http://arch.test/20220320120000/{url}-2>; '
             'rel="memento"; datetime="Sun, 20 Mar 2022 12:00:00 GMT"\n').encode()
    base = f"/tm-{random.randrange(1 << 30)}/"
    link_format = "application/link-format"
    web.add_route(base + url, lambda h: send(h, 200, timemap, content_type=link_format))
    web.add_route(base + "http://x.test/elsewhere",
                  lambda h: send(h, 200, other, content_type=link_format))
    client = MementoClient(web.url(base))
    assert [r.timestamp for r in client.snapshots(url)] == ["20220320100000"]
    # A TimeMap asked for one page that answers with another page's map: nothing of it.
    assert client.snapshots("http://x.test/elsewhere") == []


# --- a save that names another page ------------------------------------------------------------

def _ia(base: str, keys: tuple[str, str] | None = None):
    from archive.ratelimit import Backoff
    from archive.witness import WitnessConfig, WitnessSpec, open_witness

    env = {"PROVENANCE_WAYBACK": base, **({"IA_ACCESS_KEY": keys[0], "IA_SECRET_KEY": keys[1]}
                                         if keys else {})}
    config = WitnessConfig(ia_save_interval=0.0, ia_read_interval=0.0, ia_poll_interval=0.02,
                           ia_job_deadline=5.0, backoff=Backoff(tries=1), timeout=(2, 10))
    return open_witness(WitnessSpec.parse("ia"), config, env=env)


def test_a_save_job_that_succeeds_for_another_url_is_not_archived(wayback, web):
    """SavePageNow 2 reports ``success`` with an ``original_url`` that is another page (a job
    id reused, a redirect's target, a broken service): not a snapshot of ours. The old code
    said ``archived`` and hashed the other page's copy."""
    keys = ("k", "s")
    wayback.keys = keys
    url, other = page(web), page(web)
    wayback.job_original = other
    result = _ia(wayback.base, keys).submit(url)
    assert result.status == "unknown" and result.retryable
    assert result.raw_sha256 is None
    assert f"snapshot of {other}, not of {url}" in (result.error or "")
    # The same page spelt as the archive spells it is the same page.
    wayback.job_original = url.replace("http://", "https://")
    assert _ia(wayback.base, keys).submit(url).status != "unknown"


def test_an_archive_redirect_to_another_pages_snapshot_never_agrees(capsys, tmp_path, web,
                                                                    monkeypatch):
    """The save names our page; its raw copy redirects (the archive's own 302, no
    Memento-Datetime) to the same moment's snapshot of another page (the home page the
    article now redirects to, a mirror) that holds the very bytes we captured. Bytes equal,
    page not: never ``agrees``, never a copy of this page. The old code followed the
    redirect as the same snapshot moved and said ``holds the same copy as ours``."""
    url = page(web)
    other = page(web)
    stamp = now_ts()

    def answer(h, rest):
        if rest.startswith("/save/"):
            return send(h, 200, b"<p>Saved</p>", {"Content-Location": f"/web/{stamp}/{url}"})
        if rest == f"/web/{stamp}id_/{url}":
            return send(h, 302, b"", {"Location": f"/web/{stamp}id_/{other}"})
        if rest == f"/web/{stamp}id_/{other}":
            return send(h, 200, BODY, {"Memento-Datetime": http_date(stamp)})
        return send(h, 404, b"Wayback Machine has not archived that URL.")

    base = archive_at(web, monkeypatch, answer)
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "archive", url, "--to", "ia",
                           "--tsa", "none")
    (witness,) = items[-1]["witnesses"]
    assert witness["agrees"] is None and witness["witness_sha256"] is None, witness
    assert "another page" in witness["error"] and other in witness["error"]
    # pull and history --fetch-witnesses read the same copy: not kept as one of this page.
    with pytest.raises(WitnessError, match="another page"):
        _ia(base).fetch_snapshot(_row(stamp, url))


def test_an_anonymous_save_naming_another_pages_snapshot(capsys, tmp_path, web, monkeypatch):
    url, other = page(web), page(web)
    stamp = now_ts()

    def answer(h, rest):
        if rest.startswith("/save/"):  # where the page redirected to, say
            return send(h, 200, b"<p>Saved</p>", {"Content-Location": f"/web/{stamp}/{other}"})
        return send(h, 200, BODY, {"Memento-Datetime": http_date(stamp)})

    archive_at(web, monkeypatch, answer)
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "archive", url, "--to", "ia",
                           "--tsa", "none")
    (witness,) = items[-1]["witnesses"]
    assert witness["status"] == "unknown" and witness["agrees"] is None, witness
    assert "another page" in witness["error"]


@pytest.mark.parametrize("link, kind", [
    ('<http://x.test/other>; rel="original"', AnswerKind.OTHER_PAGE),
    ('<https://www.x.test/page/>; rel="original"', AnswerKind.COPY),  # the archive's spelling
    ('<http://x.test/other>; rel="memento"', AnswerKind.COPY),  # not what names the page
    (None, AnswerKind.COPY),
])
def test_a_copy_is_of_the_page_its_link_original_names(link, kind):
    headers = {"Memento-Datetime": "Sun, 20 Mar 2022 10:00:00 GMT",
               **({"Link": link} if link else {})}
    answer = judge_answer("http://arch.test/web/20220320100000id_/http://x.test/page", 200,
                          headers, b"", "20220320100000")
    assert answer.kind is kind


def _row(stamp: str, url: str):
    from archive.cdx import CdxRow

    return CdxRow(stamp, url, 200, None, "text/html", None)


# --- an index that never ends -----------------------------------------------------------------

def test_a_cdx_whose_resume_keys_never_end_stops(web, monkeypatch):
    """Empty pages, each with a new resume key: no key repeats and no row cap is reached.
    The old code followed them for as long as the index went on (here 1,000 pages)."""
    served = []

    def answer(h, rest):
        served.append(rest)
        more = f',[],["key-{len(served)}"]' if len(served) < 1000 else ""
        return send(h, 200, f"[{HEADER}{more}]".encode(), content_type="application/json")

    base = archive_at(web, monkeypatch, answer)
    client = _ia(base).client
    assert isinstance(client, WaybackClient)
    with pytest.raises(WitnessError, match="pages .* without ending"):
        client.snapshots("http://x.test/page", page_rows=10, max_rows=20)
    assert len(served) <= 20


# --- the archive's own pages ------------------------------------------------------------------

def test_an_archive_redirect_to_the_live_page_is_not_the_archives_copy(capsys, tmp_path, web,
                                                                       monkeypatch):
    """The raw copy redirects away from the archive, to the live page, whose server (the
    forger's) sends a Memento-Datetime of the right moment. The old code followed it as the
    archive moving its snapshot and said the witness holds the same copy as ours: the
    witness was the origin."""
    stamp = now_ts()
    path = f"/adv/live-{random.randrange(1 << 30)}"
    web.add_route(path, lambda h: send(h, 200, BODY, {"Memento-Datetime": http_date(stamp)}))
    url = web.url(path)

    def answer(h, rest):
        if rest.startswith("/save/"):
            return send(h, 200, b"<p>Saved</p>", {"Content-Location": f"/web/{stamp}/{url}"})
        return send(h, 302, b"", {"Location": url})

    archive_at(web, monkeypatch, answer)
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "archive", url, "--to", "ia",
                           "--tsa", "none")
    (witness,) = items[-1]["witnesses"]
    assert witness["agrees"] is None and witness["witness_sha256"] is None, witness
    assert "not to a snapshot of the archive" in witness["error"]


def test_a_200_not_archived_page_is_not_a_copy_and_not_an_exclusion(web, monkeypatch):
    """HTTP 200 "Wayback Machine has not archived that URL." without a Memento-Datetime:
    never a copy; and nothing in it refuses the page, so it is not called an exclusion
    (the old wording: "excluded by the archive")."""
    stamp = "20220320100000"
    base = archive_at(web, monkeypatch, lambda h, rest: send(
        h, 200, b"<html><p>Hrm. Wayback Machine has not archived that URL.</p></html>"))
    with pytest.raises(WitnessError) as caught:
        _ia(base).fetch_snapshot(_row(stamp, "http://x.test/page"))
    assert not isinstance(caught.value, ExcludedByArchive)
    assert "not a copy" in str(caught.value) and "excluded" not in str(caught.value)


# --- equal bytes, another answer ----------------------------------------------------------------

def test_a_copy_that_answered_another_status_never_agrees(capsys, tmp_path, web, monkeypatch):
    """Ours: HTTP 200. The archive's copy: HTTP 404 with the very same bytes (a single-page
    app sends one shell for every path, found or not). The old code compared the bytes only
    and said the witness holds the same copy; the witness saw the page missing."""
    url = page(web)
    stamp = now_ts()

    def answer(h, rest):
        if rest.startswith("/save/"):
            return send(h, 200, b"<p>Saved</p>", {"Content-Location": f"/web/{stamp}/{url}"})
        return send(h, 404, BODY, {"Memento-Datetime": http_date(stamp)})

    archive_at(web, monkeypatch, answer)
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "archive", url, "--to", "ia",
                           "--tsa", "none")
    (witness,) = items[-1]["witnesses"]
    assert witness["status"] == "archived" and witness["agrees"] is None, witness
    assert "answered HTTP 404 where ours answered HTTP 200" in witness["error"]


def test_a_redirecting_page_is_not_called_a_different_copy(capsys, tmp_path, web, ia_env):
    """We follow the page's redirect to its new address; the archive keeps the redirect
    itself for the URL asked. Their bytes differ because the answers do: not compared,
    never "holds a DIFFERENT copy" (the old code's false alarm on every moved page)."""
    from webfixtures import redirect

    target = page(web)
    path = f"/adv/moved-{random.randrange(1 << 30)}"
    web.add_route(path, redirect(target, 301))
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "archive", web.url(path),
                           "--to", "ia", "--tsa", "none")
    (witness,) = items[-1]["witnesses"]
    assert witness["status"] == "archived" and witness["agrees"] is None, witness
    assert "answered HTTP 301 where ours answered HTTP 200" in witness["error"]
    assert "DIFFERENT" not in err


def test_a_save_naming_a_snapshot_at_an_impossible_time(web, monkeypatch):
    """Month 13 in the snapshot a save names: unknown, never archived (already so; kept as
    a guard)."""
    url = page(web)
    base = archive_at(web, monkeypatch, lambda h, rest: send(
        h, 200, b"<p>Saved</p>", {"Content-Location": f"/web/20261301000000/{url}"}))
    result = _ia(base).submit(url)
    assert result.status == "unknown" and result.raw_sha256 is None
    assert "impossible time" in (result.error or "")


def test_a_raw_copy_redirected_to_the_bannered_replay_is_not_compared(capsys, tmp_path, web,
                                                                       monkeypatch):
    """Asked for the raw copy (``id_``), the archive redirects to its replay of the same
    snapshot, which adds a banner and rewrites links: those bytes are never the page's, and
    comparing them says "differs" where the archive holds the very same page."""
    url = page(web)
    stamp = now_ts()
    base: list[str] = []

    def answer(h, rest):
        if rest.startswith("/save/"):
            return send(h, 200, b"<p>Saved</p>", {"Content-Location": f"/web/{stamp}/{url}"})
        if f"/web/{stamp}id_/" in rest:
            return send(h, 302, b"", {"Location": f"{base[0]}/web/{stamp}/{url}"})
        return send(h, 200, b"<div id='wm-banner'>Wayback</div>" + BODY,
                    {"Memento-Datetime": http_date(stamp)})

    base.append(archive_at(web, monkeypatch, answer))
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "archive", url, "--to", "ia",
                           "--tsa", "none")
    (witness,) = items[-1]["witnesses"]
    assert witness["agrees"] is None and witness["witness_sha256"] is None, witness
    assert "replay" in witness["error"], witness
