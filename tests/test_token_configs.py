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
    openssl_cms_verdict,
    openssl_verdict,
    refused_variants,
    variants,
)

from provenance.stamps.timestamp import (
    EKU_NOT_CRITICAL_WORDS,
    Trust,
    read_token,
    verify_token,
)


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
    bare = ours(token, reply=read_token(token.reply).token)  # the TimeStampToken alone
    assert bare.passed is True and bare.trust is Trust.TRUSTED_ROOT, bare
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


@pytest.mark.parametrize("kind", ["no_eku", "eku_extra", "ku_extra"])
def test_signer_that_is_not_a_time_stamping_certificate_is_invalid(token_dir, kind):
    """RFC 3161 2.3: timeStamping alone; openssl also refuses any key usage beyond
    signing. Invalid whatever the roots: no chain makes such a key a TSA's."""
    token = make_token(token_dir, TokenConfig(tsa_kind=kind))
    for roots in (True, False):
        result = ours(token, roots=roots)
        assert result.passed is False and result.trust is Trust.FAILED, result
        assert "not a time-stamping certificate" in (result.reason or ""), result


def test_time_stamping_eku_not_critical_is_valid_with_a_note(token_dir):
    """timeStamping alone but not critical (Microsoft's TSA certificates until 2022):
    openssl refuses the purpose; we say valid, with a note, and only under its own root."""
    token = make_token(token_dir, TokenConfig(tsa_kind="eku_not_critical"))
    ok, output = openssl_verdict(token)
    assert not ok and "unsuitable certificate purpose" in output, output
    for roots in (True, False):
        result = ours(token, roots=roots)
        assert result.passed is True and result.trusted_root is roots, result
        assert EKU_NOT_CRITICAL_WORDS in result.how, result
    other = make_token(token_dir, TokenConfig(key="ec-p384"))  # another "Root CA"
    result = verify_token(token.reply, message=token.message, roots=[other.pki.root])
    assert result.passed is not True and not result.trusted_root, result
    assert verify_token(token.reply, message=token.message + b"x").passed is False
    assert verify_token(flip_signature(token.reply), message=token.message).passed is False
    good = ours(make_token(token_dir, TokenConfig()))
    assert good.passed is True and EKU_NOT_CRITICAL_WORDS not in good.how


# --- through the store and a bundle: what `provenance check --bundle` and a court run ------

SERVED = [
    TokenConfig(key="rsa4096", depth=2, ess_chain=True, accuracy=False),  # DigiCert-like
    TokenConfig(key="rsa2048", ess_alg="sha1", signer_digest="sha512", ordering=True),
    TokenConfig(key="ec-p384", signer_digest="sha384", ess_alg="sha512", tsa_name=False),
    TokenConfig(signer_digest="sha1", ess_alg="sha1", ess_chain=True, depth=2),
]


