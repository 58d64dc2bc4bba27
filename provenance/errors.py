"""Errors raised by :mod:`provenance`. Each carries one line a user can act on.

::

    ProvenanceError
     ├── UsageError        bad input from the user (exit code 2)
     │    ├── ImageError   not an image, truncated, a decompression bomb
     │    └── OutputError  a report, image or bundle cannot be written where asked
     ├── StoreError        the store cannot be used (a file where a folder should be, unwritable)
     │    └── ReadOnlyStore  it is there, but cannot be written (read-only disk, permissions)
     ├── LedgerError       the ledger is unreadable or refuses a write
     ├── TimestampError    a time-stamp authority failed or sent a reply that does not verify
     └── OcrUnavailable    Tesseract or one of its languages is missing (exit code 2)
"""

from __future__ import annotations


class ProvenanceError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class UsageError(ProvenanceError):
    """The user asked for something that cannot be done as asked."""

    exit_code = 2


class ImageError(UsageError):
    """The file is not an image we can read safely."""


class OutputError(UsageError):
    """A file the user asked for (``--report``, ``--annotate``, ``--out``) cannot be written
    there: a missing folder, something that is not a regular file, a full disk."""


class StoreError(ProvenanceError):
    """The evidence store cannot be opened or written."""

    exit_code = 2


class ReadOnlyStore(StoreError):
    """The store is there but cannot be written (a read-only disk, no write permission):
    a command that only adds to it may still read it (``history --fetch-witnesses``)."""


class LedgerError(ProvenanceError):
    """The ledger cannot be read or refuses a write."""

    exit_code = 2


class TimestampError(ProvenanceError):
    """A time-stamp authority failed, or its reply does not verify."""


class OcrUnavailable(ProvenanceError):
    """Tesseract or a language pack it needs is not installed."""

    exit_code = 2
