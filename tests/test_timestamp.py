"""RFC 3161 against a real loopback TSA: granted, verified twice, refused when it should be."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from provenance.errors import TimestampError
from provenance.stamps.timestamp import (
    Trust,
    load_certificates,
    read_token,
    request_timestamp,
    verify_token,
)

REALWORLD = Path(__file__).parent / "realworld_tsa"  # see its README.md for sources

MESSAGE = b"provenance:record:v1\n{\"seq\":1}"


@pytest.fixture
def session():
    with requests.Session() as http:
        yield http


def openssl_verify(tmp_path, reply, tsa_pki, *, message=MESSAGE, token_in=False):
    """What a third party runs: no provenance code, the TSA's root as the only trust."""
    tsr = tmp_path / "token.tsr"
    tsr.write_bytes(reply)
    if token_in:  # the bare TimeStampToken, as some tools keep it
        tst = tmp_path / "token.tst"
        subprocess.run(["openssl", "ts", "-reply", "-in", str(tsr), "-token_out",
                        "-out", str(tst)], check=True, capture_output=True)
        tsr = tst
    data = tmp_path / "message.bin"
    data.write_bytes(message)
    untrusted = tmp_path / "untrusted.pem"
    untrusted.write_bytes(tsa_pki.intermediate.read_bytes() + tsa_pki.tsa_cert.read_bytes())
    command = ["openssl", "ts", "-verify", "-in", str(tsr), "-data", str(data),
               "-CAfile", str(tsa_pki.root), "-untrusted", str(untrusted)]
    if token_in:
        command.insert(3, "-token_in")
    done = subprocess.run(command, capture_output=True, text=True)
    return done.returncode == 0 and "Verification: OK" in done.stdout


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_granted_and_verified_by_both_verifiers(tsa, tsa_pki, session, tmp_path, algorithm):
    tsa.certificates = 1
    roots = load_certificates(tsa_pki.root.read_bytes())
    chain = load_certificates(tsa_pki.intermediate.read_bytes())
    stamp = request_timestamp(tsa.url, MESSAGE, algorithm=algorithm, session=session,
                              timeout=5, roots=roots, certs=chain)
    # One certificate sent: the chain to the root needs the intermediate, given later.
    result = verify_token(stamp.reply, message=MESSAGE, certs=chain, roots=roots)
    assert result.passed is True
    assert result.how.startswith("rfc3161-client")
    assert result.trusted_root
    assert result.algorithm == algorithm
    assert result.gen_time and result.gen_time.endswith("Z")
    assert "Test TSA" in (result.tsa_name or "")
    assert isinstance(result.serial, int)
    assert openssl_verify(tmp_path, stamp.reply, tsa_pki)
    assert openssl_verify(tmp_path, stamp.reply, tsa_pki, token_in=True)


def test_multi_certificate_reply_in_der_order(tsa, tsa_pki, session, tmp_path):
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5)
    assert len(stamp.certificates) == 3
    assert stamp.verification.passed is True
    assert stamp.verification.how == ("rfc3161-client (root sent by the TSA, pinned: "
                                      "proves integrity, not who the TSA is)")
    assert stamp.verification.trust is Trust.PINNED_TSA_ROOT
    assert not stamp.verification.trusted_root
    assert openssl_verify(tmp_path, stamp.reply, tsa_pki)


def test_certificate_set_not_in_der_order_is_verified_and_kept_raw(tsa, tsa_pki, session,
                                                                  tmp_path):
    """Strict DER parsers refuse this reply; the raw bytes are kept and verified anyway (the
    unsigned certificate set is set aside for verification, so the order does not matter)."""
    from rfc3161_client import decode_timestamp_response

    tsa.unsorted_certs = True
    roots = load_certificates(tsa_pki.root.read_bytes())
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5, roots=roots)
    with pytest.raises(ValueError, match="InvalidSetOrdering"):
        decode_timestamp_response(stamp.reply)
    assert stamp.verification.passed is True
    assert stamp.verification.how == "rfc3161-client (trusted: chain ends in a given root)"
    assert stamp.verification.trust is Trust.TRUSTED_ROOT
    assert openssl_verify(tmp_path, stamp.reply, tsa_pki)
    assert stamp.reply.endswith(read_token(stamp.reply).token)  # cut out, never re-sorted
    bad = bytearray(stamp.reply)
    bad[-40] ^= 0x01  # inside the signature
    assert verify_token(bytes(bad), message=MESSAGE, roots=roots).passed is False


def signed_ranges(reply, roots):
    """Byte ranges of a reply that its validity rests on: the TSTInfo the TSA signed, the
    signed attributes, the signature and every certificate of the chain but the trusted
    root. (CMS leaves other bytes unsigned, e.g. the status and the copy of the root; the
    store's file hash catches changes there.)"""
    from asn1crypto import tsp

    response = tsp.TimeStampResp.load(reply)
    signed = response["time_stamp_token"]["content"]
    signer = signed["signer_infos"][0]
    parts = [signed["encap_content_info"]["content"].parsed.dump(),
             signer["signed_attrs"].dump()[2:], signer["signature"].native]
    parts += [c.chosen.dump() for c in signed["certificates"] if c.chosen.dump() not in roots]
    ranges = []
    for part in parts:
        at = reply.find(part)
        assert at > 0
        ranges.append(range(at, at + len(part)))
    return ranges


