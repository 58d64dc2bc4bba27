"""``provenance show``: one record by ledger number or id; its text and body read back
re-hashed, so an edited file is refused rather than shown."""

from __future__ import annotations

import json
from pathlib import Path

from webfixtures import ARTICLE, GZIP_BODY, RU_UTF8, closed_port

from provenance.cli.main import main


def _archive(capsys, store: str, url: str) -> dict:
    assert main(["--json", "--store", store, "archive", "--to", "none", "--tsa", "none",
                 url]) == 0
    (capture,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return capture


def _show(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _file(store: str, record: dict, role: str) -> Path:
    (entry,) = [f for f in record["data"]["files"] if f["role"] == role]
    return Path(store) / entry["path"]


def test_show_prints_one_record_by_number_or_id(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = web.url("/ru/utf8")
    capture = _archive(capsys, store, url)

    code, out, _ = _show(capsys, "--store", store, "show", "1")
    assert code == 0
    assert f"record #1  {capture['id']}" in out and url in out and "kind:         capture" in out
    assert "warc" in out and "text" in out  # its files, with their hashes

    code, out, _ = _show(capsys, "--store", store, "--json", "show", capture["id"])
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and line["type"] == "record" and line["seq"] == 1
    assert line["id"] == capture["id"] and line["subject"] == url
    assert len(line["record_hash"]) == 64 and line["data"]["http_status"] == 200

    code, _, err = _show(capsys, "--store", store, "show", "999")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no record 999" in err
    code, _, err = _show(capsys, "--store", store, "show", "zzzzzzz")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_show_text_is_the_extracted_text_and_an_edited_file_is_refused(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    _archive(capsys, store, web.url("/ru/utf8"))
    code, out, _ = _show(capsys, "--store", store, "show", "1", "--text")
    assert code == 0 and ARTICLE[1] in out
    code, out, _ = _show(capsys, "--store", store, "--json", "show", "1", "--text")
    assert code == 0 and ARTICLE[1] in json.loads(out)["text"]

    _, out, _ = _show(capsys, "--store", store, "--json", "show", "1")
    text_file = _file(store, json.loads(out), "text")
    text_file.chmod(0o644)
    text_file.write_text(text_file.read_text(encoding="utf-8").replace("9 861", "1 234"),
                         encoding="utf-8")
    code, out, err = _show(capsys, "--store", store, "show", "1", "--text")
    assert code == 1 and out == "" and "altered" in err
    assert len(err.strip().splitlines()) == 1 and "1 234" not in err


def test_show_raw_is_the_final_body_as_captured(tmp_path, capsysbinary, web):
    store = str(tmp_path / "ev")
    for path in ("/redirect/2", "/gzip"):  # one at a time: ledger numbers 1 and 2
        assert main(["--store", store, "archive", "--to", "none", "--tsa", "none",
                     web.url(path)]) == 0
    capsysbinary.readouterr()
    assert main(["--store", store, "show", "1", "--raw"]) == 0
    assert capsysbinary.readouterr().out == RU_UTF8  # the page redirected to, not a redirect
    assert main(["--store", store, "show", "2", "--raw"]) == 0
    assert capsysbinary.readouterr().out == GZIP_BODY  # as received: still gzip-encoded


def test_show_raw_refuses_an_edited_warc_and_a_record_without_one(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    _archive(capsys, store, web.url("/ru/utf8"))
    gone = f"http://127.0.0.1:{closed_port()}/gone"
    main(["--store", store, "archive", "--to", "none", "--tsa", "none", gone])
    capsys.readouterr()
    code, _, err = _show(capsys, "--store", store, "show", "2", "--raw")
    assert code == 2 and "has no WARC" in err
    code, _, err = _show(capsys, "--store", store, "show", "2", "--text")
    assert code == 2 and "no extracted text" in err

    _, out, _ = _show(capsys, "--store", store, "--json", "show", "1")
    warc = _file(store, json.loads(out), "warc")
    warc.chmod(0o644)
    warc.write_bytes(warc.read_bytes() + b"\n")
    code, out, err = _show(capsys, "--store", store, "show", "1", "--raw")
    assert code == 1 and out == "" and "altered" in err and len(err.strip().splitlines()) == 1
