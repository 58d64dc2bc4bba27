"""``check`` and ``check --bundle`` keep a time-stamp's three outcomes apart: valid, invalid
(damage: exit 1, DAMAGED) and could not verify (a certificate is missing: not damage, but
the stamp anchors nothing)."""

from __future__ import annotations

import json

import pytest


def cli(capsys, *argv, json_mode=True):
    from provenance.cli.main import main

    code = main((["--json"] if json_mode else []) + list(argv))
    captured = capsys.readouterr()
    if not json_mode:
        return code, captured.out, captured.err
    return code, [json.loads(line) for line in captured.out.splitlines() if line.strip()], \
        captured.err


@pytest.fixture
def stamped_without_chain(tmp_path, capsys, monkeypatch, web, tsa, tsa_pki):
    """A store whose one stamp came from a TSA that sent its own certificate only (no
    intermediate), stamped with no roots set: intact, signature only."""
    monkeypatch.delenv("PROVENANCE_TSA_CA", raising=False)
    tsa.certificates = 1
    store = str(tmp_path / "ev")
    code, items, err = cli(capsys, "--store", store, "archive", web.url("/page/70"),
                           "--tsa", tsa.url)
    assert code == 0, err
    capture = next(i for i in items if i.get("kind") != "timestamp")
    return store, capture["ledger_seq"]


def test_check_says_could_not_verify_apart_from_damage(stamped_without_chain, capsys,
                                                       monkeypatch, tsa_pki):
    store, _ = stamped_without_chain
    code, found, err = cli(capsys, "--store", store, "check")
    assert code == 0 and found[-1]["unverified"] == 0
    # With the roots given, the chain to them lacks the intermediate: could not verify.
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    code, found, err = cli(capsys, "--store", store, "check")
    summary = found[-1]
    assert code == 0, found  # not a damaged store
    assert summary["intact"] is True and summary["problems"] == 0
    assert summary["unverified"] == 1
    assert summary["anchoring"]["anchored_through"] == 0  # it anchors nothing
    (note,) = [f for f in found if "unverified" in f and f is not summary]
    assert "could not verify" in note["unverified"] and "Test Intermediate" in note["unverified"]
    code, out, err = cli(capsys, "--store", store, "check", json_mode=False)
    assert code == 0 and "could not verify (anchors nothing)" in err
    assert "1 time-stamp(s) could not be verified" in out + err
    assert "DAMAGED" not in out + err


def test_check_bundle_says_could_not_verify_apart_from_damage(stamped_without_chain, capsys,
                                                              tmp_path, tsa_pki):
    store, seq = stamped_without_chain
    bundle = str(tmp_path / "b.zip")
    code, _, err = cli(capsys, "--store", store, "export", str(seq), "--out", bundle)
    assert code == 0, err
    code, out, err = cli(capsys, "check", "--bundle", bundle, "--tsa-ca", str(tsa_pki.root),
                         json_mode=False)
    assert code == 1  # nothing is anchored under the given roots
    assert "NOT PROVEN" in out + err and "DAMAGED" not in out + err
    assert "could not verify (anchors nothing): time-stamp" in err
    assert "could not be verified (a certificate is missing)" in out + err
    code, found, _ = cli(capsys, "check", "--bundle", bundle, "--tsa-ca", str(tsa_pki.root))
    summary = found[-1]
    assert summary["problems"] == 0 and summary["unverified"] == 1
    assert summary["trusted"] == 0


def test_verify_md_says_how_to_supply_a_missing_chain(stamped_without_chain, capsys,
                                                       tmp_path):
    import zipfile

    store, seq = stamped_without_chain
    bundle = str(tmp_path / "b.zip")
    assert cli(capsys, "--store", store, "export", str(seq), "--out", bundle)[0] == 0
    text = zipfile.ZipFile(bundle).read("VERIFY.md").decode()
    assert "could not verify" in text and "invalid" in text
    assert "-untrusted TSA-CHAIN.pem" in text and "-CAfile TSA-ROOT.pem" in text
    assert "SHA-1" in text