def test_any_changed_signed_byte_fails(tsa, tsa_pki, session):
    """A changed byte in what the TSA signed is invalid. A changed certificate of the chain
    is one the verifier cannot use (an extra certificate, ignored) while the real one is
    missing: never valid, and invalid or could-not-verify."""
    roots = load_certificates(tsa_pki.root.read_bytes())
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5, roots=roots)
    reply = stamp.reply
    assert verify_token(reply, message=MESSAGE, roots=roots).passed is True
    spans = signed_ranges(reply, roots)
    for n, span in enumerate(spans):
        for at in range(span.start, span.stop, max(1, len(span) // 8)):
            bad = bytearray(reply)
            bad[at] ^= 0x01
            result = verify_token(bytes(bad), message=MESSAGE, roots=roots)
            if n < 3:  # TSTInfo, signed attributes, signature
                assert result.passed is False and result.trust is Trust.FAILED, at
            else:
                assert result.passed is not True and not result.trusted_root, at


def test_wrong_message_fails(tsa, session):
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5)
    result = verify_token(stamp.reply, message=MESSAGE + b" ")
    assert result.passed is False
    assert "another hash" in (result.reason or "")


def test_tsa_down_is_one_line_error(tsa, session):
    tsa.down = True
    with pytest.raises(TimestampError, match="HTTP 503") as info:
        request_timestamp(tsa.url, MESSAGE, session=session, timeout=5)
    assert "\n" not in str(info.value)


def test_tsa_unreachable_and_timeout(tsa, session):
    with pytest.raises(TimestampError, match="unreachable"):
        request_timestamp("http://127.0.0.1:9/tsa", MESSAGE, session=session, timeout=2)
    tsa.delay = 2.0
    with pytest.raises(TimestampError, match="unreachable"):
        request_timestamp(tsa.url, MESSAGE, session=session, timeout=0.3)


@pytest.mark.parametrize("knob,words", [("garbage", "not a time-stamp reply"),
                                        ("wrong_nonce", "nonce"),
                                        ("wrong_imprint", "another hash")])
def test_bad_replies_are_refused(tsa, session, knob, words):
    setattr(tsa, knob, True)
    with pytest.raises(TimestampError, match=words):
        request_timestamp(tsa.url, MESSAGE, session=session, timeout=5)


def test_bare_token_verifies_too(tsa, tsa_pki, session):
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5)
    token = read_token(stamp.reply).token
    assert verify_token(token, message=MESSAGE).passed is True
    assert read_token(token).is_response is False


def test_not_a_token():
    result = verify_token(b"\x30\x03\x02\x01\x00", message=MESSAGE)
    assert result.passed is False


def test_a_refusal_from_openssl_is_read_as_a_refusal(tsa_pki, tmp_path):
    """A TSA that refuses (here: SHA-1, which this one does not accept) answers a status and
    no token; that is 'refused', not 'not a time-stamp'."""
    (tmp_path / "data").write_bytes(MESSAGE)
    query, reply = tmp_path / "q.tsq", tmp_path / "r.tsr"
    subprocess.run(["openssl", "ts", "-query", "-sha1", "-data", str(tmp_path / "data"),
                    "-out", str(query)], capture_output=True, check=True)
    subprocess.run(["openssl", "ts", "-reply", "-config", str(tsa_pki.config), "-section",
                    "tsa_config", "-queryfile", str(query), "-out", str(reply)],
                   capture_output=True, check=True, cwd=tsa_pki.dir)
    info = read_token(reply.read_bytes())
    assert info.status == 2 and info.token == b""
    result = verify_token(reply.read_bytes(), message=MESSAGE)
    assert result.passed is False and "refused (status 2)" in result.reason


# --- trust: only a chain that ends in a root the user gave is trusted ---------------------

@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    """A second, independent TSA PKI (its own root, intermediate and TSA certificate)."""
    from tsaserver import make_pki

    return make_pki(tmp_path_factory.mktemp("other-tsa-pki"))


def assert_not_trusted(result):
    assert result.passed is False
    assert result.trust is Trust.NOT_TRUSTED
    assert not result.trusted_root
    assert "not trusted" in result.reason and "not trusted" in result.how
    assert "(trusted" not in result.how and "given trust root" not in result.how


@pytest.mark.parametrize("unsorted", [False, True], ids=["rfc3161-client", "openssl"])
def test_token_of_another_tsa_is_not_trusted_under_given_roots(tsa_pki, other_pki, session,
                                                               unsorted):
    """Roots of TSA A given, token from TSA B (which sends its own self-signed root): the
    signature is valid, but nobody the user trusts vouches for B."""
    from tsaserver import TsaServer

    roots_a = load_certificates(tsa_pki.root.read_bytes())
    roots_b = load_certificates(other_pki.root.read_bytes())
    with TsaServer(other_pki) as tsa_b:
        tsa_b.unsorted_certs = unsorted  # True: rfc3161-client refuses it, openssl decides
        reply = request_timestamp(tsa_b.url, MESSAGE, session=session, timeout=5).reply
    assert len(read_token(reply).certificates) == 3  # B's root travels in the token
    assert_not_trusted(verify_token(reply, message=MESSAGE, roots=roots_a))
    # B's root handed over as a kept certificate, or A's root slipped into the bag, change
    # nothing: neither may act as an intermediate.
    assert_not_trusted(verify_token(reply, message=MESSAGE, roots=roots_a,
                                    certs=[*roots_b, *roots_a]))
    trusted = verify_token(reply, message=MESSAGE, roots=roots_b)
    assert trusted.passed is True and trusted.trusted_root
    assert trusted.trust is Trust.TRUSTED_ROOT
    alone = verify_token(reply, message=MESSAGE)
    assert alone.passed is True and alone.trust is Trust.PINNED_TSA_ROOT
    assert not alone.trusted_root
    # Not trusted is never "intact but untrusted" for a token that is broken, too.
    bad = bytearray(reply)
    bad[-40] ^= 0x01
    broken = verify_token(bytes(bad), message=MESSAGE, roots=roots_a)
    assert broken.passed is False and broken.trust is Trust.FAILED


