"""The proxy's own certificate authority, made fresh for each proxy and never written to disk.

To record HTTPS the proxy must read it, so it answers the browser with a certificate for the
site made on the spot. All those certificates share one key, and the browser is told to
accept that key and no other (:func:`spki_hash`, Chromium's
``--ignore-certificate-errors-spki-list``): certificate checks stay on for everything else,
and the proxy itself checks the real server's certificate.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = datetime.timedelta(days=2)


class MitmAuthority:
    """A throw-away CA and one leaf key; TLS server contexts per host name, cached."""

    def __init__(self) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "provenance capture proxy (this capture only)")])
        self._ca_name = name
        self.ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                        .public_key(self._ca_key.public_key())
                        .serial_number(x509.random_serial_number())
                        .not_valid_before(now - datetime.timedelta(hours=1))
                        .not_valid_after(now + VALIDITY)
                        .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
                        .sign(self._ca_key, hashes.SHA256()))
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def spki_hash(self) -> str:
        """Base64 SHA-256 of the leaf key's SubjectPublicKeyInfo, as Chromium wants it."""
        der = self._leaf_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")

    def server_context(self, host: str) -> ssl.SSLContext:
        with self._lock:
            found = self._contexts.get(host)
            if found is None:
                found = self._contexts[host] = self._context(host)
            return found

    def _context(self, host: str) -> ssl.SSLContext:
        now = datetime.datetime.now(datetime.timezone.utc)
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
                .issuer_name(self._ca_name).public_key(self._leaf_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + VALIDITY)
                .add_extension(x509.SubjectAlternativeName([alt]), False)
                .sign(self._ca_key, hashes.SHA256()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pem = (cert.public_bytes(serialization.Encoding.PEM)
               + self.ca_cert.public_bytes(serialization.Encoding.PEM))
        key = self._leaf_key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
        # ssl loads chains only from files: a private temporary file, removed at once.
        fd, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem + key)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
        context.set_alpn_protocols(["http/1.1"])
        return context
