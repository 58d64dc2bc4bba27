"""Export: pick records, download the bundle :meth:`provenance.api.Evidence.export` writes
(the same zip as ``provenance export``, checkable with ``provenance check --bundle``)."""

from __future__ import annotations

import os
import tempfile

from flask import Blueprint, Response, render_template, request, send_file

from provenance.errors import UsageError
from provenance.store.ledger import Record
from provenance.web.context import evidence
from provenance.web.views.common import record_at, summary

blueprint = Blueprint("export", __name__)

MAX_IDS = 1000


def _picked(values: list[str]) -> list[Record]:
    refs = [part for value in values for part in value.replace(",", " ").split()]
    if len(refs) > MAX_IDS:
        raise UsageError(f"at most {MAX_IDS} records per bundle")
    records: dict[int, Record] = {}
    for ref in refs:
        found = record_at(ref)
        records[found.seq] = found
    return [records[seq] for seq in sorted(records)]


@blueprint.get("/export")
def form() -> str:
    picked = _picked(request.args.getlist("ids"))
    return render_template("export.html", picked=picked, summary=summary,
                           ids=" ".join(r.id for r in picked))


@blueprint.post("/export")
def download() -> Response:
    picked = _picked(request.form.getlist("ids"))
    if not picked:
        raise UsageError("pick at least one record to export")
    with tempfile.TemporaryDirectory(prefix="provenance-export-") as folder:
        path = os.path.join(folder, "bundle.zip")
        evidence().export([r.record_hash for r in picked], path)
        handle = open(path, "rb")  # noqa: SIM115 - sent, then closed by the server
    # The folder is gone, the open file stays readable until the answer is sent.
    name = f"evidence-{picked[0].id}" + (f"-and-{len(picked) - 1}" if len(picked) > 1 else "")
    return send_file(handle, mimetype="application/zip", as_attachment=True,
                     download_name=f"{name}.zip", max_age=0)