def test_request_with_roots_of_another_tsa_is_refused(tsa_pki, other_pki, session):
    from tsaserver import TsaServer

    with TsaServer(other_pki) as tsa_b, pytest.raises(TimestampError, match="not trusted"):
        request_timestamp(tsa_b.url, MESSAGE, session=session, timeout=5,
                          roots=load_certificates(tsa_pki.root.read_bytes()))


def test_tsa_certificate_only_is_signature_only(tsa, session):
    tsa.certificates = 1
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5)
    assert stamp.verification.passed is True
    assert stamp.verification.trust is Trust.SIGNATURE_ONLY
    assert "not who the TSA is" in stamp.verification.how


DIGICERT_MESSAGE = b"4b7b4e39f12b8c725e6e603e6d4422500316df94211070682ef10260ff5759ef"


def test_real_digicert_token_trusted_only_under_its_own_root(tsa_pki):
    reply = (REALWORLD / "digicert.tsr").read_bytes()
    g4 = load_certificates((REALWORLD / "digicert-trusted-root-g4.pem").read_bytes())
    trusted = verify_token(reply, message=DIGICERT_MESSAGE, roots=g4)
    assert trusted.passed is True and trusted.trust is Trust.TRUSTED_ROOT, trusted.reason
    assert trusted.gen_time == "2025-03-24T11:17:47Z"
    unrelated = load_certificates(tsa_pki.root.read_bytes())
    # The chain stops at DigiCert's cross-signed G4, whose issuer nobody gave: missing.
    assert_unverified(verify_token(reply, message=DIGICERT_MESSAGE, roots=unrelated),
                      "DigiCert Assured ID Root CA")
    alone = verify_token(reply, message=DIGICERT_MESSAGE)  # DigiCert sends no self-signed root
    assert alone.passed is True and alone.trust is Trust.SIGNATURE_ONLY
    assert verify_token(reply, message=DIGICERT_MESSAGE + b"x", roots=g4).passed is False


def test_real_token_with_injected_certificates():
    """A reply whose certificate set carries a spoofed TSA and a self-signed look-alike of
    the real TSA: trusted under the real root, not trusted under another, and the
    look-alike never becomes an anchor."""
    from asn1crypto import tsp, x509

    reply = (REALWORLD / "injected-certs.tsr").read_bytes()
    request = tsp.TimeStampReq.load((REALWORLD / "injected-certs-request.der").read_bytes())
    digest = request["message_imprint"]["hashed_message"].native
    chain = load_certificates((REALWORLD / "injected-certs-chain.pem").read_bytes())
    root = [c for c in chain if x509.Certificate.load(c).self_issued]
    trusted = verify_token(reply, digest=digest, roots=root, certs=chain)
    assert trusted.passed is True and trusted.trust is Trust.TRUSTED_ROOT
    g4 = load_certificates((REALWORLD / "digicert-trusted-root-g4.pem").read_bytes())
    assert_not_trusted(verify_token(reply, digest=digest, roots=g4, certs=chain))
    alone = verify_token(reply, digest=digest)
    assert alone.passed is True and not alone.trusted_root


# --- real tokens of real TSAs: valid, invalid, could not verify ----------------------------

HELLO = b"hello"


def real(name):
    return (REALWORLD / name).read_bytes()


def pem(name):
    return load_certificates(real(name))


def assert_unverified(result, missing):
    """Could not verify: nothing wrong was found, something is missing, and it says what."""
    assert result.passed is None, result
    assert result.trust is Trust.UNVERIFIED and not result.trusted_root
    assert result.reason.startswith("could not verify") and missing in result.reason


def flip(data, at):
    bad = bytearray(data)
    bad[at] ^= 0x01
    return bytes(bad)


def tst_info_at(token):
    """Where the TSTInfo the TSA signed starts, inside ``token`` (reply or bare token)."""
    from asn1crypto import cms

    tst = cms.ContentInfo.load(read_token(token).token)["content"]["encap_content_info"]
    return token.find(tst["content"].parsed.dump())


