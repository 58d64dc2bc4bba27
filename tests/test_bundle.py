"""Evidence bundles: checkable with sha256sum and openssl alone; every tampering caught."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import zipfile

import pytest
import requests

from provenance.bundle.export import export_bundle
from provenance.bundle.verify import verify_bundle
from provenance.stamps.stamping import stamp
from provenance.stamps.timestamp import load_certificates
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger


def problems(path, roots=()):
    return verify_bundle(path, roots).problems


@pytest.fixture
def bundle(tmp_path, tsa):
    store = Store(tmp_path / "store")
    ledger = Ledger(store)
    items = []
    for i in range(5):
        warc = store.put_bytes(f"WARC/1.1\r\n\r\npage {i}".encode(), role="warc",
                               suffix=".warc.gz")
        text = store.put_bytes(f"потеряли {9861 + i} человек".encode(), role="text",
                               suffix=".txt")
        items.append(("capture", {"url": f"http://x/{i}", "files": [warc.to_json(),
                                                                    text.to_json()]},
                      f"http://x/{i}"))
    records = ledger.append_many(items)
    single = ledger.append("capture", {"url": "http://y/", "files": []}, subject="http://y/")
    with requests.Session() as session:
        stamp(ledger, store, records, [tsa.url], session, timeout=5)
        stamp(ledger, store, [single], [tsa.url], session, timeout=5)
    out = tmp_path / "out" / "evidence.zip"
    out.parent.mkdir()  # the export never creates a missing folder
    summary = export_bundle(ledger, store, [records[1].id, str(records[3].seq), single.id], out)
    assert summary["timestamps"] == 2
    assert not [p for p in os.listdir(out.parent) if p.endswith(".partial")]
    return out


def test_intact_bundle_has_no_problems(bundle, tsa_pki):
    roots = load_certificates(tsa_pki.root.read_bytes())
    report = verify_bundle(bundle, roots)
    assert report.problems == [] and report.intact, report
    assert {r.anchor.value for r in report.evidence} == {"trusted"}
    # Without a root the user trusts: consistent, anchored only under the TSA's own root.
    report = verify_bundle(bundle)
    assert report.problems == [] and not report.intact
    assert {r.anchor.value for r in report.evidence} == {"pinned"}
    assert "not one you trust" in report.reason()


def test_third_party_checks_with_sha256sum_and_openssl_only(bundle, tmp_path):
    where = tmp_path / "third-party"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(where)
    verify_md = (where / "VERIFY.md").read_text()
    commands = re.findall(r"^(openssl ts -verify .*)$", verify_md, re.MULTILINE)
    assert len(commands) == 2
    script = "set -e\nsha256sum -c --quiet MANIFEST.sha256\n" + "\n".join(commands) + "\n"
    env = {"PATH": os.path.dirname(shutil.which("openssl")) + ":/usr/bin:/bin"}
    done = subprocess.run(["sh", "-c", script], cwd=where, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Verification: OK") == 2
    # The Merkle path: each step's SHA-256 is inside the next, the last is what was stamped.
    for proof in (where / "proofs").glob("*/*"):
        steps = sorted(proof.glob("step-*.bin"))
        record = hashlib.sha256((where / f"records/{proof.name}.record").read_bytes()).digest()
        assert steps[0].read_bytes() == b"\x00" + record
        for before, after in zip(steps, steps[1:], strict=False):
            assert hashlib.sha256(before.read_bytes()).digest() in after.read_bytes()
        assert steps[-1].read_bytes() == (where / f"timestamps/{proof.parent.name}.data"
                                          ).read_bytes()
    # And a changed byte makes sha256sum fail.
    target = next((where / "objects").rglob("*.txt"))
    os.chmod(target, 0o644)
    target.write_bytes(target.read_bytes() + b"!")
    done = subprocess.run(["sh", "-c", script], cwd=where, env=env, capture_output=True)
    assert done.returncode != 0


def rewrite_bundle(path, change):
    """Rewrite the zip with ``change(name, data) -> data | None`` (None drops the entry)."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            data = change(name, data)
            if data is not None:
                archive.writestr(name, data)


