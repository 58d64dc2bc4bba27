"""What a view needs besides its request: the store the application serves and its settings
(kept on the Flask application, so that views import this and not the application)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from provenance.api import Evidence
from provenance.web.indexes import IndexCache

MAX_UPLOAD = 20 * 1024 * 1024
"""Largest upload (a screenshot) by default; a request beyond it is refused unread."""


@dataclass
class ServeSettings:
    """Time-stamp authorities for new records (as ``verify --tsa``), the upload limit, the
    timeout of a capture a check makes, and the Tesseract program."""

    tsas: list[str] = field(default_factory=list)
    max_upload: int = MAX_UPLOAD
    timeout: float = 30.0
    tesseract: str = "tesseract"


def evidence() -> Evidence:
    """The store the running application serves."""
    found: Evidence = current_app.extensions["provenance"]
    return found


def settings() -> ServeSettings:
    found: ServeSettings = current_app.extensions["provenance.settings"]
    return found


def replay_indexes() -> IndexCache:
    """The WARC indexes the application's replays share (:mod:`provenance.web.indexes`)."""
    found: IndexCache = current_app.extensions["provenance.replay-indexes"]
    return found
