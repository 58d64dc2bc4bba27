"""Shapes real Wayback and Memento servers answer in, read right (checked against the edgi
recordings in ../shared/realworld/wayback and tests/realworld_wayback; all already right)."""

from __future__ import annotations

import pytest

from archive.cdx import collapse_duplicates, parse_cdx_page
from archive.memento import http_date_to_ts, memento_links
from archive.timemap import parse_timemap

TIMEMAP = """<http://example.org/>; rel="original",
<https://arch.example/timemap/link/http://example.org/>; rel="self";
  type="application/link-format"; from="Sun, 20 Mar 2022 16:12:45 GMT",
<https://arch.example/>; rel="timegate",
<https://arch.example/20220320161245/http://example.org/>
  ; rel="first memento"
  ; datetime="Sun, 20 Mar 2022 16:12:45 GMT",
<https://arch.example/20220321080000/http://example.org/a,b;c>; rel="memento"; datetime="Mon,  21 Mar 2022 08:00:00 GMT",
<https://arch.example/20220322080000/http://example.org/>; rel=memento; datetime="Tue, 22 Mar 2022 09:00:00 +0100",
<https://arch.example/20220323080000/http://example.org/>; datetime="Wed, 23 Mar 2022 08:00:00 GMT"; rel="last memento",
<https://arch.example/20220326080000/http://example.org/>; REL="Memento"; DATETIME="Sat, 26 Mar 2022 08:00:00 gmt",
<https://arch.example/20220327080000/http://example.org/>;rel="memento";datetime="Sun, 27 Mar 2022 08:00:00 GMT",
<https://arch.example/timemap/link/2/http://example.org/>; rel="timemap"; type="application/link-format"
"""  # noqa: E501


def test_timemap_with_split_entries_combined_rels_and_odd_spacing():
    page = parse_timemap(TIMEMAP, base="https://arch.example/timemap/link/http://example.org/")
    assert page.original == "http://example.org/"
    assert page.pages == ["https://arch.example/timemap/link/2/http://example.org/"]
    assert [r.timestamp for r in page.mementos] == [
        "20220320161245", "20220321080000", "20220322080000", "20220323080000",
        "20220326080000", "20220327080000"]
    assert page.mementos[1].memento.endswith("/a,b;c")  # , and ; inside <...> are the URL's


@pytest.mark.parametrize("value, stamp", [
    ("Sun, 20 Mar 2022 16:12:45 GMT", "20220320161245"),
    ("Sun,  20 Mar 2022  16:12:45 GMT", "20220320161245"),
    (" Sun, 20 Mar 2022 16:12:45 GMT ", "20220320161245"),
    ("Sun, 20 Mar 2022 16:12:45 UTC", "20220320161245"),
    ("Sun, 20 Mar 2022 16:12:45 +0100", "20220320151245"),  # the moment, in UTC
    ("Sunday, 20-Mar-22 16:12:45 GMT", "20220320161245"),  # RFC 850
    ("Sun Mar 20 16:12:45 2022", "20220320161245"),  # asctime
    ("not a date", None), ("", None),
])
def test_http_dates_as_servers_write_them(value, stamp):
    assert http_date_to_ts(value) == stamp


def test_only_the_exact_memento_relation_names_this_snapshot():
    header = ('<https://web.archive.org/web/20020120142510/http://example.com:80/>; '
              'rel="first memento"; datetime="Sun, 20 Jan 2002 14:25:10 GMT", '
              '<https://web.archive.org/web/20220320161245/http://example.com/>; '
              'rel="memento"; datetime="Sun, 20 Mar 2022 16:12:45 GMT", '
              '<https://web.archive.org/web/20240101000000/http://example.com/>; '
              'rel="last memento"; datetime="Mon, 01 Jan 2024 00:00:00 GMT"')
    assert memento_links(header) == [
        ("https://web.archive.org/web/20220320161245/http://example.com/", "20220320161245")]


CDX_JSON = """[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],
["org,example)/", "20220320161245", "http://example.org/", "text/html", "200", "AAAA", "1234"],
["org,example)/", "20220320161245", "http://example.org/", "text/html", "200", "AAAA", "1234"],
["org,example)/", "20220321080000", "https://example.org/", "warc/revisit", "-", "AAAA", "-"],
["org,example)/", "20220322080000", "http://example.org/", "text/html", "301", "-", "-"],
[],
["resume-key"]]"""

CDX_TEXT = """org,example)/ 20220320161245 http://example.org/ text/html 200 AAAA 1234
org,example)/ 20220320161245 http://example.org/ text/html 200 AAAA 1234
org,example)/ 20220321080000 https://example.org/ warc/revisit - AAAA -
org,example)/ 20220322080000 http://example.org/ text/html 301 - -

resume-key"""


@pytest.mark.parametrize("body", [CDX_JSON, CDX_TEXT], ids=["json", "text"])
def test_cdx_header_row_dashes_duplicates_and_resume_key(body):
    page = parse_cdx_page(body)
    assert page.resume_key == "resume-key"
    rows = collapse_duplicates(page.rows)
    assert [(r.timestamp, r.statuscode, r.digest, r.length) for r in rows] == [
        ("20220320161245", 200, "AAAA", 1234),
        ("20220321080000", None, "AAAA", None),  # a revisit: "-" is unknown, not 0
        ("20220322080000", 301, None, None)]
