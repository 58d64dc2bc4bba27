"""RFC 3161 trusted time-stamps: ask a time-stamp authority (TSA), check its reply, verify later.

A TSA signs "this digest existed at this time". :func:`request_timestamp` sends a request
(SHA-256 or SHA-512 imprint of a message, a random nonce, ``certReq``) over an injected
``requests`` session, checks the reply (granted, same imprint, same nonce, valid signature
with the timeStamping key usage) and returns the raw reply bytes to keep as evidence.
:func:`verify_token` re-checks a kept reply or bare token, offline, at any later time.

Verifying, in three outcomes (:class:`TokenVerification`): *valid*, *invalid* (the signature,
imprint or nonce is wrong) and *could not verify* (something needed is missing: the TSA's
certificate, a link of its chain, an imprint algorithm, the openssl command). A missing
piece is never "invalid", and nothing is "valid" without the signature checked.

* Imprints: SHA-256/384/512, and SHA-1 (legacy; valid but marked weak, see ``WEAK_WORDS``).
* The token's certificate set is outside the TSA's signature: anyone can add to it. It is
  set aside (the token is verified without it, every signed byte unchanged); only X.509
  certificates are read from it (Microsoft sends an attribute certificate too), and the
  chain is built here, link by link, from certificates whose signatures hold, so extra
  or look-alike certificates change nothing. Chains the TSA left out are given as ``certs``.
* The signature: ``openssl cms -verify`` with the signer's certificate (of those with the
  SignerInfo's issuer and serial, the one the signing-certificate attribute names: RFC 5035,
  its first ID is the signer), the signer's timeStamping EKU (alone, with no key usage but
  signing, as RFC 3161 2.3 and ``openssl ts -verify`` want; not marked critical is let
  pass with a note, see ``EKU_NOT_CRITICAL_WORDS``) and validity at the token's time.
  (``openssl ts -verify`` wants every ESS ID in the chain and so refuses valid Microsoft
  tokens.) The SignedData version is not signed and not read (EuroCert sends 1).
* The chain: ``rfc3161-client`` (strict DER), else ``openssl verify -purpose timestampsign``
  (``-purpose any`` for a signer whose EKU is not critical). Links signed with SHA-1 (TSA
  chains until about 2016), which ``cryptography`` will not check, are checked here.
  :attr:`TokenVerification.how` says which decided.

Tokens are read with :mod:`asn1crypto`, which is tolerant, for their fields (time, serial,
TSA name, imprint, nonce, certificates). Certificates are checked as valid at the token's
own time (``-attime``), as a court would: a TSA certificate that expired since still counts.

Trust is a :class:`Trust` level, never a bare boolean. With roots given by the caller
(``PROVENANCE_TSA_CA``), a token is trusted only if its chain ends in one of *them*: no
certificate the token carries is ever a trust anchor then, a chain that ends in another
self-signed root is ``NOT_TRUSTED`` (invalid as evidence: someone else vouches), and a
chain that stops at a certificate whose issuer nobody gave is ``UNVERIFIED``. Without
roots the anchor is a self-signed root the TSA sent in its reply (pinned: proves the
token is intact, not who the TSA is), else the TSA's own certificate (signature only).
"""

from __future__ import annotations

import binascii
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import cryptography.x509
import requests
from asn1crypto import cms, core, parser, pem, tsp, x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from archive.deadline import BodyTooLarge, BoundedSession, Deadline, DeadlineExceeded, read_capped
from provenance.errors import TimestampError
from provenance.store.clock import format_time, parse_time

SHA256 = "sha256"
SHA512 = "sha512"
ALGORITHMS = {SHA256: hashlib.sha256, SHA512: hashlib.sha512}  # what we ask TSAs for
# What a kept token may use. SHA-1 imprints are legacy (DigiCert still answers SHA-1
# requests; old Authenticode signatures carry them): they verify, but are marked weak,
# since a chosen-prefix SHA-1 collision is within reach: two messages could share a stamp.
IMPRINT_ALGORITHMS = {"sha1": hashlib.sha1, SHA256: hashlib.sha256,
                      "sha384": hashlib.sha384, SHA512: hashlib.sha512}
WEAK_ALGORITHMS = frozenset({"sha1"})
WEAK_WORDS = ("weak: SHA-1 imprint (legacy; SHA-1 collisions can be made, so the stamp "
              "may fit another message too)")
