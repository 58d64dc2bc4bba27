"""``provenance serve`` as a user starts it: the address it prints, Ctrl-C, bad input."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests
from webfixtures import closed_port

from provenance.api import Evidence
from provenance.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def _start(store: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "provenance", "--store", str(store),
                                "serve", "--port", "0", *args], env=env, text=True,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stderr is not None
    line = process.stderr.readline()
    found = re.search(r" at (http://\S+)", line)
    assert found, line
    return process, found.group(1)


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    return process.returncode, err


def test_serve_prints_its_address_answers_and_stops_on_ctrl_c(tmp_path):
    store = tmp_path / "evidence"
    Evidence(store).close()
    process, url = _start(store)
    try:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200 and "Captures" in answer.text
    finally:
        code, err = _stop(process)
    assert code == 0 and "Traceback" not in err


def test_serve_on_another_address_prints_a_token_and_needs_it(tmp_path):
    store = tmp_path / "evidence"
    Evidence(store).close()
    process, url = _start(store, "--host", "0.0.0.0")
    try:
        token = re.search(r"\?token=([\w-]+)$", url)
        assert token, url
        port = re.search(r":(\d+)/", url).group(1)
        base = f"http://127.0.0.1:{port}/"
        assert requests.get(base, timeout=10).status_code == 403
        assert requests.get(f"{base}?token={token.group(1)}", timeout=10).status_code == 200
    finally:
        code, err = _stop(process)
    assert code == 0 and "Traceback" not in err


def test_serve_refuses_what_it_cannot_serve(tmp_path, capsys):
    assert main(["--store", str(tmp_path / "none"), "serve", "--port", "0"]) == 2
    assert not (tmp_path / "none").exists()  # nothing created
    store = tmp_path / "evidence"
    Evidence(store).close()
    assert main(["--store", str(store), "serve", "--host", "192.0.2.1", "--port",
                 str(closed_port())]) == 2  # an address this machine does not have
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 2 and all(line.startswith("provenance: ") for line in lines)
    assert "cannot listen on 192.0.2.1" in lines[1]
