"""Checking a URL before anything is fetched or recorded.

Evidence must name exactly what was asked for, so a URL is never guessed at: a missing scheme
is an error that says what to add, not a silent ``https://``. Only ``http`` and ``https`` are
fetched; ``file:``, ``ftp:``, ``javascript:`` and friends are refused (also as redirect targets,
where they would let a web page read local files).

The host we check and record must be the host the request goes to. Parsers disagree on odd
URLs (``http://127.0.0.1:18080\\@www.kp.ru/`` is ``www.kp.ru`` to :mod:`urllib.parse` but
``127.0.0.1`` to urllib3 and browsers), so a backslash is refused outright and the final URL is
parsed again the way urllib3 will, and refused if the two readings differ.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from archive.errors import BadUrl

ALLOWED_SCHEMES = ("http", "https")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_HOST_PORT = re.compile(r"^[^/:?#]+:[0-9]+(?:[/?#]|$)")  # "localhost:8080/x" has no scheme
_HOST_CHARS = re.compile(r"^[A-Za-z0-9.\-_]+$")
MAX_LABEL = 63  # RFC 1035: one label of a DNS name
MAX_NAME = 253  # and the whole name, without the trailing dot


def normalize_url(raw: str) -> str:
    """Return ``raw`` as a fetchable http(s) URL, or raise :class:`BadUrl` saying why not.

    Normalization is minimal and loss-free: the scheme and host are lower-cased, an IDN host
    becomes punycode, an empty path becomes ``/``; the rest is kept as written.
    """
    if not isinstance(raw, str):
        raise BadUrl(f"not a URL: {raw!r}")
    url = raw.strip()
    if not url:
        raise BadUrl("empty URL")
    if _CONTROL.search(url):
        raise BadUrl(f"URL contains spaces or control characters: {url!r}")
    if "\\" in url:
        raise BadUrl(f"URL contains a backslash: {url!r} (browsers read it as '/', other "
                     "programs differently; write '/' or %5C)")
    if not _SCHEME.match(url) or _HOST_PORT.match(url):
        raise BadUrl(f"URL has no scheme: {url!r} (write it with https:// or http://)")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadUrl(f"malformed URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BadUrl(f"unsupported scheme {scheme + ':'!r} in {url!r}: only http and https")
    if not url[len(scheme) + 1:].startswith("//"):
        raise BadUrl(f"malformed URL {url!r}: expected {scheme}://host/...")
    try:
        host = parts.hostname
    except ValueError as exc:
        raise BadUrl(f"malformed URL {url!r}: {exc}") from None
    try:
        port = parts.port
    except ValueError:
        raise BadUrl(f"bad port in {url!r}: a port is a number from 1 to 65535") from None
    if not host:
        raise BadUrl(f"URL has no host: {url!r}")
    host = _ascii_host(host, url)
    if port is not None and not 0 < port < 65536:
        raise BadUrl(f"bad port in {url!r}")
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    if parts.username is not None or parts.password is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"
    final = urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))
    _same_host_for_urllib3(final, host, port, url)
    return final


def _same_host_for_urllib3(final: str, host: str, port: int | None, url: str) -> None:
    """Refuse a URL that urllib3 (which makes the request) would send to another host."""
    try:
        seen = parse_url(final)
    except (LocationParseError, ValueError):
        raise BadUrl(f"malformed URL {url!r}: it cannot be fetched as written") from None
    seen_host = (seen.host or "").lower().strip("[]")
    if seen_host != host or seen.port != port:
        raise BadUrl(f"ambiguous URL {url!r}: it names host {host!r} but would be fetched "
                     f"from {seen_host or 'no host'!r}")


def _ascii_host(host: str, url: str) -> str:
    """The host as DNS sees it: lower-case, internationalized names as punycode."""
    if ":" in host:  # IPv6 literal, already validated by urlsplit
        return host.lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BadUrl(f"invalid international host name in {url!r}") from None
    host = host.lower()
    if not _HOST_CHARS.match(host) or ".." in host or host.startswith(("-", ".")):
        raise BadUrl(f"invalid host {host!r} in {url!r}")
    name = host[:-1] if host.endswith(".") else host
    if len(name) > MAX_NAME:
        raise BadUrl(f"invalid host in {url!r}: the name is longer than {MAX_NAME} characters")
    if any(len(label) > MAX_LABEL for label in name.split(".")):
        raise BadUrl(f"invalid host in {url!r}: a part of the name is longer than "
                     f"{MAX_LABEL} characters")
    return host
