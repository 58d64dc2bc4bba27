"""A throwaway PostgreSQL 15 cluster on 127.0.0.1 for tests: ``initdb`` into a fresh folder,
``pg_ctl start`` on a free loopback port (its unix socket in that folder too), stopped and
removed afterwards.

``initdb`` and ``postgres`` refuse to run as root: as root the cluster is made and run as
the ``postgres`` user (``runuser -u postgres --``), which owns the folder. The superuser is
``postgres`` with trust authentication on loopback only (a test cluster, never a real one).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _pg_bin() -> Path:
    """``$PROVENANCE_PG_BIN``, else the newest Debian PostgreSQL (14 or later: the schema
    uses ``CREATE OR REPLACE TRIGGER``)."""
    if os.environ.get("PROVENANCE_PG_BIN"):
        return Path(os.environ["PROVENANCE_PG_BIN"])
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin")
             if p.parent.name.isdigit() and int(p.parent.name) >= 14]
    return max(found, key=lambda p: int(p.parent.name), default=Path("/usr/lib/postgresql/15/bin"))


PG_BIN = _pg_bin()
RUN_AS = "postgres"


def missing() -> str | None:
    """Why a cluster cannot be started here, or None."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and there is no runuser to drop privileges"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One running cluster; ``url`` connects as the superuser to database ``db``."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="provenance-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.superuser = RUN_AS if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *argv: str) -> None:
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)

    def start(self) -> PgCluster:
        if os.geteuid() == 0:
            info = pwd.getpwnam(RUN_AS)
            os.chown(self.folder, info.pw_uid, info.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", self.superuser, "-A", "trust",
                  "-E", "UTF8", "--no-sync", "--locale=C")
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
                   "-c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "30",
                  "-l", str(self.folder / "log"), "start")
        return self

    def url(self, db: str = "postgres", user: str | None = None) -> str:
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (subprocess.SubprocessError, OSError):
            pass
        for _ in range(50):
            try:
                shutil.rmtree(self.folder)
                return
            except OSError:
                time.sleep(0.1)
