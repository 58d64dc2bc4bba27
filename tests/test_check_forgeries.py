"""A forger's attacks on ``check`` and ``check --bundle``, each on a real store.

The store is made by the real commands: three pages from the loopback web server archived
in one batch under one Merkle root by the loopback TSA (records 1-3, stamp 4), one page
stamped alone (record 5, stamp 6), one page with ``--tsa none`` (record 7); the bundle is
``export 1 2 5``. Each test copies them, alters the copy as someone with write access and
no scruples would (sqlite3, gzip, a zip writer, a text editor), and asserts what ``check``
says: damage (exit 1), one line per problem, and never an anchor the forgery did not earn.
One test per attack, named for it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import sqlite3
import stat
import zipfile
import zlib
from pathlib import Path

import pytest

from provenance.bundle.verify import verify_bundle
from provenance.check import check_store
from provenance.cli.main import main
from provenance.stamps.timestamp import load_certificates
from provenance.store.filestore import Store
from provenance.store.hashing import RECORD_PREFIX, record_hash
from provenance.store.ledger import Ledger, build_body


@pytest.fixture(scope="module")
def genuine(tmp_path_factory, tsa_pki, web):
    from tsaserver import TsaServer

    root = tmp_path_factory.mktemp("genuine")
    store = str(root / "store")
    with TsaServer(tsa_pki) as tsa:
        for urls, stamp in (([web.url(f"/page/{n}") for n in (61, 62, 63)], tsa.url),
                            ([web.url("/page/64")], tsa.url), ([web.url("/page/65")], "none")):
            assert main(["--store", store, "-q", "archive", *urls, "--to", "none",
                         "--tsa", stamp]) == 0
    bundle = root / "evidence.zip"
    assert main(["--store", store, "-q", "export", "1", "2", "5", "--out", str(bundle)]) == 0
    return Path(store), bundle


@pytest.fixture
def store(genuine, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(genuine[0], copy)
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the forger's first step
    return copy


@pytest.fixture
def bundle(genuine, tmp_path):
    return Path(shutil.copy(genuine[1], tmp_path / "evidence.zip"))


def check(store, capsys):
    code = main(["--store", str(store), "check"])
    said = capsys.readouterr()
    assert "Traceback" not in said.err
    return code, said.err.splitlines(), said.out.strip()


def report(store):
    s = Store(store)
    with Ledger(s, writable=False) as ledger:
        return check_store(s, ledger)


# --- altering the store -----------------------------------------------------------------

def rows(store):
    db = sqlite3.connect(store / "ledger.sqlite3")
    try:
        return db.execute("SELECT seq, kind, subject, time, body FROM records ORDER BY seq"
                          ).fetchall()
    finally:
        db.close()


def rewrite(store, change, *, first, drop_from=None):
    """Rewrite the ledger from record ``first`` on as a forger would: ``change(seq, kind,
    data)`` edits a record's data, every later record is re-chained with a correct hash,
    rows from ``drop_from`` on are deleted, and ``ledger.head`` names the new last record."""
    db = sqlite3.connect(store / "ledger.sqlite3")
    db.execute("DROP TRIGGER records_are_never_updated")
    db.execute("DROP TRIGGER records_are_never_deleted")
    if drop_from is not None:
        db.execute("DELETE FROM records WHERE seq >= ?", (drop_from,))
    prev = db.execute("SELECT record_hash FROM records WHERE seq = ?", (first - 1,)
                      ).fetchone()[0]
    for seq, kind, subject, time, body in db.execute(
            "SELECT seq, kind, subject, time, body FROM records WHERE seq >= ? ORDER BY seq",
            (first,)).fetchall():
        data = change(seq, kind, json.loads(body)["data"])
        new = build_body(seq, kind, time, subject, prev, data)
        digest = record_hash(new)
        db.execute("UPDATE records SET body = ?, prev_hash = ?, record_hash = ? WHERE seq = ?",
                   (new.decode(), prev, digest, seq))
        prev = digest
    last = db.execute("SELECT max(seq) FROM records").fetchone()[0]
    db.commit()
    db.close()
    (store / "ledger.head").write_text(json.dumps({"seq": last, "record_hash": prev}) + "\n")


def unchanged(seq, kind, data):
    return data


def put_object(store, data, suffix):
    digest = hashlib.sha256(data).hexdigest()
    path = store / "objects" / digest[:2] / f"{digest}{suffix}"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return {"path": str(path.relative_to(store)), "sha256": digest, "size": len(data)}


def test_rechained_ledger_is_caught_by_the_stamps_and_anchors_nothing(store, capsys):
    """Record 2 edited, every later hash recomputed and the head rewritten: the chain and
    the head agree again, but the stamps signed the old hashes."""
    def edit(seq, kind, data):
        return {**data, "title": "Forged title"} if seq == 2 else data

    rewrite(store, edit, first=2)
    found = report(store)
    assert any(p.seq == 4 and "record 2 is not the record that was time-stamped" in p.what
               for p in found.problems), found.problems
    assert any(p.seq == 6 and "record 5 is not the record" in p.what for p in found.problems)
    assert found.anchoring.anchored_through == 0  # a stamp with a problem anchors nothing
    code, err, out = check(store, capsys)
    assert code == 1 and out.startswith("DAMAGED") and "no record is time-stamped" in out
    assert all(line.startswith("provenance: ") for line in err)


def test_rechained_unstamped_tail_passes_but_is_said_unanchored(store, capsys):
    """What no check can see (a rewrite past the last stamp) is said in the verdict line."""
    def edit(seq, kind, data):
        return {**data, "title": "Forged title"} if seq == 7 else data

    rewrite(store, edit, first=7)
    code, err, out = check(store, capsys)
    assert code == 0 and out.startswith("intact: 7 records")
    assert "records 1-5 time-stamped" in out
    assert "records 6-7 not yet anchored: only this store vouches for them" in out


def test_tail_deleted_with_a_consistent_head_is_said_unanchored(store, capsys):
    """Records 5-7 deleted and the head rewritten: the covers row of deleted stamp 6 gives
    it away; with that row deleted too, nothing can, and the verdict says what is not
    anchored."""
    rewrite(store, unchanged, first=5, drop_from=5)
    code, err, out = check(store, capsys)
    assert code == 1 and "a time-stamp record removed" in err[0] and len(err) == 1
    db = sqlite3.connect(store / "ledger.sqlite3")
    db.execute("DROP TRIGGER covers_are_never_deleted")
    db.execute("DELETE FROM covers WHERE stamp_seq >= 5")
    db.commit()
    db.close()
    code, err, out = check(store, capsys)
    assert code == 0 and out.startswith("intact: 4 records")
    assert "records 1-3 time-stamped" in out and "record 4 not yet anchored" in out


def test_a_token_moved_onto_another_record_anchors_nothing_new(store, capsys):
    """Stamp 6's token (over record 5) copied into a new stamp record that claims record 7."""
    seven = rows(store)[6]
    stamp6 = json.loads(rows(store)[5][4])["data"]
    forged = {**stamp6, "covers": [7], "leaves": [record_hash(seven[4].encode())]}
    db = sqlite3.connect(store / "ledger.sqlite3")
    prev = db.execute("SELECT record_hash FROM records WHERE seq = 7").fetchone()[0]
    body = build_body(8, "timestamp", seven[3], None, prev, forged)
    db.execute("INSERT INTO records (seq, kind, subject, time, body, prev_hash, record_hash) "
               "VALUES (8, 'timestamp', NULL, ?, ?, ?, ?)",
               (seven[3], body.decode(), prev, record_hash(body)))
    db.commit()
    db.close()
    (store / "ledger.head").write_text(json.dumps({"seq": 8, "record_hash": record_hash(body)}))
    found = report(store)
    assert any(p.seq == 8 and "does not verify" in p.what for p in found.problems), found
    assert found.anchoring.anchored_through == 5
    assert check(store, capsys)[0] == 1


