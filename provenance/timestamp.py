"""RFC 3161 trusted time-stamps: ask a time-stamp authority (TSA), check its reply, verify later.

A TSA signs "this digest existed at this time". :func:`request_timestamp` sends a request
(SHA-256 or SHA-512 imprint of a message, a random nonce, ``certReq``) over an injected
``requests`` session, checks the reply (granted, same imprint, same nonce, valid signature
with the timeStamping key usage) and returns the raw reply bytes to keep as evidence.
:func:`verify_token` re-checks a kept reply, offline, at any later time.

Verifiers, tried in order; :attr:`Verification.how` says which one decided:

1. ``rfc3161-client`` (strict DER; signature and chain through OpenSSL's PKCS7 code);
2. ``openssl ts -verify`` — for replies that strict parsers refuse. Some TSAs (and
   ``openssl ts -reply`` itself) write the token's certificate SET signer-first, which is
   not DER order; the certificates are outside what the TSA signs, so the token is still
   valid, and the raw bytes are kept unchanged either way.

Tokens are read with :mod:`asn1crypto`, which is tolerant, for their fields (time, serial,
TSA name, imprint, nonce, certificates). Certificates are checked as valid at the token's
own time (``-attime``), as a court would: a TSA certificate that expired since still counts.

Trust is a :class:`Trust` level, never a bare boolean. With roots given by the caller
(``PROVENANCE_TSA_CA``), a token is trusted only if its chain ends in one of *them*: no
certificate the token carries is ever a trust anchor then (a self-signed root in the token
is left out of the intermediates, so a TSA cannot vouch for itself), and a token whose
chain ends elsewhere is ``NOT_TRUSTED`` even though its signature is valid. Without roots
the anchor is a self-signed root the TSA sent in its reply (pinned: proves the token is
intact, not who the TSA is), else the TSA's own certificates with ``-partial_chain``
(signature only, likewise).
"""

from __future__ import annotations

import binascii
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from archive.deadline import BodyTooLarge, BoundedSession, Deadline, DeadlineExceeded, read_capped
from provenance.clock import format_time
from provenance.errors import TimestampError

SHA256 = "sha256"
SHA512 = "sha512"
ALGORITHMS = {SHA256: hashlib.sha256, SHA512: hashlib.sha512}
CONTENT_TYPE = "application/timestamp-query"
DEFAULT_TIMEOUT = 30.0
MAX_REPLY = 1_000_000  # real replies with a full certificate chain are under 20 KB

RFC3161_CLIENT = "rfc3161-client"
OPENSSL = "openssl ts -verify"


class Trust(Enum):
    """How far a token is trusted: who vouches for the key that signed it."""

    TRUSTED_ROOT = "trusted_root"  # the chain ends in a root the caller gave
    PINNED_TSA_ROOT = "pinned_tsa_root"  # no roots given: a root the TSA sent itself
    SIGNATURE_ONLY = "signature_only"  # no roots given, none sent: the TSA's certificate
    NOT_TRUSTED = "not_trusted"  # roots given; the signature is valid, the chain ends elsewhere
    FAILED = "failed"  # does not verify, or could not be checked

    @property
    def words(self) -> str:
        return _TRUST_WORDS[self]