def names(path):
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_every_changed_file_is_caught(bundle, tmp_path):
    for name in names(bundle):
        copy = tmp_path / "copy.zip"
        shutil.copy(bundle, copy)

        def flip(entry, data, name=name):
            if entry != name:
                return data
            at = len(data) // 2
            return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]

        rewrite_bundle(copy, flip)
        assert problems(copy), name


def test_changed_file_with_fixed_manifest_is_still_caught(bundle, tmp_path):
    """Someone who edits a file and its MANIFEST line: the records and tokens still say no."""
    for name in names(bundle):
        if name in ("MANIFEST.sha256", "VERIFY.md", "chain.tsv", "bundle.json"):
            continue
        if name.startswith("proofs/"):
            continue  # explanatory copies of the path; bundle.json's proofs are checked
        copy = tmp_path / "copy.zip"
        shutil.copy(bundle, copy)
        changed = {}

        def edit(entry, data, name=name, changed=changed):
            if entry == name:
                changed["old"] = hashlib.sha256(data).hexdigest()
                at = len(data) // 2
                data = data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
                changed["new"] = hashlib.sha256(data).hexdigest()
            return data

        def fix_manifest(entry, data, changed=changed):
            if entry != "MANIFEST.sha256":
                return data
            return data.replace(changed["old"].encode(), changed["new"].encode())

        rewrite_bundle(copy, edit)
        rewrite_bundle(copy, fix_manifest)
        assert problems(copy), name


def test_missing_and_extra_files_are_caught(bundle, tmp_path):
    victim = next(n for n in names(bundle) if n.endswith(".tsr"))
    copy = tmp_path / "missing.zip"
    shutil.copy(bundle, copy)
    rewrite_bundle(copy, lambda name, data: None if name == victim else data)
    assert any("missing" in p for p in problems(copy))
    with zipfile.ZipFile(copy, "a") as archive:
        archive.writestr("objects/zz/extra.txt", b"planted")
    assert any("not listed" in p for p in problems(copy))


def test_unknown_id_is_a_usage_error(tmp_path):
    from provenance.errors import UsageError

    store = Store(tmp_path / "s")
    with pytest.raises(UsageError):
        export_bundle(Ledger(store), store, ["abcdef123456"], tmp_path / "x.zip")


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"nope")
    assert problems(path)


def test_cli_export_check_bundle_and_retry(tmp_path, tsa, tsa_pki, capsys, monkeypatch):
    from provenance.cli.main import main

    store = Store(tmp_path / "store")
    ledger = Ledger(store)
    records = ledger.append_many([("capture", {"url": f"http://x/{i}", "files": []},
                                   f"http://x/{i}") for i in range(3)])
    tsa.down = True
    with requests.Session() as session:
        [pending] = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    ledger.close()
    assert pending["status"] == "pending"
    base = ["--store", str(store.root)]
    assert main([*base, "retry", "--timeout", "5"]) == 1
    tsa.down = False
    assert main([*base, "--json", "retry", "--timeout", "5"]) == 0
    assert '"status": "granted"' in capsys.readouterr().out.replace('":"', '": "')
    assert main([*base, "check"]) == 0
    out = tmp_path / "b.zip"
    assert main([*base, "export", records[0].id, "--out", str(out)]) == 0
    assert main(["check", "--bundle", str(out)]) == 1  # no root given: not proven
    assert "NOT PROVEN" in capsys.readouterr().out
    assert main(["check", "--bundle", str(out), "--tsa-ca", str(tsa_pki.root)]) == 0
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    assert main(["check", "--bundle", str(out)]) == 0
    rewrite_bundle(out, lambda name, data: data + b"x" if name.endswith(".tsr") else data)
    assert main(["check", "--bundle", str(out)]) == 1
    assert main(["check", "--bundle", str(tmp_path / "nope.zip")]) == 2
    assert main([*base, "export", "ffffffffffff", "--out", str(out)]) == 2


def _cli(capsys, *argv):
    import json

    from provenance.cli.main import main

    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines() if line.strip()], \
        captured.err


