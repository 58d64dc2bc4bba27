"""The command line: help for every command, exit codes, one clear line for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from webfixtures import RU_UTF8, send

from archive import __version__
from archive.fetch import DEFAULT_USER_AGENT
from provenance.cli.main import build_parser, main


def commands():
    return sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_every_command_has_help(capsys):
    assert {"archive", "check"} <= set(commands())
    for name in commands():
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: provenance {name}" in out
        assert len(out.splitlines()) > 3, f"{name} --help says too little"


def test_every_command_help_ends_with_examples_of_itself(capsys):
    for name in commands():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        head, _, tail = out.rpartition("\nexamples:\n")
        examples = tail.splitlines()
        assert head and 1 <= len(examples) <= 2, f"{name} --help has no examples at its end"
        assert all(line.startswith(f"  provenance {name}") for line in examples), examples


def test_shared_options_have_one_meaning_in_every_command():
    """--to, --tsa, --timeout and --force: the same help (a command may add when it
    applies), type and default wherever they appear."""
    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for option in ("--to", "--tsa", "--timeout", "--force"):
        found = [action for sub in choices.values() for action in sub._actions
                 if option in action.option_strings]
        assert len(found) >= 3, option
        base = min((a.help for a in found), key=len)
        for action in found:
            assert action.help.startswith(base), (option, action.help)
            assert (action.type, action.default) == (found[0].type, found[0].default), option


def test_global_options_work_before_and_after_the_command(tmp_path, capsys):
    store = str(tmp_path / "ev")
    assert main(["--store", store, "archive", "--to", "none", "-i", "/nonexistent"]) == 2
    assert main(["archive", "--store", store, "-i", "/nonexistent"]) == 2
    assert "cannot read URL list /nonexistent" in capsys.readouterr().err


@pytest.mark.parametrize("url,message", [
    ("ftp://example.org/file", "http"),
    ("file:///etc/passwd", "http"),
    ("javascript:alert(1)", "http"),
    ("http://", "host"),
    ("not a url", ""),
    ("http://exa mple.org/", ""),
])
def test_bad_urls_are_one_line_and_exit_2_and_leave_no_store(tmp_path, capsys, url, message):
    store = tmp_path / "ev"
    code = main(["--store", str(store), "archive", url])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provenance: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err
    assert not store.exists(), "bad input must not create or touch the store"


def test_one_bad_url_in_a_list_captures_nothing(tmp_path, capsys):
    listing = tmp_path / "urls.txt"
    listing.write_text("# a comment\nhttp://127.0.0.1:9/ok\nfile:///etc/passwd\n")
    store = tmp_path / "ev"
    assert main(["--store", str(store), "archive", "-i", str(listing)]) == 2
    assert "file:///etc/passwd" in capsys.readouterr().err
    assert not store.exists()


def test_store_path_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert main(["--store", str(blocker), "check"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert blocker.read_text() == "keep me"


def test_corrupted_ledger_is_kept_exit_2_and_damage_for_check(tmp_path, capsys):
    """Commands that need the ledger refuse it (exit 2); check reports it as the damage it
    is (exit 1: CONTRACT.md), and nothing is written to it."""
    store = tmp_path / "ev"
    store.mkdir()
    (store / "ledger.sqlite3").write_bytes(b"\x00garbage" * 512)
    assert main(["--store", str(store), "log"]) == 2
    assert main(["--store", str(store), "check"]) == 1
    err = capsys.readouterr().err
    assert err.count("damaged or not a provenance ledger") == 2 and "Traceback" not in err
    assert (store / "ledger.sqlite3").read_bytes() == b"\x00garbage" * 512


def test_check_on_a_missing_store_is_a_usage_error(tmp_path, capsys):
    assert main(["--store", str(tmp_path / "none"), "check"]) == 2
    assert "no evidence store" in capsys.readouterr().err


def test_check_json_is_clean_json_lines(tmp_path, capsys):
    store = tmp_path / "ev"
    from provenance.store.filestore import Store
    from provenance.store.ledger import Ledger

    Ledger(Store(store)).append("note", {"text": "hello"})
    assert main(["--store", str(store), "--json", "check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["intact"] for line in lines] == [True]


def test_unknown_option_is_exit_2_without_traceback(capsys):
    assert _exit_code(["archive", "--no-such-option"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "provenance", "--version"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("provenance ")


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_the_version_is_written_in_one_place(capsys):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    literal = re.compile(r"""=\s*["']\d+\.\d+\.\d+["']""")
    written = [p for package in ("archive", "provenance") for p in (root / package).rglob("*.py")
               if literal.search(p.read_text("utf-8"))]
    assert written == [root / "archive" / "__init__.py"]
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"provenance {__version__}"
    assert f"provenance/{__version__} " in DEFAULT_USER_AGENT


def test_the_cli_adds_the_option_a_library_message_cannot_name(tmp_path, capsys, web):
    web.add_route("/cli/big", lambda h: send(h, 200, RU_UTF8 * 4,
                                             content_type="text/html; charset=utf-8"))
    code = main(["--json", "--store", str(tmp_path / "ev"), "archive", web.url("/cli/big"),
                 "--max-bytes", "100"])
    captured = capsys.readouterr()
    assert code == 1
    (line,) = [json.loads(text) for text in captured.out.splitlines()]
    assert line["reason"] == "too-large" and "--" not in line["error"]
    assert "--max-bytes raises the cap" in captured.err
