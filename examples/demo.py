"""The main job on a bundled example, with no internet: the story this tool was born from.

A page on 127.0.0.1 publishes casualty figures; we capture it and check the store. A
screenshot of the figures is checked against the quoted claim and against the capture.
Then the page is edited (the figures removed) and captured again: ``history`` shows what
was removed, ``verify --against URL`` says when the screenshot's text was on the page and
when it no longer was, and ``export`` writes a bundle anyone can check with sha256sum and
openssl alone. With openssl installed, a time-stamp authority on 127.0.0.1 (the test
suite's, built on ``openssl ts -reply``) stamps every capture and check, so the bundle is
``intact`` under its root and each VERIFY.md ``openssl ts -verify`` line is run.

    python examples/demo.py [--store DIR] [--fresh]

The pages in examples/site/ are a reconstruction for demonstration (windows-1251, as many
Russian sites serve), not copies of the original article; examples/screenshot.png is drawn
by examples/make_screenshot.py. Exits 0 when every step gives the answer it should.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from provenance.capture.capturer import CAPTURE
from provenance.cli.main import main
from provenance.screens.screenshots import VERIFICATION_KIND
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"  # the test suite's openssl TSA, reused as the demo's own
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


@contextlib.contextmanager
def local_tsa() -> Iterator[tuple[str, str] | None]:
    """A time-stamp authority on 127.0.0.1 built on ``openssl ts -reply`` (its URL and its
    root certificate), or None where openssl is missing. A stand-in for a public TSA: the
    demo has no internet, and nothing it stamps is trusted beyond this machine."""
    if shutil.which("openssl") is None or not (TESTS / "tsaserver.py").is_file():
        yield None
        return
    sys.path.insert(0, str(TESTS))
    from tsaserver import TsaServer, make_pki  # noqa: PLC0415 - only when openssl is there

    with tempfile.TemporaryDirectory(prefix="provenance-demo-tsa-") as folder:
        pki = make_pki(Path(folder))
        with TsaServer(pki) as server:
            yield server.url, str(pki.root)


def run(store: str) -> int:
    Site.edited.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Site, directory=str(HERE / "site")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}{PAGE}"
    screenshot = str(HERE / "screenshot.png")
    try:
        with local_tsa() as tsa:
            return story(store, url, screenshot, tsa)
    finally:
        server.shutdown()
        server.server_close()


def story(store: str, url: str, screenshot: str, tsa: tuple[str, str] | None) -> int:
    stamp = ["--tsa", tsa[0] if tsa else "none"]
    if tsa is None:
        print("# openssl is not installed: the demo runs without a time-stamp authority")
    ok = step(store, ["archive", url, "--to", "none", *stamp])
    ok &= step(store, ["check"])
    marked, report = f"{store}-marked.png", f"{store}-check.html"
    ok &= step(store, ["verify", screenshot, "--text", CLAIM, *stamp, "--annotate", marked,
                       "--report", report, "--force"])
    ok &= step(store, ["verify", screenshot, "--against", record_ids(store)[-1], *stamp])
    print("\n# Hours later the page is edited: the paragraph with the figures is gone.")
    Site.edited.set()
    ok &= step(store, ["archive", url, "--to", "none", *stamp])
    timeline = f"{store}-timeline.html"
    ok &= step(store, ["history", url, "--to", "none", "--report", timeline, "--force"])
    # Every copy of the page: the first capture shows the screenshot's text, the latest
    # no longer does. Match (the page did show it), naming the copy, with the timeline.
    ok &= step(store, ["verify", screenshot, "--against", url, "--to", "none", *stamp])
    bundle = f"{store}-bundle.zip"
    evidence = record_ids(store) + record_ids(store, VERIFICATION_KIND)
    ok &= step(store, ["export", *evidence, "--out", bundle, "--force"])  # a rerun
    if tsa is None:
        # Every file and link checks out, but nothing is time-stamped: NOT PROVEN, exit 1.
        ok &= step(store, ["check", "--bundle", bundle], expect=1)
    else:
        # Trusted: every record chains to the root we give (the demo TSA's own root).
        ok &= step(store, ["check", "--bundle", bundle, "--tsa-ca", tsa[1]])
        ok &= openssl_checks(bundle, tsa[1])
    print(f"\n# Open {marked} (the screenshot, the passage boxed), {report} and {timeline} "
          f"in a browser; {bundle}: unzip it and run 'sha256sum -c MANIFEST.sha256'; "
          "VERIFY.md says the rest.")
    return 0 if ok else 1


def openssl_checks(bundle: str, root: str) -> bool:
    """What VERIFY.md tells a court to run, with standard tools only: sha256sum -c and
    openssl ts -verify of every time-stamp in the bundle, against the TSA's root."""
    with tempfile.TemporaryDirectory(prefix="provenance-demo-bundle-") as folder:
        shutil.unpack_archive(bundle, folder, "zip")
        print(f"\n$ cd {Path(bundle).stem} && sha256sum -c --quiet MANIFEST.sha256", flush=True)
        ok = subprocess.run(["sha256sum", "-c", "--quiet", "MANIFEST.sha256"],
                            cwd=folder).returncode == 0
        index = json.loads(Path(folder, "bundle.json").read_text("utf-8"))
        for stamp in index["timestamps"]:  # as VERIFY.md lists them, with the TSA's root
            command = ["openssl", "ts", "-verify", "-in", stamp["token"], "-data",
                       stamp["data"], "-CAfile", root]
            if stamp.get("certs"):
                command += ["-untrusted", stamp["certs"]]
            print("$ " + " ".join(command), flush=True)
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
            print(done.stdout.strip() or done.stderr.strip()[-200:], flush=True)
            ok &= "Verification: OK" in done.stdout
        return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="demo-evidence")
    parser.add_argument("--fresh", action="store_true", help="start from an empty store")
    options = parser.parse_args()
    if options.fresh:
        shutil.rmtree(options.store, ignore_errors=True)
        Path(f"{options.store}-bundle.zip").unlink(missing_ok=True)
    sys.exit(run(options.store))
