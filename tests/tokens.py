"""RFC 3161 tokens made the ways real TSAs make them, and what ``openssl ts -verify`` says.

:func:`make_token` builds a reply with ``openssl ts -reply`` under one :class:`TokenConfig`
(key type, signing digest, ESSCertID v1/v2, chain IDs, nonce, TSA name, accuracy,
ordering, certificates included or not, intermediate depth). OpenSSL refuses to sign with
a certificate that is not a time-stamping one, so tokens from such certificates (no EKU, a
non-critical EKU, an EKU with more purposes, expired at signing) are signed here instead,
with :func:`sign_tst_info` (plain CMS, the same attributes ``openssl ts -reply`` writes).
:func:`openssl_verdict` is the independent judge: ``openssl ts -verify`` with the root as
``-CAfile``, the rest of the chain as ``-untrusted`` and ``-attime`` the token's time.
"""

from __future__ import annotations

import datetime
import hashlib
import subprocess
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL = "openssl"
KEYS = ("rsa2048", "rsa4096", "ec-p256", "ec-p384", "ec-p521")
# How the TSA certificate is made: a good one, or one a verifier must refuse.
TSA_KINDS = ("good", "no_eku", "eku_not_critical", "eku_extra", "ku_extra", "expired",
             "not_yet_valid", "ca_expired")


@dataclass(frozen=True)
class TokenConfig:
    """One way a TSA answers; every field is something real TSAs differ in."""

    key: str = "ec-p256"
    signer_digest: str = "sha256"
    ess_alg: str = "sha256"  # "sha1": ESSCertID (v1); otherwise ESSCertIDv2 with this hash
    ess_chain: bool = False  # ESS IDs of the whole chain, not only the signer's
    nonce: bool = True
    tsa_name: bool = True
    accuracy: bool = True
    ordering: bool = False
    include_certs: bool = True  # certReq: the chain is in the token, else given apart
    depth: int = 1  # intermediate CAs between the root and the TSA
    imprint: str = "sha256"
    tsa_kind: str = "good"
    cms_signer: bool = False  # signed by sign_tst_info, not openssl ts -reply
    pss: bool = False  # RSASSA-PSS (by sign_tst_info: openssl ts -reply signs PKCS#1 v1.5)

    @property
    def label(self) -> str:
        default = TokenConfig()
        parts = [f"{name}={getattr(self, name)}" for name in self.__dataclass_fields__
                 if getattr(self, name) != getattr(default, name)]
        return ",".join(parts) or "default"


@dataclass(frozen=True)
class TokenPki:
    """Root, intermediates (nearest the root first) and the TSA certificate, DER."""

    dir: Path
    root: bytes
    intermediates: list[bytes]
    tsa: bytes

    def pem(self, name: str, ders: list[bytes]) -> Path:
        path = self.dir / name
        path.write_bytes(b"".join(
            x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            for der in ders))
        return path


@dataclass(frozen=True)
class Token:
    """A reply (``.tsr``), the message it covers and the PKI it chains to."""

    reply: bytes
    message: bytes
    pki: TokenPki
    config: TokenConfig


_NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
_LOCK = threading.Lock()


def _key(kind: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if kind.startswith("rsa"):
        return rsa.generate_private_key(65537, int(kind[3:]))
    curves = {"ec-p256": ec.SECP256R1(), "ec-p384": ec.SECP384R1(), "ec-p521": ec.SECP521R1()}
    return ec.generate_private_key(curves[kind])


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Token Test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject: str, key: object, issuer: str, issuer_key: object, *, ca: bool,
                 kind: str = "good") -> x509.Certificate:
    public = key.public_key()  # type: ignore[attr-defined]
    start, end = _NOW - datetime.timedelta(days=30), _NOW + datetime.timedelta(days=3650)
    if kind == "expired":
        start, end = _NOW - datetime.timedelta(days=400), _NOW - datetime.timedelta(days=35)
    elif kind == "not_yet_valid":
        start = _NOW + datetime.timedelta(days=10)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=kind == "ku_extra",
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        if kind != "no_eku":
            usages = [ExtendedKeyUsageOID.TIME_STAMPING]
            if kind == "eku_extra":
                usages.append(ExtendedKeyUsageOID.CODE_SIGNING)
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages),
                                            critical=kind != "eku_not_critical")
    return builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]