@pytest.mark.parametrize("config", SERVED, ids=_ids(SERVED))
def test_bundle_of_each_tsa_shape_is_intact_and_verify_md_agrees(token_dir, tmp_path, config,
                                                                capsys, monkeypatch):
    """A loopback TSA answering as ``config`` says: stamp, export, ``check`` and ``check
    --bundle`` (the CLI) with its root, and VERIFY.md's openssl lines in a clean
    environment: all agree."""
    import json
    import re
    import subprocess
    import zipfile

    import requests
    from tokens import make_pki, tsa_folder
    from tsaserver import TsaServer

    from provenance.bundle.export import export_bundle
    from provenance.bundle.verify import verify_bundle
    from provenance.stamps.stamping import stamp
    from provenance.store.filestore import Store
    from provenance.store.ledger import Ledger

    pki, _ = make_pki(token_dir, config.key, config.depth, config.tsa_kind)
    store = Store(tmp_path / "store")
    ledger = Ledger(store)
    records = ledger.append_many([("capture", {"url": f"http://x/{i}", "files": []},
                                   f"http://x/{i}") for i in range(3)])
    single = ledger.append("capture", {"url": "http://y/", "files": []}, subject="http://y/")
    with TsaServer(tsa_folder(token_dir, config)) as tsa, requests.Session() as session:
        results = stamp(ledger, store, records, [tsa.url], session, timeout=10,
                        roots=[pki.root])
        results += stamp(ledger, store, [single], [tsa.url], session, timeout=10,
                         roots=[pki.root])
        assert not tsa.errors, tsa.errors
    assert [r["status"] for r in results] == ["granted", "granted"], results
    out = tmp_path / "evidence.zip"
    export_bundle(ledger, store, [records[0].id, single.id], out)
    report = verify_bundle(out, [pki.root])
    assert report.problems == [] and report.intact, report
    from provenance.cli.main import main

    root_file = pki.pem("root.pem", [pki.root])
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(root_file))
    ledger.close()
    assert main(["--json", "--store", str(tmp_path / "store"), "check"]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["--json", "check", "--bundle", str(out), "--tsa-ca", str(root_file)]) == 0
    summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()][-1]
    assert summary["intact"] is True and summary["trusted"] == 2, summary
    where = tmp_path / "court"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(where)
    commands = re.findall(r"^(openssl ts -verify .*)$", (where / "VERIFY.md").read_text(),
                          re.MULTILINE)
    assert len(commands) == 2
    for command in commands:
        done = subprocess.run(["sh", "-c", command], cwd=where, capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stderr


@pytest.mark.parametrize("config", [TokenConfig(key="rsa2048", pss=True),
                                    TokenConfig(key="rsa4096", pss=True, depth=2,
                                                signer_digest="sha512")],
                         ids=["pss-2048", "pss-4096-sha512-depth2"])
def test_rsa_pss_signed_token_is_trusted_under_its_root(token_dir, config):
    """RSASSA-PSS, as some qualified European TSAs sign: CMS allows it, and ``openssl cms
    -verify -purpose timestampsign`` says it holds; rfc3161-client (PKCS#7) cannot check the
    signature, so it must not be what makes the token "not trusted"."""
    token = make_token(token_dir, config)
    ok, output = openssl_cms_verdict(token)
    assert ok, output
    result = ours(token)
    assert result.passed is True and result.trust is Trust.TRUSTED_ROOT, result
    flipped = flip_signature(token.reply)
    assert ours(token, reply=flipped).passed is False
    assert ours(token, message=b"another message\n").passed is False


def test_signer_named_by_subject_key_identifier_is_found(token_dir):
    """CMS v3 names the signer by its key identifier (some TSAs do); the SignerIdentifier is
    outside the signature, so it is rewritten here. ``openssl cms`` reads it (``openssl ts``
    does not: PKCS#7 knows only issuer and serial); we find the certificate and trust it."""
    from asn1crypto import cms, tsp
    from asn1crypto import x509 as asn1_x509
    from tokens import openssl_cms_verdict

    token = make_token(token_dir, TokenConfig(cms_signer=True))
    response = tsp.TimeStampResp.load(token.reply)
    signed = response["time_stamp_token"]
    info = signed["content"]["signer_infos"][0]
    info["sid"] = cms.SignerIdentifier(
        {"subject_key_identifier": asn1_x509.Certificate.load(token.pki.tsa).key_identifier})
    info["version"] = "v3"
    reply = tsp.TimeStampResp({"status": {"status": "granted"},
                               "time_stamp_token": cms.ContentInfo.load(signed.dump(force=True))
                               }).dump()
    rewritten = Token(reply, token.message, token.pki, token.config)
    ok, output = openssl_cms_verdict(rewritten)
    assert ok, output
    result = ours(rewritten)
    assert result.passed is True and result.trust is Trust.TRUSTED_ROOT, result


def test_tstinfo_of_another_version_is_invalid(token_dir):
    """RFC 3161 defines TSTInfo version 1 only; openssl refuses any other, and so do we,
    whatever roots are given (what its fields mean is unknown)."""
    import datetime
    import hashlib

    from asn1crypto import cms, tsp
    from tokens import make_pki, sign_tst_info

    pki, key = make_pki(token_dir, "ec-p256", 1)
    message = b"a message to stamp\n"
    for version, valid in (("v1", True), (2, False)):
        tst_info = tsp.TSTInfo({
            "version": version, "policy": "1.3.6.1.4.1.99999.1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                "hashed_message": hashlib.sha256(message).digest()},
            "serial_number": 7,
            "gen_time": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0),
        }).dump()
        signed = sign_tst_info(tst_info, key, pki.tsa, [pki.tsa, *pki.intermediates, pki.root])
        reply = tsp.TimeStampResp({"status": {"status": "granted"},
                                   "time_stamp_token": cms.ContentInfo.load(signed)}).dump()
        token = Token(reply, message, pki, TokenConfig())
        assert openssl_verdict(token)[0] is valid
        for roots in (True, False):
            assert ours(token, roots=roots).passed is valid, (version, roots)


def test_chain_with_an_expired_intermediate_says_so(token_dir):
    """The root is the one given, an intermediate had expired when the token was made: the
    stamp is not trusted, and the words say what failed, not only "no root of yours"."""
    from provenance.stamps.stamping import _not_trusted

    expired = [c for c in refused_variants() if c.tsa_kind == "ca_expired"]
    assert expired, "the generator lost its expired-intermediate shape"
    result = ours(make_token(token_dir, expired[0]))
    assert result.trust is Trust.NOT_TRUSTED, result
    words = _not_trusted(result.reason)
    assert words.startswith("not trusted: no valid chain to a root from PROVENANCE_TSA_CA (")
    assert "expired" in words, words
