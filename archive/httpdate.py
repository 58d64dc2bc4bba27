"""HTTP dates (``Retry-After``, ``Memento-Datetime``) as aware UTC datetimes."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def parse_http_date(value: str) -> datetime | None:
    """``Fri, 24 Nov 2017 15:13:15 GMT`` → an aware datetime; a date without a zone is
    taken as UTC (as HTTP means it); None when the value is not an HTTP date."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