_PKIS: dict[tuple[str, int, str], tuple[TokenPki, object]] = {}


def make_pki(base: Path, key: str, depth: int, tsa_kind: str = "good") -> tuple[TokenPki, object]:
    """A root, ``depth`` intermediates and a TSA certificate of ``tsa_kind``, with its key
    (cached per shape: RSA 4096 keys are slow to make)."""
    with _LOCK:
        found = _PKIS.get((key, depth, tsa_kind))
        if found is not None:
            return found
        folder = base / f"pki-{key}-{depth}-{tsa_kind}"
        folder.mkdir(parents=True, exist_ok=True)
        root_key = _key(key)
        root = _certificate("Root CA", root_key, "Root CA", root_key, ca=True)
        issuer, issuer_key, chain = "Root CA", root_key, []
        for level in range(depth):
            name = f"Intermediate CA {level + 1}"
            level_key = _key(key)
            chain.append(_certificate(name, level_key, issuer, issuer_key, ca=True,
                                      kind="expired" if tsa_kind == "ca_expired" else "good"))
            issuer, issuer_key = name, level_key
        tsa_key = _key(key)
        tsa = _certificate("TSA", tsa_key, issuer, issuer_key, ca=False,
                           kind="good" if tsa_kind == "ca_expired" else tsa_kind)
        der = serialization.Encoding.DER
        pki = TokenPki(folder, root.public_bytes(der), [c.public_bytes(der) for c in chain],
                       tsa.public_bytes(der))
        (folder / "tsa.key").write_bytes(tsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        pki.pem("tsa.pem", [pki.tsa])
        pki.pem("chain.pem", [*reversed(pki.intermediates), pki.root])
        (folder / "serial").write_text("01\n")
        _PKIS[(key, depth, tsa_kind)] = (pki, tsa_key)
        return pki, tsa_key


_CONFIG = """
[tsa]
default_tsa = tsa_config

[tsa_config]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/chain.pem
signer_key = $dir/tsa.key
signer_digest = {signer_digest}
default_policy = 1.3.6.1.4.1.99999.1
digests = sha1, sha256, sha384, sha512
{accuracy}
ordering = {ordering}
tsa_name = {tsa_name}
ess_cert_id_chain = {ess_chain}
ess_cert_id_alg = {ess_alg}
"""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def make_token(base: Path, config: TokenConfig, message: bytes = b"a message to stamp\n"
               ) -> Token:
    """A reply over ``message`` made as ``config`` says (see the module's docstring)."""
    pki, key = make_pki(base, config.key, config.depth, config.tsa_kind)
    if config.tsa_kind != "good" or config.cms_signer or config.pss:
        return Token(_python_reply(pki, key, config, message), message, pki, config)
    server = tsa_folder(base, config)
    work = server.dir
    with _LOCK:
        (work / "message.bin").write_bytes(message)
        query = [OPENSSL, "ts", "-query", "-data", "message.bin", f"-{config.imprint}",
                 "-out", "query.tsq"]
        if config.include_certs:
            query.append("-cert")
        if not config.nonce:
            query.append("-no_nonce")
        _run(query, work)
        _run([OPENSSL, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq",
              "-out", "reply.tsr"], work)
        return Token((work / "reply.tsr").read_bytes(), message, pki, config)


@dataclass(frozen=True)
class TsaFolder:
    """What :class:`tsaserver.TsaServer` needs to answer as ``config`` says: a folder and an
    ``openssl ts`` configuration whose section ``tsa_config`` signs with the PKI's TSA."""

    dir: Path
    config: Path


def tsa_folder(base: Path, config: TokenConfig) -> TsaFolder:
    """The ``openssl ts -reply`` configuration of ``config`` (one folder per config)."""
    pki, _ = make_pki(base, config.key, config.depth, config.tsa_kind)
    work = pki.dir / f"t{hashlib.sha256(config.label.encode()).hexdigest()[:12]}"
    with _LOCK:
        work.mkdir(exist_ok=True)
        (work / "tsa.cnf").write_text(_CONFIG.format(
            dir=pki.dir, signer_digest=config.signer_digest,
            accuracy="accuracy = secs:1, millisecs:500, microsecs:100" if config.accuracy else "",
            ordering=_yes(config.ordering), tsa_name=_yes(config.tsa_name),
            ess_chain=_yes(config.ess_chain), ess_alg=config.ess_alg))
    return TsaFolder(work, work / "tsa.cnf")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)


