"""``provenance serve`` on a ledger of 100,000 records (20,000 with ``--quick``).

Goal: the captures list (first page, a search, a page deep in the ledger) and a URL's
history each render in under 300 ms, whole pages through the application (routing,
security hooks, SQL, templates). The baseline is ``provenance log URL`` on the same store
(one URL's records by index, printed), measured in the same run. The store is built as
benchmarks/check.py builds its own; all timings are warm, best of five.
"""

from __future__ import annotations

import contextlib
import io
import random
import sys
import tempfile
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from benchmarks.check import build
from benchmarks.common import best_of, row
from provenance.api import Evidence
from provenance.cli.main import main
from provenance.web.app import create_app
from provenance.web.indexes import IndexCache
from provenance.web.security import Access

GOAL_S = 0.3
RESOURCES = 100  # images of a replayed page, 100 KB each: a 10 MB WARC


def run(quick: bool = False) -> list[dict[str, Any]]:
    records = 20_000 if quick else 100_000
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        build(folder, records)[1].close()
        url = f"http://127.0.0.1/page/{records // 2}"

        def baseline() -> None:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                code = main(["--store", folder, "--json", "log", url])
            assert code == 0 and url in out.getvalue()

        base_s = best_of(5, baseline)
        with Evidence(folder, create=False) as evidence:
            client = create_app(evidence, Access("127.0.0.1", 80)).test_client()
            pages = {"captures list, first page": "/",
                     "captures list, search": f"/?q=page/{records // 3}",
                     "captures list, deep page": f"/?before={records // 10}",
                     "a URL's history": f"/history?url={url}"}
            for name, path in pages.items():
                def render(path: str = path) -> None:
                    answer = client.get(path, base_url="http://127.0.0.1")
                    assert answer.status_code == 200, (path, answer.status_code)
                render()  # warm
                ours_s = best_of(5, render)
                rows.append(row(f"serve: {name} on {records} records", ours_s, base_s, "s",
                                f"< {GOAL_S:g} s", ok=ours_s < GOAL_S))
    rows.append(_replay_row())
    return rows


def _replay_row() -> dict[str, Any]:
    """A replayed page's images, each its own request: with the WARC's index kept a minute
    (:mod:`provenance.web.indexes`) against reading, verifying and indexing the WARC for each
    (``IndexCache(ttl=0)``: the viewer before it kept indexes)."""
    with tempfile.TemporaryDirectory() as folder, Evidence(folder) as evidence:
        urls = [f"http://127.0.0.1/img/{n}.png" for n in range(RESOURCES)]
        stored = evidence.store.put_bytes(_warc(urls), role="warc", suffix=".warc.gz")
        page = urls[0]
        record = evidence.ledger.append("capture", {"url": page, "final_url": page,
                                                    "files": [stored.to_json()]}, subject=page)
        access = Access("127.0.0.1", 80)
        app = create_app(evidence, access)

        def replay(ttl: float) -> float:
            app.extensions["provenance.replay-indexes"] = IndexCache(ttl=ttl)
            client = app.test_client()

            def all_resources() -> None:
                for url in urls:
                    answer = client.get(
                        f"/record/{record.id}/replay/resource", base_url="http://127.0.0.1",
                        query_string={"source": "server", "url": url,
                                      "sig": access.replay_signature(record.id, "server", url)})
                    assert answer.status_code == 200, answer.status_code
            return best_of(3, all_resources)

        base_s, ours_s = replay(0.0), replay(60.0)
    return row(f"serve: a replayed page's {RESOURCES} images from a "
               f"{stored.size / 1e6:.0f} MB WARC", ours_s, base_s, "s", "ratio >= 10",
               ok=base_s / ours_s >= 10)


def _warc(urls: list[str]) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    for url in urls:
        body = random.Random(url).randbytes(100_000)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "image/png"),
                                              ("Content-Length", str(len(body)))],
                                   protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                      http_headers=headers))
    return out.getvalue()


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
