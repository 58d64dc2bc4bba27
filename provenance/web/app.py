"""The web viewer as a WSGI application: pages over one :class:`~provenance.api.Evidence`.

Every page asks the library API and renders the answer with Jinja2 (autoescaped: text
from captured pages, claims and OCR can never become markup). No page reads the ledger
or the store's files itself; the views are split by page in :mod:`provenance.web.views`,
and everything about who may ask what is in :mod:`provenance.web.security`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from archive.errors import ArchiveError, BadUrl
from provenance.api import Evidence
from provenance.errors import OcrUnavailable, ProvenanceError, UsageError
from provenance.web import security
from provenance.web.context import ServeSettings, settings
from provenance.web.indexes import IndexCache
from provenance.web.views import captures, check, export, history, integrity, records, replays

HERE = Path(__file__).resolve().parent


def create_app(evidence: Evidence, access: security.Access,
               options: ServeSettings | None = None) -> Flask:
    """The application for ``evidence``; ``access`` says who may use it."""
    options = options or ServeSettings()
    app = Flask("provenance.web", template_folder=str(HERE / "templates"),
                static_folder=str(HERE / "static"), static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=options.max_upload, MAX_FORM_MEMORY_SIZE=1 << 20,
                      MAX_FORM_PARTS=50, SESSION_COOKIE_SAMESITE="Strict",
                      TEMPLATES_AUTO_RELOAD=False)
    app.extensions["provenance"] = evidence
    app.extensions["provenance.settings"] = options
    app.extensions["provenance.replay-indexes"] = IndexCache()
    security.install(app, access)
    for module in (captures, records, replays, history, check, export, integrity):
        app.register_blueprint(module.blueprint)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(ProvenanceError, _provenance_error)
    app.register_error_handler(ArchiveError, _archive_error)
    return app


def _page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("error.html", title=title, message=message), status


def _too_large(exc: RequestEntityTooLarge) -> tuple[str, int]:
    limit = settings().max_upload
    return _page(413, "Upload too large",
                 f"the upload is larger than {limit / (1 << 20):g} MiB, the limit for a "
                 "screenshot; nothing was read or recorded")


def _http_error(exc: HTTPException) -> Any:
    return _page(exc.code or 500, exc.name, exc.description or exc.name)


def _provenance_error(exc: ProvenanceError) -> tuple[str, int]:
    if isinstance(exc, OcrUnavailable):  # this machine's, not the request's
        return _page(503, "Tesseract is missing", str(exc))
    if isinstance(exc, UsageError) or exc.exit_code == 2:
        return _page(400, "Cannot do that", str(exc))
    return _page(409, "Evidence problem", str(exc))


def _archive_error(exc: ArchiveError) -> tuple[str, int]:
    if isinstance(exc, BadUrl):
        return _page(400, "Not a URL we can use", str(exc))
    return _page(502, "The web did not answer", str(exc))
