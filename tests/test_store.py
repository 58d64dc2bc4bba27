"""The store: content addressing, atomic writes, refusing unusable paths."""

from __future__ import annotations

import io
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.check import check_store
from provenance.errors import StoreError
from provenance.hashing import sha256_bytes, sha256_file, sha256_stream
from provenance.ledger import Ledger
from provenance.store import Store, resolve_store_path


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
