"""Knows the web: fetching pages, WARC captures, witness archives and their CDX history.

This package never imports :mod:`provenance`; it can be used on its own.
"""

from archive.errors import ArchiveError, BadUrl, FetchError, WitnessError

__version__ = "0.1.0"
"""The tool's version, written only here: pyproject.toml reads it (``dynamic``), the
User-Agent and ``provenance --version`` show it."""

__all__ = ["ArchiveError", "BadUrl", "FetchError", "WitnessError", "__version__"]
