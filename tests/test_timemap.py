"""Memento TimeMaps: the parser on real-world formatting, and a real pywb's TimeMaps."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from webfixtures import RU_UTF8, send

from archive.errors import WitnessError
from archive.ratelimit import Backoff
from archive.snapshot import DigestCheck
from archive.timemap import MementoClient, parse_timemap, raw_memento_url
from archive.warc import verify_warc
from archive.witness import BadWitnessSpec, WitnessConfig, WitnessSpec, open_witness

FAST = WitnessConfig(ia_read_interval=0.0, timeout=(2, 20),
                     backoff=Backoff(tries=2, base=0.05, cap=0.1),
                     pywb_confirm_deadline=15.0, pywb_confirm_interval=0.2)

# As archive.ph and the Internet Archive write them: several rels in one link, datetime
# attributes with commas, links split over lines, a "self" and a next page.
ARCHIVE_PH = """<http://www.kp.ru/daily/27370/4561234/>; rel="original",
<https://archive.ph/timemap/link/http://www.kp.ru/daily/27370/4561234/>; rel="self"; type="application/link-format"; from="Sun, 20 Mar 2022 16:12:45 GMT",
<https://archive.ph/timegate/http://www.kp.ru/daily/27370/4561234/>; rel="timegate",
<https://archive.ph/AbCd1>; rel="first memento"; datetime="Sun, 20 Mar 2022 16:12:45 GMT",
<https://archive.ph/EfGh2>; rel="memento";
  datetime="Sun, 20 Mar 2022 19:40:11 GMT",
<https://archive.ph/IjKl3>; rel="last memento"; datetime="Mon, 21 Mar 2022 08:00:00 GMT"
"""  # noqa: E501


def test_every_memento_relation_is_a_snapshot():
    page = parse_timemap(ARCHIVE_PH, base="https://archive.ph/timemap/link/x")
    assert page.original == "http://www.kp.ru/daily/27370/4561234/"
    assert [(r.timestamp, r.memento) for r in page.mementos] == [
        ("20220320161245", "https://archive.ph/AbCd1"),
        ("20220320194011", "https://archive.ph/EfGh2"),
        ("20220321080000", "https://archive.ph/IjKl3")]
    assert all(r.original == page.original for r in page.mementos)
    assert page.pages == []  # "self" is this page


def test_wayback_style_mementos_without_datetime_and_paging():
    text = ('<http://x.example/a,b>; rel="original",\n'
            '<http://arch.example/web/20200101000000/http://x.example/a,b>; rel="memento",\n'
            '<http://arch.example/web/timemap/link/http://x.example/a,b?page=2>; '
            'rel="timemap"; type="application/link-format"')
    page = parse_timemap(text, base="http://arch.example/web/timemap/link/http://x.example/a,b")
    assert [r.timestamp for r in page.mementos] == ["20200101000000"]
    assert page.original == "http://x.example/a,b"  # a comma inside <...> is not a separator
    assert page.pages == ["http://arch.example/web/timemap/link/http://x.example/a,b?page=2"]


def test_not_a_timemap_is_an_error():
    with pytest.raises(WitnessError, match="not a link-format TimeMap"):
        parse_timemap("<html><body>Sorry</body></html>", base="http://a/")


def test_raw_urls_where_the_archive_has_them():
    assert raw_memento_url("http://h/c/20261125151026mp_/http://x/") == \
        "http://h/c/20261125151026id_/http://x/"
    assert raw_memento_url("https://web.archive.org/web/20200101000000/http://x/") == \
        "https://web.archive.org/web/20200101000000id_/http://x/"
    assert raw_memento_url("https://archive.ph/AbCd1") == "https://archive.ph/AbCd1"


@pytest.mark.parametrize("memento", [
    "https://archive.is/19980130085039/http://www.kernel.org/",
    "http://archive.md/20230310020348/https://www.wired.com/story/x/",
    "https://archive.ph/20220320161245/http://www.kp.ru/daily/27370/4561234/",
])
def test_archive_today_mementos_are_fetched_as_they_are(memento):
    """archive.today's real TimeMaps name mementos Wayback-style, but it has no id_ mode:
    asking it for one was asking for a URL it does not serve."""
    assert raw_memento_url(memento) == memento
    assert raw_memento_url(memento.replace("archive.", "notarchive.", 1)) != memento


def test_the_spec():
    spec = WitnessSpec.parse("memento=https://archive.ph/timemap/link/")
    assert spec.kind == "memento" and spec.name == "memento=https://archive.ph/timemap/link/"
    with pytest.raises(BadWitnessSpec):
        WitnessSpec.parse("memento=archive.ph")


def test_pages_are_followed_once_and_bounded(web):
    """Two pages linking each other: both read once; a page too large is refused."""
    def page(n: int, other: int):
        body = (f'<http://x.example/>; rel="original",\n'
                f'<{web.url(f"/tm{n}/http://x.example/")}>; rel="self",\n'
                f'<{web.url(f"/tm{other}/http://x.example/")}>; rel="timemap",\n'
                f'<http://arch.example/2020010{n}000000/http://x.example/>; rel="memento"'
                ).encode()
        return lambda h: send(h, 200, body, content_type="application/link-format")

    web.add_route("/tm1/http://x.example/", page(1, 2))
    web.add_route("/tm2/http://x.example/", page(2, 1))
    client = MementoClient(web.url("/tm1/"))
    rows = client.snapshots("http://x.example/")
    assert [r.timestamp for r in rows] == ["20200101000000", "20200102000000"]
    assert client.snapshots("http://x.example/", since="20200102") == rows[1:]


def test_a_real_pywb_timemap_lists_its_snapshots_and_gives_raw_copies(pywb, web):
    url = web.url("/ru/utf8?timemap")
    recorder = open_witness(WitnessSpec.parse(f"pywb={pywb.base}"), FAST)
    first = recorder.submit(url)
    assert first.status == "archived", first.error
    time.sleep(1.1)  # one snapshot per second
    second = recorder.submit(url)
    assert second.status == "archived", second.error
    cdx = [row.timestamp for row in recorder.snapshots(url)]
    memento = open_witness(WitnessSpec.parse(f"memento={pywb.base}/timemap/link/"), FAST)
    rows = memento.snapshots(url)
    assert [row.timestamp for row in rows] == cdx and len(rows) >= 2
    assert all(row.memento and row.memento.startswith(pywb.base) for row in rows)
    copy = memento.fetch_snapshot(rows[-1])
    assert copy.ref.raw_url == raw_memento_url(rows[-1].memento) and "id_/" in copy.ref.raw_url
    assert copy.sha256 == hashlib.sha256(RU_UTF8).hexdigest()
    assert copy.digest_check is DigestCheck.UNCHECKED  # a TimeMap carries no digest
    out = io.BytesIO()
    copy.write_warc(out)
    assert verify_warc(io.BytesIO(out.getvalue())) == []
    assert memento.submit(url).status == "failed"  # read only


def test_an_unknown_url_has_no_snapshots_in_pywb(pywb, web):
    memento = open_witness(WitnessSpec.parse(f"memento={pywb.base}/timemap/link/"), FAST)
    assert memento.snapshots(web.url("/never-archived")) == []


def test_a_timemap_over_the_cap_is_refused(web):
    big = b'<http://a/20200101000000/x>; rel="memento",\n' * 400_000
    web.add_route("/big/http://x.example/",
                  lambda h: send(h, 200, big, content_type="application/link-format"))
    with pytest.raises(WitnessError):
        MementoClient(web.url("/big/"), throttle=None).snapshots("http://x.example/")
