"""``provenance serve``: the evidence store in a web browser (:mod:`provenance.web`)."""

from __future__ import annotations

import argparse
import os

from provenance.api import Evidence
from provenance.cli.options import (
    EXIT_OK,
    Commands,
    examples,
    positive_int,
    timeout_option,
    tsa_option,
    tsa_urls,
)
from provenance.cli.output import Output
from provenance.errors import UsageError
from provenance.web.context import ServeSettings
from provenance.web.server import listen

TESSERACT_ENV = "PROVENANCE_TESSERACT"


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r} (0 to 65535)")
    return int(text)


def _register_serve(commands: Commands) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "serve", help="browse the evidence store in a web browser (local web viewer)",
        description="Serve a web viewer of the store: the captures (searchable), each "
        "capture with its replay from our WARC, a URL's history, checking a screenshot, "
        "exporting a bundle and checking the store. Listens on 127.0.0.1 unless --host "
        "says otherwise; on any other address every request needs the access token "
        "printed at start. Stop it with Ctrl-C.")
    sub.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    sub.add_argument("--port", type=_port, default=8080,
                     help="port to listen on (default 8080; 0: any free port)")
    sub.add_argument("--max-upload", type=positive_int, default=20, metavar="MIB",
                     help="largest screenshot upload in MiB (default 20)")
    tsa_option(sub, when="; for the screenshot checks made in the viewer")
    timeout_option(sub)
    examples(sub, "provenance serve", "provenance serve --store /cases/kp --port 8765")
    sub.set_defaults(handler=_cmd_serve)
    return sub


def _cmd_serve(args: argparse.Namespace, out: Output) -> int:
    settings = ServeSettings(tsas=tsa_urls(args.tsa), max_upload=args.max_upload << 20,
                             timeout=args.timeout,
                             tesseract=os.environ.get(TESSERACT_ENV) or "tesseract")
    if not args.host.strip():
        raise UsageError("--host is empty")
    with Evidence(args.store, create=False) as evidence:
        running = listen(evidence, args.host, args.port, settings)
        out.stderr.write(f"provenance: serving {evidence.store.root} at {running.url}\n")
        if running.access.token:
            out.stderr.write("provenance: not a loopback address: every request needs the "
                             "token above (open that address once, or send "
                             "'Authorization: Bearer TOKEN')\n")
        out.stderr.flush()
        try:
            running.serve()
        except KeyboardInterrupt:
            out.say("stopped")
        finally:
            running.close()
    return EXIT_OK


REGISTER = [_register_serve]