def test_text_changed_with_its_hash_recomputed_in_the_record(store, capsys):
    forged = "Потери: 0 человек".encode()

    def edit(seq, kind, data):
        if seq != 5:
            return data
        files = [put_object(store, forged, ".txt") | {"role": "text"} if f["role"] == "text"
                 else f for f in data["files"]]
        return {**data, "files": files, "text_sha256": hashlib.sha256(forged).hexdigest()}

    rewrite(store, edit, first=5)
    found = report(store)
    assert any(p.seq == 6 and "record 5 is not the record that was time-stamped" in p.what
               for p in found.problems), found.problems
    assert found.anchoring.anchored_through == 3  # stamp 4 still holds for records 1-3
    assert check(store, capsys)[0] == 1


def _warc_of(store, seq):
    files = json.loads(rows(store)[seq - 1][4])["data"]["files"]
    return store / next(f["path"] for f in files if f["role"] == "warc")


def _members(data):
    """The gzip members of a WARC file, each as its own bytes."""
    members, rest = [], data
    while rest:
        decompressor = zlib.decompressobj(31)
        decompressor.decompress(rest)
        used = len(rest) - len(decompressor.unused_data)
        members.append(rest[:used])
        rest = decompressor.unused_data
    return members


@pytest.mark.parametrize("how", ["re-gzipped", "members reordered"])
def test_warc_with_the_same_content_in_other_bytes_is_caught(store, capsys, how):
    path = _warc_of(store, 5)
    data = path.read_bytes()
    members = _members(data)
    assert len(members) >= 2
    if how == "re-gzipped":
        altered = gzip.compress(gzip.decompress(data), compresslevel=1, mtime=0)
        assert gzip.decompress(altered) == gzip.decompress(data)
    else:
        altered = b"".join([members[1], members[0], *members[2:]])
    assert altered != data
    path.write_bytes(altered)
    found = report(store)
    assert any(p.seq == 5 and p.what == "file was altered" for p in found.problems), found
    code, err, out = check(store, capsys)
    assert code == 1 and any("record 5" in line and "file was altered" in line
                             for line in err)