# (token, message, roots, extra chain, root that makes it trusted)
REAL_TOKENS = {
    "sigstage-sha384": ("sigstage-sha384.tsr", HELLO, "sigstage-chain.pem", None),
    "identrust": ("identrust.tsr", DIGICERT_MESSAGE, "identrust-commercial-root-ca-1.pem",
                  None),
    "digicert-sha1": ("digicert-sha1.tst", "digicert-sha1.data",
                      "digicert-trusted-root-g4.pem", None),
    "microsoft": ("microsoft-dxcore.tst", "microsoft-dxcore.data", "microsoft-root-2010.pem",
                  None),
    "sslcom": ("sslcom-appx.tst", "sslcom-appx.data", "sslcom-root-rsa.pem", None),
    "no-embedded-cert": ("sigstage-no-embedded-cert.tsr", HELLO, "sigstage-chain.pem",
                         "sigstage-chain.pem"),
    # Microsoft's Time-Stamp Service with its timeStamping EKU not critical; certificates
    # long expired (valid at the stamp's time); 2017: ESSCertID v1, the TSA's certificate
    # second in the set, an intermediate with no EKU.
    "microsoft-2017": ("microsoft-2017-essv1.tst", "microsoft-2017-essv1.data",
                       "microsoft-root-2010.pem", None),
    "microsoft-2019": ("microsoft-2019-thales.tst", "microsoft-2019-thales.data",
                       "microsoft-root-2010.pem", None),
    "microsoft-2022": ("microsoft-2022-thales.tst", "microsoft-2022-thales.data",
                       "microsoft-root-2010.pem", None),
}
MICROSOFT_EKU_NOT_CRITICAL = ["microsoft-2017", "microsoft-2019", "microsoft-2022"]
# GeoTrust's TSA for Adobe, 2009, from a signed PDF: SHA-1 everywhere (imprint, signature,
# every certificate of its chain), certificates expired in 2015, Adobe's root in the set.
REAL_TOKENS["geotrust-2009"] = ("geotrust-adobe-2009.tst", "geotrust-adobe-2009.data",
                                "adobe-root-ca.pem", None)
SHA1_IMPRINTS = {"digicert-sha1", "geotrust-2009"}


def real_case(key):
    token, message, root_file, chain_file = REAL_TOKENS[key]
    message = message if isinstance(message, bytes) else real(message)
    roots = [c for c in pem(root_file) if _self_signed(c)]
    chain = pem(chain_file) if chain_file else []
    return real(token), message, roots, chain


def _self_signed(der):
    from asn1crypto import x509

    return x509.Certificate.load(der).self_issued


@pytest.mark.parametrize("key", sorted(REAL_TOKENS))
def test_real_token_is_valid_under_its_root(key):
    token, message, roots, chain = real_case(key)
    result = verify_token(token, message=message, roots=roots, certs=chain)
    assert result.passed is True, result.reason
    assert result.trust is Trust.TRUSTED_ROOT and result.trusted_root
    assert result.weak is (key in SHA1_IMPRINTS)


@pytest.mark.parametrize("key", sorted(REAL_TOKENS))
def test_real_token_with_a_changed_message_or_signed_byte_is_invalid(key):
    token, message, roots, chain = real_case(key)
    changed = verify_token(token, message=message + b"x", roots=roots, certs=chain)
    assert changed.passed is False and changed.trust is Trust.FAILED
    assert "another hash" in changed.reason
    at = tst_info_at(token)
    for offset in (20, 40, 60):  # inside the TSTInfo: serial, time, imprint...
        bad = verify_token(flip(token, at + offset), message=message, roots=roots,
                           certs=chain)
        assert bad.passed is False and bad.trust is Trust.FAILED, (offset, bad)
    signature = flip(token, len(token) - 20)  # the signature is the token's last field
    bad = verify_token(signature, message=message, roots=roots, certs=chain)
    assert bad.passed is False and bad.trust is Trust.FAILED, bad


@pytest.mark.parametrize("key", ["identrust", "digicert-sha1", "microsoft", "sslcom",
                                 *MICROSOFT_EKU_NOT_CRITICAL])
def test_real_token_without_its_root_could_not_be_verified(key, tsa_pki):
    """Roots given, but not the one the chain needs: could not verify, never invalid."""
    token, message, _, chain = real_case(key)
    unrelated = load_certificates(tsa_pki.root.read_bytes())
    result = verify_token(token, message=message, roots=unrelated, certs=chain)
    assert_unverified(result, "was not given")
    alone = verify_token(token, message=message)  # no roots: integrity only
    assert alone.passed is True and not alone.trusted_root


def test_microsoft_token_with_an_attribute_certificate():
    """Microsoft's Time-Stamp Service puts an attribute certificate in the set: skipped when
    reading, never written out as an X.509 certificate; the token verifies, and its root
    (not in Mozilla's store) is what makes it trusted."""
    from cryptography import x509

    token, message, roots, _ = real_case("microsoft")
    info = read_token(token)
    assert info.other_certificates == 1 and len(info.certificates) == 2
    for der in info.certificates:
        x509.load_der_x509_certificate(der)  # each one a real certificate
    system = load_certificates(Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
                               ) if Path("/etc/ssl/certs/ca-certificates.crt").exists() else []
    if system:
        assert_unverified(verify_token(token, message=message, roots=system),
                          "Microsoft Root Certificate Authority 2010")
    assert verify_token(token, message=message, roots=roots).trusted_root


def test_sha1_imprint_verifies_but_is_marked_weak():
    token, message, roots, _ = real_case("digicert-sha1")
    result = verify_token(token, message=message, roots=roots)
    assert result.passed is True and result.algorithm == "sha1" and result.weak
    assert "weak: SHA-1" in result.how and result.to_json()["weak"] is True
    token, message, roots, _ = real_case("sslcom")
    strong = verify_token(token, message=message, roots=roots)
    assert not strong.weak and "weak" not in strong.how


def test_token_without_certificates_needs_its_chain():
    """No certificate in the token: could not verify until the chain is supplied, then
    valid, and invalid when its signature is broken."""
    token, message, roots, chain = real_case("no-embedded-cert")
    assert read_token(token).certificates == []
    assert_unverified(verify_token(token, message=message), "is not in the token")
    assert_unverified(verify_token(token, message=message, roots=roots),
                      "is not in the token")
    supplied = verify_token(token, message=message, certs=chain)
    assert supplied.passed is True and supplied.trust is Trust.PINNED_TSA_ROOT
    assert verify_token(token, message=message, roots=roots, certs=chain).trusted_root


