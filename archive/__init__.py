"""Knows the web: fetching pages, WARC captures, witness archives and their CDX history.

This package never imports :mod:`provenance`; it can be used on its own.
"""

from archive.errors import ArchiveError, BadUrl, FetchError, WitnessError

__all__ = ["ArchiveError", "BadUrl", "FetchError", "WitnessError"]
