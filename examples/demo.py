"""The main job on a bundled example, with no internet: serve a page on 127.0.0.1, capture it,
check the store, and check a screenshot of the withdrawn figures against a claim.

    python examples/demo.py [--store DIR]

The page in examples/site/ is a reconstruction for demonstration (windows-1251, as many
Russian sites serve), not a copy of the original article.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from provenance.cli import build_parser, main

HERE = Path(__file__).resolve().parent
CLAIM = "потеряли 9 861 человек убитыми и 16 153 ранеными"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def run(store: str) -> int:
    handler = functools.partial(QuietHandler, directory=str(HERE / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/kp/article.html"
    try:
        steps = [["archive", url, "--to", "none", "--tsa", "none"], ["check"]]
        commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
        screenshot = HERE / "screenshot.png"
        if "verify" in commands and screenshot.exists():
            steps.append(["verify", str(screenshot), "--text", CLAIM])
        worst = 0
        for step in steps:
            print(f"\n$ provenance --store {store} {' '.join(step)}", flush=True)
            worst = max(worst, main(["--store", store, *step]))
        return worst
    finally:
        server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="demo-evidence")
    parser.add_argument("--fresh", action="store_true", help="start from an empty store")
    options = parser.parse_args()
    if options.fresh:
        shutil.rmtree(options.store, ignore_errors=True)
    sys.exit(run(options.store))