def test_object_replaced_by_a_symlink_out_of_the_store(store, tmp_path, capsys):
    """The same bytes, but outside the store (and so outside the disk handed over, and
    writable by whoever owns that file): not the stored evidence, and said as such."""
    path = _warc_of(store, 5)
    outside = tmp_path / "elsewhere.warc.gz"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    code, err, out = check(store, capsys)
    assert code == 1
    assert err == [f"provenance: record 5, {path.relative_to(store)}: file cannot be read as "
                   f"stored evidence (path '{path.relative_to(store)}' points outside the "
                   "store)"], err


def splice(store, sql, params, btree):
    """Run ``sql`` on a copy of the ledger file and copy back only the pages of ``btree``
    (one index, or the covers table's own b-tree): the table and its index then disagree,
    which no SQL statement can do but a hex editor can."""
    path = store / "ledger.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    copy = shutil.copy(path, store / "copy.sqlite3")
    db = sqlite3.connect(copy)
    db.execute("DROP TRIGGER records_are_never_updated")
    db.execute(sql, params)
    db.commit()
    pages = [row[0] for row in db.execute("SELECT pageno FROM dbstat WHERE name = ?",
                                           (btree,))]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data, forged = bytearray(path.read_bytes()), Path(copy).read_bytes()
    for page in pages:
        data[(page - 1) * size:page * size] = forged[(page - 1) * size:page * size]
    path.write_bytes(bytes(data))
    Path(copy).unlink()


def test_covers_table_edited_apart_from_its_index(store, capsys):
    """A row (record 7, stamp 6) only in the covers table's own b-tree: check read the
    index and saw none, while the query that picks records to stamp skipped record 7."""
    splice(store, "INSERT INTO covers (record_seq, stamp_seq) VALUES (7, 6)", (), "covers")
    code, err, out = check(store, capsys)
    assert code == 1 and out.startswith("DAMAGED")
    assert err[0] == ("provenance: ledger.sqlite3: the ledger file does not agree with itself "
                      "(row 5 missing from index covers_by_stamp): queries that read through "
                      "its indexes may see other records than check verified")


def test_subject_index_edited_apart_from_its_table(store, capsys):
    """Record 7 (page 65) indexed under record 5's URL: ``log URL`` listed it as a capture
    of that page, with that URL, while check, reading the table, said intact."""
    url = rows(store)[4][2]
    splice(store, "UPDATE records SET subject = ? WHERE seq = 7", (url,), "records_by_about")
    assert main(["--store", str(store), "log", url]) == 0
    assert "#7 " in capsys.readouterr().out  # what the forgery is for
    code, err, out = check(store, capsys)
    assert code == 1 and "row 7 missing from index records_by_about" in err[0]


@pytest.mark.parametrize("how", ["cut in half", "header overwritten"])
def test_damaged_ledger_file_is_damage_not_bad_input(store, capsys, how):
    """The contract: check exits 1 when the store is damaged; 2 is for a wrong command."""
    path = store / "ledger.sqlite3"
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if how == "cut in half"
                     else b"garbage garbage!" + data[16:])
    code, err, out = check(store, capsys)
    assert code == 1 and out.startswith("DAMAGED: 1 problem(s) in 0 records")
    assert out.endswith("no record could be read, so nothing is anchored")
    assert len(err) == 1 and err[0].startswith("provenance: ledger.sqlite3: the ledger cannot "
                                               "be read (")


