"""Files written outside the store: only where a user may mean one, whole or not at all.

Each case is made for real (as root in CI): a symbolic link, a FIFO, a device node made
with ``os.mknod``, a socket, a folder, an existing file, a missing folder and a full disk
(a 64 KiB tmpfs). After a refusal or a failure the target is exactly as it was and no
temporary file is left.
"""

from __future__ import annotations

import os
import socket
import stat

import pytest
from fullfs import full_tmpfs, leftovers

from provenance.errors import OutputError, UsageError
from provenance.store.atomic import atomic_output, check_target, write_atomic


def test_a_new_file_is_written_whole(tmp_path):
    target = tmp_path / "r.html"
    assert write_atomic(target, b"report") == str(target)
    assert target.read_bytes() == b"report" and leftovers(tmp_path) == []


def test_an_existing_file_is_replaced_only_with_force(tmp_path):
    target = tmp_path / "r.html"
    target.write_bytes(b"old")
    with pytest.raises(OutputError, match="refusing to overwrite .*--force"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []
    write_atomic(target, b"new", force=True)
    assert target.read_bytes() == b"new" and leftovers(tmp_path) == []


@pytest.mark.parametrize("force", [False, True])
def test_a_symlink_is_refused_and_what_it_points_at_untouched(tmp_path, force):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "precious.txt"
    victim.write_bytes(b"precious")
    link = tmp_path / "r.html"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        write_atomic(link, b"report", force=force)
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert victim.read_bytes() == b"precious" and leftovers(tmp_path) == []
    dangling = tmp_path / "d.html"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="symbolic link"):
        write_atomic(dangling, b"report", force=force)
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("force", [False, True])
def test_a_fifo_is_refused_without_blocking(tmp_path, force):
    fifo = tmp_path / "r.html"
    os.mkfifo(fifo)
    # A reader is open, so a writer that opened the FIFO would not block but leave bytes.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OutputError, match="FIFO"):
            write_atomic(fifo, b"report", force=force)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        assert os.read(reader, 100) == b""  # nothing was written into it
    finally:
        os.close(reader)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("force", [False, True])
def test_a_device_node_is_refused(tmp_path, force):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("os.mknod needs root")
    with pytest.raises(OutputError, match="character device"):
        write_atomic(device, b"report", force=force)
    info = os.lstat(device)
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(1, 3)
    assert leftovers(tmp_path) == []


def test_a_socket_and_a_folder_are_refused(tmp_path):
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(OutputError, match="socket"):
            write_atomic(path, b"report", force=True)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    with pytest.raises(OutputError, match="folder"):
        write_atomic(tmp_path, b"report", force=True)
    assert leftovers(tmp_path) == []


def test_a_missing_folder_is_never_created(tmp_path):
    target = tmp_path / "no" / "such" / "r.html"
    with pytest.raises(OutputError, match=f"folder {tmp_path / 'no' / 'such'} does not exist"):
        write_atomic(target, b"report", force=True)
    assert not (tmp_path / "no").exists()


def test_refusals_are_usage_errors_exit_2(tmp_path):
    (tmp_path / "r").write_bytes(b"old")
    with pytest.raises(UsageError) as caught:
        check_target(tmp_path / "r")
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path):
    """The target is checked again when the file is published, and without --force the
    publishing itself (link) fails if anything is there, so a race cannot slip past."""
    target = tmp_path / "r.html"
    with pytest.raises(OutputError, match="refusing to overwrite"):
        with atomic_output(target) as handle:
            handle.write(b"report")
            target.write_bytes(b"someone else's")
    assert target.read_bytes() == b"someone else's" and leftovers(tmp_path) == []
    target.unlink()
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    with pytest.raises(OutputError, match="symbolic link"):
        with atomic_output(target, force=True) as handle:
            handle.write(b"report")
            target.symlink_to(victim)
    assert target.is_symlink() and victim.read_bytes() == b"precious"
    assert leftovers(tmp_path) == []


def test_an_error_in_the_block_leaves_nothing(tmp_path):
    target = tmp_path / "r.zip"
    with pytest.raises(KeyError):
        with atomic_output(target) as handle:
            handle.write(b"half")
            raise KeyError("boom")
    assert not target.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("size", [10, 200_000])
def test_a_full_disk_is_one_line_and_leaves_the_target_untouched(tmp_path, size):
    with full_tmpfs(tmp_path / "full", {"r.html": b"old report"}) as full:
        for force in (True, False):
            target = full / ("r.html" if force else "new.html")
            with pytest.raises(OutputError) as caught:
                write_atomic(target, b"x" * size, force=force)
            message = str(caught.value)
            assert "No space left on device" in message and "\n" not in message
            assert caught.value.exit_code == 2
            assert leftovers(full) == []
        assert (full / "r.html").read_bytes() == b"old report"
        assert not (full / "new.html").exists()
