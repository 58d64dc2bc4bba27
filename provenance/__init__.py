"""Knows evidence: hashes, the store and its ledger, timestamps, OCR, verification, bundles.

The command line (``provenance.cli``) is a thin layer over this package and :mod:`archive`.
"""

from archive import __version__

__all__ = ["__version__"]