def test_token_with_a_broken_signature_is_invalid():
    token = real("sigstage-invalid-signature.tsr")
    roots = [c for c in pem("sigstage-chain.pem") if _self_signed(c)]
    for given in ([], roots):
        result = verify_token(token, message=HELLO, roots=given)
        assert result.passed is False and result.trust is Trust.FAILED
        assert "signature does not hold" in result.reason


def test_root_outside_every_store_could_not_be_verified(tsa_pki):
    """Banco Central de Costa Rica: its root is in no public store."""
    token = real("costa-rica.tsr")
    g4 = pem("digicert-trusted-root-g4.pem")
    assert_unverified(verify_token(token, message=DIGICERT_MESSAGE, roots=g4),
                      "CA POLITICA SELLADO DE TIEMPO")
    assert verify_token(token, message=DIGICERT_MESSAGE).passed is True


def test_extra_self_signed_certificates_are_ignored():
    """Certificates added to the (unsigned) set never turn a valid token invalid, nor
    become an anchor: the injected-certs reply verifies under its real chain with or
    without its chain given, and extra look-alikes appended by us change nothing."""
    from asn1crypto import tsp

    reply = real("injected-certs.tsr")
    digest = tsp.TimeStampReq.load(real("injected-certs-request.der"))[
        "message_imprint"]["hashed_message"].native
    chain = pem("injected-certs-chain.pem")
    root = [c for c in chain if _self_signed(c)]
    injected = read_token(reply).certificates
    assert set(injected) - set(chain)  # the spoofed ones travel in the token
    trusted = verify_token(reply, digest=digest, roots=root, certs=[*chain, *injected])
    assert trusted.passed is True and trusted.trust is Trust.TRUSTED_ROOT
    spoofed = [c for c in injected if _self_signed(c) and c not in root]
    assert spoofed
    assert verify_token(reply, digest=digest, roots=spoofed, certs=chain).passed is not True


def test_unknown_imprint_algorithm_is_unverified_only_if_the_signature_holds(tsa, session):
    """An imprint algorithm we cannot compute: the signature still tells altered (invalid)
    from intact (could not verify)."""
    from provenance.stamps import timestamp

    reply = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5).reply
    saved = timestamp.IMPRINT_ALGORITHMS.pop("sha256")
    try:
        result = verify_token(reply, message=MESSAGE)
        assert_unverified(result, "imprint algorithm sha256")
        broken = verify_token(flip(reply, len(reply) - 20), message=MESSAGE)
        assert broken.passed is False
    finally:
        timestamp.IMPRINT_ALGORITHMS["sha256"] = saved


# --- more real tokens, and forgeries of them ------------------------------------------------

def _der(tag, body):
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _children(der):
    from asn1crypto import parser

    _, _, _, _, contents, _ = parser.parse(der)
    parts = []
    while contents:
        _, _, _, header, body, trailer = parser.parse(contents)
        size = len(header) + len(body) + len(trailer)
        parts.append(contents[:size])
        contents = contents[size:]
    return parts


def with_certificates(token, certificates):
    """The bare ``token`` with its (unsigned) certificate set replaced by ``certificates``,
    in that order, every signed byte as it was."""
    oid, wrapped = _children(token)[:2]
    inner = _children(_children(wrapped)[0])
    kept = [part for part in inner if part[0] != 0xA0]
    inner = [*kept[:3], _der(0xA0, b"".join(certificates)), *kept[3:]]
    return _der(0x30, oid + _der(0xA0, _der(0x30, b"".join(inner))))


def look_alike(der):
    """A certificate with the issuer, serial, subject and extensions of ``der`` but another
    key: what anyone can put in a token's unsigned certificate set."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    real = x509.load_der_x509_certificate(der)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(real.subject).issuer_name(real.issuer)
               .serial_number(real.serial_number).public_key(key.public_key())
               .not_valid_before(real.not_valid_before_utc)
               .not_valid_after(real.not_valid_after_utc))
    for extension in real.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def tsa_certificate(info):
    """The certificate the token's SignerInfo names by issuer and serial."""
    from asn1crypto import cms, x509

    sid = cms.ContentInfo.load(info.token)["content"]["signer_infos"][0]["sid"].chosen
    (found,) = [c for c in info.certificates
                if x509.Certificate.load(c).issuer == sid["issuer"]
                and x509.Certificate.load(c).serial_number == sid["serial_number"].native]
    return found


@pytest.mark.parametrize("key", ["digicert-sha1", "microsoft", "sslcom"])
def test_look_alike_of_the_tsa_certificate_beside_the_real_one_changes_nothing(key):
    """A forged copy of the TSA's certificate (same issuer and serial, another key) put in
    the unsigned set before or after the real one: the token stays valid and trusted. Put
    instead of the real one, the token is never valid."""
    token, message, roots, _ = real_case(key)
    info = read_token(token)
    signer = tsa_certificate(info)
    others = [c for c in info.certificates if c != signer]
    fake = look_alike(signer)
    for order in ([fake, *info.certificates], [*info.certificates, fake]):
        forged = with_certificates(info.token, order)
        result = verify_token(forged, message=message, roots=roots)
        assert result.passed is True and result.trusted_root, result.reason
    given = verify_token(with_certificates(info.token, others), message=message, roots=roots,
                         certs=[fake, signer])
    assert given.passed is True and given.trusted_root, given.reason
    swapped = verify_token(with_certificates(info.token, [fake, *others]), message=message,
                           roots=roots)
    assert swapped.passed is False and swapped.trust is Trust.FAILED


