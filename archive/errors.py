"""Errors raised by :mod:`archive`. Each carries one line a user can act on.

::

    ArchiveError
     ├── BadUrl        the URL is unusable (malformed, not http/https, no host): a usage error
     ├── FetchError    the page could not be fetched (refused, DNS, timeout, redirect loop, too big)
     ├── WitnessError  a witness archive (Wayback Machine, pywb) did not take or return a copy
     └── ConfigError   a setting or config file (e.g. Internet Archive keys) is unusable
"""

from __future__ import annotations


class ArchiveError(Exception):
    """Base of every error this package raises on purpose."""


class BadUrl(ArchiveError):
    """The URL cannot be fetched at all, whatever the network does."""


class FetchError(ArchiveError):
    """The fetch was attempted and failed; ``reason`` is a short machine-readable word."""

    def __init__(self, message: str, *, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


class WitnessError(ArchiveError):
    """A witness archive failed; ``retryable`` says whether trying later may help."""

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class ConfigError(ArchiveError, ValueError):
    """A setting or config file cannot be used as it is: a usage error, said in one line."""
