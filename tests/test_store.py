"""The store: content addressing, atomic writes, refusing unusable paths."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.check import check_store
from provenance.errors import StoreError
from provenance.store.filestore import Store, resolve_store_path
from provenance.store.hashing import sha256_bytes, sha256_file, sha256_stream
from provenance.store.ledger import Ledger


def test_put_bytes_is_content_addressed_and_read_only(tmp_path):
    store = Store(tmp_path / "ev")
    first = store.put_bytes(b"9 861", role="text", suffix=".txt")
    again = store.put_bytes(b"9 861", role="text", suffix=".txt")
    assert first == again
    assert first.sha256 == sha256_bytes(b"9 861")
    path = store.path(first.path)
    assert path.read_bytes() == b"9 861"
    assert not path.stat().st_mode & stat.S_IWUSR
    assert list(store.tmp.iterdir()) == []


def test_put_stream_matches_put_bytes(tmp_path):
    store = Store(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 7)
    streamed = store.put_stream(io.BytesIO(data), role="blob")
    assert streamed.sha256 == sha256_bytes(data)
    assert streamed.size == len(data)
    assert sha256_file(store.path(streamed.path)) == streamed.sha256


def test_store_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "afile"
    target.write_text("not a folder")
    with pytest.raises(StoreError, match="is a file"):
        Store(target)
    assert target.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_store_is_refused(tmp_path):  # pragma: no cover - CI runs as root
    tmp_path.chmod(0o500)
    with pytest.raises(StoreError):
        Store(tmp_path / "ev")


def test_unwritable_store_parent_is_refused(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        Store(blocker / "inside")


def test_path_cannot_escape_the_store(tmp_path):
    store = Store(tmp_path / "ev")
    with pytest.raises(StoreError):
        store.path("../../etc/passwd")


def test_stale_temp_files_are_cleaned_but_fresh_ones_kept(tmp_path):
    store = Store(tmp_path)
    old = store.tmp / "old.partial"
    old.write_bytes(b"half")
    os.utime(old, (1, 1))
    fresh = store.tmp / "fresh.partial"
    fresh.write_bytes(b"in flight")
    assert store.clean_temp() == 1
    assert not old.exists() and fresh.exists()


def test_store_location_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("PROVENANCE_STORE", str(tmp_path / "env"))
    assert resolve_store_path(None) == tmp_path / "env"
    assert resolve_store_path(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("PROVENANCE_STORE")
    assert str(resolve_store_path(None)) == "evidence"


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=5000), chunk=st.integers(min_value=1, max_value=4096))
def test_hash_does_not_depend_on_chunk_size(data, chunk):
    assert sha256_stream(io.BytesIO(data), chunk)[0] == sha256_bytes(data)


@pytest.mark.parametrize("put", ["bytes", "stream"])
def test_storing_the_same_bytes_repairs_an_altered_object_and_keeps_the_damage(tmp_path, put):
    """The name says what the bytes must be: an altered object is put right, the altered
    copy kept in damaged/ for whoever investigates, and nothing is deleted."""
    store = Store(tmp_path / "ev")
    stored = store.put_bytes(b"9 861 killed", role="text", suffix=".txt")
    path = store.path(stored.path)
    path.chmod(0o644)
    path.write_bytes(b"9 881 killed")
    if put == "bytes":
        store.put_bytes(b"9 861 killed", role="text", suffix=".txt")
    else:
        store.put_stream(io.BytesIO(b"9 861 killed"), role="text", suffix=".txt")
    assert path.read_bytes() == b"9 861 killed"
    assert [p.read_bytes() for p in (store.root / "damaged").iterdir()] == [b"9 881 killed"]
    store.put_bytes(b"9 861 killed", role="text", suffix=".txt")  # intact: nothing moves
    assert len(list((store.root / "damaged").iterdir())) == 1
    with Ledger(store) as ledger:  # restored, but the tampering stays visible to check
        [problem] = check_store(store, ledger).problems
    assert problem.expected == stored.sha256 and problem.path.startswith("damaged/")


# --- issue 9: a write-protected store can be read; a full disk is said plainly ---------------

@contextlib.contextmanager
def mounted(args, target):
    """Mount something at ``target`` for the block (root only; skips if mount is refused)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a filesystem needs root (CI runs as root)")
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount refused here: {done.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def archived_store(root, web):
    from provenance.cli.main import main

    assert main(["--store", str(root), "archive", web.url("/ru/utf8"), "--to", "none",
                 "--tsa", "none"]) == 0
    return root


def reading_commands(store, tmp_path, capsys):
    """check, log, history and export on ``store``: each must work and write nothing there."""
    from provenance.cli.main import main

    out = tmp_path / "bundle.zip"
    codes = {
        "check": main(["--store", str(store), "check"]),
        "log": main(["--store", str(store), "log"]),
        "history": main(["--store", str(store), "history", "http://127.0.0.1:1/none",
                         "--to", "none"]),
        "export": main(["--store", str(store), "export", "1", "--out", str(out)]),
    }
    err = capsys.readouterr().err
    assert "not writable" not in err and "Traceback" not in err, err
    assert codes == {"check": 0, "log": 0, "history": 1, "export": 0}, err
    assert out.exists()


def test_reading_commands_work_on_a_read_only_mount(tmp_path, web, capsys):
    """A write-protected disk handed over as evidence: root cannot write there either."""
    store = archived_store(tmp_path / "ev", web)
    before = sorted(p.name for p in store.rglob("*"))
    view = tmp_path / "ro"
    view.mkdir()
    with mounted(["--bind", "-o", "ro", str(store)], view):
        if os.access(view, os.W_OK):
            pytest.skip("the bind mount is not read-only here")
        reading_commands(view, tmp_path, capsys)
    assert sorted(p.name for p in store.rglob("*")) == before


def test_reading_commands_work_on_a_store_with_write_permission_removed(tmp_path, web, capsys):
    store = archived_store(tmp_path / "ev", web)
    before = sorted(p.name for p in store.rglob("*"))
    folders = [store, *[p for p in store.rglob("*") if p.is_dir()]]
    for folder in folders:
        folder.chmod(0o555)
    try:
        reading_commands(store, tmp_path, capsys)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert sorted(p.name for p in store.rglob("*")) == before


def test_read_only_store_refuses_writes(tmp_path):
    Store(tmp_path / "ev").put_bytes(b"x", role="text")
    store = Store(tmp_path / "ev", create=False, writable=False)
    with pytest.raises(StoreError, match="read-only"):
        store.put_bytes(b"y", role="text")


def test_opening_read_only_refuses_what_is_not_a_store(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match="not a provenance store"):
        Store(tmp_path, create=False, writable=False)
    with pytest.raises(StoreError, match="no evidence store"):
        Store(tmp_path / "none", writable=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def fill(folder, leave):
    """Fill the disk holding ``folder`` until only ``leave`` bytes are free; the filler."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, b"\0" * max(0, free - leave))
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("leave", range(0, 64 * 1024, 4096))
def test_archive_on_a_full_disk_says_so_and_leaves_nothing_half_written(tmp_path, web, capsys,
                                                                        leave):
    """Whatever runs out of room first (the ledger's log, a WARC, the head), the user reads
    "disk full" in one line, and the store stays intact once room is made."""
    from provenance.cli.main import main

    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted(["-t", "tmpfs", "-o", "size=2m", "tmpfs"], disk):
        store = archived_store(disk / "ev", web)
        filler = fill(disk, leave)
        code = main(["--store", str(store), "archive", web.url("/ru/cp1251"),
                     web.url("/ru/koi8"), "--to", "none", "--tsa", "none"])
        err = capsys.readouterr().err
        assert "Traceback" not in err and "rollback" not in err
        if code != 0:
            assert code == 2 and "disk full" in err, err
        assert list((store / "tmp").iterdir()) == []
        filler.unlink()
        assert main(["--store", str(store), "check"]) == 0, capsys.readouterr()


def test_ocr_on_a_full_disk_says_so(tmp_path, capsys):
    from PIL import Image

    from provenance.cli.main import main

    image = tmp_path / "noise.png"
    Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)).save(image)
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted(["-t", "tmpfs", "-o", "size=2m", "tmpfs"], disk):
        from provenance.store.ledger import Ledger

        store = Store(disk / "ev")
        Ledger(store).append("note", {"text": "first"})
        filler = fill(disk, image.stat().st_size // 2)
        assert main(["--store", str(store.root), "ocr", str(image), "--tsa", "none"]) == 2
        err = capsys.readouterr().err
        assert "disk full" in err and "Traceback" not in err
        assert list(store.tmp.iterdir()) == [] and not any(store.objects.rglob("*.png"))
        filler.unlink()
        assert main(["--store", str(store.root), "check"]) == 0


def test_ledger_write_on_a_full_disk_is_one_clear_error(tmp_path):
    """SQLite rolls back by itself on a full disk: no "no transaction is active"."""
    from provenance.errors import LedgerError
    from provenance.store.ledger import Ledger

    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], disk):
        store = Store(disk / "ev")
        with Ledger(store) as ledger:
            ledger.append("note", {"text": "first"})
            filler = fill(disk, 0)
            with pytest.raises(LedgerError, match="disk full") as raised:
                for _ in range(100):
                    ledger.append("note", {"text": "x" * 20_000})
            assert "nothing was recorded" in str(raised.value)
            count = ledger.count()
        filler.unlink()
        with Ledger(store, writable=False) as reread:
            assert reread.count() == count
            report = check_store(store, reread)
        assert report.intact, report.problems


def test_read_verified_is_the_one_way_to_read_evidence_back(tmp_path):
    """A file is returned only if its bytes still hash to what the record says: a forger who
    edits a stored text (or swaps the record's path for another file) gets an error."""
    store = Store(tmp_path / "s")
    entry = store.put_bytes("Убито 9 861".encode(), role="text", suffix=".txt").to_json()
    other = store.put_bytes(b"other", role="text", suffix=".txt").to_json()
    assert store.read_verified(entry) == "Убито 9 861".encode()
    with pytest.raises(StoreError, match="altered"):
        store.read_verified({**entry, "path": other["path"]})
    with pytest.raises(StoreError, match="larger"):
        store.read_verified(entry, limit=4)
    with pytest.raises(StoreError, match="outside"):
        store.read_verified({**entry, "path": "../../etc/passwd"})
    path = store.path(str(entry["path"]))
    path.chmod(0o644)
    path.write_bytes("Убито 9 881".encode())
    with pytest.raises(StoreError, match="altered"):
        store.read_verified(entry)
    path.unlink()
    with pytest.raises(StoreError, match="cannot read"):
        store.read_verified(entry)
    with pytest.raises(StoreError):
        store.read_verified({"path": entry["path"]})  # no hash: nothing to check against


def test_record_file_finds_a_file_by_role(tmp_path):
    store = Store(tmp_path / "s")
    entry = store.put_bytes(b"x", role="text", suffix=".txt").to_json()
    with Ledger(store) as ledger:
        record = ledger.append("capture", {"files": [entry]}, subject="https://example.org/")
    assert record.file("text") == entry and record.file("warc") is None
