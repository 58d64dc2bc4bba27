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
import sys
import tempfile
from typing import Any

from benchmarks.check import build
from benchmarks.common import best_of, row
from provenance.api import Evidence
from provenance.cli.main import main
from provenance.web.app import create_app
from provenance.web.security import Access

GOAL_S = 0.3


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
    return rows


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
