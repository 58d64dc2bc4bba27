"""A real RFC 3161 time-stamp authority on 127.0.0.1, built on ``openssl ts -reply``.

:func:`make_pki` creates, with the ``openssl`` command only, a root CA, an intermediate CA
and a TSA certificate (``extendedKeyUsage = critical, timeStamping``) signed by the
intermediate, so every reply carries a chain of several certificates. :class:`TsaServer`
answers each ``application/timestamp-query`` POST by running ``openssl ts -reply``.

Knobs (attributes, changeable while the server runs) to act like TSAs seen in the field:
``down`` (503), ``garbage`` (200 with bytes that are not a reply), ``wrong_nonce``,
``wrong_imprint`` (a valid signed reply for another request), ``certificates`` (3: TSA,
intermediate and root; 1: the TSA certificate only), ``unsorted_certs`` (the certificate
SET left out of DER order, as ``openssl ts -reply`` writes it: strict DER parsers refuse
it, the signature is still valid) and ``delay`` (seconds before answering).
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OPENSSL = "openssl"

_EXTENSIONS = """
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[tsa_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

_TSA_CONFIG = """
[tsa]
default_tsa = tsa_config

[tsa_config]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/chain.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = yes
ess_cert_id_alg = sha256

[tsa_single]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
tsa_name = yes
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class Pki:
    """Files of a test PKI: ``root.pem`` (trust anchor), ``intermediate.pem``, ``tsa.pem``."""

    dir: Path

    @property
    def root(self) -> Path:
        return self.dir / "root.pem"

    @property
    def intermediate(self) -> Path:
        return self.dir / "intermediate.pem"

    @property
    def tsa_cert(self) -> Path:
        return self.dir / "tsa.pem"

    @property
    def chain(self) -> Path:
        """Intermediate + root: what ``openssl ts -reply`` adds after the TSA certificate."""
        return self.dir / "chain.pem"

    @property
    def config(self) -> Path:
        return self.dir / "tsa.cnf"


def _run(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_pki(folder: Path) -> Pki:
    """Root CA → intermediate CA → TSA certificate, EC P-256 keys (fast), 10 years."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ext.cnf").write_text(_EXTENSIONS)
    for name in ("root", "intermediate", "tsa"):
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", f"{name}.key", cwd=folder)
    _run("req", "-new", "-x509", "-key", "root.key", "-subj", "/O=Provenance Test/CN=Test Root CA",
         "-days", "3650", "-sha256", "-extensions", "ca_ext", "-config", "ext.cnf",
         "-out", "root.pem", cwd=folder)
    for name, subject, issuer, ext in (
        ("intermediate", "/O=Provenance Test/CN=Test Intermediate CA", "root", "ca_ext"),
        ("tsa", "/O=Provenance Test/CN=Test TSA", "intermediate", "tsa_ext"),
    ):
        _run("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr",
             cwd=folder)
        _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey",
             f"{issuer}.key", "-CAcreateserial", "-days", "3650", "-sha256", "-extfile",
             "ext.cnf", "-extensions", ext, "-out", f"{name}.pem", cwd=folder)
    (folder / "chain.pem").write_bytes(
        (folder / "intermediate.pem").read_bytes() + (folder / "root.pem").read_bytes())
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(_TSA_CONFIG.format(dir=folder))
    return Pki(folder)


def set_certificate_order(reply: bytes, *, der_order: bool) -> bytes:
    """The same reply with its certificate SET sorted (DER) or reversed (not DER).

    The certificates are outside what the TSA signs, so either order keeps the signature
    valid; ``openssl ts -reply`` itself writes them signer first, which is not DER order.
    """
    from asn1crypto import tsp

    response = tsp.TimeStampResp.load(reply)
    # The bytes as received: asn1crypto's dump() takes a long-form length whose last byte is
    # 0x80 (a set of 1,408 bytes: 0x0580) for an indefinite one and re-encodes, sorted.
    old_body = response["time_stamp_token"]["content"]["certificates"].contents
    certs = sorted(_elements(old_body))
    if not der_order:
        certs.reverse()
    new_body = b"".join(certs)  # same length, so the headers around it stay valid
    assert reply.count(old_body) == 1
    return reply.replace(old_body, new_body)