_TRUST_WORDS = {
    Trust.TRUSTED_ROOT: "trusted: chain ends in a given root",
    Trust.PINNED_TSA_ROOT: "root sent by the TSA, pinned: proves integrity, not who the TSA is",
    Trust.SIGNATURE_ONLY: "TSA certificate only: proves integrity, not who the TSA is",
    Trust.NOT_TRUSTED: "not trusted: chain does not end in a given root",
    Trust.FAILED: "does not verify",
}


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one token: ``passed`` is True, False, or None (not checked).

    With roots given, ``passed`` is True only for :attr:`Trust.TRUSTED_ROOT`; a token that
    is intact but chains elsewhere is ``passed=False`` with :attr:`Trust.NOT_TRUSTED`.
    """

    passed: bool | None
    how: str
    reason: str | None = None
    gen_time: str | None = None
    tsa_name: str | None = None
    serial: int | None = None
    algorithm: str | None = None
    imprint: str | None = None
    nonce: int | None = None
    trust: Trust = Trust.FAILED

    @property
    def trusted_root(self) -> bool:
        """True only when the chain ends in a root the caller gave."""
        return self.passed is True and self.trust is Trust.TRUSTED_ROOT

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "how": self.how, "reason": self.reason,
                "gen_time": self.gen_time, "tsa_name": self.tsa_name, "serial": self.serial,
                "algorithm": self.algorithm, "imprint": self.imprint,
                "trust": self.trust.value, "trusted_root": self.trusted_root}


@dataclass(frozen=True)
class TokenInfo:
    """What a token says, read tolerantly (a token that parses is not yet a valid one)."""

    status: int
    gen_time: str | None
    tsa_name: str | None
    serial: int | None
    algorithm: str | None
    imprint: bytes | None
    nonce: int | None
    certificates: list[bytes] = field(default_factory=list)
    is_response: bool = True
    token: bytes = b""  # the TimeStampToken (CMS ContentInfo) alone


@dataclass(frozen=True)
class Stamp:
    """A granted, verified time-stamp: ``reply`` is the TSA's DER reply, byte for byte."""

    tsa: str
    reply: bytes
    certificates: list[bytes]
    verification: Verification
    algorithm: str
    nonce: int | None


# --- reading tokens -----------------------------------------------------------------------

def read_token(der: bytes) -> TokenInfo:
    """Parse a TimeStampResp (``.tsr``) or a bare TimeStampToken; TimestampError if neither."""
    from asn1crypto import cms, core, tsp

    try:
        # The token's bytes are cut from the reply, never re-encoded: asn1crypto re-encodes
        # any value whose length ends in byte 0x80 (taking it for an indefinite length), and
        # re-encoding sorts a certificate SET that the TSA did not send in DER order.
        parts = _der_children(der)
        first = core.Asn1Value.load(parts[0], strict=True)
        is_response = not isinstance(first, core.ObjectIdentifier)
        if is_response:
            status_info = tsp.PKIStatusInfo.load(parts[0], strict=True)
            status = _status_number(status_info["status"].native)
            if len(parts) < 2:  # a refusal carries no token (asn1crypto cannot parse that)
                return TokenInfo(status, None, None, None, None, None, None, [], True, b"")
            token = parts[1]
        else:
            status = 0
            token = der
        token_value = cms.ContentInfo.load(token, strict=True)
        signed = token_value["content"]
        tst = signed["encap_content_info"]["content"].parsed
        imprint = tst["message_imprint"]
        name = tst["tsa"]
        certs = [c.chosen.dump() for c in signed["certificates"] or []]
        gen_time = format_time(tst["gen_time"].native)
        return TokenInfo(
            status=status,
            gen_time=gen_time,
            tsa_name=_general_name(name),
            serial=int(tst["serial_number"].native),
            algorithm=imprint["hash_algorithm"]["algorithm"].native,
            imprint=bytes(imprint["hashed_message"].native),
            nonce=tst["nonce"].native,
            certificates=certs,
            is_response=is_response,
            token=token,
        )
    except TimestampError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError...
        raise TimestampError(f"not an RFC 3161 time-stamp token ({type(exc).__name__})") from None


def _der_children(der: bytes) -> list[bytes]:
    """The raw bytes of each element of a DER SEQUENCE, exactly as they were sent."""
    from asn1crypto import parser

    _, _, _, _, contents, _ = parser.parse(der, strict=True)
    children = []
    while contents:
        _, _, _, header, body, trailer = parser.parse(contents)
        size = len(header) + len(body) + len(trailer)
        children.append(contents[:size])
        contents = contents[size:]
    return children


def _status_number(text: str) -> int:
    names = ["granted", "granted_with_mods", "rejection", "waiting", "revocation_warning",
             "revocation_notification"]
    return names.index(text) if text in names else 2


def _general_name(name: Any) -> str | None:
    if name is None or name.native is None:
        return None
    chosen = name.chosen
    human = getattr(chosen, "human_friendly", None)
    return str(human if human is not None else name.native)


def certificates_pem(certificates: Sequence[bytes]) -> bytes:
    from asn1crypto import pem

    return b"".join(pem.armor("CERTIFICATE", der) for der in certificates)


