"""``provenance serve``: the evidence store in a web browser (:mod:`provenance.web`)."""

from __future__ import annotations

import argparse
import os

from provenance.api import Evidence
from provenance.cli.options import EXIT_OK
from provenance.cli.output import Output
from provenance.cli.shared import tsa_urls
from provenance.errors import UsageError
from provenance.web.context import ServeSettings
from provenance.web.server import listen

TESSERACT_ENV = "PROVENANCE_TESSERACT"


def cmd_serve(args: argparse.Namespace, out: Output) -> int:
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