# --- a plain CMS signer, for certificates openssl ts -reply will not sign with ---------------

def sign_tst_info(tst_info: bytes, key: object, signer: bytes, certificates: list[bytes],
                  digest: str = "sha256", *, pss: bool = False) -> bytes:
    """A TimeStampToken over the DER ``tst_info``: signed attributes contentType,
    messageDigest and signingCertificateV2 (the signer's SHA-256), as TSAs write them."""
    content_digest = hashlib.new(digest, tst_info).digest()
    ess = tsp.SigningCertificateV2({"certs": [{"cert_hash": hashlib.sha256(signer).digest()}]})
    attrs = cms.CMSAttributes([
        {"type": "content_type", "values": ["tst_info"]},
        {"type": "message_digest", "values": [content_digest]},
        {"type": "signing_certificate_v2", "values": [ess]},
    ])
    to_sign = attrs.dump()
    chosen = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512(),
              "sha1": hashes.SHA1()}[digest]
    signature_algorithm: dict[str, object] = {}
    if isinstance(key, rsa.RSAPrivateKey) and pss:
        size = chosen.digest_size
        signature = key.sign(to_sign, padding.PSS(mgf=padding.MGF1(chosen), salt_length=size),
                             chosen)
        signature_algorithm = {"algorithm": "rsassa_pss", "parameters": {
            "hash_algorithm": {"algorithm": digest},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": digest}},
            "salt_length": size, "trailer_field": "trailer_field_bc"}}
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(to_sign, padding.PKCS1v15(), chosen)
        signature_algorithm = {"algorithm": "rsassa_pkcs1v15"}
    else:
        signature = key.sign(to_sign, ec.ECDSA(chosen))  # type: ignore[attr-defined]
        signature_algorithm = {"algorithm": f"{digest}_ecdsa"}
    cert = asn1_x509.Certificate.load(signer)
    signed = cms.SignedData({
        "version": "v3",
        "digest_algorithms": [{"algorithm": digest}],
        "encap_content_info": {"content_type": "tst_info",
                               "content": core.ParsableOctetString(tst_info)},
        "certificates": [asn1_x509.Certificate.load(der) for der in certificates],
        "signer_infos": [{
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": cert.issuer, "serial_number": cert.serial_number}}),
            "digest_algorithm": {"algorithm": digest},
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm(signature_algorithm),
            "signature": signature,
        }],
    })
    token: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    return token


def _python_reply(pki: TokenPki, key: object, config: TokenConfig, message: bytes) -> bytes:
    tst_info = tsp.TSTInfo({
        "version": "v1",
        "policy": "1.3.6.1.4.1.99999.1",
        "message_imprint": {"hash_algorithm": {"algorithm": config.imprint},
                            "hashed_message": hashlib.new(config.imprint, message).digest()},
        "serial_number": 7,
        "gen_time": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0),
        "nonce": 12345 if config.nonce else None,
    }).dump()
    certs = [pki.tsa, *reversed(pki.intermediates), pki.root] if config.include_certs else []
    token = sign_tst_info(tst_info, key, pki.tsa, certs, config.signer_digest, pss=config.pss)
    reply: bytes = tsp.TimeStampResp({"status": {"status": "granted"},
                                      "time_stamp_token": cms.ContentInfo.load(token)}).dump()
    return reply


# --- the independent judge ---------------------------------------------------------------