# RFC 3161 2.3 asks the TSA certificate's timeStamping EKU to be critical. Microsoft's
# Time-Stamp Service certificates until 2022 (Windows' own, tested on real ones) have it
# non-critical. Criticality only tells software that cannot read EKUs to refuse the key;
# timeStamping alone still binds it to time-stamping here, so such a token is valid, and
# says so (openssl ts -verify refuses it: "unsuitable certificate purpose").
EKU_NOT_CRITICAL_WORDS = ("note: the TSA certificate's timeStamping usage is not marked "
                          "critical, as RFC 3161 asks (older Microsoft TSA certificates)")
CONTENT_TYPE = "application/timestamp-query"
DEFAULT_TIMEOUT = 30.0
MAX_REPLY = 1_000_000  # real replies with a full certificate chain are under 20 KB

RFC3161_CLIENT = "rfc3161-client"
OPENSSL_CMS = "openssl cms -verify"
OPENSSL_CHAIN = "openssl verify"


class Trust(Enum):
    """How far a token is trusted: who vouches for the key that signed it."""

    TRUSTED_ROOT = "trusted_root"  # the chain ends in a root the caller gave
    PINNED_TSA_ROOT = "pinned_tsa_root"  # no roots given: a root the TSA sent itself
    SIGNATURE_ONLY = "signature_only"  # no roots given, none sent: the TSA's certificate
    NOT_TRUSTED = "not_trusted"  # roots given; the signature is valid, the chain ends elsewhere
    UNVERIFIED = "unverified"  # could not verify: the TSA's certificate or a link is missing
    FAILED = "failed"  # invalid: the signature or the imprint is wrong

    @property
    def words(self) -> str:
        return _TRUST_WORDS[self]


_TRUST_WORDS = {
    Trust.TRUSTED_ROOT: "trusted: chain ends in a given root",
    Trust.PINNED_TSA_ROOT: "root sent by the TSA, pinned: proves integrity, not who the TSA is",
    Trust.SIGNATURE_ONLY: "TSA certificate only: proves integrity, not who the TSA is",
    Trust.NOT_TRUSTED: "not trusted: no valid chain to a given root",
    Trust.UNVERIFIED: "could not verify: a certificate needed to check it is missing",
    Trust.FAILED: "invalid: does not verify",
}


@dataclass(frozen=True)
class TokenVerification:
    """The outcome of checking one token, one of three (:attr:`outcome`):

    * ``passed=True``: valid (the signature and imprint hold; :attr:`trust` says who vouches);
    * ``passed=False``: invalid: the signature, imprint or nonce is wrong, the TSA refused,
      or (with roots given) the chain ends in a root that is not one of them
      (:attr:`Trust.NOT_TRUSTED`);
    * ``passed=None``: could not verify: something needed is missing (the TSA's certificate,
      an intermediate or root, an imprint algorithm, the openssl command); ``reason`` says
      what. Such a token proves nothing yet, and nothing against the record either.
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

    @property
    def weak(self) -> bool:
        """A legacy SHA-1 imprint: valid, but not strong evidence (see ``WEAK_WORDS``)."""
        return self.algorithm in WEAK_ALGORITHMS

    @property
    def outcome(self) -> str:
        return {True: "valid", False: "invalid", None: "unverified"}[self.passed]

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "outcome": self.outcome, "how": self.how,
                "reason": self.reason, "gen_time": self.gen_time, "tsa_name": self.tsa_name,
                "serial": self.serial, "algorithm": self.algorithm, "imprint": self.imprint,
                "weak": self.weak, "trust": self.trust.value,
                "trusted_root": self.trusted_root}


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
    certificates: list[bytes] = field(default_factory=list)  # X.509 certificates only
    is_response: bool = True
    token: bytes = b""  # the TimeStampToken (CMS ContentInfo) alone
    other_certificates: int = 0  # attribute (or other non-X.509) certificates, skipped
    version: int = 1  # of the TSTInfo: RFC 3161 defines 1 only


@dataclass(frozen=True)
class Stamp:
    """A granted, verified time-stamp: ``reply`` is the TSA's DER reply, byte for byte."""

    tsa: str
    reply: bytes
    certificates: list[bytes]
    verification: TokenVerification
    algorithm: str
    nonce: int | None


# --- reading tokens -----------------------------------------------------------------------

