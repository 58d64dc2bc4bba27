"""The list of captures (or of any kind of record): searchable, filtered, paged by index."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from provenance.api import log_bound
from provenance.errors import UsageError
from provenance.store.catalogue import PAGE_SIZE, CatalogueQuery
from provenance.store.kinds import ALL_KINDS, CAPTURE
from provenance.web.context import evidence
from provenance.web.views.common import seq_param, summary

blueprint = Blueprint("captures", __name__)


@blueprint.get("/")
def index() -> str:
    args = request.args
    kind = args.get("kind") or CAPTURE
    if kind not in ALL_KINDS:
        raise UsageError(f"unknown kind {kind[:40]!r} (one of {', '.join(ALL_KINDS)})")
    url = (args.get("q") or "").strip()[:2000]
    since, until = args.get("since") or "", args.get("until") or ""
    query = CatalogueQuery(kind=kind, url=url,
                           since=log_bound(since) if since else None,
                           until=log_bound(until, end=True) if until else None,
                           before=seq_param(args.get("before"), "before"),
                           after=seq_param(args.get("after"), "after"), size=PAGE_SIZE)
    page = evidence().catalogue(query)
    base = {k: v for k, v in (("q", url), ("kind", kind), ("since", since),
                              ("until", until)) if v}
    return render_template("captures.html", page=page, kinds=ALL_KINDS, kind=kind, q=url,
                           since=since, until=until, base=base, summary=summary)