CLEAN_ENV = {"PATH": "/usr/bin:/bin"}  # env -i: no virtualenv, no PYTHONPATH, no provenance


def test_archive_tsa_export_and_check_with_standard_tools_only(tmp_path, capsys, monkeypatch,
                                                              web, wayback, tsa, tsa_pki):
    """The whole path through the CLI: archive --tsa stamps a batch under one Merkle root,
    check passes, export bundles the captures with their witness records, and in a clean
    environment unzip + sha256sum -c + the openssl commands VERIFY.md gives all pass."""
    monkeypatch.setenv("PROVENANCE_WAYBACK", wayback.base)
    monkeypatch.setenv("PROVENANCE_IA_INTERVAL", "0")
    monkeypatch.setenv("PROVENANCE_IA_READ_INTERVAL", "0")
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    store = str(tmp_path / "ev")
    urls = [web.url(f"/page/{n}") for n in range(40, 45)]
    code, items, err = _cli(capsys, "--store", store, "archive", *urls, "--to", "ia",
                            "--tsa", tsa.url, "--jobs", "4")
    assert code == 0, err
    assert tsa.requests == 1  # five captures, one request: a Merkle root
    (stamp_,) = [i for i in items if i.get("kind") == "timestamp"]  # printed after them
    items = [i for i in items if i.get("kind") != "timestamp"]
    assert len(items) == 5
    assert stamp_["status"] == "granted" and stamp_["tsa"] == tsa.url, (err, tsa.errors)
    assert sorted(stamp_["covers"]) == sorted(i["ledger_seq"] for i in items)
    for item in items:
        assert item["witnesses"][0]["agrees"] is True
    with Ledger(Store(store)) as ledger:
        (ts,) = ledger.records(kind="timestamp")
        assert ts.data["method"] == "merkle"
        assert sorted(ts.data["covers"]) == sorted(i["ledger_seq"] for i in items)
    assert _cli(capsys, "--store", store, "check")[0] == 0

    out = tmp_path / "evidence.zip"
    code, (summary,), err = _cli(capsys, "--store", store, "export",
                                 *[i["id"] for i in items], "--out", str(out))
    assert code == 0, err
    code, checked, err = _cli(capsys, "check", "--bundle", str(out))
    assert code == 0, checked
    anchors = {i["record"]: i["anchor"] for i in checked if "anchor" in i}
    assert {anchors[item["ledger_seq"]] for item in items} == {"trusted"}
    assert checked[-1]["intact"] is True and checked[-1]["trusted"] == 5

    where = tmp_path / "court"
    subprocess.run(["unzip", "-q", str(out), "-d", str(where)], check=True, env=CLEAN_ENV)
    assert subprocess.run(["python3", "-c", "import provenance"], cwd=where, env=CLEAN_ENV,
                          capture_output=True).returncode != 0  # really without the tool
    verify_md = (where / "VERIFY.md").read_text()
    assert "sha256sum -c MANIFEST.sha256" in verify_md
    commands = re.findall(r"^(openssl ts -verify .*)$", verify_md, re.MULTILINE)
    assert len(commands) == 1
    for command in ["sha256sum -c MANIFEST.sha256", *commands]:
        done = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "sh", "-c", command],
                              cwd=where, capture_output=True, text=True, env=CLEAN_ENV)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert "Verification: OK" in done.stdout

    # The witness records came along: evidence too, with the command to compare a copy.
    import json

    index = json.loads((where / "bundle.json").read_text())
    witnesses = index["witnesses"]
    assert sorted(w["capture_seq"] for w in witnesses) == sorted(i["ledger_seq"]
                                                                 for i in items)
    for w in witnesses:
        assert (where / w["file"]).is_file() and w["agrees"] is True
    assert verify_md.count("curl -s --compressed") == 5
    command = re.search(r"^  (curl -s --compressed '[^']+' \| sha256sum)   # expect (\w+)$",
                        verify_md, re.MULTILINE)
    done = subprocess.run(["sh", "-c", command.group(1)], env=CLEAN_ENV, capture_output=True,
                          text=True)  # the loopback Wayback server: still 127.0.0.1 only
    assert done.stdout.split()[0] == command.group(2)