def read_token(der: bytes) -> TokenInfo:
    """Parse a TimeStampResp (``.tsr``) or a bare TimeStampToken; TimestampError if neither."""

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
        tst = _tst_info(token)
        imprint = tst["message_imprint"]
        name = tst["tsa"]
        # Only X.509 certificates: Microsoft's Time-Stamp Service also sends an attribute
        # certificate, which is no certificate of a key and must never be written as one.
        choices = list(signed["certificates"] or [])
        certs = [c.chosen.dump() for c in choices if c.name == "certificate"]
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
            other_certificates=len(choices) - len(certs),
            version=int(tst["version"]),
        )
    except TimestampError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError...
        raise TimestampError(f"not an RFC 3161 time-stamp token ({type(exc).__name__})") from None


def _tst_info(token: bytes) -> Any:
    """The TSTInfo, read from the encapsulated content's own bytes. asn1crypto reads a
    SignedData of version 1 as PKCS#7 and leaves its content unparsed; CMS wants version 3
    there, but the version is not signed (anyone can change it) and real qualified tokens
    (EuroCert's, 2022) carry 1: it must not make a token unreadable."""
    signed_data = _der_children(_der_children(token)[1])[0]
    encap = cms.EncapsulatedContentInfo.load(_der_children(signed_data)[2], strict=True)
    if encap["content_type"].native != "tst_info":
        raise TimestampError("not an RFC 3161 time-stamp token (its content is "
                             f"{encap['content_type'].native}, not a TSTInfo)")
    return encap["content"].parsed


def _der_children(der: bytes) -> list[bytes]:
    """The raw bytes of each element of a DER SEQUENCE, exactly as they were sent."""

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

    return b"".join(pem.armor("CERTIFICATE", der) for der in certificates)


def load_certificates(data: bytes) -> list[bytes]:
    """DER certificates from PEM (one or many) or a single DER certificate.

    A damaged file raises TimestampError: check and bundle verification report it as a
    problem rather than stopping on it.
    """

    if not pem.detect(data):
        return [data] if data else []
    try:
        return [der for kind, _, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"]
    except (ValueError, binascii.Error) as exc:
        raise TimestampError(f"certificates are not readable PEM: {exc}") from None


def _is_self_signed(der: bytes) -> bool:

    try:
        return x509.Certificate.load(der).self_signed in ("maybe", "yes")
    except Exception:  # noqa: BLE001 - a broken certificate is simply not a root
        return False


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
) -> TokenVerification:
    """Check a kept token: its imprint equals ``digest`` (or the digest of ``message`` in
    the token's algorithm), its nonce (if given), and its signature and certificate chain.

    ``certs`` are extra DER certificates (the ones kept with the token, or a chain the TSA
    left out); ``roots`` are trusted roots. Never raises for a bad token: a wrong signature
    or imprint is ``passed=False``; something missing (the TSA's certificate, a link of the
    chain, an imprint algorithm or the openssl command) is ``passed=None``.
    """
    try:
        info = read_token(der)
    except TimestampError as exc:
        return TokenVerification(False, "asn1crypto", str(exc))
    base: dict[str, Any] = {
            "gen_time": info.gen_time, "tsa_name": info.tsa_name, "serial": info.serial,
            "algorithm": info.algorithm, "imprint": info.imprint.hex() if info.imprint else None,
            "nonce": info.nonce}
    if info.status not in (0, 1) or not info.token:
        return TokenVerification(False, "asn1crypto", f"the TSA refused (status {info.status})",
                            **base)
    if message is None and digest is None:
        raise ValueError("verify_token needs message= or digest=")
    if info.version != 1:  # what a later version's fields mean is unknown (openssl refuses too)
        return TokenVerification(False, "asn1crypto", f"the token's TSTInfo is version "
                                 f"{info.version}; RFC 3161 defines version 1 only", **base)
    hasher = IMPRINT_ALGORITHMS.get(info.algorithm or "")
    if message is not None and hasher is None:
        # The signature still decides whether the token was altered (invalid); if it holds,
        # the message cannot be compared with it here: could not verify.
        signed = _verify_guarded(info, info.imprint or b"", [], roots, openssl, base)
        if signed.passed is not True:
            return signed
        return _unverified(f"imprint algorithm {info.algorithm} is not one of "
                           f"{', '.join(IMPRINT_ALGORITHMS)}", base)
    if message is not None and hasher is not None:
        digest = hasher(message).digest()
    if digest is None or info.imprint != digest:
        return TokenVerification(False, "asn1crypto",
                            "the token covers another hash than the one recorded", **base)
    if nonce is not None and info.nonce != nonce:
        return TokenVerification(False, "asn1crypto", "the token's nonce is not the request's",
                            **base)
    return _verify_guarded(info, digest, certs, roots, openssl, base)


