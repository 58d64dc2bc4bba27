"""The ``provenance`` command: parse arguments, call one library function, print, exit.

Exit codes (../shared/CONTRACT.md): 0 success, 1 a negative answer (a URL not captured,
a damaged store, a mismatch), 2 usage or input error. Only this package's and
:mod:`archive`'s own errors are caught here: a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from archive.errors import ArchiveError, BadUrl
from provenance import __version__
from provenance.errors import ProvenanceError, UsageError
from provenance.ledger import Ledger
from provenance.output import Output
from provenance.store import Store, resolve_store_path

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"provenance: {message} (see '{self.prog} --help')\n")


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Options every subcommand takes, before or after its name."""
    value = None if defaults else argparse.SUPPRESS
    parser.add_argument("--store", metavar="DIR", default=value,
                        help="evidence store folder (env PROVENANCE_STORE; default ./evidence)")
    parser.add_argument("--json", action="store_true",
                        default=False if defaults else argparse.SUPPRESS,
                        help="one JSON object per line on stdout; human text on stderr")
    parser.add_argument("-q", "--quiet", action="store_true",
                        default=False if defaults else argparse.SUPPRESS, help="say less")
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=False if defaults else argparse.SUPPRESS, help="say more")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="provenance",
        description="Prove what was published on the web: capture pages, send them to "
        "witness archives, OCR screenshots and check them, timestamp everything.",
    )
    parser.add_argument("--version", action="version", version=f"provenance {__version__}")
    _global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for register in REGISTRY:
        sub = register(commands)
        _global_options(sub, defaults=False)
    return parser


# --- archive ------------------------------------------------------------------------------

def _register_archive(commands: Any) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "archive", help="capture web pages into the evidence store",
        description="Fetch each URL now, keep a byte-exact WARC capture and its extracted text, "
        "and append a hash-chained ledger record. With -i, a rerun resumes: URLs already "
        "captured are skipped unless --again.")
    sub.add_argument("urls", nargs="*", metavar="URL", help="http(s) URLs to capture")
    sub.add_argument("-i", "--input", metavar="FILE",
                     help="read URLs from FILE (one per line, # comments); - for stdin")
    sub.add_argument("--to", action="append", metavar="WITNESS", default=None,
                     help="witness archive: ia, pywb=BASE or none (repeatable)")
    sub.add_argument("--tsa", action="append", metavar="URL", default=None,
                     help="RFC 3161 time-stamp authority URL, or none (repeatable; "
                     "env PROVENANCE_TSA)")
    sub.add_argument("--jobs", type=_positive_int, default=4, metavar="N",
                     help="fetch N pages at once (default 4)")
    sub.add_argument("--again", action="store_true",
                     help="with -i: capture URLs that already have a capture")
    sub.add_argument("--max-bytes", type=_positive_int, default=50_000_000, metavar="N",
                     help="largest response body to keep, in bytes (default 50 MB)")
    sub.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                     help="read timeout per request (default 30 s)")
    sub.set_defaults(handler=_cmd_archive)
    return sub


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _witness_specs(values: list[str] | None) -> list[Any]:
    """``--to`` values; ``none`` alone means no witness."""
    values = values or ["none"]
    specs = [v for v in values if v.strip().lower() != "none"]
    if specs:
        raise UsageError(f"witness {specs[0]!r} is not supported yet: use --to none")
    return []


def _tsa_urls(values: list[str] | None) -> list[str]:
    if values is None:
        env = os.environ.get("PROVENANCE_TSA", "")
        values = [v for v in env.split() if v] or ["none"]
    urls = [v for v in values if v.strip().lower() != "none"]
    if urls:
        raise UsageError(f"time-stamp authority {urls[0]!r} is not supported yet: use --tsa none")
    return []


def _cmd_archive(args: argparse.Namespace, out: Output) -> int:
    from archive.fetch import Fetcher

    from provenance.batch import already_captured, read_url_list, run_batch, validate_urls
    from provenance.capture import Capturer

    raw = list(args.urls)
    if args.input:
        raw.extend(read_url_list(args.input))
    if not raw:
        raise UsageError("no URL given: name one or more URLs, or -i FILE")
    urls = validate_urls(raw)  # every URL is checked before anything is written
    _witness_specs(args.to)
    _tsa_urls(args.tsa)

    store, ledger = _open_store(args)
    with ledger:
        todo = urls
        if args.input and not args.again:
            done = already_captured(ledger, urls)
            for url in urls:
                if url in done:
                    outcome = done[url]
                    out.item(outcome.to_json(), _human_capture(outcome))
            todo = [url for url in urls if url not in done]
            if done:
                out.say(f"resuming: {len(done)} of {len(urls)} URLs already captured, "
                        f"{len(todo)} to go")
        fetcher = Fetcher(read_timeout=args.timeout, max_bytes=args.max_bytes)
        capturer = Capturer(store, ledger, fetcher)
        failures = 0
        outcomes = run_batch(capturer, todo, jobs=args.jobs)
        for outcome in out.progress(outcomes, total=len(todo), desc="capturing"):
            if not outcome.ok:
                failures += 1
                out.error(f"{outcome.url}: {outcome.error}")
                if out.json_mode:
                    out.item(outcome.to_json())
                continue
            out.item(outcome.to_json(), _human_capture(outcome))
    return EXIT_NEGATIVE if failures else EXIT_OK


def _human_capture(outcome: Any) -> str:
    data = outcome.to_json()
    note = " (already captured)" if data.get("skipped") else ""
    title = f"  {data['title']}" if data.get("title") else ""
    return (f"{data['id']}  {data['http_status']}  {data['url']}{note}\n"
            f"    sha256 {data['sha256']}  ledger #{data['ledger_seq']}{title}")


# --- check --------------------------------------------------------------------------------

def _register_check(commands: Any) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        "check", help="verify every file, WARC digest, ledger link and timestamp",
        description="Recompute every stored file's hash, every WARC's digests and the "
        "ledger's hash chain. Prints each problem; exit 1 if any, 0 if the store is intact.")
    sub.set_defaults(handler=_cmd_check)
    return sub


def _cmd_check(args: argparse.Namespace, out: Output) -> int:
    from provenance.check import check_store

    store, ledger = _open_store(args, create=False)
    with ledger:
        report = check_store(store, ledger)
    for problem in report.problems:
        if out.json_mode:
            out.item(problem.to_json())
        else:
            out.error(str(problem))
    summary = {"intact": report.intact, "records": report.records, "files": report.files,
               "problems": len(report.problems)}
    if out.json_mode:
        out.item(summary)
    elif report.intact:
        out.item(summary, f"intact: {report.records} records, {report.files} files verified")
    else:
        out.item(summary, f"DAMAGED: {len(report.problems)} problem(s) in "
                 f"{report.records} records, {report.files} files")
    return EXIT_OK if report.intact else EXIT_NEGATIVE


# --- plumbing -----------------------------------------------------------------------------

REGISTRY = [_register_archive, _register_check]


def _open_store(args: argparse.Namespace, *, create: bool = True) -> tuple[Store, Ledger]:
    store = Store(resolve_store_path(args.store), create=create)
    store.clean_temp()
    return store, Ledger(store)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(json_mode=args.json, quiet=args.quiet, verbose=args.verbose)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args, out))
    except BadUrl as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except ProvenanceError as exc:
        out.error(str(exc))
        return exc.exit_code
    except ArchiveError as exc:
        out.error(str(exc))
        return EXIT_NEGATIVE
    except KeyboardInterrupt:
        out.error("interrupted; everything recorded so far is kept")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
