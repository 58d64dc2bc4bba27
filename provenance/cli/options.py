"""What the commands share: exit codes, option definitions and their checks,
saying what witnesses answered. Every command module imports this, never
:mod:`provenance.cli.main` (which imports them all).
"""

from __future__ import annotations

import argparse
import os
from typing import Any, TypeAlias

from archive.errors import ConfigError
from archive.wayback import Keys
from archive.witness import BadWitnessSpec, WitnessConfig, parse_specs
from provenance.capture.batch import read_url_list, validate_urls
from provenance.capture.capturer import CaptureOutcome
from provenance.cli.output import Output
from provenance.errors import UsageError
from provenance.store.records import WitnessStatus

Commands: TypeAlias = "argparse._SubParsersAction[Parser]"
"""What a command's ``_register`` function adds its parser to (``add_subparsers()``)."""

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that closed early


def url_options(sub: argparse.ArgumentParser, verb: str) -> None:
    sub.add_argument("urls", nargs="*", metavar="URL", help=f"http(s) URLs to {verb}")
    sub.add_argument("-i", "--input", metavar="FILE",
                     help="read URLs from FILE (one per line, # comments); - for stdin")


def urls_from(args: argparse.Namespace) -> list[str]:
    """URL arguments and -i FILE, each checked before anything is written (UsageError)."""

    raw = list(args.urls)
    if args.input:
        raw.extend(read_url_list(args.input))
    if not raw:
        raise UsageError("no URL given: name one or more URLs, or -i FILE")
    return validate_urls(raw)


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2, and ends each
    command's ``--help`` with its examples (:func:`examples`)."""

    examples: tuple[str, ...] = ()

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"provenance: {message} (see '{self.prog} --help')\n")

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


def witness_specs(values: list[str] | None) -> list[Any]:
    """``--to`` values, else ``$PROVENANCE_TO`` (space-separated), else ``ia``; ``none``: []."""

    if values is None:
        values = os.environ.get("PROVENANCE_TO", "").split() or ["ia"]
    try:
        WitnessConfig.from_env()  # a bad PROVENANCE_IA_INTERVAL is a usage error, said now
        specs = parse_specs(values)
        if any(spec.kind == "ia" for spec in specs):
            Keys.load()  # so is an unreadable keys file
        return specs
    except BadWitnessSpec as exc:
        raise UsageError(f"--to {exc}") from None  # the library's message names no option
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def tsa_urls(values: list[str] | None) -> list[str]:
    if values is None:
        env = os.environ.get("PROVENANCE_TSA", "")
        values = [v for v in env.split() if v] or ["none"]
    urls = [v.strip() for v in values if v.strip().lower() != "none"]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"time-stamp authority {url!r} is not an http(s) URL")
    return list(dict.fromkeys(urls))



def say_failure(outcome: CaptureOutcome, out: Output) -> None:
    """One stderr line for a capture that failed, with the option that would help."""
    advice = "; --max-bytes raises the cap" if outcome.reason == "too-large" else ""
    out.error(f"{outcome.url}: {outcome.error}{advice}")


def say_witnesses(url: str, witnesses: list[dict[str, Any]], out: Output) -> None:
    """One stderr line per witness that did not confirm our copy (the capture is kept)."""
    for w in witnesses:
        if w["status"] != WitnessStatus.ARCHIVED:
            again = "; 'provenance retry' sends it again" if w.get("retryable") else ""
            out.error(f"{url}: witness {w['name']} {w['status']} ({w['error']}){again}")
        elif w["agrees"] is False:
            out.error(f"{url}: witness {w['name']} holds a DIFFERENT copy "
                      f"(sha256 {w['witness_sha256']}) at {w['url']}")
        elif w["error"]:
            out.error(f"{url}: witness {w['name']}: {w['error']}")
