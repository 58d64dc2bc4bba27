"""The main job on a bundled example, with no internet: the story this tool was born from.

A page on 127.0.0.1 publishes casualty figures; we capture it and check the store. A
screenshot of the figures is checked against the quoted claim and against the capture.
Then the page is edited (the figures removed) and captured again: ``history`` shows what
was removed, ``verify --against URL`` says when the screenshot's text was on the page and
when it no longer was, and ``export`` writes a bundle anyone can check with sha256sum and
openssl alone.

    python examples/demo.py [--store DIR] [--fresh]

The pages in examples/site/ are a reconstruction for demonstration (windows-1251, as many
Russian sites serve), not copies of the original article; examples/screenshot.png is drawn
by examples/make_screenshot.py. Exits 0 when every step gives the answer it should.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from provenance.capture.capturer import CAPTURE
from provenance.cli.main import main
from provenance.screens.screenshots import VERIFICATION_KIND
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

HERE = Path(__file__).resolve().parent
CLAIM = "потеряли 9 861 человек убитыми и 16 153 ранеными"
PAGE = "/kp/article.html"


class Site(SimpleHTTPRequestHandler):
    """Serves examples/site; once ``edited`` is set, the article is the edited version."""

    edited = threading.Event()

    def translate_path(self, path: str) -> str:
        if path.split("?")[0] == PAGE and self.edited.is_set():
            path = PAGE.replace(".html", "-edited.html")
        return super().translate_path(path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def step(store: str, command: list[str], expect: int = 0) -> bool:
    """Run one command as a user would type it; whether it exited as the story expects."""
    shown = " ".join(f"'{word}'" if " " in word else word for word in command)
    print(f"\n$ provenance --store {store} {shown}", flush=True)
    code = main(["--store", store, *command])
    if code != expect:
        print(f"(expected exit {expect}, got {code})", flush=True)
    return code == expect


def record_ids(store: str, kind: str = CAPTURE) -> list[str]:
    with Ledger(Store(store, create=False)) as ledger:
        return [record.id for record in ledger.records(kind=kind)]


def run(store: str) -> int:
    Site.edited.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Site, directory=str(HERE / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}{PAGE}"
    screenshot = str(HERE / "screenshot.png")
    try:
        ok = step(store, ["archive", url, "--to", "none", "--tsa", "none"])
        ok &= step(store, ["check"])
        ok &= step(store, ["verify", screenshot, "--text", CLAIM])
        ok &= step(store, ["verify", screenshot, "--against", record_ids(store)[-1]])
        print("\n# Hours later the page is edited: the paragraph with the figures is gone.")
        Site.edited.set()
        ok &= step(store, ["archive", url, "--to", "none", "--tsa", "none"])
        ok &= step(store, ["history", url, "--to", "none"])
        # Every copy of the page: the first capture shows the screenshot's text, the latest
        # no longer does. Match (the page did show it), naming the copy, with the timeline.
        ok &= step(store, ["verify", screenshot, "--against", url, "--to", "none"])
        bundle = f"{store}-bundle.zip"
        evidence = record_ids(store) + record_ids(store, VERIFICATION_KIND)
        ok &= step(store, ["export", *evidence, "--out", bundle, "--force"])  # a rerun
        # Every file and link checks out, but the demo ran with --tsa none (no internet):
        # nothing is time-stamped, so check --bundle says NOT PROVEN and exits 1.
        ok &= step(store, ["check", "--bundle", bundle], expect=1)
        print(f"\n# {bundle}: unzip it and run 'sha256sum -c MANIFEST.sha256'; "
              "VERIFY.md says the rest.")
        return 0 if ok else 1
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
        Path(f"{options.store}-bundle.zip").unlink(missing_ok=True)
    sys.exit(run(options.store))
