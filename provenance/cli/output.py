"""Where the CLI writes: JSON Lines on stdout for scripts, words for people.

With ``--json`` stdout carries nothing but one JSON object per line; everything meant
for a person (notes, warnings, the progress bar) goes to stderr, so a pipe into ``jq``
never sees a stray line.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any, TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")


class Line(str, Enum):
    """What a ``--json`` line is about: its ``"type"`` field, so the mixed output of
    ``retry`` or ``check --bundle`` can be told apart without guessing from the keys."""

    CAPTURE = "capture"  # a capture made (or, with "error", one that failed)
    WITNESS = "witness"  # a witness archive's answer
    STAMP = "stamp"  # a time-stamp asked for
    PROBLEM = "problem"  # something wrong or unverifiable found by check
    RECORD = "record"  # one ledger record (log, show, check --bundle)
    SNAPSHOT = "snapshot"  # one capture of a URL in its history, local or a witness's
    OCR = "ocr"  # an image read
    VERIFICATION = "verification"  # a screenshot checked
    SUMMARY = "summary"  # the closing line of check and export


class Output:
    def __init__(self, *, json_mode: bool = False, quiet: bool = False,
                 stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def item(self, line: Line, obj: dict[str, Any], human: str | None = None) -> None:
        """One result: a JSON line with its ``"type"``, or (without ``--json``) its human
        summary."""
        if self.json_mode:
            typed = {"type": line.value, **obj}
            self.stdout.write(json.dumps(typed, ensure_ascii=False, sort_keys=False) + "\n")
            self.stdout.flush()
        elif human is not None:
            self.stdout.write(human.rstrip("\n") + "\n")
            self.stdout.flush()

    def say(self, message: str) -> None:
        """A note for a person; always on stderr, silenced by ``-q``."""
        if not self.quiet:
            self.stderr.write(message.rstrip("\n") + "\n")

    def error(self, message: str) -> None:
        """A problem: one line on stderr, never silenced (see :func:`one_line`)."""
        self.stderr.write(f"provenance: {one_line(message.rstrip(chr(10)))}\n")

    def progress(self, items: Iterable[T], *, total: int | None, desc: str) -> Iterator[T]:
        """A progress bar on stderr when it is a terminal; nothing otherwise."""
        show = not self.quiet and total is not None and total > 1 and _is_tty(self.stderr)
        if not show:
            yield from items
            return

        with tqdm(total=total, desc=desc, file=self.stderr, unit="item", leave=False) as bar:
            for item in items:
                yield item
                bar.update(1)


_UNSEEN_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def one_line(text: str) -> str:
    """``text`` with every character a terminal would not show as itself written as an
    escape (``\\n``, ``\\x1b``, ``\\u202e``): a subject, a file name or a zip entry name
    comes from a record or a bundle that a forger wrote, and a newline, a cursor move or a
    right-to-left override in it must not print a line of its own (a fake "time-stamped")
    or hide one."""
    if text.isprintable():
        return text
    return "".join(c.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(c) in _UNSEEN_CATEGORIES else c for c in text)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