@pytest.mark.parametrize("body", [
    # the same key twice: check (Python, orjson) reads the last, the ledger's indexes
    # (SQLite's JSON functions) the first: a witness of capture 7 to check, of 1 to queries
    '{"data":{"capture_seq":1,"capture_seq":7,"status":"archived"},"kind":"witness",'
    '"prev":"PREV","seq":8,"subject":null,"time":"2026-01-01T00:00:00Z","v":1}',
    # keys out of order and spaces: one record, many hashed spellings
    '{"v":1,"seq":8,"kind":"witness","time":"2026-01-01T00:00:00Z","subject":null,'
    '"prev":"PREV","data": {"capture_seq":7,"status":"archived"}}'],
    ids=["a key twice", "keys out of order"])
def test_record_body_that_reads_two_ways(store, capsys, body):
    db = sqlite3.connect(store / "ledger.sqlite3")
    prev = db.execute("SELECT record_hash FROM records WHERE seq = 7").fetchone()[0]
    body = body.replace("PREV", prev)
    digest = record_hash(body.encode())
    db.execute("INSERT INTO records (seq, kind, subject, time, body, prev_hash, record_hash) "
               "VALUES (8, 'witness', NULL, '2026-01-01T00:00:00Z', ?, ?, ?)",
               (body, prev, digest))
    db.commit()
    first = db.execute("SELECT json_extract(body, '$.data.capture_seq') FROM records "
                       "WHERE seq = 8").fetchone()[0]
    db.close()
    (store / "ledger.head").write_text(json.dumps({"seq": 8, "record_hash": digest}))
    assert first == (1 if '"capture_seq":1,' in body else 7)  # what the indexes read
    found = report(store)
    assert any(p.seq == 8 and "not canonical JSON" in p.what for p in found.problems), found
    assert check(store, capsys)[0] == 1


# --- altering the bundle ----------------------------------------------------------------

def entries(path):
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()
                if i.filename != "MANIFEST.sha256"}


def write_bundle(path, found, infos=None):
    """The zip rewritten with ``found`` and a MANIFEST.sha256 that agrees with it (so
    ``sha256sum -c`` passes); ``infos`` gives some entries their own zip header."""
    infos = infos or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(found):
            info = infos.get(name)
            if info is None:
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, found[name])
        archive.writestr("MANIFEST.sha256", "".join(
            f"{hashlib.sha256(found[n]).hexdigest()}  {n}\n" for n in sorted(found)))
    return path


def set_record(found, seq, kind, subject, data):
    """Write record ``seq`` (new or replaced) hash-consistently and make chain.tsv agree:
    its own line, and every later line re-linked (those records are not in the bundle)."""
    lines = found["chain.tsv"].decode().splitlines()
    header, links = lines[0], [line.split("\t") for line in lines[1:]]
    prev = next((link[2] for link in links if int(link[0]) == seq - 1), "0" * 64)
    raw = RECORD_PREFIX + build_body(seq, kind, "2026-01-01T00:00:00Z", subject, prev, data)
    found[f"records/{seq}.record"] = raw
    digest = hashlib.sha256(raw).hexdigest()
    links = [link for link in links if int(link[0]) < seq] + [[str(seq), kind, digest, prev]]
    found["chain.tsv"] = ("\n".join([header, *("\t".join(link) for link in links)]) + "\n"
                          ).encode()
    return digest


def record_data(found, seq):
    return json.loads(found[f"records/{seq}.record"][len(RECORD_PREFIX):])["data"]


def check_bundle(path, capsys, tsa_pki):
    code = main(["check", "--bundle", str(path), "--tsa-ca", str(tsa_pki.root)])
    said = capsys.readouterr()
    assert "Traceback" not in said.err
    return code, said.err.splitlines(), said.out.splitlines()


def roots(tsa_pki):
    return load_certificates(tsa_pki.root.read_bytes())


def test_genuine_bundle_is_intact(bundle, capsys, tsa_pki):
    code, err, out = check_bundle(bundle, capsys, tsa_pki)
    assert code == 0 and err == [] and out[-1].startswith("intact:"), (err, out)
    assert out[0].endswith("Z (4), chain to a root you trust"), out  # the stamp's time
    assert out[0].split(": time-stamped ")[1].startswith("20")