@pytest.mark.parametrize("key", MICROSOFT_EKU_NOT_CRITICAL)
def test_microsoft_tokens_whose_eku_is_not_critical_are_valid_with_a_note(key):
    """Windows accepts these Microsoft tokens; openssl refuses the certificate's purpose
    (its EKU is timeStamping alone, but not critical). Valid and trusted under Microsoft's
    root, saying so; another root gives could not verify, a changed byte invalid."""
    from provenance.stamps.timestamp import EKU_NOT_CRITICAL_WORDS

    token, message, roots, _ = real_case(key)
    result = verify_token(token, message=message, roots=roots)
    assert result.passed is True and result.trusted_root, result.reason
    assert EKU_NOT_CRITICAL_WORDS in result.how and result.how.startswith("openssl verify")
    assert EKU_NOT_CRITICAL_WORDS in result.to_json()["how"]
    g4 = pem("digicert-trusted-root-g4.pem")
    assert_unverified(verify_token(token, message=message, roots=g4),
                      "Microsoft Root Certificate Authority 2010")
    token, message, roots, _ = real_case("microsoft")  # 2025: critical, no note
    assert EKU_NOT_CRITICAL_WORDS not in verify_token(token, message=message, roots=roots).how


# GlobalSign's TSA for Adobe's AATL, a bare token with a nonce and accuracy, and GlobalSign's
# TSA for Adobe CDS (the Adobe Root CA it chains to is in no public store): real replies
# kept by digitorus/timestamp, over data whose SHA-256 only is known.
AATL_DIGEST = bytes.fromhex("2da82c1572ff020524e05069219975c9ba90723f1a4dd5b9722aee8ec547a2ff")
AATL_NONCE = 4551896570895527255
ADOBE_DIGEST = bytes.fromhex("f487d88164bde223b7fd3c71b3e9c624c8a0cb559c853b49558e7e5ef4ce55f0")


def test_globalsign_aatl_token_with_a_nonce():
    token = real("globalsign-aatl.tst")
    r3 = pem("globalsign-root-r3.pem")
    trusted = verify_token(token, digest=AATL_DIGEST, roots=r3, nonce=AATL_NONCE)
    assert trusted.passed is True and trusted.trusted_root, trusted.reason
    assert trusted.gen_time == "2017-02-01T15:39:50Z" and trusted.nonce == AATL_NONCE
    assert "GlobalSign TSA for AATL" in trusted.tsa_name.replace("Globalsign", "GlobalSign")
    wrong = verify_token(token, digest=AATL_DIGEST, roots=r3, nonce=AATL_NONCE + 1)
    assert wrong.passed is False and "nonce" in wrong.reason
    assert verify_token(token, digest=ADOBE_DIGEST, roots=r3).passed is False
    assert_unverified(verify_token(token, digest=AATL_DIGEST,
                                   roots=pem("digicert-trusted-root-g4.pem")),
                      "CN=GlobalSign,O=GlobalSign,OU=GlobalSign Root CA - R3")
    alone = verify_token(token, digest=AATL_DIGEST)
    assert alone.passed is True and alone.trust is Trust.SIGNATURE_ONLY


def test_globalsign_adobe_tokens_with_and_without_certificates():
    """The TSA's certificate expired in 2022: valid at the stamp's time (2017). Its root
    (Adobe Root CA) is given by nobody: could not verify under other roots. The reply
    without certificates needs the TSA's, taken from the other reply."""
    with_certs = real("globalsign-adobe-nonce.tsr")
    bare = real("globalsign-adobe-nocert.tsr")
    r3 = pem("globalsign-root-r3.pem")
    assert_unverified(verify_token(with_certs, digest=ADOBE_DIGEST, roots=r3), "Adobe Root CA")
    alone = verify_token(with_certs, digest=ADOBE_DIGEST)
    assert alone.passed is True and alone.trust is Trust.SIGNATURE_ONLY
    assert read_token(bare).certificates == []
    assert_unverified(verify_token(bare, digest=ADOBE_DIGEST), "is not in the token")
    chain = read_token(with_certs).certificates
    supplied = verify_token(bare, digest=ADOBE_DIGEST, certs=chain)
    assert supplied.passed is True and supplied.trust is Trust.SIGNATURE_ONLY
    assert_unverified(verify_token(bare, digest=ADOBE_DIGEST, certs=chain, roots=r3),
                      "Adobe Root CA")
    broken = verify_token(flip(bare, len(bare) - 20), digest=ADOBE_DIGEST, certs=chain)
    assert broken.passed is False and broken.trust is Trust.FAILED


def test_chain_signed_with_sha1_is_built():
    """Every certificate of GeoTrust's 2009 chain is signed with SHA-1, which cryptography
    will not check: the links were taken as missing ("the certificate of its issuer ... was
    not given") though the token carries them. Trusted under Adobe's root (openssl ts
    -verify -attime agrees), pinned without roots (the TSA sent that root), not trusted
    under another root, weak (SHA-1 imprint)."""
    token, message, roots, _ = real_case("geotrust-2009")
    trusted = verify_token(token, message=message, roots=roots)
    assert trusted.passed is True and trusted.trusted_root and trusted.weak, trusted.reason
    assert trusted.gen_time == "2009-07-16T14:47:57Z"
    pinned = verify_token(token, message=message)
    assert pinned.passed is True and pinned.trust is Trust.PINNED_TSA_ROOT
    other = verify_token(token, message=message, roots=pem("globalsign-root-r3.pem"))
    assert other.passed is False and other.trust is Trust.NOT_TRUSTED
    assert "Adobe Root CA" in other.reason


