"""Every ``--json`` line of every command says what it is: a ``"type"`` field, so mixed
output (``retry``: witnesses and stamps; ``check --bundle``: records, problems, a summary)
can be told apart by a script without guessing from the keys."""

from __future__ import annotations

import json
import random

from evalset import Passage, render
from webfixtures import ARTICLE, RU_UTF8, closed_port, send

from provenance.cli.main import main
from provenance.cli.output import Line

CLAIM = "Россия потеряла 9 861 человек убитыми, 16 153 ранеными"
TYPES = {line.value for line in Line}


def _lines(capsys, *argv):
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    return code, [json.loads(text) for text in out.splitlines() if text.strip()]


def test_every_json_line_of_every_command_has_a_type(tmp_path, capsys, web, tsa, monkeypatch,
                                                     ia_env):
    web.add_route("/json/article", lambda h: send(h, 200, RU_UTF8,
                                                  content_type="text/html; charset=utf-8"))
    url = web.url("/json/article")
    passage = Passage("json", "rus", ARTICLE[0], ARTICLE[1], CLAIM, ARTICLE[2], "")
    shot = tmp_path / "shot.png"
    render(passage, passage.body, "clean", random.Random(1)).save(shot)
    store = str(tmp_path / "ev")
    seen: dict[str, set[str]] = {}

    def run(*argv):
        code, lines = _lines(capsys, "--store", store, *argv)
        assert lines, argv
        for line in lines:
            assert line.get("type") in TYPES, (argv, line)
        seen.setdefault(argv[0] if argv[0] != "check" or len(argv) == 1 else "check --bundle",
                        set()).update(line["type"] for line in lines)
        return code, lines

    monkeypatch.setenv("PROVENANCE_WAYBACK", f"http://127.0.0.1:{closed_port()}")
    code, lines = run("archive", url, "--to", "ia", "--tsa", tsa.url)
    assert code == 0
    stamp = next(line for line in lines if line["type"] == "stamp")
    assert stamp["kind"] == "timestamp"  # the older field stays
    monkeypatch.setenv("PROVENANCE_WAYBACK", ia_env.base)
    tsa.down = True
    run("ocr", str(shot), "--tsa", tsa.url)  # its stamp stays pending
    tsa.down = False
    run("retry")
    run("verify", str(shot), "--text", CLAIM)
    run("verify", str(shot), "--against", url)
    run("history", url, "--to", "none")
    run("watch", url, "--every", "0.1s", "--for", "0.15s", "--tsa", "none", "--to", "none")
    code, lines = run("log")
    capture = next(line for line in lines if line["kind"] == "capture")
    run("check")
    bundle = str(tmp_path / "b.zip")
    run("export", capture["id"], "--out", bundle)
    run("check", "--bundle", bundle)
    text = next((tmp_path / "ev" / "objects").rglob("*.txt"))
    text.chmod(0o644)
    text.write_text("edited", encoding="utf-8")
    run("check")  # now with a problem line
    assert seen == {
        "archive": {"capture", "stamp"}, "ocr": {"ocr"}, "retry": {"witness", "stamp"},
        "verify": {"verification"}, "history": {"snapshot"}, "watch": {"capture"},
        "log": {"record"}, "check": {"summary", "problem"}, "export": {"summary"},
        "check --bundle": {"record", "summary"},
    }


def test_verbose_says_each_request_and_record_on_stderr_and_leaves_json_clean(
        tmp_path, capsys, web):
    """``-v`` (CONTRACT: more detail on stderr): each HTTP hop and each ledger record; stdout
    with ``--json`` is the same JSON Lines; ``-q`` wins over ``-v``."""
    web.add_route("/verbose", lambda h: send(h, 200, RU_UTF8,
                                             content_type="text/html; charset=utf-8"))
    url = web.url("/verbose")
    store = str(tmp_path / "s")
    assert main(["--store", store, "--json", "-v", "archive", url, "--to", "none",
                 "--tsa", "none"]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["type"] for line in lines] == ["capture"]
    seq = lines[0]["ledger_seq"]
    assert f"GET {url} -> 200 OK (" in err
    assert f"recorded #{seq} capture {lines[0]['id']}" in err
    assert main(["--store", store, "-q", "-v", "log"]) == 0
    assert capsys.readouterr().err == ""
