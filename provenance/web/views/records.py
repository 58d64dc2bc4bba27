"""One record: a capture's metadata, hashes, text, screenshot, witnesses, ledger record and
its replay from our WARC; other kinds with their data and files."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template

from provenance.api import MAX_SHOWN_BYTES
from provenance.errors import ProvenanceError, StoreError, UsageError
from provenance.store.kinds import CAPTURE, SNAPSHOT, VERIFICATION
from provenance.store.ledger import Record
from provenance.web.context import evidence
from provenance.web.replay import replay_from_warc
from provenance.web.security import REPLAY_POLICY, file_role
from provenance.web.views.common import record_at, summary

blueprint = Blueprint("records", __name__)

SCREENSHOT_ROLES = ("browser-screenshot", "screenshot")
"""Roles of the picture our browser took of the page (``archive --browser``)."""
MAX_TEXT_SHOWN = 200_000
"""Characters of extracted text shown on the page (the whole text is a file link)."""
_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg",
                b"GIF87a": "image/gif", b"GIF89a": "image/gif"}


@blueprint.get("/record/<ref>")
def record(ref: str) -> str:
    found = record_at(ref)
    details = evidence().details(found)
    text, text_error = None, None
    if found.kind in (CAPTURE, SNAPSHOT) and found.file("text") is not None:
        try:
            text = evidence().text_of(found)
        except ProvenanceError as exc:
            text_error = str(exc)
    ocr = _ocr_record(found) if found.kind == VERIFICATION else None
    replayable = found.kind in (CAPTURE, SNAPSHOT) and found.file("warc") is not None
    return render_template(
        "record.html", record=found, details=details, summary=summary(found),
        text=None if text is None else text[:MAX_TEXT_SHOWN],
        text_cut=text is not None and len(text) > MAX_TEXT_SHOWN, text_error=text_error,
        screenshot=next((role for role in SCREENSHOT_ROLES if found.file(role) is not None),
                        None) if found.kind == CAPTURE else None,
        replayable=replayable, ocr=ocr, body=_pretty(found),
        files=[f for f in found.files if isinstance(f, dict)])


def _ocr_record(found: Record) -> Record | None:
    ref = found.data.get("ocr_record")
    seq = ref.get("seq") if isinstance(ref, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool):
        return None
    ocr = evidence().show(str(seq))
    return ocr if ocr.record_hash == ref.get("record_hash") else None  # type: ignore[union-attr]


def _pretty(found: Record) -> str:
    try:
        return json.dumps(json.loads(found.body), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:
        return found.body


@blueprint.get("/record/<ref>/file/<role>")
def stored_file(ref: str, role: str) -> Response:
    """A file the record lists, by its role, re-hashed first. Images are shown as images
    (their type from their first bytes), everything else is sent as plain text or a
    download: never as a page of ours."""
    found = record_at(ref)
    entry = found.file(file_role(role))
    if entry is None:
        raise UsageError(f"record #{found.seq} has no {role} file")
    try:
        data = evidence().store.read_verified(entry, limit=MAX_SHOWN_BYTES)
    except StoreError as exc:
        raise ProvenanceError(f"record #{found.seq}: its {role} file: {exc}; "
                              "run 'provenance check'") from None
    kind = next((t for magic, t in _IMAGE_TYPES.items() if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "image/webp"
    mimetype = kind or ("text/plain; charset=utf-8" if role == "text"
                        else "application/octet-stream")
    answer = Response(data, content_type=mimetype)
    if kind is None and role != "text":
        name = f"record-{found.seq}-{role}.bin" if role != "warc" \
            else f"record-{found.seq}.warc.gz"
        answer.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    answer.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    answer.headers["X-Frame-Options"] = "SAMEORIGIN"
    return answer


@blueprint.get("/record/<ref>/replay")
def replay(ref: str) -> Response:
    """The page as captured, from our WARC (re-hashed first), under the sandbox policy."""
    found = record_at(ref)
    if found.kind not in (CAPTURE, SNAPSHOT):
        raise UsageError(f"record #{found.seq} is a {found.kind} record: nothing to replay")
    entry = found.file("warc")
    if entry is None:
        raise UsageError(f"record #{found.seq} has no WARC")
    try:
        warc = evidence().store.read_verified(entry, limit=MAX_SHOWN_BYTES)
    except StoreError as exc:
        raise ProvenanceError(f"record #{found.seq}: its WARC: {exc}; "
                              "run 'provenance check'") from None
    url = found.data.get("final_url") or found.data.get("raw_url") or found.subject
    shown = replay_from_warc(warc, url if isinstance(url, str) else None)
    answer = Response(shown.body)
    answer.headers["Content-Type"] = shown.content_type
    answer.headers["Content-Security-Policy"] = REPLAY_POLICY
    answer.headers["X-Frame-Options"] = "SAMEORIGIN"
    return answer