def _verify_guarded(info: TokenInfo, digest: bytes, certs: Sequence[bytes],
                    roots: Sequence[bytes], openssl: str | None, base: dict[str, Any]
                    ) -> TokenVerification:
    try:
        return _verify_signed(info, digest, _unique([*info.certificates, *certs]),
                              _unique(roots), openssl, base)
    except Exception as exc:  # noqa: BLE001 - asn1crypto parses lazily: a crafted token
        return TokenVerification(False, "asn1crypto", "the token's signed data is malformed "
                            f"({type(exc).__name__})", **base)


def _verify_signed(info: TokenInfo, digest: bytes, pool: list[bytes], roots: list[bytes],
                   openssl: str | None, base: dict[str, Any]) -> TokenVerification:
    """Signature first (invalid or not, with the TSA's certificate alone), then who vouches
    for that certificate: a chain built here, link by link, from certificates whose
    signatures hold, so that extra certificates in the token's (unsigned) set change nothing.
    """
    _signer_info(info.token)["sid"].native  # noqa: B018 - unreadable: malformed, raises
    named = _find_signers(info.token, pool)
    if not named:
        return _unverified(f"the TSA's certificate ({_signer_id(info.token)}) is not in the "
                           "token and was not given (supply it with the token's chain: "
                           "'-untrusted FILE')", base)
    if openssl is None or shutil.which(openssl) is None:
        return _unverified("the openssl command is not installed", base)
    bare = _without_certificates(info.token)
    signer = _named_by_attribute(bare, named)
    passed, reason = _signature_holds(openssl, bare, signer, info.gen_time)
    if passed is None:
        return _unverified(reason or "openssl could not run", base)
    if passed is False:
        return TokenVerification(False, OPENSSL_CMS, reason, trust=Trust.FAILED, **base)
    result = _judge_chain(bare, info, digest, signer, pool, roots, openssl, base)
    if result.passed is True and _eku_not_critical(signer):
        result = replace(result, how=f"{result.how}; {EKU_NOT_CRITICAL_WORDS}")
    return result


def _judge_chain(bare: bytes, info: TokenInfo, digest: bytes, signer: bytes,
                 pool: list[bytes], roots: list[bytes], openssl: str, base: dict[str, Any]
                 ) -> TokenVerification:
    """The signature holds: who vouches for ``signer``."""
    chain = build_chain(signer, pool, roots)
    if roots:
        return _judge_with_roots(bare, info, digest, chain, openssl, base)
    if chain.end is ChainEnd.SELF_SIGNED:
        passed, verifier, _ = _check_chain(bare, info, digest, chain, openssl)
        if passed is True:
            return _passed(verifier, Trust.PINNED_TSA_ROOT, base)
    return _passed(OPENSSL_CMS, Trust.SIGNATURE_ONLY, base)


def _judge_with_roots(bare: bytes, info: TokenInfo, digest: bytes, chain: Chain,
                      openssl: str, base: dict[str, Any]) -> TokenVerification:
    """The signature holds; trusted only if the chain ends in one of the given roots."""
    if chain.end is ChainEnd.MISSING:
        return _unverified(f"the chain stops at {chain.top_name}: the certificate of its "
                           f"issuer {chain.missing} was not given (supply the chain with "
                           "'-untrusted FILE', the root with '-CAfile FILE')", base)
    if chain.end is ChainEnd.SELF_SIGNED:
        why = f"it ends in {chain.top_name}, which is not a given root"
        return TokenVerification(False, f"{OPENSSL_CMS} ({Trust.NOT_TRUSTED.words})",
                            f"{Trust.NOT_TRUSTED.words} ({why})", trust=Trust.NOT_TRUSTED,
                            **base)
    passed, verifier, reason = _check_chain(bare, info, digest, chain, openssl)
    if passed is True:
        return _passed(verifier, Trust.TRUSTED_ROOT, base)
    if passed is None:
        return _unverified(reason or "the chain could not be checked", base)
    return TokenVerification(False, f"{verifier} ({Trust.NOT_TRUSTED.words})",
                        f"{Trust.NOT_TRUSTED.words} ({reason})", trust=Trust.NOT_TRUSTED,
                        **base)


def _passed(verifier: str, trust: Trust, base: dict[str, Any]) -> TokenVerification:
    how = f"{verifier} ({trust.words})"
    if base.get("algorithm") in WEAK_ALGORITHMS:
        how += f"; {WEAK_WORDS}"
    return TokenVerification(True, how, trust=trust, **base)


