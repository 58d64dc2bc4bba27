"""The main job on a bundled example, with no internet: serve a page on 127.0.0.1, capture it,
check the store, and check a screenshot of the withdrawn figures against a claim and
against the capture.

    python examples/demo.py [--store DIR]

The page in examples/site/ is a reconstruction for demonstration (windows-1251, as many
Russian sites serve), not a copy of the original article; examples/screenshot.png is drawn
by examples/make_screenshot.py. Exits 0 when every step succeeds (both verdicts match).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from provenance.capture import CAPTURE
from provenance.cli import main
from provenance.ledger import Ledger
from provenance.store import Store

HERE = Path(__file__).resolve().parent
CLAIM = "потеряли 9 861 человек убитыми и 16 153 ранеными"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def step(store: str, command: list[str]) -> int:
    shown = " ".join(f"'{word}'" if " " in word else word for word in command)
    print(f"\n$ provenance --store {store} {shown}", flush=True)
    return main(["--store", store, *command])


def latest_capture(store: str) -> str:
    """The id of the capture just made (what 'archive' printed first on its line)."""
    with Ledger(Store(store, create=False)) as ledger:
        captures = list(ledger.records(kind=CAPTURE))
    return captures[-1].id


def run(store: str) -> int:
    handler = functools.partial(QuietHandler, directory=str(HERE / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/kp/article.html"
    try:
        screenshot = str(HERE / "screenshot.png")
        worst = step(store, ["archive", url, "--to", "none", "--tsa", "none"])
        worst = max(worst, step(store, ["check"]))
        worst = max(worst, step(store, ["verify", screenshot, "--text", CLAIM]))
        return max(worst, step(store, ["verify", screenshot, "--against", latest_capture(store)]))
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="demo-evidence")
    parser.add_argument("--fresh", action="store_true", help="start from an empty store")
    options = parser.parse_args()
    if options.fresh:
        shutil.rmtree(options.store, ignore_errors=True)
    sys.exit(run(options.store))
