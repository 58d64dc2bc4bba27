"""Stamping ledger records: one at once, 1,000 under one Merkle root, pending then retried,
and ``check`` catching every kind of tampering with tokens, proofs and stamped records."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
import requests

from provenance.check import check_store
from provenance.stamps.stamping import (
    GRANTED,
    PENDING,
    TIMESTAMP,
    TOKEN_ROLE,
    check_timestamps,
    open_pending,
    retry_pending_stamps,
    stamp,
    stamp_records,
)
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger


def stamps_for(ledger, seq):
    """The latest stamp per TSA of the record ``seq`` (what a capture line shows)."""
    latest = {}
    for record, parsed in stamp_records(ledger):
        if seq in parsed.covers:
            token = record.file(TOKEN_ROLE)
            latest[parsed.tsa] = {
                "tsa": record.data.get("tsa"), "status": record.data.get("status"),
                "token": token["path"] if token else None, "error": record.data.get("error"),
                "seq": record.seq, "gen_time": record.data.get("gen_time"),
                "trust": record.data.get("trust")}
    return list(latest.values())


@pytest.fixture
def session():
    with requests.Session() as http:
        yield http


def make_records(root, n):
    store = Store(root)
    ledger = Ledger(store)
    items = []
    for i in range(n):
        text = store.put_bytes(f"page {i}".encode(), role="text", suffix=".txt")
        items.append(("capture", {"url": f"http://x/{i}", "files": [text.to_json()]},
                      f"http://x/{i}"))
    return store, ledger, ledger.append_many(items)


def problems(store, ledger):
    return [str(p) for p in check_store(store, ledger).problems]


def test_check_timestamps_is_registered():
    from provenance.check import CHECKERS

    assert check_timestamps in CHECKERS


def test_one_record_stamped_directly(tmp_path, tsa, session):
    store, ledger, records = make_records(tmp_path / "s", 1)
    [result] = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    assert result["status"] == GRANTED
    assert result["token"].endswith(".tsr")
    record = ledger.get(result["seq"])
    assert record.kind == TIMESTAMP
    assert record.data["method"] == "record"
    assert record.data["imprint"] == records[0].record_hash  # SHA-256 of the hashed bytes
    assert {f["role"] for f in record.files} == {"timestamp-token", "tsa-certificates"}
    assert stamps_for(ledger, records[0].seq) == [result]
    assert problems(store, ledger) == []


def test_a_thousand_records_one_request(tmp_path, tsa, session):
    store, ledger, records = make_records(tmp_path / "s", 1000)
    results = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    assert tsa.requests == 1
    assert [r["status"] for r in results] == [GRANTED]
    record = ledger.get(results[0]["seq"])
    assert record.data["method"] == "merkle" and record.data["tree_size"] == 1000
    assert problems(store, ledger) == []


def test_several_tsas_one_request_each(tmp_path, tsa, tsa_pki, session):
    from tsaserver import TsaServer

    store, ledger, records = make_records(tmp_path / "s", 3)
    with TsaServer(tsa_pki) as second:
        second.down = True
        results = stamp(ledger, store, records, [tsa.url, second.url], session, timeout=5)
        assert [r["status"] for r in results] == [GRANTED, PENDING]
        assert "503" in results[1]["error"]
        assert tsa.requests == 1 and second.requests == 1
        assert problems(store, ledger) == []  # a pending stamp is not damage
        assert [r.seq for r in open_pending(ledger)] == [results[1]["seq"]]
        assert retry_pending_stamps(ledger, store, session, timeout=5)[0]["status"] == PENDING
        second.down = False
        [retried] = retry_pending_stamps(ledger, store, session, timeout=5)
    assert retried["status"] == GRANTED and retried["tsa"] == second.url
    assert open_pending(ledger) == []
    assert ledger.get(retried["seq"]).data["resolves"] == results[1]["seq"] + 1
    assert {s["status"] for s in stamps_for(ledger, records[0].seq)} == {GRANTED}
    assert problems(store, ledger) == []


def test_unsorted_certificate_set_is_kept_and_checked(tmp_path, tsa, session):
    tsa.unsorted_certs = True
    store, ledger, records = make_records(tmp_path / "s", 4)
    [result] = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    assert result["status"] == GRANTED
    # The unsigned certificate set is set aside for verification: its order is no obstacle.
    assert ledger.get(result["seq"]).data["verifier"].startswith("rfc3161-client")
    assert problems(store, ledger) == []


# --- tampering ----------------------------------------------------------------------------

@pytest.fixture
def stamped(tmp_path, tsa, session):
    store, ledger, records = make_records(tmp_path / "s", 5)
    [result] = stamp(ledger, store, records, [tsa.url], session, timeout=5)
    return store, ledger, ledger.get(result["seq"])


def rewrite(store, relative, change):
    path = store.root / relative
    data = bytearray(path.read_bytes())
    change(data)
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))


def flip(at):
    def change(data):
        data[at % len(data)] ^= 0x01
    return change


@pytest.mark.parametrize("role", ["timestamp-token", "merkle-proofs", "tsa-certificates"])
def test_changed_byte_in_stamp_files_is_caught(stamped, role):
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == role)
    rewrite(store, entry["path"], flip(-60))
    found = problems(store, ledger)
    assert any("file was altered" in p and entry["path"] in p for p in found)


def test_token_replaced_and_rehashed_is_caught(stamped, tsa, session):
    """An attacker who swaps in another valid token (for other data) and fixes nothing else."""
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == "timestamp-token")
    other_store, other_ledger, others = make_records(store.root.parent / "other", 2)
    [other] = stamp(other_ledger, other_store, others, [tsa.url], session, timeout=5)
    rewrite(store, entry["path"], lambda d: d.__setitem__(
        slice(None), (other_store.root / other["token"]).read_bytes()))
    found = [str(p) for p in check_timestamps(_ctx(store, ledger))]
    assert any("does not verify" in p for p in found)


def test_proof_edited_is_caught_even_without_file_hashes(stamped):
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == "merkle-proofs")
    proofs = json.loads((store.root / entry["path"]).read_bytes())
    first = proofs["proofs"][2][0]
    proofs["proofs"][2][0] = ("0" if first[0] != "0" else "1") + first[1:]
    rewrite(store, entry["path"], lambda d: d.__setitem__(
        slice(None), json.dumps(proofs).encode()))
    found = [str(p) for p in check_timestamps(_ctx(store, ledger))]
    assert any("inclusion proof 2" in p for p in found)


def test_stamped_record_altered_is_caught(stamped):
    store, ledger, record = stamped
    covered = record.data["covers"][1]
    db = sqlite3.connect(store.ledger_path)
    db.execute("DROP TRIGGER records_are_never_updated")
    body = json.loads(db.execute("SELECT body FROM records WHERE seq=?", (covered,)).fetchone()[0])
    body["data"]["url"] = "http://evil/"
    from provenance.store.hashing import canonical_json, record_hash

    text = canonical_json(body)
    db.execute("UPDATE records SET body=?, record_hash=? WHERE seq=?",
               (text.decode(), record_hash(text), covered))
    db.commit()
    db.close()
    found = [str(p) for p in check_timestamps(_ctx(store, ledger))]
    assert any("not the record that was time-stamped" in p for p in found)


def test_missing_token_is_caught(stamped):
    store, ledger, record = stamped
    entry = next(f for f in record.files if f["role"] == "timestamp-token")
    os.unlink(store.root / entry["path"])
    found = problems(store, ledger)
    assert any("token is missing" in p for p in found)


def _ctx(store, ledger):
    from provenance.check import CheckContext

    return CheckContext(store, ledger)


# --- through the CLI: retry --tsa for records never stamped; several TSAs; a TSA down -------

def cli(capsys, *argv):
    from provenance.cli.main import main

    code = main(["--json", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines() if line.strip()], \
        captured.err


def split(items):
    """archive --json: capture lines first, then one ``kind: timestamp`` line per TSA."""
    return ([i for i in items if i.get("kind") != TIMESTAMP],
            [i for i in items if i.get("kind") == TIMESTAMP])


def timestamp_records(store):
    with Ledger(Store(store)) as ledger:
        return list(ledger.records(kind=TIMESTAMP))


def test_retry_tsa_stamps_records_that_never_had_a_stamp(tmp_path, capsys, monkeypatch, web,
                                                         tsa, tsa_pki):
    from provenance.stamps.stamping import unstamped

    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    store = str(tmp_path / "ev")
    code, items, err = cli(capsys, "--store", store, "archive", web.url("/page/50"),
                           web.url("/page/51"), "--tsa", "none")
    assert code == 0, err
    assert all(item["timestamps"] == [] for item in items)
    with Ledger(Store(store)) as ledger:  # screenshot evidence made while no TSA was set
        ocr = ledger.append("ocr", {"image_sha256": "ab" * 32, "text": "9 861"})
        verification = ledger.append("verification", {"verdict": "match", "ocr_seq": ocr.seq})
        ledger.append("fetch_failed", {"url": "http://127.0.0.1:9/", "error": "refused"})
        expected = sorted([i["ledger_seq"] for i in items] + [ocr.seq, verification.seq])
        assert sorted(r.seq for r in unstamped(ledger)) == expected

    code, results, _ = cli(capsys, "--store", store, "retry")  # no TSA named: nothing to do
    assert code == 0 and results == [] and tsa.requests == 0

    code, results, err = cli(capsys, "--store", store, "retry", "--tsa", tsa.url)
    assert code == 0, err
    assert [(r["tsa"], r["status"]) for r in results] == [(tsa.url, "granted")]
    assert tsa.requests == 1  # four records, one Merkle root
    (ts,) = timestamp_records(store)
    assert sorted(ts.data["covers"]) == expected and ts.data["method"] == "merkle"
    assert cli(capsys, "--store", store, "check")[0] == 0
    code, results, _ = cli(capsys, "--store", store, "retry", "--tsa", tsa.url)
    assert code == 0 and results == [] and tsa.requests == 1  # nothing left unstamped

    # PROVENANCE_TSA does the same for a capture made with --tsa none.
    code, items, _ = cli(capsys, "--store", store, "archive", web.url("/page/52"),
                         "--tsa", "none")
    monkeypatch.setenv("PROVENANCE_TSA", tsa.url)
    code, results, err = cli(capsys, "--store", store, "retry")
    assert code == 0 and [r["status"] for r in results] == ["granted"], err
    assert timestamp_records(store)[-1].data["covers"] == [items[0]["ledger_seq"]]
    assert cli(capsys, "--store", store, "check")[0] == 0


def test_several_tsas_for_one_record_and_one_down_then_retry(tmp_path, capsys, monkeypatch,
                                                             web, tsa, tsa_pki):
    """Independent TSAs each stamp the same capture; one that is down leaves its stamp
    pending (the capture and the other stamp are kept) until ``retry`` gets it."""
    import re
    import subprocess
    import zipfile

    from tsaserver import TsaServer

    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    store = str(tmp_path / "ev")
    with TsaServer(tsa_pki) as other:
        code, items, err = cli(capsys, "--store", store, "archive", web.url("/page/53"),
                               "--tsa", tsa.url, "--tsa", other.url)
        assert code == 0, err
        (item,), stamps = split(items)
        assert [(s["tsa"], s["status"]) for s in item["timestamps"]] == [
            (tsa.url, "queued"), (other.url, "queued")]  # printed before its stamp
        assert sorted((s["tsa"], s["status"], s["covers"][0]) for s in stamps) == sorted(
            [(tsa.url, "granted", item["ledger_seq"]),
             (other.url, "granted", item["ledger_seq"])])
        assert {s["trust"] for s in stamps} == {"trusted_root"}
        assert (tsa.requests, other.requests) == (1, 1)
        assert cli(capsys, "--store", store, "check")[0] == 0
        bundle = tmp_path / "two.zip"
        assert cli(capsys, "--store", store, "export", item["id"], "--out", str(bundle))[0] == 0
        where = tmp_path / "two"
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(where)
        commands = re.findall(r"^(openssl ts -verify .*)$", (where / "VERIFY.md").read_text(),
                              re.MULTILINE)
        assert len(commands) == 2  # one per TSA, each checkable on its own
        done = subprocess.run(["sh", "-c", "set -e; sha256sum -c --quiet MANIFEST.sha256; "
                               + "; ".join(commands)], cwd=where, capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("Verification: OK") == 2

        other.down = True
        code, items, err = cli(capsys, "--store", store, "archive", web.url("/page/54"),
                               "--tsa", tsa.url, "--tsa", other.url)
        assert code == 0  # captured; one stamp pending is not a failed capture
        (item,), stamps = split(items)
        states = {s["tsa"]: s["status"] for s in stamps}
        assert states == {tsa.url: "granted", other.url: "pending"}
        assert "'provenance retry'" in err and "503" in err
        assert cli(capsys, "--store", store, "check")[0] == 0
        code, results, _ = cli(capsys, "--store", store, "retry")
        assert code == 1 and [r["status"] for r in results] == ["pending"]  # still down

        other.down = False
        code, results, err = cli(capsys, "--store", store, "retry")
        assert code == 0, err
        assert [(r["tsa"], r["status"]) for r in results] == [(other.url, "granted")]
        assert cli(capsys, "--store", store, "check")[0] == 0
        with Ledger(Store(store)) as ledger:
            assert {s["tsa"]: s["status"] for s in stamps_for(ledger, item["ledger_seq"])} == {
                tsa.url: "granted", other.url: "granted"}
        code, results, err = cli(capsys, "--store", store, "retry")
        assert code == 0 and results == [] and "nothing pending" in err


# --- trust through archive and check: roots of TSA A, stamp from TSA B ----------------------

@pytest.fixture(scope="module")
def other_pki(tmp_path_factory):
    """A second TSA with its own, independent PKI."""
    from tsaserver import make_pki

    return make_pki(tmp_path_factory.mktemp("other-tsa-pki"))


def test_stamp_from_a_tsa_outside_the_given_roots_is_not_trusted(tmp_path, capsys, monkeypatch,
                                                                 web, tsa_pki, other_pki):
    from tsaserver import TsaServer

    store = str(tmp_path / "ev")
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))  # the roots of TSA A
    with TsaServer(other_pki) as tsa_b:
        code, items, err = cli(capsys, "--store", store, "archive", web.url("/page/55"),
                               "--tsa", tsa_b.url)
    assert code == 0, err  # the capture is kept; the stamp is recorded as untrusted
    (item,), (line,) = split(items)
    assert (line["status"], line["trust"]) == ("untrusted", "not_trusted")
    assert "not trusted: no valid chain to a root from PROVENANCE_TSA_CA" in err
    (ts,) = timestamp_records(store)
    assert ts.data["status"] == "untrusted" and "(trusted" not in ts.data["verifier"]
    with Ledger(Store(store)) as ledger:
        assert [s["status"] for s in stamps_for(ledger, item["ledger_seq"])] == ["untrusted"]
        assert open_pending(ledger) == []  # asking B again would not change who signed

    code, found, err = cli(capsys, "--store", store, "check")
    assert code == 1
    assert any("not trusted: no valid chain to a root from PROVENANCE_TSA_CA"
               in p.get("problem", "") for p in found), found
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(other_pki.root))  # now B's root is trusted
    assert cli(capsys, "--store", store, "check")[0] == 0
    monkeypatch.delenv("PROVENANCE_TSA_CA")  # no roots: the token is intact
    assert cli(capsys, "--store", store, "check")[0] == 0


def test_pinned_stamp_is_not_trusted_once_roots_are_given(tmp_path, capsys, monkeypatch, web,
                                                          tsa_pki, other_pki):
    """Stamped with no roots set (B's own root pinned), checked later under A's roots."""
    from tsaserver import TsaServer

    store = str(tmp_path / "ev")
    monkeypatch.delenv("PROVENANCE_TSA_CA", raising=False)
    with TsaServer(other_pki) as tsa_b:
        code, items, err = cli(capsys, "--store", store, "archive", web.url("/page/56"),
                               "--tsa", tsa_b.url)
    _, (line,) = split(items)
    assert (code, line["status"], line["trust"]) == (0, "granted", "pinned_tsa_root"), err
    assert cli(capsys, "--store", store, "check")[0] == 0
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    code, found, _ = cli(capsys, "--store", store, "check")
    assert code == 1 and any("not trusted" in p.get("problem", "") for p in found)


@pytest.mark.parametrize("content", [
    b"", b"not a certificate\n",
    b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_unusable_tsa_ca_is_a_usage_error(tmp_path, capsys, monkeypatch, web, tsa, content):
    (ca := tmp_path / "roots.pem").write_bytes(content)
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(ca))
    code, items, err = cli(capsys, "--store", str(tmp_path / "ev"), "archive",
                           web.url("/page/57"), "--tsa", tsa.url)
    assert (code, items) == (2, []) and "PROVENANCE_TSA_CA" in err and "Traceback" not in err


# --- crafted but hash-consistent timestamp records: problems, never a traceback -------------

CRAFTED = [
    ["not", "an", "object"],
    {"covers": "1", "leaves": ["ab" * 32], "status": "granted", "tsa": "t"},
    {"covers": ["1"], "leaves": ["ab" * 32], "status": "granted", "tsa": "t"},
    {"covers": [True], "leaves": ["ab" * 32], "status": "granted", "tsa": "t"},
    {"covers": [[1]], "leaves": ["ab" * 32], "status": "granted", "tsa": "t"},
    {"covers": [1], "leaves": ["zz" * 32], "status": "granted", "tsa": "t"},
    {"covers": [1], "leaves": {"a": 1}, "status": "granted", "tsa": "t"},
    {"covers": [1, 2], "leaves": ["ab" * 32], "status": "granted", "tsa": "t"},
    {"covers": [1], "leaves": ["ab" * 32], "status": ["granted"], "tsa": "t"},
    {"covers": [1], "leaves": ["ab" * 32], "status": "granted", "tsa": {"u": 1}},
    {"covers": [1], "leaves": ["ab" * 32], "status": "granted", "tsa": "t", "files": {"a": 1}},
    {"covers": [1], "leaves": ["ab" * 32], "status": "granted", "tsa": "t", "files": [1, "x"]},
    {"covers": [1], "leaves": ["ab" * 32], "status": "granted", "tsa": "t", "merkle_root": 5},
    {"covers": [1], "leaves": ["ab" * 32], "status": "granted", "tsa": "t", "gen_time": []},
    {"covers": [1], "leaves": ["ab" * 32], "status": "pending", "tsa": "t", "resolves": "3"},
    {"covers": [1], "leaves": ["ab" * 32], "status": "granted", "tsa": "t",
     "files": [{"role": "timestamp-token", "path": ["x"]}]},
    {"covers": [1], "leaves": ["ab" * 32], "status": "granted", "tsa": "t",
     "files": [{"role": "timestamp-token", "path": "../../../etc/passwd"}]},
]


@pytest.mark.parametrize("data", CRAFTED, ids=range(len(CRAFTED)))
def test_crafted_timestamp_record_is_a_problem_not_a_crash(tmp_path, capsys, data):
    store, ledger, records = make_records(tmp_path / "s", 1)
    with ledger:
        ledger.append_many([(TIMESTAMP, data, None)])  # hash-consistent: the chain is fine
        # Shapes are checked once for every checker (check.py), stamp fields by
        # check_timestamps: either way the record is a problem, and no checker crashed.
        problems = check_store(store, ledger).problems
    found = [p for p in problems if p.seq is not None]
    assert found and {p.seq for p in found} == {records[0].seq + 1}, problems
    assert not [p for p in problems if "could not check" in p.what], problems
    if not isinstance(data, dict) or not isinstance(data.get("files"), list) or all(
            isinstance(f, dict) and isinstance(f.get("path"), str) for f in data["files"]):
        code, found, err = cli(capsys, "--store", str(store.root), "check")
        assert code == 1 and "Traceback" not in err, (found, err)
    # The other readers of timestamp records skip it instead of stopping on it.
    # (a record whose data is not an object cannot be read at all: the ledger says so in one
    # line, exit 2, as for any damaged ledger; but retry reads only the pending stamps and
    # those resolving one, by index, so it may never come to it: check reports it, above)
    code, _, err = cli(capsys, "--store", str(store.root), "retry")
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert code in ((0, 1) if isinstance(data, dict) else (0, 1, 2)), err
    if isinstance(data, dict):
        with Ledger(Store(store.root)) as again:
            unstamped_records(again), stamps_for(again, records[0].seq)  # no exception


def unstamped_records(ledger):
    from provenance.stamps.stamping import unstamped

    return unstamped(ledger)


# --- kill -9 before the batch was stamped, Ctrl-C mid-batch: through a real subprocess -------

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _slow_page(h):
    from webfixtures import send

    time.sleep(0.3)
    n = h.path.rsplit("/", 1)[1]
    send(h, 200, f"<html><body><article><p>Stamped page {n}</p></article></body></html>"
         .encode())


def archive_argv(store, list_file, tsa_url, jobs=2):
    import sys

    return [sys.executable, "-m", "provenance", "--json", "--store", str(store), "archive",
            "-i", str(list_file), "--jobs", str(jobs), "--to", "none", "--tsa", tsa_url]


def subprocess_env(**extra):
    env = {**os.environ, "PYTHONPATH": REPO, **extra}
    env.pop("PROVENANCE_TSA_CA", None)
    return env


def capture_seqs(store):
    with Ledger(Store(store)) as ledger:
        return [r.seq for r in ledger.records(kind="capture")]


def granted_cover(store):
    covered = set()
    for ts in timestamp_records(store):
        if ts.data["status"] == GRANTED:
            covered.update(ts.data["covers"])
    return covered


def test_kill_9_before_the_batch_is_stamped_then_resume_stamps_it(tmp_path, capsys, web,
                                                                  tsa):
    import signal
    import subprocess

    web.add_route("/stamped/", _slow_page)
    urls = [web.url(f"/stamped/{n}") for n in range(5)]
    (list_file := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = tmp_path / "ev"
    argv = archive_argv(store, list_file, tsa.url)
    tsa.delay = 20.0  # the batch's stamp request hangs: kill -9 comes while it waits
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=subprocess_env())
    printed = []
    assert proc.stdout is not None
    for line in proc.stdout:  # each capture is printed as soon as it is recorded
        printed.append(json.loads(line))
        if len(printed) == len(urls):
            break
    for _ in range(100):  # until the stamp request has reached the TSA
        if tsa.requests:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert tsa.requests == 1 and proc.returncode == -signal.SIGKILL
    assert sorted(p["ledger_seq"] for p in printed) == capture_seqs(store)
    assert timestamp_records(store) == []  # killed before the stamp was recorded

    # The TSA fails on the rerun: one line says how many are left, exit 1.
    tsa.delay, tsa.down = 0.0, True
    code, items, err = cli(capsys, "--store", str(store), "archive", "-i", str(list_file),
                           "--to", "none", "--tsa", tsa.url)
    assert code == 1
    assert [line for line in err.splitlines() if "still missing" in line] == [
        f"provenance: {len(urls)} time-stamp(s) of captures made before are still missing; "
        "'provenance retry' asks again"]
    assert granted_cover(store) == set()

    # The failed rerun left a pending stamp: 'retry' gets it once the TSA is back.
    tsa.down = False
    code, results, err = cli(capsys, "--store", str(store), "retry")
    assert code == 0, err
    assert granted_cover(store) == set(capture_seqs(store))
    assert cli(capsys, "--store", str(store), "check")[0] == 0


def test_rerun_stamps_captures_left_unstamped(tmp_path, capsys, web, tsa):
    """A list captured with --tsa none, then again with a TSA: the rerun captures anew
    (a finished list is never skipped) and stamps its own captures in one request; the
    earlier captures are stamped by 'retry --tsa', once."""
    urls = [web.url(f"/page/{n}") for n in range(60, 64)]
    (list_file := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = str(tmp_path / "ev")
    code, items, _ = cli(capsys, "--store", store, "archive", "-i", str(list_file),
                         "--tsa", "none")
    assert code == 0 and len(items) == 4
    first = {i["ledger_seq"] for i in items}
    code, items, err = cli(capsys, "--store", store, "archive", "-i", str(list_file),
                           "--tsa", tsa.url)
    assert code == 0, err
    captures, stamps = split(items)
    assert not any(c.get("skipped") for c in captures) and len(captures) == 4
    assert [(s["status"], sorted(s["covers"])) for s in stamps] == [
        (GRANTED, sorted(c["ledger_seq"] for c in captures))]
    assert tsa.requests == 1 and not first & granted_cover(store)
    code, _, err = cli(capsys, "--store", store, "retry", "--tsa", tsa.url)
    assert code == 0, err
    assert granted_cover(store) >= set(capture_seqs(store)) and tsa.requests == 2
    assert cli(capsys, "--store", store, "check")[0] == 0
    code, _, err = cli(capsys, "--store", store, "retry", "--tsa", tsa.url)
    assert code == 0 and tsa.requests == 2  # nothing twice


def test_ctrl_c_mid_batch_prints_every_recorded_capture(tmp_path, web, tsa):
    import signal
    import subprocess

    web.add_route("/stamped/", _slow_page)
    urls = [web.url(f"/stamped/{n}") for n in range(100, 140)]
    (list_file := tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    store = tmp_path / "ev"
    proc = subprocess.Popen(archive_argv(store, list_file, tsa.url, jobs=4),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=subprocess_env())
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first capture is recorded: others are in flight
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()  # through the same buffer as the first line
    err = proc.stderr.read()  # a few lines: no pipe can fill up meanwhile
    assert proc.wait(timeout=60) == 130, err
    proc.stdout.close()
    proc.stderr.close()
    printed = [json.loads(line) for line in [first, *rest.splitlines()] if line.strip()]
    assert all("kind" not in p for p in printed)  # interrupted before any batch was stamped
    recorded = capture_seqs(store)
    assert 1 <= len(recorded) < len(urls)  # the interrupt really came mid-batch
    assert sorted(p["ledger_seq"] for p in printed) == recorded, err
    assert f"{len(recorded)} capture(s) not time-stamped yet" in err.decode()
    assert "Traceback" not in err.decode()