def _unverified(reason: str, base: dict[str, Any]) -> TokenVerification:
    return TokenVerification(None, "none", f"could not verify: {reason}", trust=Trust.UNVERIFIED,
                        **base)


def _check_chain(bare: bytes, info: TokenInfo, digest: bytes, chain: Chain, openssl: str
                 ) -> tuple[bool | None, str, str | None]:
    """(passed, verifier, reason) for the complete ``chain``: rfc3161-client if it reads the
    token, else ``openssl verify`` of the chain (the signature was checked before)."""
    anchors = [chain.anchor] if chain.anchor else []
    # Both verifiers refuse a TSA certificate whose EKU is not critical; its EKU and key
    # usage were checked before (_signer_fits), so then the chain alone is checked.
    lenient = _eku_not_critical(chain.certificates[0])
    if not lenient:
        result = _verify_rfc3161_client(bare, digest, chain.certificates[0], anchors,
                                        chain.certificates[1:])
        if result is not None:
            return result[0], RFC3161_CLIENT, result[1]
    passed, reason = _chain_holds(openssl, info.gen_time, anchors, chain.certificates,
                                  purpose="any" if lenient else "timestampsign")
    return passed, OPENSSL_CHAIN, reason


def _unique(items: Sequence[bytes]) -> list[bytes]:
    return list(dict.fromkeys(items))


# --- the token without its certificate set ------------------------------------------------

def _without_certificates(token: bytes) -> bytes:
    """The token with its certificate and CRL sets left out, every other byte as sent.

    Neither set is covered by the TSA's signature (anyone can add to them), and some hold
    what verifiers cannot read (Microsoft's time-stamps carry an attribute certificate,
    which openssl refuses). The certificates a verification uses are handed over apart.
    The digestAlgorithms set is not signed either, and openssl hashes the content only with
    the algorithms listed there: it is made the SignerInfos' own, so that emptying it or
    listing others does not make a genuine token fail.
    """
    oid, wrapped = _der_children(token)[:2]
    inner = [part for part in _der_children(_der_children(wrapped)[0])
             if part[0] not in (0xA0, 0xA1)]
    if len(inner) == 4:  # version, digestAlgorithms, encapContentInfo, signerInfos
        used = {_der_children(info)[2] for info in _der_children(inner[3])}
        inner[1] = _der(0x31, b"".join(sorted(used)))
    return _der(0x30, oid + _der(0xA0, _der(0x30, b"".join(inner))))


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


# --- building the chain -------------------------------------------------------------------

class ChainEnd(Enum):
    """Where a chain built from the signer's certificate stops."""

    ANCHOR = "anchor"  # issued by a given root
    SELF_SIGNED = "self_signed"  # a self-signed certificate that is not a given root
    MISSING = "missing"  # the issuer of the last certificate is not at hand


@dataclass(frozen=True)
class Chain:
    """Signer first, then each issuer; ``anchor`` is the given root it ends in, or the
    self-signed certificate it ends with (which is also the last of ``certificates``)."""

    certificates: list[bytes]
    end: ChainEnd
    anchor: bytes | None = None
    top_name: str = ""
    missing: str | None = None


MAX_CHAIN = 8


def build_chain(signer: bytes, pool: Sequence[bytes], roots: Sequence[bytes]) -> Chain:
    """The best chain from ``signer``: ending in a root > ending self-signed > incomplete.

    A certificate is taken as an issuer only if its subject is the issuer's name and its key
    verifies the signature, so injected look-alikes are never links."""
    loaded = {der: cert for der, cert in zip(pool, _load_each(pool), strict=True)
              if cert is not None}
    anchors = {der: cert for der, cert in zip(roots, _load_each(roots), strict=True)
               if cert is not None}
    start = _load_each([signer])[0]
    if start is None:
        return Chain([signer], ChainEnd.MISSING, top_name="an unreadable certificate",
                     missing="(unknown)")
    return _extend([signer], start, loaded, anchors)


_RANK = {ChainEnd.ANCHOR: 0, ChainEnd.SELF_SIGNED: 1, ChainEnd.MISSING: 2}


