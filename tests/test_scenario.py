"""The case the tool was born from, end to end, through the real CLI and real loopback servers.

March 2022: a Russian paper prints the Defence Ministry's figures (9 861 killed, 16 153
injured) on a page served in windows-1251, removes the paragraph within hours, then
withdraws the page. What survives are screenshots, one of them forged (9 881). Here the
page is captured while it is up (a Wayback Machine protocol server and a real pywb as
witnesses, an openssl-based RFC 3161 TSA), captured again after the edit and after the
withdrawal; the history, the screenshots' verdicts, an evidence bundle a court checks with
``unzip``, ``sha256sum`` and ``openssl`` only, and tampering caught by ``check``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from evalset import Passage, render
from webfixtures import AD_TEXT, ARTICLE, article_html, send

from provenance.cli.main import main

CLAIM = "Россия потеряла 9 861 человек убитыми, 16 153 ранеными"
FIGURES_PARAGRAPH = ARTICLE[1]
FORGED_PARAGRAPH = FIGURES_PARAGRAPH.replace("9 861", "9 881")
NOT_FOUND = "<html><body><p>Страница не найдена</p></body></html>"
CLEAN_ENV = {"PATH": "/usr/bin:/bin"}  # env -i: no virtualenv, no PYTHONPATH, no provenance


def page(*, figures: bool, clock: str, ad: str) -> bytes:
    """The article with a clock line and an ad line inside it; with or without the figures."""
    html = article_html()
    lead = f"<p>{FIGURES_PARAGRAPH}</p>"
    assert lead in html and f'<aside class="ad">{AD_TEXT}</aside>' in html
    html = html.replace(lead, f"<p>Обновлено {clock}</p>\n" + (lead if figures else ""))
    html = html.replace(f'<aside class="ad">{AD_TEXT}</aside>', f"<p>Реклама. {ad}</p>")
    return html.encode("cp1251")


ORIGINAL = page(figures=True, clock="16:04", ad="Купите наши курсы")
EDITED = page(figures=False, clock="19:40", ad="Подпишитесь на канал")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli(capsys, *argv: str) -> tuple[int, list[dict], str]:
    """``provenance --json ARGV`` in-process: (exit code, JSON items, stderr)."""
    code = main(["--json", *argv])
    captured = capsys.readouterr()
    items = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    assert "Traceback" not in captured.err
    return code, items, captured.err


def stored_text(store: Path, digest: str) -> str:
    """A capture's extracted text, found in the store by its SHA-256 (and re-hashed)."""
    [path] = store.rglob(f"{digest}.txt")
    data = path.read_bytes()
    assert sha256(data) == digest
    return data.decode("utf-8")


def warc_payloads(path: Path) -> list[bytes]:
    """The bodies of the WARC's response records."""
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as stream:
        return [r.content_stream().read() for r in ArchiveIterator(stream)
                if r.rec_type == "response"]


def wait_past(stamp: str) -> None:
    """Until the wall clock is past a Wayback timestamp (YYYYmmddHHMMSS, one per second)."""
    while time.strftime("%Y%m%d%H%M%S", time.gmtime()) <= stamp:
        time.sleep(0.05)


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """What a third party runs: ``env -i PATH=/usr/bin:/bin sh -c COMMAND``."""
    return subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "sh", "-c", command], cwd=cwd,
                          capture_output=True, text=True, env=CLEAN_ENV, timeout=60)


def flip_middle_byte(data: bytes) -> bytes:
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


