"""The ``provenance`` command: parse arguments, call one library function, print, exit.

Start-up is light: every subcommand's parser comes from :mod:`provenance.cli.commands`,
which imports no handler; :func:`dispatch` imports the chosen command's module when it
runs (the one import made late, see tests/test_architecture.py), so ``--help`` and
``--version`` answer without loading the library.

Exit codes (../shared/CONTRACT.md): 0 success, 1 a negative answer (a URL not captured,
a damaged store, a mismatch), 2 usage or input error. Only this package's and
:mod:`archive`'s own errors are caught here: a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from archive.errors import ArchiveError, BadUrl
from provenance import __version__
from provenance.cli.commands import REGISTRY
from provenance.cli.options import (
    EXIT_BROKEN_PIPE,
    EXIT_NEGATIVE,
    EXIT_USAGE,
    Handler,
    Parser,
)
from provenance.cli.output import Output
from provenance.errors import ProvenanceError
from provenance.store.backends import with_objects

Run = Callable[[argparse.Namespace, Output], int]


def _global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Options every subcommand takes, before or after its name."""
    value = None if defaults else argparse.SUPPRESS
    parser.add_argument("--store", metavar="DIR", default=value,
                        help="evidence store folder, or a team store's postgresql://USER@HOST/DB"
                        " (env PROVENANCE_STORE; default ./evidence)")
    parser.add_argument("--objects", metavar="URL", default=value,
                        help="a team store's objects: s3://BUCKET/PREFIX or a shared folder "
                        "(env PROVENANCE_OBJECTS)")
    parser.add_argument("--json", action="store_true",
                        default=False if defaults else argparse.SUPPRESS,
                        help="one JSON object per line on stdout; human text on stderr")
    parser.add_argument("-q", "--quiet", action="store_true",
                        default=False if defaults else argparse.SUPPRESS, help="say less")
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=False if defaults else argparse.SUPPRESS,
                        help="say more on stderr: each HTTP request (to the page, archives and "
                        "time-stamp authorities) and each ledger record written")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="provenance",
        description="Prove what was published on the web: capture pages, send them to "
        "witness archives, OCR screenshots and check them, timestamp everything.",
    )
    parser.add_argument("--version", action="version", version=f"provenance {__version__}")
    _global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for register in REGISTRY:
        sub = register(commands)
        _global_options(sub, defaults=False)
    return parser


@contextmanager
def verbose_to_stderr(on: bool) -> Iterator[None]:
    """``-v``: the library's own log lines (``archive.*``, ``provenance.*`` at INFO) on stderr,
    where human text goes; ``--json`` on stdout stays clean. Only for this one command: a
    program that calls :func:`main` twice (or the tests) is left as it was."""
    if not on:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    loggers = [logging.getLogger(name) for name in ("archive", "provenance")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def dispatch(handler: Handler) -> Run:
    """The function that runs the chosen command, its module imported now: the only
    import made after start-up (a command's module loads the library it needs)."""
    run: Run = getattr(importlib.import_module(handler.module), handler.function)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(json_mode=args.json, quiet=args.quiet)
    args.store = with_objects(args.store, args.objects)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with verbose_to_stderr(args.verbose and not args.quiet):
            return int(dispatch(args.handler)(args, out))
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
    except BrokenPipeError:
        # The reader went away (`provenance log | head`): stop quietly, as git does. What
        # was recorded is kept; stdout goes to /dev/null so the exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