def test_globalsign_adobe_tokens_trusted_under_adobes_root():
    """The TSA's certificate and its intermediate expired in 2022 and the root in 2023:
    trusted as of the stamp's time (2017), with or without the certificates in the reply."""
    adobe = pem("adobe-root-ca.pem")
    with_certs = real("globalsign-adobe-nonce.tsr")
    chain = read_token(with_certs).certificates
    for reply, certs in ((with_certs, []), (real("globalsign-adobe-nocert.tsr"), chain)):
        result = verify_token(reply, digest=ADOBE_DIGEST, roots=adobe, certs=certs)
        assert result.passed is True and result.trusted_root, result.reason


# Replies of 2018 kept by github/ietf-cms, over b"hello\n".
HELLO_NL = b"hello\n"
NO_CERTIFICATE_2018 = {"symantec-2018-nocert.tsr": "Symantec SHA256 TimeStamping CA",
                       "comodo-2018-nocert.tsr": "UTN-USERFirst-Object",
                       "globalsign-2018-nocert.tsr": "GlobalSign Timestamping CA - G2"}


def test_digicert_and_symantec_replies_of_2018():
    digicert, symantec = real("digicert-2018.tsr"), real("symantec-2018.tsr")
    assured = pem("digicert-assured-id-root-ca.pem")
    trusted = verify_token(digicert, message=HELLO_NL, roots=assured)
    assert trusted.passed is True and trusted.trusted_root, trusted.reason
    assert trusted.gen_time == "2018-05-09T18:48:18Z"
    # VeriSign Universal Root is no longer in Mozilla's store: nobody gives it.
    assert_unverified(verify_token(symantec, message=HELLO_NL, roots=assured),
                      "VeriSign Universal Root Certification Authority")
    alone = verify_token(symantec, message=HELLO_NL)
    assert alone.passed is True and alone.trust is Trust.SIGNATURE_ONLY
    for reply in (digicert, symantec):
        assert verify_token(reply, message=HELLO, roots=assured).passed is False


@pytest.mark.parametrize("name", sorted(NO_CERTIFICATE_2018))
def test_replies_without_a_certificate_prove_nothing_either_way(name):
    """No certificate: could not verify, naming the TSA's issuer, even with its signature
    broken (nothing can check it); another message is still invalid (the imprint)."""
    reply = real(name)
    for token in (reply, flip(reply, len(reply) - 20)):
        result = verify_token(token, message=HELLO_NL,
                              roots=pem("digicert-assured-id-root-ca.pem"))
        assert_unverified(result, NO_CERTIFICATE_2018[name])
    assert verify_token(reply, message=HELLO).passed is False


def _without_signed_attribute(token, oid):
    from asn1crypto import cms

    info = cms.ContentInfo.load(token)
    signer = info["content"]["signer_infos"][0]
    kept = [a for a in signer["signed_attrs"] if a["type"].dotted != oid]
    signer["signed_attrs"] = cms.CMSAttributes(kept)
    return info.dump(force=True)


def test_forgeries_of_real_replies_are_never_valid():
    """On real DigiCert and Microsoft tokens: the certificate set reversed stays valid; a
    signing-certificate attribute removed, another TSA's certificate put in place of the
    TSA's own, or bytes appended after the DER are never valid."""
    assured = pem("digicert-assured-id-root-ca.pem")
    cases = [(read_token(real("digicert-2018.tsr")).token, HELLO_NL, assured,
              "1.2.840.113549.1.9.16.2.12")]
    token, message, roots, _ = real_case("microsoft-2019")
    cases.append((token, message, roots, "1.2.840.113549.1.9.16.2.47"))
    stranger = tsa_certificate(read_token(real("symantec-2018.tsr")))
    for token, message, roots, ess in cases:
        info = read_token(token)
        own = tsa_certificate(info)
        reversed_set = with_certificates(info.token, info.certificates[::-1])
        assert verify_token(reversed_set, message=message, roots=roots).trusted_root
        forged = [_without_signed_attribute(info.token, ess),
                  with_certificates(info.token, [stranger if c == own else c
                                                 for c in info.certificates]),
                  info.token + b"\x00" * 4]
        for token in forged:
            for given in (roots, []):
                result = verify_token(token, message=message, roots=given)
                assert result.passed is not True and not result.trusted_root, result


# Qualified TSAs of the EU, kept by esig/dss (LGPL-2.1): only the imprints are known.
DTRUST_DIGEST = bytes.fromhex(
    "d9b5f58f0b38198293971865a14074f59eba3e82595becbe86ae51f1d9f1f65e")
DISIG_DIGEST = bytes.fromhex("4940ab4da320b29e987abcc83e09b51b437c9bac402b0bc522be51e7aec3899f")
EUROCERT_DIGEST = bytes.fromhex(
    "18be035e522c89bb459dd407ec6ed80d519d1613e70d0b824fbf156044323611")


def with_signed_data_version(token, version):
    """``token`` (bare) with its SignedData version, which nothing signs, set to
    ``version``: every other byte as it was."""
    oid, wrapped = _children(token)[:2]
    inner = _children(_children(wrapped)[0])
    assert inner[0][:2] == b"\x02\x01"
    inner[0] = bytes([2, 1, version])
    return _der(0x30, oid + _der(0xA0, _der(0x30, b"".join(inner))))


