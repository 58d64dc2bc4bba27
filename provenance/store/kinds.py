"""Every kind of ledger record, in one place: what the ledger can hold.

Each is written by one module: ``capture`` and ``fetch_failed`` by
:mod:`provenance.capture.capturer`, ``witness`` by :mod:`provenance.capture.witnessing`,
``changed`` by :mod:`provenance.changes.timeline`, ``timestamp`` by
:mod:`provenance.stamps.stamping`, ``ocr`` and ``verification`` by
:mod:`provenance.screens.screenshots`, ``snapshot`` by :mod:`provenance.capture.snapshots`.
"""

from __future__ import annotations

CAPTURE = "capture"
FETCH_FAILED = "fetch_failed"
WITNESS = "witness"
CHANGED = "changed"
TIMESTAMP = "timestamp"
OCR = "ocr"
VERIFICATION = "verification"
SNAPSHOT = "snapshot"  # an archive's copy kept as evidence (provenance.capture.snapshots)

STAMPED_KINDS = (CAPTURE, OCR, VERIFICATION)
"""The records that are evidence, and so are time-stamped."""

ALL_KINDS = (CAPTURE, FETCH_FAILED, WITNESS, CHANGED, TIMESTAMP, OCR, VERIFICATION,
             SNAPSHOT)
