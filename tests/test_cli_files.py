"""``--report``, ``--annotate`` and ``export --out`` through the command line.

Every command that writes a file outside the store takes the same rules (README, "Files
the commands write"): a missing folder, a symbolic link, a FIFO, a device node, a socket
and a folder are refused; an existing file is replaced only with ``--force``; a full disk
is one line. Each refusal is exit 2 with one line on stderr, before any work is done, and
the target is left exactly as it was.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from evalset import find_font
from fullfs import full_tmpfs, leftovers
from PIL import Image, ImageDraw, ImageFont
from webfixtures import send

from provenance.cli.main import main

TEXT = "The ministry reported 9 861 casualties in the region last year."


@pytest.fixture(scope="module")
def setup(tmp_path_factory, web):
    """A store with one capture of a loopback page, and a screenshot of the same text."""
    folder = tmp_path_factory.mktemp("files")
    body = f"<html><body><article><p>{TEXT}</p></article></body></html>".encode()
    web.add_route("/files/page", lambda h: send(h, 200, body, content_type="text/html"))
    url = web.url("/files/page")
    store = str(folder / "ev")
    assert main(["--json", "--store", store, "archive", url, "--to", "none",
                 "--tsa", "none"]) == 0
    font = ImageFont.truetype(find_font(), 22)
    image = Image.new("RGB", (int(font.getlength(TEXT)) + 60, 80), "white")
    ImageDraw.Draw(image).text((30, 25), TEXT, font=font, fill="black")
    shot = str(folder / "shot.png")
    image.save(shot)
    return {"store": store, "url": url, "shot": shot}


def _verify_report(s, target):
    return ["verify", s["shot"], "--text", TEXT, "--tsa", "none", "--report", target]


def _verify_annotate(s, target):
    return ["verify", s["shot"], "--text", TEXT, "--tsa", "none", "--annotate", target]


def _history_report(s, target):
    return ["history", s["url"], "--to", "none", "--report", target]


def _export_out(s, target):
    return ["export", "1", "--out", target]


COMMANDS = [_verify_report, _verify_annotate, _history_report, _export_out]


def run(capsys, setup, command, target, *extra):
    code = main(["--store", setup["store"], *command(setup, str(target)), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err.strip().splitlines()


def refused(capsys, setup, command, target, *words, extra=("--force",)):
    for flags in ((), extra):
        code, lines = run(capsys, setup, command, target, *flags)
        assert code == 2 and len(lines) == 1, lines
        for word in words:
            assert word in lines[0], lines


@pytest.mark.parametrize("command", COMMANDS)
def test_an_existing_file_needs_force(capsys, setup, command, tmp_path):
    target = tmp_path / "out.file"
    target.write_bytes(b"old")
    code, lines = run(capsys, setup, command, target)
    assert code == 2 and len(lines) == 1 and "--force" in lines[0], lines
    assert target.read_bytes() == b"old"
    code, _ = run(capsys, setup, command, target, "--force")
    assert code == 0 and target.read_bytes() != b"old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_new_file_is_written(capsys, setup, command, tmp_path):
    target = tmp_path / "new.file"
    assert run(capsys, setup, command, target)[0] == 0
    assert target.stat().st_size > 0 and leftovers(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_symlink_is_refused_and_its_target_untouched(capsys, setup, command, tmp_path):
    victim = tmp_path / "elsewhere" / "precious.txt"
    victim.parent.mkdir()
    victim.write_bytes(b"precious")
    link = tmp_path / "out.file"
    link.symlink_to(victim)
    refused(capsys, setup, command, link, "symbolic link")
    assert link.is_symlink() and victim.read_bytes() == b"precious"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_is_refused_without_blocking(capsys, setup, command, tmp_path):
    fifo = tmp_path / "out.file"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so a writer could not hang us
    try:
        refused(capsys, setup, command, fifo, "FIFO")
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_device_node_is_refused(capsys, setup, command, tmp_path):
    device = tmp_path / "full"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # what /dev/full is
    except PermissionError:
        pytest.skip("os.mknod needs root")
    refused(capsys, setup, command, device, "character device")
    info = os.lstat(device)
    assert stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(1, 7)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_and_a_missing_folder_are_usage_errors(capsys, setup, command, tmp_path):
    refused(capsys, setup, command, tmp_path, "folder")
    missing = tmp_path / "no" / "such"
    refused(capsys, setup, command, missing / "out.file", f"folder {missing} does not exist")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_is_one_line_and_leaves_nothing(capsys, setup, command, tmp_path):
    with full_tmpfs(tmp_path / "full", {"old.file": b"old"}) as full:
        for name, flags in (("old.file", ("--force",)), ("new.file", ())):
            code, lines = run(capsys, setup, command, full / name, *flags)
            assert code == 2 and len(lines) == 1, lines
            assert "No space left on device" in lines[0]
            assert leftovers(full) == []
        assert (full / "old.file").read_bytes() == b"old"
        assert not (full / "new.file").exists()


def test_refusal_comes_before_any_work(capsys, setup, tmp_path):
    """A refused --report costs nothing: no verification is recorded."""
    target = tmp_path / "r.html"
    target.write_bytes(b"old")
    main(["--json", "--store", setup["store"], "log"])
    before = capsys.readouterr().out.count("\n")
    assert run(capsys, setup, _verify_report, target)[0] == 2
    main(["--json", "--store", setup["store"], "log"])
    assert capsys.readouterr().out.count("\n") == before


def test_force_is_in_every_writing_commands_help(capsys):
    for command in ("verify", "history", "export"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--force" in capsys.readouterr().out


def test_report_json_names_the_file(capsys, setup, tmp_path):
    target = tmp_path / "r.html"
    assert main(["--json", "--store", setup["store"], *_verify_report(setup, str(target))]) == 0
    item = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert item["report"] == str(target) and Path(target).read_text("utf-8").startswith("<!")


def test_never_over_its_own_input_or_into_the_store_even_with_force(capsys, setup, tmp_path):
    shot = Path(setup["shot"])
    before = shot.read_bytes()
    for option in ("--annotate", "--report"):
        code = main(["--store", setup["store"], "verify", str(shot), "--text", TEXT, "--tsa",
                     "none", option, str(shot), "--force"])
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "the input" in lines[0], lines
    assert shot.read_bytes() == before
    ledger_files = [p for p in Path(setup["store"]).rglob("*") if p.is_file()]
    assert ledger_files
    for inside in (ledger_files[0], Path(setup["store"]) / "new.html"):
        saved = inside.read_bytes() if inside.exists() else None
        for command in COMMANDS:
            code, lines = run(capsys, setup, command, inside, "--force")
            assert code == 2 and len(lines) == 1 and "inside the evidence store" in lines[0]
        assert (inside.read_bytes() if inside.exists() else None) == saved


def test_annotate_and_report_must_be_two_files(capsys, setup, tmp_path):
    same = str(tmp_path / "both")
    code = main(["--store", setup["store"], "verify", setup["shot"], "--text", TEXT, "--tsa",
                 "none", "--annotate", same, "--report", same])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "name the same file" in lines[0], lines
    assert not os.path.exists(same)