def test_bundle_backdated_record_stamped_today_says_when_it_is_proven(tmp_path, tsa, tsa_pki,
                                                                      capsys):
    """A capture made up today, claiming a fetch in 2022, stamped today by a TSA the reader
    trusts: intact (it did exist when stamped), but its line must say the stamp's time and
    that the claimed fetch time is not proven."""
    from provenance.bundle.export import export_bundle
    from provenance.stamps.stamping import stamp

    store = Store(tmp_path / "forger")
    with Ledger(store) as ledger:
        text = store.put_bytes("Потери: 9861 человек".encode(), role="text", suffix=".txt")
        record = ledger.append("capture", {
            "url": "http://example.org/news", "fetched_at": "2022-03-20T09:00:00Z",
            "http_status": 200, "text_sha256": text.sha256, "files": [text.to_json()]},
            subject="http://example.org/news")
        stamp(ledger, store, [record], [tsa.url], timeout=5)
        out_zip = tmp_path / "backdated.zip"
        export_bundle(ledger, store, [record.id], out_zip)
    code, err, out = check_bundle(out_zip, capsys, tsa_pki)
    assert code == 0, (err, out)
    assert out[0].endswith("chain to a root you trust; it says 2022-03-20T09:00:00Z but is "
                           "proven only from its time-stamp"), out
    assert main(["--json", "check", "--bundle", str(out_zip), "--tsa-ca",
                 str(tsa_pki.root)]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert line["claimed_at"] == "2022-03-20T09:00:00Z" and line["stamped_late"] is True
    assert line["stamped_at"] > "2022-03-21"


def test_bundle_token_moved_onto_another_record(bundle, capsys, tsa_pki):
    """Stamp 6's token (over record 5) and its record re-pointed at record 1: hash-consistent
    records, chain and manifest, and a token that signed something else."""
    found = entries(bundle)
    one = hashlib.sha256(found["records/1.record"]).hexdigest()
    set_record(found, 6, "timestamp", None, {**record_data(found, 6), "covers": [1],
                                             "leaves": [one]})
    write_bundle(bundle, found)
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert any("time-stamp 6: the token does not verify" in p for p in checked.problems)
    assert {r.seq: r.anchor.value for r in checked.evidence}[5] == "none"
    code, err, out = check_bundle(bundle, capsys, tsa_pki)
    assert code == 1 and out[-1].startswith("DAMAGED")


@pytest.mark.parametrize("how", ["re-gzipped", "members reordered"])
def test_bundle_warc_in_other_bytes_with_the_manifest_fixed(bundle, capsys, tsa_pki, how):
    found = entries(bundle)
    name = next(f["path"] for f in record_data(found, 5)["files"] if f["role"] == "warc")
    data = found[name]
    members = _members(data)
    found[name] = (gzip.compress(gzip.decompress(data), compresslevel=1, mtime=0)
                   if how == "re-gzipped" else b"".join([members[1], members[0], *members[2:]]))
    write_bundle(bundle, found)
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert checked.problems == [f"{name}: not the file record 5 (capture) names"]
    assert check_bundle(bundle, capsys, tsa_pki)[0] == 1


@pytest.mark.parametrize("name", ["../evil.txt", "objects/../records/9.record", "/etc/evil",
                                  "./VERIFY.md", "objects/ab/x\n.txt", "objects\\ab\\x.txt"])
def test_bundle_entry_name_outside_or_not_plain(bundle, capsys, tsa_pki, name):
    found = entries(bundle)
    found[name] = b"planted"
    write_bundle(bundle, found)
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert f"{name!r}: not a plain relative path inside the bundle" in checked.problems
    code, err, out = check_bundle(bundle, capsys, tsa_pki)
    assert code == 1 and all(line.startswith("provenance: ") for line in err)


def test_bundle_file_replaced_by_a_symlink(bundle, capsys, tsa_pki):
    """The entry's bytes are still the text (so the hashes agree), but its header makes
    ``unzip`` create a symbolic link: the folder a reader checks is not what was checked."""
    found = entries(bundle)
    name = next(f["path"] for f in record_data(found, 5)["files"] if f["role"] == "text")
    link = zipfile.ZipInfo(name)
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    write_bundle(bundle, found, {name: link})
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert any(p.startswith(f"{name}: not a plain file") for p in checked.problems)
    assert check_bundle(bundle, capsys, tsa_pki)[0] == 1


@pytest.mark.parametrize("fold", ["case", "unicode form"])
def test_bundle_names_that_are_one_file_where_case_or_form_is_ignored(bundle, capsys,
                                                                      tsa_pki, fold):
    """A statement record (no stamp needed) names a second copy of a WARC whose name differs
    only in case (or Unicode form): unzip on macOS or Windows keeps one of the two."""
    found = entries(bundle)
    name = next(f["path"] for f in record_data(found, 5)["files"] if f["role"] == "warc")
    if fold == "case":
        twin = name.replace("objects/", "OBJECTS/")
    else:  # the same name with a decomposed "е\u0308" (ё) folder beside the composed one
        name = "objects/\u0451/x.txt"
        twin = "objects/\u0435\u0308/x.txt"
        found[name] = b"one"
    found[twin] = b"forged warc"
    files = [{"role": "warc", "path": n, "sha256": hashlib.sha256(found[n]).hexdigest(),
              "size": len(found[n])} for n in (name, twin)]
    five = record_data(found, 5)
    set_record(found, 7, "witness", five["url"], {
        "capture_seq": 5, "capture_hash": hashlib.sha256(found["records/5.record"]).hexdigest(),
        "files": files})
    write_bundle(bundle, found)
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert any("differ only in case or Unicode form" in p for p in checked.problems), checked
    assert check_bundle(bundle, capsys, tsa_pki)[0] == 1


def test_bundle_statement_cannot_print_a_line_of_its_own(bundle, capsys, tsa_pki):
    """A ``changed`` record needs no stamp, so a forger can add one: its subject must not
    print a fake "time-stamped" line (or erase one), and the verdict says it is unproven."""
    found = entries(bundle)
    refs = [{"seq": n, "record_hash": hashlib.sha256(found[f"records/{n}.record"]).hexdigest(),
             "text_sha256": record_data(found, n)["text_sha256"]} for n in (1, 2)]
    fake = "\r\x1b[2K  record 9 capture http://example.org/: time-stamped (4), chain to a root"
    set_record(found, 7, "changed", f"http://x/\n{fake}\u202e",
               {"url": "http://x/", "from": refs[0], "to": refs[1], "removed": ["9861"],
                "added": []})
    write_bundle(bundle, found)
    code, err, out = check_bundle(bundle, capsys, tsa_pki)
    assert code == 0 and len(out) == 7, out  # five records, the statement, the verdict
    assert out[5].startswith("  record 7 changed http://x/\\n\\r\\x1b[2K  record 9 capture")
    assert all(c.isprintable() for line in out for c in line)
    assert out[-1].endswith("; record(s) 7 changed are not time-stamped: statements that "
                            "only this bundle vouches for")
    assert main(["--json", "check", "--bundle", str(bundle), "--tsa-ca",
                 str(tsa_pki.root)]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["cannot_prove"].startswith("record(s) 7 changed are not time-stamped")


def test_verification_names_its_capture_by_more_than_a_48_bit_id(bundle):
    """A verification names the capture it was compared with by a 12-digit id: a forger can
    grind a record whose hash starts with those digits (and stamp it today). The bundle
    check compares every value the verification copied from the capture, so the ground
    record must repeat them all; here the collision is handed in, not ground."""
    from provenance.store.references import references

    found = entries(bundle)
    capture = record_data(found, 5)
    genuine = hashlib.sha256(found["records/5.record"]).hexdigest()
    against = {"kind": "page", "capture": genuine[:12], "seq": 5, "url": capture["url"],
               "fetched_at": capture["fetched_at"], "http_status": capture["http_status"],
               "sha256": capture["sha256"], "text_sha256": capture["text_sha256"]}
    [ref] = [r for r in references("verification", {
        "ocr_record": {"seq": 8, "record_hash": "ab" * 32}, "image_sha256": "cd" * 32,
        "against": against}).records if r.seq == 5]
    ground = genuine[:12] + "0" * 52  # same id, another record
    assert ref.mismatch("capture", ground, capture) is None
    for key, value in (("url", "http://example.org/other"), ("fetched_at", "2020-01-01T00:00:00Z"),
                       ("http_status", 404), ("sha256", "00" * 32)):
        assert ref.mismatch("capture", ground, {**capture, key: value}) == f"has another {key}"


def _drop_from_directory(data, name):
    """The zip ``data`` with the first central-directory record of ``name`` left out: its
    local entry stays in the file, where only a tool reading from the start finds it."""
    import struct

    end = len(data) - 22
    count, _, length, offset = struct.unpack_from("<HHII", data, end + 8)
    kept, at, dropped = [], offset, False
    while at < offset + length:
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, at + 28)
        size = 46 + name_length + extra_length + comment_length
        if data[at + 46:at + 46 + name_length] == name.encode() and not dropped:
            dropped = True
        else:
            kept.append(data[at:at + size])
        at += size
    directory = b"".join(kept)
    return (data[:offset] + directory + data[end:end + 8]
            + struct.pack("<HHII", count - 1, count - 1, len(directory), offset) + b"\0\0")


@pytest.mark.parametrize("how", ["a forged zip in front", "an entry left out of the directory",
                                 "a comment after the end"])
def test_bundle_with_bytes_no_entry_accounts_for(bundle, capsys, tsa_pki, how):
    """``unzip`` reads the genuine bundle from the directory at the end; a tool that reads
    the zip from its start reads the forged record first."""
    import io
    import warnings

    genuine = bundle.read_bytes()
    if how == "a forged zip in front":
        front = io.BytesIO()
        with zipfile.ZipFile(front, "w") as archive:
            archive.writestr("records/5.record", b"forged")
        bundle.write_bytes(front.getvalue() + genuine)
    elif how == "an entry left out of the directory":
        found = entries(bundle)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the duplicate name, on purpose
            with zipfile.ZipFile(bundle, "w") as archive:
                archive.writestr("records/5.record", b"forged")
                for name in sorted(found):
                    archive.writestr(name, found[name])
                archive.writestr("MANIFEST.sha256", "".join(
                    f"{hashlib.sha256(found[n]).hexdigest()}  {n}\n" for n in sorted(found)))
        bundle.write_bytes(_drop_from_directory(bundle.read_bytes(), "records/5.record"))
        with zipfile.ZipFile(bundle) as archive:  # what unzip and Python see: genuine
            assert archive.read("records/5.record") == found["records/5.record"]
    else:
        bundle.write_bytes(genuine[:-2] + b"\x06\x00" + b"PK\x05\x06")
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert len(checked.problems) == 1 and "zip" in checked.problems[0], checked.problems
    code, err, out = check_bundle(bundle, capsys, tsa_pki)
    assert code == 1 and out[-1].startswith("DAMAGED") and len(err) == 1


@pytest.mark.parametrize("how", ["root swapped", "root removed", "data added"])
def test_bundle_copies_given_to_openssl_are_the_stamps_own(bundle, capsys, tsa_pki,
                                                           tmp_path_factory, how):
    """VERIFY.md runs ``openssl ts -verify`` on ``timestamps/<seq>.*``: another root there
    makes a reader's check of a genuine bundle fail (or pass under the forger's root), and
    a ``.data`` beside a stamp over one record is a file that no record accounts for."""
    from tsaserver import make_pki

    found = entries(bundle)
    if how == "root swapped":
        found["timestamps/6.root.pem"] = make_pki(tmp_path_factory.mktemp("other")
                                                  ).root.read_bytes()
    elif how == "root removed":
        del found["timestamps/6.root.pem"]
    else:
        found["timestamps/6.data"] = found["records/5.record"]
    write_bundle(bundle, found)
    checked = verify_bundle(bundle, roots(tsa_pki))
    expected = {"root swapped": "timestamps/6.root.pem: not the certificates time-stamp 6 "
                                "names (the file VERIFY.md gives to openssl)",
                "root removed": "timestamps/6.root.pem: missing from the bundle",
                "data added": "timestamps/6.data: belongs to no record in the bundle"}[how]
    assert checked.problems == [expected], checked.problems
    assert check_bundle(bundle, capsys, tsa_pki)[0] == 1


def _edit_verify_md(bundle, change):
    found = entries(bundle)
    before = found["VERIFY.md"].decode()
    found["VERIFY.md"] = change(before).encode()
    assert found["VERIFY.md"].decode() != before
    write_bundle(bundle, found)


@pytest.mark.parametrize("how", ["openssl pointed at other data", "a command added",
                                 "a stamp's command removed", "another CA file"])
def test_bundle_verify_md_commands_are_the_bundles_own(bundle, capsys, tsa_pki, how):
    """A court runs VERIFY.md's commands: whoever edits it edits what the court checks."""
    line = "openssl ts -verify -in timestamps/6.tsr -data records/5.record"
    if how == "openssl pointed at other data":
        def change(text):
            return text.replace(line, line.replace("records/5.record", "records/1.record"))
        said = "does not check a time-stamp of this bundle over the data it signed"
    elif how == "a command added":
        def change(text):
            return text.replace("sha256sum -c MANIFEST.sha256\n",
                                "sha256sum -c MANIFEST.sha256 || true\n")
        said = "'sha256sum -c MANIFEST.sha256 || true' is not a command this bundle gives"
    elif how == "a stamp's command removed":
        def change(text):
            return "\n".join(t for t in text.splitlines() if not t.startswith(line))
        said = "lacks the openssl command for time-stamp 6"
    else:
        def change(text):
            return text.replace("-CAfile timestamps/6.root.pem", "-CAfile /etc/ssl/evil.pem")
        said = "does not check a time-stamp of this bundle"
    _edit_verify_md(bundle, change)
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert any(said in p for p in checked.problems), checked.problems
    assert all(p.startswith("VERIFY.md: ") for p in checked.problems), checked.problems
    assert check_bundle(bundle, capsys, tsa_pki)[0] == 1


def test_bundle_verify_md_curl_line_pointed_at_another_copy(tmp_path, capsys, tsa, tsa_pki,
                                                            web, ia_env):
    """The witness archive's copy is the one check the court makes over the network: a
    curl line pointed at the forger's own copy (with its hash) would 'agree'."""
    store = str(tmp_path / "store")
    assert main(["--store", store, "-q", "archive", web.url("/page/66"), "--to", "ia",
                 "--tsa", tsa.url]) == 0
    out_zip = tmp_path / "witnessed.zip"
    assert main(["--store", store, "-q", "export", "1", "--out", str(out_zip)]) == 0
    capsys.readouterr()
    assert check_bundle(out_zip, capsys, tsa_pki)[0] == 0
    _edit_verify_md(out_zip, lambda text: re.sub(
        r"curl -s --compressed '[^']*' \| sha256sum   # expect [0-9a-f]{64}",
        f"curl -s --compressed 'http://127.0.0.1:9/copy' | sha256sum   # expect {'ab' * 32}",
        text))
    checked = verify_bundle(out_zip, roots(tsa_pki))
    assert any("http://127.0.0.1:9/copy" in p and "is not a command this bundle gives" in p
               for p in checked.problems), checked.problems
    assert any(p.startswith("VERIFY.md: lacks the curl command for the witness copy ")
               for p in checked.problems)
    assert check_bundle(out_zip, capsys, tsa_pki)[0] == 1


def test_bundle_manifest_lines_split_where_sha256sum_does_not(bundle, capsys, tsa_pki):
    """Python's splitlines() also splits at \\x1c (and \\x85, \\u2028...): a manifest joined
    with one reads as every line here, and as one line with no such file to sha256sum -c,
    so a reader's check of a genuine bundle would fail while this one said intact."""
    found = entries(bundle)
    with zipfile.ZipFile(bundle) as archive:
        manifest = archive.read("MANIFEST.sha256")
    lines = manifest.decode().splitlines()
    joined = ("\x1c".join(lines[:2]) + "\n" + "\n".join(lines[2:]) + "\n").encode()
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(found):
            archive.writestr(name, found[name])
        archive.writestr("MANIFEST.sha256", joined)
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert "MANIFEST.sha256: line 1 is not '<sha256>  <file>'" in checked.problems, checked
    assert check_bundle(bundle, capsys, tsa_pki)[0] == 1


def test_bundle_chain_lines_split_where_a_reader_does_not(bundle, tsa_pki):
    found = entries(bundle)
    lines = found["chain.tsv"].decode().splitlines()
    found["chain.tsv"] = ("\n".join([lines[0], "\x1c".join(lines[1:3]), *lines[3:]]) + "\n"
                          ).encode()
    write_bundle(bundle, found)
    checked = verify_bundle(bundle, roots(tsa_pki))
    assert any(p.startswith("chain.tsv: line 2 is not") for p in checked.problems), checked


def test_log_and_show_print_a_forged_subject_on_its_own_line(store, capsys):
    """A record a forger appended (check names it; log and show print it) must not print a
    line of its own through a newline, a carriage return, a cursor move or a right-to-left
    override in its subject or data: a fake "time-stamped" line, or one erased."""
    fake = "\r\x1b[2K#1     0123456789ab  2022-03-21T18:00:00Z  capture      http://x/  ok"
    with Ledger(Store(str(store))) as ledger:
        seq = ledger.append("changed", {"url": f"http://x/\n{fake}", "note": "a\u202eb\nc"},
                            subject=f"http://x/\n{fake}\u202e").seq
    assert main(["--store", str(store), "log"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == seq and all(line.isprintable() for line in out), out
    assert "\\n\\r\\x1b[2K#1" in out[-1] and "\\u202e" in out[-1]
    assert main(["--store", str(store), "show", str(seq)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert all(line.isprintable() for line in shown), shown
    assert not any(line.startswith(("#1", "\r")) for line in shown)
