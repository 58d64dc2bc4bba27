"""VERIFY.md's commands are the bundle's own: what a reader without this tool runs.

A court checks a bundle by running the commands in VERIFY.md's ``sh`` blocks. Whoever
made the zip wrote that file too: an ``openssl ts -verify`` line pointed at other data, a
``curl`` line at another copy with the hash it returns, a stamp's line left out, or a
command of their own would make the reader's check say what the evidence does not.
:func:`command_problems` compares every command there with the ones the bundle's records
give (:class:`Expected`), in the forms ``export`` writes them; VERIFY.md's prose is not
checked, only its commands.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from archive.witness import WitnessSpec, raw_copy_url

_FENCE = re.compile(r"^\s*```")
_CURL = re.compile(r"curl -s --compressed '([^']*)' \| sha256sum +# expect ([0-9a-f]{64})")
_FIXED = ("sha256sum -c MANIFEST.sha256", "sha256sum records/*.record")
_CA_FILES = ("TSA-ROOT.pem", "TSA-CHAIN.pem")


@dataclass
class Expected:
    """The commands a bundle's records give: one ``openssl ts -verify`` per granted stamp
    (``stamps``: seq -> the data file it signs), one ``curl`` per archived witness copy."""

    stamps: dict[int, str] = field(default_factory=dict)
    copies: set[tuple[str, str]] = field(default_factory=set)


def raw_copy(data: dict[str, Any]) -> tuple[str, str] | None:
    """The raw copy URL and the hash to expect of it for a witness record's ``data``, as
    VERIFY.md gives them (None: the record names no copy to fetch)."""
    url, expect = data.get("url"), data.get("payload_sha256")
    if data.get("status") != "archived" or not isinstance(url, str) or not expect:
        return None
    try:
        spec = WitnessSpec.parse(str(data.get("witness")))
    except ValueError:
        return None  # a witness this version does not know: no raw copy to name
    raw = raw_copy_url(spec, url)
    return (raw, str(expect)) if raw else None


def command_problems(text: str, expected: Expected) -> list[str]:
    """Every command in ``text``'s ``sh`` blocks that the bundle does not give, and every
    one it gives that is missing; one line each."""
    problems: list[str] = []
    seen_stamps: set[int] = set()
    seen_copies: set[tuple[str, str]] = set()
    fixed: set[str] = set()
    for line in _commands(text):
        if line in _FIXED:
            fixed.add(line)
        elif line.startswith("unzip "):
            if not _unzip_holds(line):
                problems.append(f"VERIFY.md: {line!r} is not the unzip command of a bundle")
        elif line.startswith("openssl ts -verify "):
            seq = _stamp_of(line, expected)
            if seq is None:
                problems.append(f"VERIFY.md: {line!r} does not check a time-stamp of this "
                                "bundle over the data it signed")
            else:
                seen_stamps.add(seq)
        elif (match := _CURL.fullmatch(line)) is not None and (
                (match[1], match[2]) in expected.copies):
            seen_copies.add((match[1], match[2]))
        else:
            problems.append(f"VERIFY.md: {line!r} is not a command this bundle gives")
    for missing in sorted(set(_FIXED) - fixed):
        problems.append(f"VERIFY.md: lacks the command {missing!r}")
    for seq in sorted(set(expected.stamps) - seen_stamps):
        problems.append(f"VERIFY.md: lacks the openssl command for time-stamp {seq}")
    for url, _ in sorted(expected.copies - seen_copies):
        problems.append(f"VERIFY.md: lacks the curl command for the witness copy {url}")
    return problems


def _commands(text: str) -> list[str]:
    """The lines of every fenced block, stripped (the witness commands are indented)."""
    found, inside = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            inside = not inside
        elif inside and line.strip():
            found.append(line.strip())
    return found


def _unzip_holds(line: str) -> bool:
    try:
        words = shlex.split(line)
    except ValueError:
        return False
    if len(words) != 7 or words[0] != "unzip" or words[2:] != ["-d", words[3], "&&", "cd",
                                                                words[3]]:
        return False
    name = words[1]
    folder = name[:-4] if name.lower().endswith(".zip") and len(name) > 4 else f"{name}.d"
    return words[3] == folder and "/" not in folder and not folder.startswith("-")


def _stamp_of(line: str, expected: Expected) -> int | None:
    """The stamp an ``openssl ts -verify`` line checks, if it checks that stamp's token over
    the data it signed, with only that stamp's certificates (or a reader's own) as CAs."""
    try:
        words = shlex.split(line)[3:]
    except ValueError:
        return None
    options: dict[str, str] = {}
    while words:
        option = words.pop(0)
        if option == "-partial_chain" and option not in options:
            options[option] = ""
        elif option in ("-in", "-data", "-CAfile", "-untrusted") and words and (
                option not in options):
            options[option] = words.pop(0)
        else:
            return None
    match = re.fullmatch(r"timestamps/([1-9][0-9]{0,17})\.tsr", options.get("-in", ""))
    if match is None:
        return None
    seq = int(match[1])
    own = (f"timestamps/{seq}.root.pem", f"timestamps/{seq}.certs.pem", *_CA_FILES)
    if (expected.stamps.get(seq) != options.get("-data") or "-CAfile" not in options
            or any(options[o] not in own for o in ("-CAfile", "-untrusted") if o in options)):
        return None
    return seq
