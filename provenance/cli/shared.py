"""What the command handlers share: option values turned into what the library takes (URLs
read and checked, witness specs, time-stamp authorities), and the lines that say what
went wrong with a capture. Only handlers import this (it loads the library's web part);
parsers use :mod:`provenance.cli.options`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from archive.blockpage import BlockPage
from archive.errors import ConfigError
from archive.wayback import Keys
from archive.witness import BadWitnessSpec, WitnessConfig, parse_specs
from provenance.capture.batch import read_url_list, validate_urls
from provenance.capture.capturer import CaptureOutcome
from provenance.cli.output import Output
from provenance.errors import UsageError
from provenance.store.records import WitnessStatus


def urls_from(args: argparse.Namespace) -> list[str]:
    """URL arguments and -i FILE, each checked before anything is written (UsageError)."""

    raw = list(args.urls)
    if args.input:
        raw.extend(read_url_list(args.input))
    if not raw:
        raise UsageError("no URL given: name one or more URLs, or -i FILE")
    return validate_urls(raw)


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


def error_status(status: object) -> str | None:
    """"HTTP 404 Not Found" for a 4xx/5xx status, ``None`` for any other."""
    if not isinstance(status, int) or status < 400:
        return None
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def say_http_status(url: str, status: object, out: Output, *, when: str = "") -> None:
    """A capture of an error page is kept (it is evidence too), and said plainly."""
    said = error_status(status)
    if said:
        out.error(f"{url}: the server answered {said}{when}; the error page is what was "
                  "captured, not the article")


def say_served(url: str, data: Mapping[str, Any], out: Output, *, when: str = "") -> None:
    """What a capture holds when it is not the article, said plainly (it is kept: it is
    evidence of what was served): a bot check, captcha or "access denied" page
    (``blocked``, with its error status if any), else an error page (:func:`say_http_status`)."""
    page = BlockPage.from_json(data.get("blocked"))
    if page is None:
        say_http_status(url, data.get("http_status"), out, when=when)
        return
    said = error_status(data.get("http_status"))
    out.error(f"{url}: the server sent {page.words} instead of the page"
              f"{f' ({said})' if said else ''}{when}; that is what was captured, not the "
              "article")


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
