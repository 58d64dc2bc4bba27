"""A real pywb for tests: ``wb-manager init`` a collection, run ``wayback --record --live -a``.

The subprocess listens on a free 127.0.0.1 port and indexes new WARCs every second
(``--auto-interval 1``) so a recorded page shows in its CDX API quickly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command(name: str) -> list[str]:
    found = shutil.which(name)
    if found:
        return [found]
    return [sys.executable, "-m", {"wayback": "pywb.apps.cli", "wb-manager": "pywb.manager.manager"
                                   }[name]]


class PywbServer:
    """Context manager: a pywb collection ``coll`` in record mode under ``root``."""

    def __init__(self, root: Path, coll: str = "news", *, startup: float = 30.0) -> None:
        self.root = Path(root)
        self.coll = coll
        self.port = free_port()
        self.startup = startup
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.root / "wayback.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"{self.url}/{self.coll}"

    def add_warc(self, path: Path) -> None:
        """``wb-manager add`` a WARC to the collection (copied into it and indexed)."""
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        subprocess.run([*_command("wb-manager"), "add", self.coll, str(path)], cwd=self.root,
                       env=env, check=True, capture_output=True, timeout=60)

    def __enter__(self) -> PywbServer:
        self.root.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        subprocess.run([*_command("wb-manager"), "init", self.coll], cwd=self.root, env=env,
                       check=True, capture_output=True, timeout=60)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [*_command("wayback"), "--record", "--live", "-a", "--auto-interval", "1",
                 "-p", str(self.port), "-b", "127.0.0.1", "-t", "8"],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pywb exited early: {self.log.read_text(errors='replace')}")
            try:
                if requests.get(f"{self.base}/cdx?url=http://127.0.0.1/&output=json",
                                timeout=2).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"pywb did not start in {self.startup} s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
