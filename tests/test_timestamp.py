"""RFC 3161 against a real loopback TSA: granted, verified twice, refused when it should be."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from provenance.errors import TimestampError
from provenance.timestamp import (
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


def test_certificate_set_not_in_der_order_falls_back_to_openssl(tsa, tsa_pki, session,
                                                                tmp_path):
    """Strict DER parsers refuse this reply; the raw bytes are kept and verified anyway."""
    from rfc3161_client import decode_timestamp_response

    tsa.unsorted_certs = True
    roots = load_certificates(tsa_pki.root.read_bytes())
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5, roots=roots)
    with pytest.raises(ValueError, match="InvalidSetOrdering"):
        decode_timestamp_response(stamp.reply)
    assert stamp.verification.passed is True
    assert stamp.verification.how == "openssl ts -verify (trusted: chain ends in a given root)"
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
    roots = load_certificates(tsa_pki.root.read_bytes())
    stamp = request_timestamp(tsa.url, MESSAGE, session=session, timeout=5, roots=roots)
    reply = stamp.reply
    assert verify_token(reply, message=MESSAGE, roots=roots).passed is True
    for span in signed_ranges(reply, roots):
        for at in range(span.start, span.stop, max(1, len(span) // 8)):
            bad = bytearray(reply)
            bad[at] ^= 0x01
            assert verify_token(bytes(bad), message=MESSAGE, roots=roots).passed is False, at


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
    assert_not_trusted(verify_token(reply, message=DIGICERT_MESSAGE, roots=unrelated))
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
