"""A capture replayed from our own WARC: the page, and each image, stylesheet or font it
loads, looked up by URL in the same WARC. Never fetched from the live site.

Two replays of a capture: ``server``, the response our fetcher recorded (role ``warc``),
and ``browser`` for an ``archive --browser`` capture: the DOM after scripts ran (role
``browser-dom``, so a page built by JavaScript shows as the reader saw it) with its
sub-resources from every response the browser recorded (role ``browser-warc``).
"""

from __future__ import annotations

from enum import Enum

from flask import Blueprint, Response, request, url_for
from werkzeug.exceptions import NotFound

from provenance.api import MAX_SHOWN_BYTES
from provenance.capture.rendered import BROWSER_DOM, BROWSER_WARC, browser_part
from provenance.errors import ProvenanceError, StoreError, UsageError
from provenance.store.kinds import CAPTURE, SNAPSHOT
from provenance.store.ledger import Record
from provenance.store.records import BrowserStatus
from provenance.web.context import evidence, replay_indexes
from provenance.web.replay import Captured, Replay, WarcIndex, shown
from provenance.web.rewrite import Link
from provenance.web.security import REPLAY_POLICY, access
from provenance.web.views.common import record_at

blueprint = Blueprint("replay", __name__)


class Source(Enum):
    """Which recording of the page a replay is built from."""

    SERVER = "server"
    BROWSER = "browser"

    @property
    def warc_role(self) -> str:
        return BROWSER_WARC if self is Source.BROWSER else "warc"


def sources(found: Record) -> list[Source]:
    """The replays ``found`` has, the one closest to what a reader saw first."""
    if found.kind not in (CAPTURE, SNAPSHOT):
        return []
    held = [s for s in (Source.BROWSER, Source.SERVER) if found.file(s.warc_role)]
    part = browser_part(found.data)
    if Source.BROWSER in held and (part is None or part.status is not BrowserStatus.OK
                                   or found.file(BROWSER_DOM) is None):
        held.remove(Source.BROWSER)  # a failed render: its WARC alone is no page
    return held


def _source(found: Record, value: str | None) -> Source:
    held = sources(found)
    if not held:
        raise UsageError(f"record #{found.seq} is a {found.kind} record with nothing "
                         "to replay")
    if value is None or value == "":
        return held[0]
    try:
        chosen = Source(value)
    except ValueError:
        raise UsageError(f"no replay {value[:20]!r} (server or browser)") from None
    if chosen not in held:
        raise NotFound(f"record #{found.seq} has no {chosen.value} replay")
    return chosen


def _read(found: Record, role: str) -> bytes:
    entry = found.file(role)
    if entry is None:
        raise NotFound(f"record #{found.seq} has no {role} file")
    try:
        return evidence().store.read_verified(entry, limit=MAX_SHOWN_BYTES)
    except StoreError as exc:
        raise ProvenanceError(f"record #{found.seq}: its {role} file: {exc}; "
                              "run 'provenance check'") from None


def _index(found: Record, source: Source) -> WarcIndex:
    """The index of the replay's WARC, read verified, or kept from a request a moment ago
    (:mod:`provenance.web.indexes`: a page's resources come in a burst of requests)."""
    def build() -> WarcIndex:
        return WarcIndex.from_warc(_read(found, source.warc_role))

    entry = found.file(source.warc_role)
    sha256 = entry.get("sha256") if entry else None
    if not isinstance(sha256, str):
        return build()  # nothing to keep it under: _read says what the record lacks
    return replay_indexes().index(sha256, build)


def _linker(found: Record, source: Source, index: WarcIndex) -> Link:
    def link(url: str) -> str | None:
        if index.resource(url) is None:
            return None
        return url_for("replay.resource", ref=found.id, source=source.value, url=url,
                       sig=access().replay_signature(found.id, source.value, url))
    return link


def _page_url(found: Record) -> str:
    url = found.data.get("final_url") or found.data.get("raw_url") or found.subject
    return url if isinstance(url, str) else ""


def _answer(shown_: Replay) -> Response:
    answer = Response(shown_.body)
    answer.headers["Content-Type"] = shown_.content_type
    answer.headers["Content-Security-Policy"] = REPLAY_POLICY
    answer.headers["X-Frame-Options"] = "SAMEORIGIN"
    return answer


@blueprint.get("/record/<ref>/replay")
def page(ref: str) -> Response:
    """The page as captured, made inert, under the sandbox policy."""
    found = record_at(ref)
    source = _source(found, request.args.get("source"))
    index = _index(found, source)
    link = _linker(found, source, index)
    if source is Source.BROWSER:
        part = browser_part(found.data)
        base = (part.render.get("final_url") if part else None) or _page_url(found)
        dom = _read(found, BROWSER_DOM)
        return _answer(shown(dom, "text/html; charset=utf-8", str(base), link))
    url = _page_url(found)
    captured = (index.get(url) if url else None) or index.last
    if captured is None:
        raise ProvenanceError(f"record #{found.seq}: its WARC holds no response to replay")
    return _answer(shown(captured.body, captured.declared_type, captured.url, link))


@blueprint.get("/record/<ref>/replay/resource")
def resource(ref: str) -> Response:
    """One sub-resource of a replayed page, from the capture's WARC by its URL; a URL the
    WARC does not hold is a 404 (never fetched), and so is one whose signature is not the
    one the replay wrote (:meth:`Access.replay_signature`)."""
    found = record_at(ref)
    source = _source(found, request.args.get("source"))
    url = (request.args.get("url") or "")[:8000]
    if not access().replay_signed(found.id, source.value, url, request.args.get("sig", "")):
        raise NotFound("no such resource in this replay")  # another site asked: says nothing
    index = _index(found, source)
    captured: Captured | None = index.resource(url)
    if captured is None:
        raise NotFound("the capture holds no such resource (nothing is fetched)")
    answer = _answer(shown(captured.body, captured.declared_type, captured.url,
                           _linker(found, source, index)))
    # the replay is sandboxed (an opaque origin): it must be able to load this; the
    # signature keeps every other origin out
    answer.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    answer.headers["Cache-Control"] = "private, max-age=300"
    return answer