def test_signed_data_version_is_not_signed_and_changes_nothing():
    """CMS wants SignedData version 3 around a TSTInfo; asn1crypto reads version 1 as
    PKCS#7 and left the content unparsed, so a real token with that one unsigned byte
    changed was 'not an RFC 3161 time-stamp token', i.e. invalid."""
    assured = pem("digicert-assured-id-root-ca.pem")
    token = read_token(real("digicert-2018.tsr")).token
    changed = with_signed_data_version(token, 1)
    assert changed != token
    result = verify_token(changed, message=HELLO_NL, roots=assured)
    assert result.passed is True and result.trusted_root, result.reason
    assert verify_token(changed, message=HELLO, roots=assured).passed is False
    token, message, roots, _ = real_case("sslcom")
    result = verify_token(with_signed_data_version(read_token(token).token, 1),
                          message=message, roots=roots)
    assert result.passed is True and result.trusted_root, result.reason


def with_digest_algorithms(token, algorithms):
    """``token`` (bare) with the SignedData's digestAlgorithms set, which nothing signs,
    replaced by ``algorithms`` (DER AlgorithmIdentifiers)."""
    oid, wrapped = _children(token)[:2]
    inner = _children(_children(wrapped)[0])
    inner[1] = _der(0x31, b"".join(algorithms))
    return _der(0x30, oid + _der(0xA0, _der(0x30, b"".join(inner))))


def test_signed_data_digest_algorithms_are_not_signed_and_change_nothing():
    """openssl hashes the content only with the algorithms the (unsigned) digestAlgorithms
    set lists: emptied, or listing MD5 alone, a genuine token was 'invalid: the TSA's
    signature does not hold'."""
    from asn1crypto import algos

    md5 = algos.DigestAlgorithm({"algorithm": "md5"}).dump()
    assured = pem("digicert-assured-id-root-ca.pem")
    token = read_token(real("digicert-2018.tsr")).token
    for algorithms in ([], [md5]):
        changed = with_digest_algorithms(token, algorithms)
        result = verify_token(changed, message=HELLO_NL, roots=assured)
        assert result.passed is True and result.trusted_root, result.reason
        assert verify_token(changed, message=HELLO, roots=assured).passed is False
    token, message, roots, _ = real_case("microsoft-2019")
    result = verify_token(with_digest_algorithms(read_token(token).token, []),
                          message=message, roots=roots)
    assert result.passed is True and result.trusted_root, result.reason


def test_eurocert_qualified_token_is_read_and_its_certificate_reference_checked():
    """EuroCert's qualified TSA (2022): SignedData version 1, a qcStatements extension in
    the TSTInfo, a policy OID spelled in ASCII. It is read (it was 'not an RFC 3161
    time-stamp token'); its signature holds with the certificate it carries (issued by
    Poland's NCC root), but both signing-certificate attributes name another certificate,
    and openssl ts -verify refuses it too ('ess cert id not found'): invalid."""
    token = real("eurocert-2022.tst")
    info = read_token(token)
    assert info.gen_time == "2022-05-31T09:21:25Z" and "EuroCert QTSA" in info.tsa_name
    assert len(info.certificates) == 1
    for roots in ([], pem("eurocert-ncc-root.pem")):
        result = verify_token(token, digest=EUROCERT_DIGEST, roots=roots)
        assert result.passed is False and result.trust is Trust.FAILED
        assert "names another certificate" in result.reason


def test_d_trust_qualified_token_signed_with_rsa_pss():
    """D-TRUST TSU 12 2017: RSA-PSS signature, a chain whose CA keys are RSA-PSS, its root
    sent along. Trusted under that root (openssl cms -verify -purpose timestampsign
    -attime agrees; openssl ts -verify cannot check PSS), pinned without roots, not
    trusted under another root."""
    token = real("d-trust-pss-2018.tst")
    root = pem("d-trust-root-ca-1-2017.pem")
    trusted = verify_token(token, digest=DTRUST_DIGEST, roots=root)
    assert trusted.passed is True and trusted.trusted_root, trusted.reason
    pinned = verify_token(token, digest=DTRUST_DIGEST)
    assert pinned.passed is True and pinned.trust is Trust.PINNED_TSA_ROOT
    other = verify_token(token, digest=DTRUST_DIGEST, roots=pem("globalsign-root-r3.pem"))
    assert other.passed is False and other.trust is Trust.NOT_TRUSTED
    signature = flip(token, len(token) - 20)
    assert verify_token(signature, digest=DTRUST_DIGEST, roots=root).passed is False


def test_disig_token_with_two_certificates_of_one_name():
    """Disig's TSA sent two certificates with its name (2017 and 2018): the one the
    SignerInfo and both signing-certificate attributes name is used; its issuer (CA Disig
    QCA3) travels with neither, so under roots it could not be verified."""
    token = real("disig-2019.tst")
    names = {read_token(token).tsa_name}
    assert len(read_token(token).certificates) == 2 and names
    alone = verify_token(token, digest=DISIG_DIGEST, nonce=2130460083522604736)
    assert alone.passed is True and alone.trust is Trust.SIGNATURE_ONLY
    assert_unverified(verify_token(token, digest=DISIG_DIGEST,
                                   roots=pem("globalsign-root-r3.pem")), "CA Disig QCA3")