def _extend(path: list[bytes], cert: Any, pool: dict[bytes, Any], anchors: dict[bytes, Any]
            ) -> Chain:
    name = cert.subject.rfc4514_string() or "(no name)"
    for der, root in anchors.items():
        if _issued_by(cert, root):
            return Chain(path, ChainEnd.ANCHOR, der, root.subject.rfc4514_string())
    if _issued_by(cert, cert):  # pinned only when no roots are given
        return Chain(path, ChainEnd.SELF_SIGNED, path[-1], name)
    best = Chain(path, ChainEnd.MISSING, None, name, cert.issuer.rfc4514_string())
    if len(path) >= MAX_CHAIN:
        return best
    for der, issuer in pool.items():
        if der in path or not _issued_by(cert, issuer):
            continue
        found = _extend([*path, der], issuer, pool, anchors)
        if (_RANK[found.end], -len(found.certificates)) < (_RANK[best.end],
                                                           -len(best.certificates)):
            best = found
        if best.end is ChainEnd.ANCHOR:
            break
    return best


def _issued_by(child: Any, parent: Any) -> bool:
    try:
        if child.issuer != parent.subject:
            return False
        child.verify_directly_issued_by(parent)
    except ValueError:  # "Unsupported signature algorithm": cryptography refuses SHA-1
        return _sha1_link_holds(child, parent)
    except Exception:  # noqa: BLE001 - InvalidSignature, a damaged name or key: no link
        return False
    return True


_SHA1_SIGNATURES = (SignatureAlgorithmOID.RSA_WITH_SHA1, SignatureAlgorithmOID.ECDSA_WITH_SHA1)


def _sha1_link_holds(child: Any, parent: Any) -> bool:
    """``parent``'s key signed ``child`` with SHA-1 (RSA or ECDSA): the chains of TSAs
    until about 2016 (GeoTrust's for Adobe, 2009) are so, and ``openssl verify``, which
    then checks the whole chain, accepts them."""
    try:
        if child.signature_algorithm_oid not in _SHA1_SIGNATURES:
            return False
        key = parent.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(),
                       hashes.SHA1())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))
        else:
            return False
    except Exception:  # noqa: BLE001 - InvalidSignature, an unreadable key: no link
        return False
    return True


def _load_each(ders: Sequence[bytes]) -> list[Any]:

    loaded: list[Any] = []
    for der in ders:
        try:
            with warnings.catch_warnings():  # e.g. a negative serial: read, warned about
                warnings.simplefilter("ignore")
                loaded.append(cryptography.x509.load_der_x509_certificate(der))
        except Exception:  # noqa: BLE001 - InvalidVersion, ValueError...: not usable
            loaded.append(None)
    return loaded


def _signer_info(token: bytes) -> Any:

    return cms.ContentInfo.load(token)["content"]["signer_infos"][0]


def _find_signers(token: bytes, pool: Sequence[bytes]) -> list[bytes]:
    """Every certificate the SignerInfo names (issuer and serial, or key identifier): the
    set is unsigned, so a look-alike with the real one's issuer and serial may sit in it."""

    try:
        sid = _signer_info(token)["sid"]
    except Exception:  # noqa: BLE001 - no signer info: nothing can verify it
        return []
    found = []
    for der in pool:
        try:
            cert = x509.Certificate.load(der)
            if sid.name == "issuer_and_serial_number":
                if (cert.issuer == sid.chosen["issuer"]
                        and cert.serial_number == sid.chosen["serial_number"].native):
                    found.append(der)
            elif cert.key_identifier == sid.chosen.native:
                found.append(der)
        except Exception:  # noqa: BLE001 - a broken certificate is not the signer
            continue
    return found


def _named_by_attribute(bare: bytes, named: Sequence[bytes]) -> bytes:
    """Of the certificates the SignerInfo names, the one its (signed) signing-certificate
    attribute names by hash, so that a look-alike added to the unsigned set beside the
    real one changes nothing; else the first (the signature or that attribute then fails
    with it: a changed attribute, or the TSA's own certificate swapped for another)."""
    ids = _ess_ids(bare)
    for der in named:
        if ids and all(_hash_or_none(algorithm, der) in (cert_hash, None)
                       for algorithm, cert_hash in ids):
            return der
    return named[0]


def _hash_or_none(algorithm: str, data: bytes) -> bytes | None:
    try:
        return hashlib.new(algorithm, data).digest()
    except (ValueError, TypeError):
        return None


def _signer_id(token: bytes) -> str:
    try:
        sid = _signer_info(token)["sid"]
        if sid.name == "issuer_and_serial_number":
            return (f"issuer {sid.chosen['issuer'].human_friendly}, serial "
                    f"{sid.chosen['serial_number'].native}")
        return f"key identifier {sid.chosen.native.hex()}"
    except Exception:  # noqa: BLE001
        return "not named"


# --- the signature ------------------------------------------------------------------------