def load_certificates(data: bytes) -> list[bytes]:
    """DER certificates from PEM (one or many) or a single DER certificate.

    A damaged file raises TimestampError: check and bundle verification report it as a
    problem rather than stopping on it.
    """
    from asn1crypto import pem

    if not pem.detect(data):
        return [data] if data else []
    try:
        return [der for kind, _, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"]
    except (ValueError, binascii.Error) as exc:
        raise TimestampError(f"certificates are not readable PEM: {exc}") from None


def _is_self_signed(der: bytes) -> bool:
    from asn1crypto import x509

    try:
        return x509.Certificate.load(der).self_signed in ("maybe", "yes")
    except Exception:  # noqa: BLE001 - a broken certificate is simply not a root
        return False


def _may_be_anchor(der: bytes) -> bool:
    """Issued to itself (subject equals issuer), or unreadable: a certificate that a chain
    builder could end on. Never an intermediate when the caller gave the roots."""
    from asn1crypto import x509

    try:
        return bool(x509.Certificate.load(der).self_issued)
    except Exception:  # noqa: BLE001 - unreadable: keep it out of the chain entirely
        return True


# --- verifying ----------------------------------------------------------------------------

def verify_token(
    der: bytes,
    *,
    message: bytes | None = None,
    digest: bytes | None = None,
    certs: Sequence[bytes] = (),
    roots: Sequence[bytes] = (),
    nonce: int | None = None,
    openssl: str | None = "openssl",
) -> Verification:
    """Check a kept token: its imprint equals ``digest`` (or the digest of ``message`` in
    the token's algorithm), its nonce (if given), and its signature and certificate chain.

    ``certs`` are extra DER certificates (the ones kept with the token); ``roots`` are
    trusted roots. Never raises for a bad token: that is ``passed=False``.
    """
    try:
        info = read_token(der)
    except TimestampError as exc:
        return Verification(False, "asn1crypto", str(exc))
    base: dict[str, Any] = {
            "gen_time": info.gen_time, "tsa_name": info.tsa_name, "serial": info.serial,
            "algorithm": info.algorithm, "imprint": info.imprint.hex() if info.imprint else None,
            "nonce": info.nonce}
    if info.status not in (0, 1) or not info.token:
        return Verification(False, "asn1crypto", f"the TSA refused (status {info.status})",
                            **base)
    if message is not None:
        hasher = ALGORITHMS.get(info.algorithm or "")
        if hasher is None:
            return Verification(False, "asn1crypto",
                                f"unsupported imprint algorithm {info.algorithm}", **base)
        digest = hasher(message).digest()
    if digest is None:
        raise ValueError("verify_token needs message= or digest=")
    if info.imprint != digest:
        return Verification(False, "asn1crypto",
                            "the token covers another hash than the one recorded", **base)
    if nonce is not None and info.nonce != nonce:
        return Verification(False, "asn1crypto", "the token's nonce is not the request's",
                            **base)

    all_certs = _unique([*info.certificates, *certs])
    if roots:
        return _verify_with_roots(info, digest, _unique(roots), all_certs, openssl, base)
    return _verify_without_roots(info, digest, all_certs, openssl, base)


def _verify_with_roots(info: TokenInfo, digest: bytes, roots: list[bytes],
                       all_certs: list[bytes], openssl: str | None,
                       base: dict[str, Any]) -> Verification:
    """Trusted only if the chain ends in one of ``roots``. No certificate from the token
    that is self-signed (or is a root) may act as an intermediate: handed to the verifier
    it would become one more anchor, and any TSA would then vouch for itself."""
    intermediates = [c for c in all_certs if c not in roots and not _may_be_anchor(c)]
    passed, verifier, reason = _check_chain(info, digest, roots, intermediates, openssl)
    if passed is True:
        return Verification(True, f"{verifier} ({Trust.TRUSTED_ROOT.words})",
                            trust=Trust.TRUSTED_ROOT, **base)
    intact = _verify_without_roots(info, digest, all_certs, openssl, base)
    if intact.passed is True:  # a valid signature, but nobody the caller trusts vouches for it
        return Verification(False, f"{verifier} ({Trust.NOT_TRUSTED.words})",
                            f"{Trust.NOT_TRUSTED.words} ({reason})",
                            trust=Trust.NOT_TRUSTED, **base)
    return Verification(passed, verifier, reason, trust=Trust.FAILED, **base)


def _verify_without_roots(info: TokenInfo, digest: bytes, all_certs: list[bytes],
                          openssl: str | None, base: dict[str, Any]) -> Verification:
    """Integrity only: a self-signed root the TSA sent, pinned; else the TSA's own
    certificate (``-partial_chain``). Neither says who the TSA is."""
    pinned = [c for c in all_certs if _is_self_signed(c)]
    reason = None
    if pinned:
        passed, verifier, reason = _check_chain(
            info, digest, pinned, [c for c in all_certs if c not in pinned], openssl)
        if passed is True:
            return Verification(True, f"{verifier} ({Trust.PINNED_TSA_ROOT.words})",
                                trust=Trust.PINNED_TSA_ROOT, **base)
    # No root sent, or a self-signed certificate in the set that is not the chain's root
    # (extra certificates are outside what the TSA signs): the TSA's certificate alone.
    passed, verifier, second = _check_chain(info, digest, [], all_certs, openssl)
    if passed is True:
        return Verification(True, f"{verifier} ({Trust.SIGNATURE_ONLY.words})",
                            trust=Trust.SIGNATURE_ONLY, **base)
    return Verification(passed, verifier, reason or second, trust=Trust.FAILED, **base)


def _check_chain(info: TokenInfo, digest: bytes, anchors: Sequence[bytes],
                 intermediates: Sequence[bytes], openssl: str | None
                 ) -> tuple[bool | None, str, str | None]:
    """(passed, verifier, reason): rfc3161-client if it reads the token, else openssl.
    Only ``anchors`` are trusted; without anchors, the TSA's certificate is (signature only)."""
    if anchors:
        result = _verify_rfc3161_client(info, digest, anchors, intermediates)
        if result is not None:
            return result[0], RFC3161_CLIENT, result[1]
    if openssl is None or shutil.which(openssl) is None:
        return None, "none", ("rfc3161-client could not read this token and the openssl "
                              "command is not installed")
    passed, reason = _verify_openssl(openssl, info, digest, anchors, intermediates)
    return passed, OPENSSL, reason


def _unique(items: Sequence[bytes]) -> list[bytes]:
    return list(dict.fromkeys(items))


def _as_response(info: TokenInfo) -> bytes:
    """A granted TimeStampResp around a bare token (what rfc3161-client reads)."""
    from asn1crypto import cms, tsp

    return tsp.TimeStampResp({
        "status": {"status": "granted"},
        "time_stamp_token": cms.ContentInfo.load(info.token),
    }).dump()


def _verify_rfc3161_client(
    info: TokenInfo, digest: bytes, anchors: Sequence[bytes], certs: Sequence[bytes]
) -> tuple[bool, str | None] | None:
    """(passed, reason), or None if rfc3161-client cannot read the token at all."""
    from cryptography import x509
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(_as_response(info))
    except ValueError:
        return None  # e.g. InvalidSetOrdering: not DER, not necessarily invalid
    try:
        builder = VerifierBuilder()
        for cert in _load_x509(anchors):
            builder = builder.add_root_certificate(cert)
        for cert in _load_x509([der for der in certs if der not in anchors]):
            builder = builder.add_intermediate_certificate(cert)
        builder.build().verify(response, digest)
    except (VerificationError, ValueError, x509.InvalidVersion) as exc:
        text = str(exc)
        if "Verify error:" in text:
            text = text[text.rfind("Verify error:"):].split('"')[0]
        return False, f"signature or certificate check failed: {text[:200]}"
    return True, None


def _load_x509(ders: Sequence[bytes]) -> list[Any]:
    """Certificates cryptography can load; a damaged one is left out (its chain then fails)."""
    import cryptography.x509

    loaded = []
    for der in ders:
        try:
            loaded.append(cryptography.x509.load_der_x509_certificate(der))
        except Exception:  # noqa: BLE001 - InvalidVersion, ValueError...: not usable
            continue
    return list({cert: None for cert in loaded})


def _verify_openssl(
    openssl: str, info: TokenInfo, digest: bytes, anchors: Sequence[bytes],
    certs: Sequence[bytes],
) -> tuple[bool | None, str | None]:
    with tempfile.TemporaryDirectory(prefix="provenance-ts-") as work:
        token = os.path.join(work, "token.tst")
        ca = os.path.join(work, "ca.pem")
        untrusted = os.path.join(work, "untrusted.pem")
        with open(token, "wb") as handle:
            handle.write(info.token)
        with open(ca, "wb") as handle:
            handle.write(certificates_pem(anchors or certs))
        with open(untrusted, "wb") as handle:
            handle.write(certificates_pem(certs))
        command = [openssl, "ts", "-verify", "-token_in", "-in", token, "-digest", digest.hex(),
                   "-CAfile", ca]
        if certs:
            command += ["-untrusted", untrusted]
        if not anchors:
            command.append("-partial_chain")
        if info.gen_time:
            from provenance.clock import parse_time

            command += ["-attime", str(int(parse_time(info.gen_time).timestamp()))]
        try:
            done = subprocess.run(command, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"openssl could not run: {exc}"
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode == 0 and "Verification: OK" in output:
        return True, None
    lines = [ln for ln in output.splitlines() if "error" in ln.lower() or "FAILED" in ln]
    return False, "openssl: " + (lines[-1].strip() if lines else "verification failed")


# --- requesting ---------------------------------------------------------------------------

def request_timestamp(
    url: str,
    message: bytes,
    *,
    algorithm: str = SHA256,
    session: Any = None,
    timeout: float = DEFAULT_TIMEOUT,
    roots: Sequence[bytes] = (),
    certs: Sequence[bytes] = (),
) -> Stamp:
    """Ask the TSA at ``url`` to stamp ``message`` (its SHA-256 or SHA-512 is sent).

    Returns a :class:`Stamp` whose reply verified; raises :class:`TimestampError` (one
    line) if the TSA is down, slow, refuses, or sends anything that does not verify.
    ``roots`` are trusted roots, ``certs`` intermediates the TSA may leave out (DER).
    """
    import requests
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    if algorithm not in ALGORITHMS:
        raise TimestampError(f"unsupported imprint algorithm {algorithm!r}: use sha256 or sha512")
    request = (TimestampRequestBuilder()
               .data(message)
               .hash_algorithm(HashAlgorithm[algorithm.upper()])
               .nonce(nonce=True)
               .cert_request(cert_request=True)
               .build())
    http = session or BoundedSession(total_timeout=timeout, max_body=MAX_REPLY)
    try:
        with Deadline(timeout) as deadline:  # also bounds an injected plain session's read
            reply = http.post(url, data=request.as_bytes(), stream=True, timeout=timeout,
                              headers={"Content-Type": CONTENT_TYPE})
            if reply.status_code != 200:
                reply.close()
                raise TimestampError(f"TSA {url} answered HTTP {reply.status_code}")
            body = read_capped(reply, MAX_REPLY, deadline)
    except DeadlineExceeded:
        raise TimestampError(f"TSA {url} did not answer completely within {timeout:g} s"
                             ) from None
    except BodyTooLarge:
        raise TimestampError(f"TSA {url} sent more than {MAX_REPLY} bytes: not a time-stamp "
                             "reply") from None
    except requests.RequestException as exc:
        raise TimestampError(f"TSA {url} unreachable: {_first_line(exc)}") from None
    finally:
        if session is None:
            http.close()
    try:
        info = read_token(body)
    except TimestampError:
        raise TimestampError(f"TSA {url} sent something that is not a time-stamp reply "
                             f"({len(body)} bytes)") from None
    if not info.is_response or info.status not in (0, 1) or not info.token:
        raise TimestampError(f"TSA {url} refused the request (status {info.status})")
    digest = request.message_imprint.message
    verification = verify_token(body, digest=digest, nonce=request.nonce, roots=roots,
                                certs=certs)
    if verification.passed is False:
        raise TimestampError(f"TSA {url} sent a reply that does not verify: "
                             f"{verification.reason}")
    return Stamp(url, body, info.certificates, verification, algorithm, request.nonce)


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