def _elements(body: bytes) -> list[bytes]:
    """The DER elements (tag, length, value) one after another in ``body``."""
    elements = []
    at = 0
    while at < len(body):
        size = body[at + 1]
        start = at + 2
        if size & 0x80:
            count = size & 0x7F
            size = int.from_bytes(body[start:start + count], "big")
            start += count
        elements.append(body[at:start + size])
        at = start + size
    return elements


_PKI_LOCKS: dict[Path, threading.Lock] = {}
_PKI_LOCKS_GUARD = threading.Lock()


class TsaServer:
    """``with TsaServer(pki) as tsa: tsa.url`` — a threaded loopback TSA."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.down = False
        self.garbage = False
        self.wrong_nonce = False
        self.wrong_imprint = False
        self.unsorted_certs = False
        self.certificates = 3  # TSA + intermediate + root; 1 = the TSA certificate only
        self.delay = 0.0
        self.requests = 0
        self.errors: list[str] = []  # failures of this server itself (should stay empty)
        self._lock = threading.Lock()  # counts requests
        # openssl ts -reply updates the PKI's serial file, and tests run two TSAs on one PKI
        # at once: one lock per PKI folder, and work files named per server.
        with _PKI_LOCKS_GUARD:
            self._pki_lock = _PKI_LOCKS.setdefault(pki.dir, threading.Lock())
        self._counter = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                query = self.rfile.read(length)
                with server._lock:
                    server.requests += 1
                try:
                    status, body, ctype = server.answer(query, self.headers.get("Content-Type"))
                except Exception as exc:  # say why in a 500 (and in .errors), never hang up
                    server.errors.append(f"{type(exc).__name__}: {exc} "
                                         f"{getattr(exc, 'stderr', b'')!r}")
                    status, body, ctype = 500, server.errors[-1].encode(), "text/plain"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> TsaServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def answer(self, query: bytes, content_type: str | None) -> tuple[int, bytes, str]:
        if self.delay:
            threading.Event().wait(self.delay)
        if self.down:
            return 503, b"TSA under maintenance\n", "text/plain"
        if content_type != "application/timestamp-query":
            return 415, b"wrong content type\n", "text/plain"
        if self.garbage:
            return 200, b"<html>not a time-stamp reply</html>", "application/timestamp-reply"
        if self.wrong_nonce or self.wrong_imprint:
            query = self._altered_query(query)
        reply = self.reply(query)
        if self.certificates > 1:
            reply = set_certificate_order(reply, der_order=not self.unsorted_certs)
        return 200, reply, "application/timestamp-reply"

    def reply(self, query: bytes) -> bytes:
        with self._pki_lock:
            self._counter += 1
            work = self.pki.dir / f"q{id(self):x}-{self._counter}"
            query_file = work.with_suffix(".tsq")
            reply_file = work.with_suffix(".tsr")
            query_file.write_bytes(query)
            section = "tsa_config" if self.certificates > 1 else "tsa_single"
            _run("ts", "-reply", "-config", str(self.pki.config), "-section", section,
                 "-queryfile", str(query_file), "-out", str(reply_file), cwd=self.pki.dir)
            reply = reply_file.read_bytes()
            os.unlink(query_file)
            os.unlink(reply_file)
        return reply

    def _altered_query(self, query: bytes) -> bytes:
        from asn1crypto import tsp

        request = tsp.TimeStampReq.load(query)
        if self.wrong_nonce and request["nonce"].native is not None:
            request["nonce"] = request["nonce"].native + 1
        if self.wrong_imprint:
            imprint = request["message_imprint"]["hashed_message"].native
            request["message_imprint"]["hashed_message"] = bytes([imprint[0] ^ 1]) + imprint[1:]
        return request.dump(force=True)
