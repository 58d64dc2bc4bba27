"""RFC 3161 against a real loopback TSA: granted, verified twice, refused when it should be."""

from __future__ import annotations

import subprocess

import pytest
import requests

from provenance.errors import TimestampError
from provenance.timestamp import (
    load_certificates,
    read_token,
    request_timestamp,
    verify_token,
)

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
    assert stamp.verification.how == "rfc3161-client (root sent by the TSA, pinned)"
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
    assert stamp.verification.how == "openssl ts -verify (given trust root)"
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