def _signature_holds(openssl: str, bare: bytes, signer: bytes, gen_time: str | None
                     ) -> tuple[bool | None, str | None]:
    """Is the token signed by ``signer``'s key, over its TSTInfo, with ``signer`` named in
    its signing-certificate attribute, and is ``signer`` a time-stamping certificate valid
    at the token's time? (passed, reason); None if openssl could not run.

    ``openssl ts -verify`` is not used for this: OpenSSL 3.0 wants every ESS certificate ID
    in the chain, while RFC 5035 binds only the first (Microsoft's tokens name one more), so
    it calls valid tokens invalid."""
    with tempfile.TemporaryDirectory(prefix="provenance-ts-") as work:
        path, pem_path = os.path.join(work, "token.tst"), os.path.join(work, "signer.pem")
        with open(path, "wb") as handle:
            handle.write(bare)
        with open(pem_path, "wb") as handle:
            handle.write(certificates_pem([signer]))
        command = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", path,
                   "-certfile", pem_path, "-noverify", "-out", os.devnull]
        try:
            done = subprocess.run(command, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"openssl could not run: {exc}"
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode != 0 or "Verification successful" not in output:
        lines = [ln for ln in output.splitlines() if "error" in ln.lower()]
        return False, "the TSA's signature does not hold: openssl: " + (
            lines[-1].strip() if lines else "verification failure")
    return _signer_fits(bare, signer, gen_time)


def _signer_fits(bare: bytes, signer: bytes, gen_time: str | None
                 ) -> tuple[bool | None, str | None]:
    """The signing-certificate attribute names ``signer`` first (RFC 5035), and ``signer``
    is a time-stamping certificate (EKU, RFC 3161 2.3) valid at ``gen_time``."""


    ids = _ess_ids(bare)
    if not ids:
        return False, "the token does not name its signing certificate (no ESS attribute)"
    for algorithm, cert_hash in ids:
        try:
            found = hashlib.new(algorithm, signer).digest()
        except (ValueError, TypeError):
            return None, f"the signing-certificate attribute uses hash {algorithm}"
        if found != cert_hash:
            return False, "the token's signing-certificate attribute names another certificate"
    cert = cryptography.x509.load_der_x509_certificate(signer)
    unfit = _not_time_stamping(cert)
    if unfit:
        return False, f"the signing certificate is not a time-stamping certificate ({unfit})"
    if gen_time is not None:
        when = parse_time(gen_time)
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            return False, "the signing certificate was not valid at the token's time"
    return True, None


def _ess_ids(bare: bytes) -> list[tuple[str, bytes]]:
    """(hash algorithm, certificate hash) of the first ID of each signing-certificate
    attribute (RFC 5035: the first names the signer)."""
    ids = []
    for attr in _signer_info(bare)["signed_attrs"] or []:
        oid = attr["type"].dotted
        if oid in (_ESS_V1, _ESS_V2) and len(attr["values"]):
            kind = tsp.SigningCertificate if oid == _ESS_V1 else tsp.SigningCertificateV2
            first = kind.load(attr["values"][0].dump())["certs"][0]
            algorithm = ("sha1" if oid == _ESS_V1
                         else first["hash_algorithm"]["algorithm"].native)
            ids.append((algorithm, bytes(first["cert_hash"].native)))
    return ids


def _eku_not_critical(der: bytes) -> bool:
    """The certificate's extended key usage is there but not critical (see
    ``EKU_NOT_CRITICAL_WORDS``)."""
    try:
        cert = cryptography.x509.load_der_x509_certificate(der)
        return not cert.extensions.get_extension_for_class(
            cryptography.x509.ExtendedKeyUsage).critical
    except Exception:  # noqa: BLE001 - no EKU or unreadable: refused before, nothing to note
        return False


def _not_time_stamping(cert: Any) -> str | None:
    """Why ``cert`` may not sign time-stamps, or None. RFC 3161 2.3: one extended key usage,
    timeStamping alone (critical, RFC 3161 says; see ``EKU_NOT_CRITICAL_WORDS``); a key
    usage, if any, only digitalSignature and/or nonRepudiation (what ``openssl ts -verify``
    demands too: a key also meant for TLS or code signing is not a TSA's)."""
    try:
        eku = cert.extensions.get_extension_for_class(cryptography.x509.ExtendedKeyUsage)
    except cryptography.x509.ExtensionNotFound:
        return "no extended key usage timeStamping"
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        return "its extended key usage is not timeStamping alone"
    try:
        usage = cert.extensions.get_extension_for_class(cryptography.x509.KeyUsage).value
    except cryptography.x509.ExtensionNotFound:
        return None
    signing = usage.digital_signature or usage.content_commitment
    other = (usage.key_encipherment or usage.data_encipherment or usage.key_agreement
             or usage.key_cert_sign or usage.crl_sign)
    if not signing or other:
        return "its key usage is not digitalSignature or nonRepudiation alone"
    return None


_ESS_V1, _ESS_V2 = "1.2.840.113549.1.9.16.2.12", "1.2.840.113549.1.9.16.2.47"


# --- the verifiers ------------------------------------------------------------------------

def _as_response(token: bytes) -> bytes:
    """A granted TimeStampResp around a bare token (what rfc3161-client reads)."""

    response: bytes = tsp.TimeStampResp({
        "status": {"status": "granted"},
        "time_stamp_token": cms.ContentInfo.load(token),
    }).dump()
    return response


def _verify_rfc3161_client(
    token: bytes, digest: bytes, signer: bytes, anchors: Sequence[bytes],
    intermediates: Sequence[bytes],
) -> tuple[bool, str | None] | None:
    """(passed, reason), or None if rfc3161-client cannot check it (no anchor, not DER, a
    signature its PKCS#7 code cannot read)."""

    if not anchors:
        return None
    try:
        response = decode_timestamp_response(_as_response(token))
    except ValueError:
        return None  # e.g. InvalidSetOrdering: not DER, not necessarily invalid
    try:
        builder = VerifierBuilder()
        for cert in _load_x509([signer]):
            builder = builder.tsa_certificate(cert)
        for cert in _load_x509(anchors):
            builder = builder.add_root_certificate(cert)
        for cert in _load_x509([der for der in intermediates if der not in anchors]):
            builder = builder.add_intermediate_certificate(cert)
        builder.build().verify(response, digest)
    except (VerificationError, ValueError, cryptography.x509.InvalidVersion) as exc:
        text = str(exc)
        if _PKCS7_SIGNATURE in text:
            # Its PKCS#7 code cannot check some signatures CMS allows (RSASSA-PSS, as some
            # qualified TSAs sign); openssl cms checked this one before: the chain decides.
            return None
        if "Verify error:" in text:
            text = text[text.rfind("Verify error:"):].split('"')[0]
        return False, f"signature or certificate check failed: {text[:200]}"
    return True, None


_PKCS7_SIGNATURE = "Unable to verify pkcs7 signature"


def _load_x509(ders: Sequence[bytes]) -> list[Any]:
    """Certificates cryptography can load; a damaged one is left out (its chain then fails)."""
    return list({cert: None for cert in _load_each(ders) if cert is not None})


_OPENSSL_VERIFY_ERROR = re.compile(r"error \d+ at (\d+) depth lookup: ([^\r\n]{1,200})")


def _chain_holds(openssl: str, gen_time: str | None, anchors: Sequence[bytes],
                 chain: Sequence[bytes], purpose: str = "timestampsign"
                 ) -> tuple[bool | None, str | None]:
    """``openssl verify`` of the signer's certificate (``chain[0]``) up to ``anchors``, as of
    the token's time, for time-stamping; the signature itself was checked before."""

    with tempfile.TemporaryDirectory(prefix="provenance-ts-") as work:
        ca, untrusted = os.path.join(work, "ca.pem"), os.path.join(work, "untrusted.pem")
        leaf = os.path.join(work, "signer.pem")
        for name, ders in ((ca, anchors), (untrusted, chain[1:]), (leaf, chain[:1])):
            with open(name, "wb") as handle:
                handle.write(certificates_pem(ders))
        command = [openssl, "verify", "-purpose", purpose, "-CAfile", ca]
        if len(chain) > 1:
            command += ["-untrusted", untrusted]
        if not all(_is_self_signed(a) for a in anchors):
            command.append("-partial_chain")
        if gen_time:
            command += ["-attime", str(int(parse_time(gen_time).timestamp()))]
        try:
            done = subprocess.run([*command, leaf], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"openssl could not run: {exc}"
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode == 0 and output.rstrip().endswith(": OK"):
        return True, None
    # "error 10 at 1 depth lookup: certificate has expired" says what failed; the last line
    # ("error FILE: verification failed") only that something did, and names a temp file.
    found = [f"{why} (chain certificate {int(depth) + 1}; the TSA's own is 1)"
             for depth, why in _OPENSSL_VERIFY_ERROR.findall(output)]
    return False, "openssl: " + ("; ".join(dict.fromkeys(found)) if found
                                 else "verification failed")


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
