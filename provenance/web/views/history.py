"""A URL's history: every capture of ours, oldest first, each with what changed since the
one before (removed passages struck through in red, added ones in green, figures called
out, passages the page's style now hides or shows again apart), and the archives' copies
the store keeps. Nothing is fetched: what the store holds."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from provenance.errors import UsageError
from provenance.store.kinds import SNAPSHOT
from provenance.web.context import evidence
from provenance.web.views.common import has_screenshot

blueprint = Blueprint("history", __name__)


@blueprint.get("/history")
def history() -> str:
    url = (request.args.get("url") or "").strip()
    if not url:
        raise UsageError("give the URL whose history to show (?url=...)")
    items = evidence().history(url[:8000])  # no witness archive asked: the store alone
    snapshots = list(evidence().log(url[:8000], [SNAPSHOT]))  # the archives' kept copies
    changes = sum(1 for i in items if i.get("diff"))
    return render_template("history.html", url=url, items=items, snapshots=snapshots,
                           changes=changes, shots=_screenshots(items))


def _screenshots(items: list[dict[str, Any]]) -> set[str]:
    """The ids of the captures listed that have our browser's screenshot (a thumbnail)."""
    found = set()
    for item in items:
        seq = item.get("ledger_seq")
        if item.get("source") != "local" or not isinstance(seq, int) or isinstance(seq, bool):
            continue
        record = evidence().show(str(seq))  # by ledger number: the index answers it
        if record.id == item.get("id") and has_screenshot(record):
            found.add(record.id)
    return found
