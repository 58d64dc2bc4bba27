"""Tokens made the ways real TSAs make them: our verdict against ``openssl ts -verify``.

Each configuration of :mod:`tokens` (key type, signing digest, ESSCertID v1/v2, chain IDs,
nonce, TSA name, accuracy, ordering, certificates in the token or given apart, one or two
intermediates) is checked four ways: as made, without roots, over another message and
with a flipped signature byte. Where openssl says OK we must say valid (trusted under the
root); where it fails we must never say valid, and a missing certificate is "could not
verify", never "invalid".
"""

from __future__ import annotations

import pytest
from tokens import (
    Token,
    TokenConfig,
    cms_controls,
    make_token,
    openssl_verdict,
    refused_variants,
    variants,
)

from provenance.stamps.timestamp import Trust, verify_token


@pytest.fixture(scope="module")
def token_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tokens")


def ours(token: Token, *, message: bytes | None = None, reply: bytes | None = None,
         roots: bool = True, chain: bool = True):
    pki = token.pki
    return verify_token(reply if reply is not None else token.reply,
                        message=token.message if message is None else message,
                        certs=[pki.tsa, *pki.intermediates] if chain else [],
                        roots=[pki.root] if roots else [])


def flip_signature(reply: bytes) -> bytes:
    from asn1crypto import tsp

    signature = tsp.TimeStampResp.load(reply)["time_stamp_token"]["content"][
        "signer_infos"][0]["signature"].native
    assert reply.count(signature) == 1
    at = reply.index(signature) + len(signature) // 2
    return reply[:at] + bytes([reply[at] ^ 1]) + reply[at + 1:]


def _ids(configs: list[TokenConfig]) -> list[str]:
    return [config.label for config in configs]


@pytest.mark.parametrize("config", variants() + cms_controls(),
                         ids=_ids(variants() + cms_controls()))
def test_config_agrees_with_openssl(token_dir, config):
    token = make_token(token_dir, config)
    ok, output = openssl_verdict(token)
    assert ok, output
    result = ours(token)
    assert result.passed is True and result.trust is Trust.TRUSTED_ROOT, result
    alone = ours(token, roots=False)
    assert alone.passed is True and not alone.trusted_root, alone
    # Without the chain from outside: openssl and we need the certificates in the token.
    ok, output = openssl_verdict(token, with_chain=False)
    bare = ours(token, chain=False)
    if config.include_certs:
        assert ok and bare.passed is True and bare.trusted_root, (output, bare)
    else:
        assert not ok and bare.passed is None and bare.trust is Trust.UNVERIFIED, bare
    # Another message, a flipped signature byte: both say no, and we say invalid.
    ok, output = openssl_verdict(token, message=b"another message\n")
    other = ours(token, message=b"another message\n")
    assert not ok and other.passed is False, (output, other)
    flipped = flip_signature(token.reply)
    ok, output = openssl_verdict(token, reply=flipped)
    broken = ours(token, reply=flipped)
    assert not ok and broken.passed is False and broken.trust is Trust.FAILED, broken


@pytest.mark.parametrize("config", refused_variants(), ids=_ids(refused_variants()))
def test_certificate_openssl_refuses_is_never_valid(token_dir, config):
    token = make_token(token_dir, config)
    ok, output = openssl_verdict(token)
    assert not ok, output
    result = ours(token)
    assert result.passed is False, result
    alone = ours(token, roots=False)
    if config.tsa_kind == "ca_expired":
        # The TSA's own certificate is sound; the intermediate it sent had expired. Without
        # roots that is never "pinned" (the chain does not hold), at most signature only.
        assert alone.trust in (Trust.SIGNATURE_ONLY, Trust.FAILED), alone
    else:
        assert alone.passed is False, alone


def test_missing_intermediate_is_could_not_verify(token_dir):
    """Two intermediates, none in the token, only the nearer one given: openssl cannot
    build the chain, and we say could not verify (naming the missing issuer), not invalid."""
    token = make_token(token_dir, TokenConfig(depth=2, include_certs=False))
    pki = token.pki
    result = verify_token(token.reply, message=token.message,
                          certs=[pki.tsa, pki.intermediates[1]], roots=[pki.root])
    assert result.passed is None and result.trust is Trust.UNVERIFIED, result
    assert "Intermediate CA 1" in (result.reason or ""), result


@pytest.mark.parametrize("kind", ["no_eku", "eku_not_critical", "eku_extra", "ku_extra"])
def test_signer_that_is_not_a_time_stamping_certificate_is_invalid(token_dir, kind):
    """RFC 3161 2.3: timeStamping alone, critical; openssl also refuses any key usage
    beyond signing. Invalid whatever the roots: no chain makes such a key a TSA's."""
    token = make_token(token_dir, TokenConfig(tsa_kind=kind))
    for roots in (True, False):
        result = ours(token, roots=roots)
        assert result.passed is False and result.trust is Trust.FAILED, result
        assert "not a time-stamping certificate" in (result.reason or ""), result