def openssl_verdict(token: Token, *, message: bytes | None = None, reply: bytes | None = None,
                    with_chain: bool = True) -> tuple[bool, str]:
    """``openssl ts -verify`` (OK, its output) with the root as the only trust anchor, the
    intermediates and TSA certificate as ``-untrusted`` (unless ``with_chain`` is False)
    and the token's own time as ``-attime``, as a court checks an old token."""
    from asn1crypto import tsp as _tsp

    pki = token.pki
    work = pki.dir / f"v{threading.get_ident():x}"
    work.mkdir(exist_ok=True)
    reply = token.reply if reply is None else reply
    (work / "reply.tsr").write_bytes(reply)
    (work / "message.bin").write_bytes(token.message if message is None else message)
    pki.pem("root.pem", [pki.root])
    command = [OPENSSL, "ts", "-verify", "-in", str(work / "reply.tsr"), "-data",
               str(work / "message.bin"), "-CAfile", str(pki.dir / "root.pem")]
    if with_chain:
        untrusted = pki.pem(f"untrusted-{threading.get_ident():x}.pem",
                            [pki.tsa, *pki.intermediates])
        command += ["-untrusted", str(untrusted)]
    try:
        gen_time = _tsp.TimeStampResp.load(reply)["time_stamp_token"]["content"][
            "encap_content_info"]["content"].parsed["gen_time"].native
        command += ["-attime", str(int(gen_time.timestamp()))]
    except Exception:  # noqa: BLE001 - a damaged token: openssl says why
        pass
    done = subprocess.run(command, capture_output=True, text=True)
    output = done.stdout + done.stderr
    return done.returncode == 0 and "Verification: OK" in output, output


def openssl_cms_verdict(token: Token) -> tuple[bool, str]:
    """``openssl cms -verify -purpose timestampsign`` of the bare token: the judge for what
    ``openssl ts -verify`` cannot read (its PKCS#7 code knows no RSASSA-PSS)."""
    from asn1crypto import tsp as _tsp

    pki = token.pki
    work = pki.dir / f"c{threading.get_ident():x}"
    work.mkdir(exist_ok=True)
    response = _tsp.TimeStampResp.load(token.reply)
    (work / "token.tst").write_bytes(response["time_stamp_token"].dump())
    gen_time = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed[
        "gen_time"].native
    root = pki.pem("root.pem", [pki.root])
    chain = pki.pem(f"chain-{threading.get_ident():x}.pem", [pki.tsa, *pki.intermediates])
    done = subprocess.run([OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-in",
                           str(work / "token.tst"), "-CAfile", str(root), "-certfile", str(chain),
                           "-purpose", "timestampsign", "-attime",
                           str(int(gen_time.timestamp())), "-out", "/dev/null"],
                          capture_output=True, text=True)
    return done.returncode == 0, done.stdout + done.stderr


def variants() -> list[TokenConfig]:
    """The configurations checked against openssl (one field changed at a time, plus a few
    combinations seen at real TSAs)."""
    base = TokenConfig()
    out = [base]
    out += [replace(base, key=key) for key in KEYS if key != base.key]
    out += [replace(base, signer_digest=d) for d in ("sha1", "sha384", "sha512")]
    out += [replace(base, ess_alg=a) for a in ("sha1", "sha512")]
    out += [replace(base, ess_chain=True), replace(base, ess_chain=True, ess_alg="sha1"),
            replace(base, nonce=False), replace(base, tsa_name=False),
            replace(base, accuracy=False), replace(base, ordering=True),
            replace(base, include_certs=False), replace(base, depth=2),
            replace(base, depth=2, ess_chain=True), replace(base, imprint="sha1"),
            replace(base, imprint="sha384"), replace(base, imprint="sha512")]
    # DigiCert-like (RSA 4096, SHA-256, ESS v2 and chain), FreeTSA-like (RSA, SHA-512
    # imprints, ESS v1), sigstore-like (P-384, no certificates).
    out += [replace(base, key="rsa4096", depth=2, ess_chain=True, accuracy=False),
            replace(base, key="rsa2048", ess_alg="sha1", signer_digest="sha512",
                    imprint="sha512", ordering=True),
            replace(base, key="ec-p384", signer_digest="sha384", include_certs=False,
                    nonce=False, tsa_name=False)]
    return out


def refused_variants() -> list[TokenConfig]:
    """TSA certificates a verifier must refuse (openssl does). A timeStamping EKU that is
    not critical is refused by openssl but not here (see EKU_NOT_CRITICAL_WORDS)."""
    base = TokenConfig()
    return [replace(base, tsa_kind=kind) for kind in TSA_KINDS
            if kind not in ("good", "eku_not_critical")]


def cms_controls() -> list[TokenConfig]:
    """Good certificates through :func:`sign_tst_info`: both verifiers must accept these,
    or the refusals above prove nothing about the certificate."""
    return [replace(TokenConfig(), cms_signer=True),
            replace(TokenConfig(), cms_signer=True, key="rsa2048", include_certs=False)]
