"""A URL's history: every capture of ours, oldest first, each with what changed since the
one before (removed passages struck through in red, added ones in green, figures called
out), and the archives' copies the store keeps. Nothing is fetched: what the store holds."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from provenance.errors import UsageError
from provenance.store.kinds import SNAPSHOT
from provenance.web.context import evidence

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
                           changes=changes)