@pytest.mark.slow
def test_published_edited_withdrawn_then_proven(tmp_path, capsys, monkeypatch, web, wayback,
                                                pywb, tsa, tsa_pki):
    monkeypatch.setenv("PROVENANCE_WAYBACK", wayback.base)
    monkeypatch.setenv("PROVENANCE_IA_INTERVAL", "0")
    monkeypatch.setenv("PROVENANCE_IA_READ_INTERVAL", "0")
    monkeypatch.setenv("PROVENANCE_TSA_CA", str(tsa_pki.root))
    store = tmp_path / "evidence"
    base = ["--store", str(store)]

    served = {"status": 200, "body": ORIGINAL}
    web.add_route("/news/2022/03/20/poteri/", lambda h: send(
        h, served["status"], served["body"], content_type="text/html; charset=windows-1251"))
    url = web.url("/news/2022/03/20/poteri/")

    # --- 1. the page is up: captured, both witnesses hold exactly our copy, time-stamped ---
    assert FIGURES_PARAGRAPH.encode("cp1251") in ORIGINAL  # windows-1251, not UTF-8
    assert "убитыми".encode() not in ORIGINAL
    code, [first, stamp], err = cli(capsys, *base, "archive", url, "--to", "ia",
                                    "--to", f"pywb={pywb.base}", "--tsa", tsa.url)
    assert code == 0, err
    assert (first["url"], first["final_url"], first["http_status"]) == (url, url, 200)
    assert first["sha256"] == sha256(ORIGINAL)
    assert first["changed"] is None
    assert warc_payloads(store / first["warc"]) == [ORIGINAL]  # byte for byte, as served
    text = stored_text(store, first["text_sha256"])  # decoded from windows-1251
    assert FIGURES_PARAGRAPH in text and "Обновлено 16:04" in text and AD_TEXT in text
    assert [(w["name"], w["status"], w["agrees"]) for w in first["witnesses"]] == [
        ("ia", "archived", True), (f"pywb={pywb.base}", "archived", True)], err
    assert first["witnesses"][0]["url"].startswith(f"{wayback.base}/web/")
    assert [s.body for s in wayback.snapshots(url)] == [ORIGINAL]
    assert first["timestamps"] == [{"tsa": tsa.url, "status": "queued", "token": None}]
    assert stamp["kind"] == "timestamp" and stamp["covers"] == [first["ledger_seq"]]
    assert (stamp["tsa"], stamp["status"]) == (tsa.url, "granted") and stamp["token"], tsa.errors
    assert tsa.requests == 1

    # --- 2. edited: the paragraph with the figures is gone (clock and ad changed too) ---
    wait_past(wayback.snapshots(url)[-1].timestamp)
    served["body"] = EDITED
    code, [second, _], err = cli(capsys, *base, "archive", url, "--to", "ia", "--tsa", tsa.url)
    assert code == 0, err
    assert second["sha256"] == sha256(EDITED) and second["http_status"] == 200
    assert second["witnesses"][0]["agrees"] is True
    text = stored_text(store, second["text_sha256"])
    assert "Обновлено 19:40" in text and "Подпишитесь на канал" in text
    assert FIGURES_PARAGRAPH not in text and ARTICLE[2] in text
    changed = second["changed"]
    assert changed["since"] == first["id"]
    assert changed["removed"] == [FIGURES_PARAGRAPH]  # never the clock or the ad line
    assert changed["added"] == []
    assert {(f["old"], f["new"]) for f in changed["figures"]} == {("9861", None),
                                                                  ("16153", None)}
    assert "http_status" not in changed

    # ...then withdrawn.
    wait_past(wayback.snapshots(url)[-1].timestamp)
    served.update(status=404, body=NOT_FOUND.encode("cp1251"))
    code, [third, _], err = cli(capsys, *base, "archive", url, "--to", "ia", "--tsa", tsa.url)
    assert code == 0, err
    assert third["http_status"] == 404 and third["sha256"] == sha256(NOT_FOUND.encode("cp1251"))
    assert third["changed"]["since"] == second["id"]
    assert third["changed"]["http_status"] == {"from": 200, "to": 404}
    assert ARTICLE[2] in third["changed"]["removed"]
    assert third["witnesses"][0]["agrees"] is True
    captures = [first, second, third]
    assert [c["ledger_seq"] for c in captures] == sorted(c["ledger_seq"] for c in captures)

    # --- 3. history: our captures and the Wayback Machine's snapshots, oldest first ---
    code, items, err = cli(capsys, *base, "history", url, "--to", "ia")
    assert code == 0, err
    assert [i["source"] for i in items] == ["local", "ia"] * 3
    times = [i["time"] for i in items]
    assert times == sorted(times)
    local = [i for i in items if i["source"] == "local"]
    assert [i["id"] for i in local] == [c["id"] for c in captures]
    assert [i["status"] for i in local] == [200, 200, 404]
    assert [i["digest"] for i in local] == [f"sha256:{c['sha256']}" for c in captures]
    assert "diff" not in local[0]
    assert local[1]["diff"]["removed"] == [FIGURES_PARAGRAPH]
    assert {f["old"] for f in local[1]["diff"]["figures"]} == {"9861", "16153"}
    assert local[1]["diff"]["ledger"]["id"] == changed["id"]
    assert local[2]["diff"]["http_status"] == {"from": 200, "to": 404}
    ia = [i for i in items if i["source"] == "ia"]
    assert [str(i["status"]) for i in ia] == ["200", "200", "404"]
    assert [i["where"] for i in ia] == [c["witnesses"][0]["url"] for c in captures]

    # --- 4. the screenshots: genuine and forged, against the claim and against the page ---
    passage = Passage("kp", "rus", ARTICLE[0], FIGURES_PARAGRAPH, CLAIM, ARTICLE[2], "")
    genuine, forged = tmp_path / "genuine.png", tmp_path / "forged.png"
    render(passage, FIGURES_PARAGRAPH, "clean", random.Random(1)).save(genuine)
    render(passage, FORGED_PARAGRAPH, "clean", random.Random(1)).save(forged)

    code, [match], err = cli(capsys, *base, "verify", str(genuine), "--text", CLAIM,
                             "--tsa", tsa.url)
    assert (code, match["verdict"]) == (0, "match"), (err, match)
    assert [f["found_as"] for f in match["figures"]] == ["9 861", "16 153"]
    assert match["image_sha256"] == sha256(genuine.read_bytes())
    assert [s["status"] for s in match["timestamps"]] == ["granted"]

    code, [mismatch], err = cli(capsys, *base, "verify", str(forged), "--text", CLAIM,
                                "--tsa", tsa.url)
    assert (code, mismatch["verdict"]) == (1, "mismatch"), (err, mismatch)
    assert [(f["value"], f["status"], f["found_as"]) for f in mismatch["figures"]][0] == (
        "9861", "differs", "9 881")
    assert mismatch["figures"][1]["status"] == "found"

    hits = web.hits("/news/2022/03/20/poteri/")
    code, [against], err = cli(capsys, *base, "verify", str(genuine), "--against", url,
                               "--tsa", tsa.url)
    assert web.hits("/news/2022/03/20/poteri/") == hits, "the latest capture is used"
    # Issue 11: did the page ever show it? Yes: our first capture (and the archives' copies).
    # --text read the image in the claim's languages only; --against reads it with auto.
    assert code == 0 and against["verdict"] == "match", (err, against)
    assert against["against"]["capture"] == first["id"] and against["ocr_cached"] is False
    timeline = against["timeline"]
    local = [c for c in timeline["captures"] if c["source"] == "local"]
    assert [c["id"] for c in local] == [c["id"] for c in captures]
    # Edited: the headline is there, the figures are not; withdrawn: nothing of it is.
    assert [c["verdict"] for c in local] == ["match", "mismatch", "absent"]
    assert timeline["first_shown"] <= first["fetched_at"] <= timeline["last_shown"]
    assert timeline["last_shown"] < second["fetched_at"]
    assert "not shown from " in timeline["summary"]
    verifications = [match, mismatch, against]

    # --- 5. the evidence bundle, checked by a third party with standard tools only ---
    bundle = tmp_path / "out" / "bundle.zip"
    bundle.parent.mkdir()
    ids = [c["id"] for c in captures] + [v["id"] for v in verifications]
    code, [summary], err = cli(capsys, *base, "export", *ids, "--out", str(bundle))
    assert code == 0, err
    assert summary["exported"] == sorted(i["ledger_seq"] for i in captures + verifications)
    assert cli(capsys, "check", "--bundle", str(bundle))[0] == 0

    court = tmp_path / "court"
    subprocess.run(["unzip", "-q", str(bundle), "-d", str(court)], check=True, env=CLEAN_ENV)
    verify_md = (court / "VERIFY.md").read_text("utf-8")
    commands = re.findall(r"^(openssl ts -verify .*)$", verify_md, re.MULTILINE)
    assert tsa.requests == 6  # three captures, three verifications: one stamp each
    assert len(commands) == summary["timestamps"] == 6, verify_md
    done = shell("sha256sum -c MANIFEST.sha256", court)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = [line for line in done.stdout.splitlines() if line.strip()]
    assert listed and all(line.endswith(": OK") for line in listed), done.stdout
    assert any(first["warc"] in line for line in listed)
    for command in commands:
        done = shell(command, court)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert done.stdout.strip() == "Verification: OK", (command, done.stdout)
    index = json.loads((court / "bundle.json").read_text("utf-8"))
    witnessed = {(w["capture_seq"], w["witness"]): (w["agrees"], w["witness_sha256"])
                 for w in index["witnesses"]}
    assert witnessed == {(first["ledger_seq"], "ia"): (True, first["sha256"]),
                         (first["ledger_seq"], f"pywb={pywb.base}"): (True, first["sha256"]),
                         (second["ledger_seq"], "ia"): (True, second["sha256"]),
                         (third["ledger_seq"], "ia"): (True, third["sha256"])}

    # --- 6. the store is intact; one flipped byte in the first WARC is caught ---
    done = subprocess.run([sys.executable, "-m", "provenance", *base, "check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("intact: ")

    warc = store / first["warc"]
    os.chmod(warc, 0o644)
    warc.write_bytes(flip_middle_byte(warc.read_bytes()))
    code, problems, err = cli(capsys, *base, "check")
    assert code == 1, err
    *problems, verdict = problems
    assert verdict["intact"] is False and verdict["problems"] == len(problems) >= 1
    assert any(p["path"] == first["warc"] for p in problems), problems
    code = main([*base, "check"])
    assert code == 1 and first["warc"] in capsys.readouterr().err

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        names = source.namelist()
        assert first["warc"] in names
        for name in names:
            data = source.read(name)
            target.writestr(name, flip_middle_byte(data) if name == first["warc"] else data)
    code, items, err = cli(capsys, "check", "--bundle", str(tampered))
    assert code == 1 and any(first["warc"] in i.get("problem", "") for i in items), items
    elsewhere = tmp_path / "court-tampered"
    subprocess.run(["unzip", "-q", str(tampered), "-d", str(elsewhere)], check=True,
                   env=CLEAN_ENV)
    done = shell("sha256sum -c MANIFEST.sha256", elsewhere)
    assert done.returncode == 1
    assert f"{first['warc']}: FAILED" in done.stdout
