"""The viewer keeps a replay's WARC index for a moment (``provenance.web.indexes``): a page's
burst of resource requests reads and verifies the WARC once, an altered WARC is still never
replayed, and once the moment is over it is refused."""

from __future__ import annotations

import gzip
import time

import pytest
from webfixtures import send

from provenance.api import Evidence
from provenance.web.app import create_app
from provenance.web.indexes import IndexCache
from provenance.web.replay import Captured, WarcIndex
from provenance.web.security import Access

BASE = "http://127.0.0.1:8125"
TEXT = "Сводка министерства: потери 9861 человек, ранены 16153."


def _index(size: int) -> WarcIndex:
    body = b"x" * size
    return WarcIndex({"http://a.example/": Captured("http://a.example/", 200, "text/plain",
                                                    None, body)}, None, size)


def test_an_index_is_built_once_while_it_is_fresh_and_again_after():
    cache = IndexCache(ttl=0.3)
    built: list[int] = []

    def build() -> WarcIndex:
        built.append(1)
        return _index(10)

    first = cache.index("a" * 64, build)
    assert cache.index("a" * 64, build) is first and len(built) == 1
    time.sleep(0.35)
    assert cache.index("a" * 64, build) is not first and len(built) == 2


def test_the_oldest_index_goes_first_past_the_count_or_the_bytes():
    cache = IndexCache(ttl=60, most=2, max_bytes=100)
    built: list[str] = []

    def build(name: str, size: int):
        return lambda: built.append(name) or _index(size)

    cache.index("a", build("a", 10))
    cache.index("b", build("b", 10))
    cache.index("a", build("a", 10))  # used: now the newest
    cache.index("c", build("c", 10))  # three: "b", the oldest used, goes
    cache.index("a", build("a", 10))
    cache.index("b", build("b", 10))
    assert built == ["a", "b", "c", "b"]
    cache.index("d", build("d", 95))  # past the bytes: all but the newest go
    cache.index("a", build("a", 10))
    assert built[-2:] == ["d", "a"]


@pytest.fixture
def capture(tmp_path, web):
    web.add_route("/serve-indexes", lambda h: send(
        h, 200, f"<html><body><article><p>{TEXT}</p></article></body></html>".encode(),
        content_type="text/html; charset=utf-8"))
    with Evidence(tmp_path / "evidence") as opened:
        record = opened.archive([web.url("/serve-indexes")]).outcomes[0].record
        yield opened, record, web.url("/serve-indexes")


@pytest.mark.parametrize("ttl", [60.0, 0.0])
def test_an_altered_warc_is_never_replayed(capture, ttl):
    """A forger alters the WARC between a replay and its resource requests: while the index
    is fresh the resource is the recorded response (read from bytes that had the record's
    hash), and with no index kept it is refused; the altered bytes are never served."""
    evidence, record, url = capture
    access = Access("127.0.0.1", 8125)
    app = create_app(evidence, access)
    app.extensions["provenance.replay-indexes"] = IndexCache(ttl=ttl)
    client = app.test_client()
    assert TEXT in client.get(f"/record/{record.id}/replay", base_url=BASE).get_data(
        as_text=True)
    path = evidence.store.path(record.file("warc")["path"])
    path.chmod(0o644)
    forged = gzip.decompress(path.read_bytes()).replace(b"9861", b"1000")  # still a WARC
    path.write_bytes(forged)
    resource = client.get(f"/record/{record.id}/replay/resource", base_url=BASE, query_string={
        "source": "server", "url": url,
        "sig": access.replay_signature(record.id, "server", url)})
    shown = resource.get_data(as_text=True)
    assert "потери 1000" not in shown
    if ttl:
        assert resource.status_code == 200 and TEXT in shown
    else:
        assert resource.status_code == 409 and "was altered" in shown
