"""The command line's grammar, shared: exit codes, the parser class, option definitions
and their checks, and how a command names the function that runs it.

Light on purpose: every subcommand's parser is built from this at start-up, so it imports
nothing beyond the standard library (``provenance --help`` must not load the library).
What the handlers share (option values turned into library inputs, lines about a capture's
witnesses) is :mod:`provenance.cli.shared`.
"""

from __future__ import annotations

import argparse
import difflib
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

Commands: TypeAlias = "argparse._SubParsersAction[Parser]"
"""What a command's ``_register`` function adds its parser to (``add_subparsers()``)."""

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that closed early


def url_options(sub: argparse.ArgumentParser, verb: str) -> None:
    sub.add_argument("urls", nargs="*", metavar="URL", help=f"http(s) URLs to {verb}")
    sub.add_argument("-i", "--input", metavar="FILE",
                     help="read URLs from FILE (one per line, # comments); - for stdin")


_INVALID_CHOICE = re.compile(r"argument (?P<arg>[^:]+): invalid choice: '(?P<given>[^']*)' "
                             r"\(choose from (?P<choices>.*)\)$")


def _nearest(message: str) -> str:
    """argparse's "invalid choice" as a person says it: the nearest choice suggested."""
    found = _INVALID_CHOICE.match(message)
    if found is None:
        return message
    given = found["given"]
    choices = re.findall(r"'([^']*)'", found["choices"]) or found["choices"].split(", ")
    what = "command" if found["arg"] == "COMMAND" else f"{found['arg']} value"
    close = difflib.get_close_matches(given, choices, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]}?" if close else f"choose from {', '.join(choices)}"
    return f"unknown {what} {given!r}: {hint}"


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2, and ends each
    command's ``--help`` with its examples (:func:`examples`)."""

    examples: tuple[str, ...] = ()

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"provenance: {_nearest(message)} (see '{self.prog} --help')\n")

    def format_help(self) -> str:
        text = super().format_help()
        if not self.examples:
            return text
        return text.rstrip("\n") + "\n\nexamples:\n" + "".join(
            f"  {line}\n" for line in self.examples)


def examples(sub: argparse.ArgumentParser, *lines: str) -> None:
    """The one or two command lines that end ``sub``'s ``--help``."""
    if isinstance(sub, Parser):
        sub.examples = lines


# Each option that several commands take is defined here once, with one meaning.

def to_option(sub: argparse.ArgumentParser, *, when: str = "") -> None:
    """``--to``: the witness archives a capture is sent to (or, for history, asked)."""
    sub.add_argument("--to", action="append", metavar="WITNESS", default=None,
                     help="witness archive: ia, pywb=BASE or none (repeatable; env "
                     f"PROVENANCE_TO, default ia){when}")


def tsa_option(sub: argparse.ArgumentParser, *, when: str = "") -> None:
    """``--tsa``: the time-stamp authorities new records are stamped by."""
    sub.add_argument("--tsa", action="append", metavar="URL", default=None,
                     help="RFC 3161 time-stamp authority URL, or none (repeatable; "
                     f"env PROVENANCE_TSA){when}")


def timeout_option(sub: argparse.ArgumentParser) -> None:
    """``--timeout``: the limit of every network request a command makes."""
    sub.add_argument("--timeout", type=positive_float, default=30.0, metavar="SECONDS",
                     help="give up on each network request after this many seconds in all "
                     "(connect, redirects, headers and body): a page fetched, a time-stamp "
                     "request, a request to a witness archive (default 30 s)")


def force_option(sub: argparse.ArgumentParser) -> None:
    """``--force``: replace an existing file the command writes outside the store."""
    sub.add_argument("--force", action="store_true",
                     help="replace an existing file named by --report, --annotate or --out "
                     "(a symbolic link, FIFO, device or folder is always refused, and a "
                     "missing folder is never created)")


def capture_options(sub: argparse.ArgumentParser) -> None:
    """Witnesses, time-stamps and fetch limits: the same for every command that captures."""
    to_option(sub)
    tsa_option(sub)
    sub.add_argument("--max-bytes", type=positive_int, default=50_000_000, metavar="N",
                     help="largest response body to keep, in bytes (default 50 MB)")
    timeout_option(sub)
    ignore_option(sub)


def browser_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--browser", action="store_true",
                     help="also render each page in headless Chromium and keep a WARC of all "
                     "it loaded, a full-page screenshot, the HTML after scripts and its text "
                     "(needs Debian's chromium; PROVENANCE_CHROMIUM names another binary)")


def ignore_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--ignore", action="append", metavar="REGEX", default=[],
                     help="a passage this regular expression finds is never a change (a "
                     "site's own ticker or 'most read' box); repeatable, and recorded with "
                     "each change")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


@dataclass(frozen=True)
class Handler:
    """The function that runs a command, named rather than imported: start-up then loads
    only the chosen command's module (:func:`provenance.cli.main.dispatch` imports it).
    The function takes ``(args, out)`` and returns the exit code."""

    module: str  # e.g. provenance.cli.history
    function: str  # e.g. cmd_history


def handled_by(sub: argparse.ArgumentParser, module: str, function: str) -> None:
    """Name the function that runs ``sub``'s command (see :class:`Handler`)."""
    sub.set_defaults(handler=Handler(module, function))
