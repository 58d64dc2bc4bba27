"""What keeps the viewer safe to run: who may ask, which requests may change anything, and
what a browser is allowed to do with our pages.

- **Where it listens.** On a loopback address only this machine can connect, but any web
  page this machine's browser opens could still send it requests (DNS rebinding makes
  ``evil.example`` resolve to 127.0.0.1): so the ``Host`` header must name the loopback
  address and port we listen on. On any other address a random access token is required
  (printed at start): ``?token=`` once (then a cookie), or ``Authorization: Bearer``.
- **Changes only by POST with a CSRF token.** Each browser gets a random cookie; a form
  carries an HMAC of it under this process's secret (the double-submit pattern), and a
  request another site sends says so in ``Origin``/``Sec-Fetch-Site``: both are refused.
- **What a page may do.** A strict Content-Security-Policy (our own files only, no inline
  script, no framing by others), ``nosniff``, no referrer. A captured page is replayed only
  inside a sandbox with no script and no network (:mod:`provenance.web.replay`).
- **No path from a request.** Records are named by ledger number or hash prefix
  (:func:`record_ref`), files by a role the record lists; the store reads them through its
  verified reader, which re-hashes them and refuses paths that leave the store.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from flask import Flask, abort, g, redirect, request
from werkzeug.wrappers import Response

from provenance.errors import UsageError

TOKEN_COOKIE = "provenance_token"
CSRF_COOKIE = "provenance_csrf"
CSRF_FIELD = "csrf"

PAGE_POLICY = ("default-src 'self'; script-src 'none'; style-src 'self'; "
               "img-src 'self' data:; frame-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
"""Our pages: our own stylesheet and images, frames only of our replay, no script at all."""

REPLAY_POLICY = ("sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                 "font-src data:; form-action 'none'; base-uri 'none'; "
                 "frame-ancestors 'self'")
"""A captured page: sandboxed (no script, no top navigation, an opaque origin), nothing
loaded from anywhere (never the live site), and shown only inside our own pages."""

_REF = re.compile(r"[0-9]{1,12}|[0-9a-f]{6,64}")
_ROLE = re.compile(r"[a-z][a-z_-]{0,31}")


@dataclass
class Access:
    """Who may use this server: its own address, and the token when not on loopback."""

    host: str
    port: int
    token: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    @classmethod
    def for_address(cls, host: str, port: int) -> Access:
        """A token is made (and required) whenever ``host`` is not a loopback address."""
        return cls(host, port, None if is_loopback(host) else secrets.token_urlsafe(24))

    def allowed_hosts(self) -> set[str]:
        """``Host`` values a request on a loopback address may carry: the loopback names
        and the address listened on, with our port."""
        names = {"127.0.0.1", "localhost", "[::1]",
                 f"[{self.host}]" if ":" in self.host else self.host.lower()}
        return {f"{name}:{self.port}" for name in names}

    def csrf_for(self, cookie: str) -> str:
        return hmac.new(self.secret, cookie.encode("utf-8"), hashlib.sha256).hexdigest()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def install(app: Flask, access: Access) -> None:
    """Check every request before its view runs, and set the headers on every answer."""

    @app.before_request
    def guard() -> Response | None:
        if access.token is None:
            if _with_port(request.host) not in access.allowed_hosts():
                abort(403, description=f"this server answers only as {access.host}:"
                      f"{access.port} (Host {request.host!r} refused)")
        else:
            given = request.args.get("token")
            if given is not None and _same(given, access.token):
                rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
                here = "/" + request.path.lstrip("/")  # never //host: not an open redirect
                answer = redirect(here + (f"?{urlencode(rest)}" if rest else ""),
                                  code=303)
                answer.set_cookie(TOKEN_COOKIE, access.token, httponly=True,
                                  samesite="Strict")
                return answer
            bearer = request.headers.get("Authorization", "")
            presented = (bearer[7:] if bearer.startswith("Bearer ")
                         else request.cookies.get(TOKEN_COOKIE, ""))
            if not _same(presented, access.token):
                abort(403, description="this server needs its access token (printed when "
                      "it started): open the address it printed, with ?token=")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        g.new_csrf_cookie = None
        if not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", cookie):
            cookie = secrets.token_urlsafe(32)
            g.new_csrf_cookie = cookie
        g.csrf = access.csrf_for(cookie)
        if request.method not in ("GET", "HEAD"):
            _check_post(access, cookie)
        return None

    @app.after_request
    def headers(answer: Response) -> Response:
        answer.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        answer.headers["X-Content-Type-Options"] = "nosniff"
        answer.headers["Referrer-Policy"] = "no-referrer"
        answer.headers.setdefault("X-Frame-Options", "DENY")
        answer.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        answer.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        answer.headers.setdefault("Cache-Control", "no-store")
        if getattr(g, "new_csrf_cookie", None):
            answer.set_cookie(CSRF_COOKIE, g.new_csrf_cookie, httponly=True,
                              samesite="Strict")
        return answer


def _check_post(access: Access, cookie: str) -> None:
    """A state-changing request: from our own pages, with the CSRF token of its cookie."""
    if request.method != "POST":
        abort(405)
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403, description="refused: the request came from another site")
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc.lower() != request.host.lower():
            abort(403, description="refused: the request came from another site "
                  f"(Origin {origin})")
    sent = request.form.get(CSRF_FIELD, "")
    if not cookie or not _same(sent, access.csrf_for(cookie)):
        abort(403, description="refused: the form's CSRF token is missing or wrong "
              "(reload the page and send it again)")


def _with_port(host: str) -> str:
    """``Host`` with its port always written (werkzeug drops a default port 80)."""
    host = host.lower()
    return host if re.search(r":[0-9]+$", host) else f"{host}:80"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def record_ref(value: str) -> str:
    """A record reference from a request: a ledger number or a hex hash prefix, nothing
    else (no path, no dots, no slashes); anything else is a :class:`UsageError`."""
    ref = value.strip().lower()
    if not _REF.fullmatch(ref):
        raise UsageError(f"not a record id: {value[:80]!r} (a ledger number or 6 to 64 "
                         "hex digits)")
    return ref


def file_role(value: str) -> str:
    """A file role from a request (``warc``, ``text``, ``browser-screenshot``...): letters,
    ``-`` and ``_`` only."""
    if not _ROLE.fullmatch(value):
        raise UsageError(f"not a file role: {value[:40]!r}")
    return value
