"""Integrity: run ``check`` on the store (every file, WARC digest, ledger link and
time-stamp) and show each problem, and how far the ledger is anchored."""

from __future__ import annotations

from flask import Blueprint, render_template

from provenance.web.context import evidence

blueprint = Blueprint("integrity", __name__)


@blueprint.get("/integrity")
def form() -> str:
    return render_template("integrity.html", report=None)


@blueprint.post("/integrity")
def run() -> str:
    report = evidence().check()
    return render_template("integrity.html", report=report)
