"""A 1,000-URL round of team watches (``watch --team`` + ``worker --drain``) with 1 and 2
worker processes, on a throwaway PostgreSQL cluster and moto's S3 server (loopback).

The queue is procrastinate's (``provenance.workers.jobs``): the round includes its
periodic scheduling (every second), job fetching and heartbeats.

Rows: one worker's round against ``archive -i --jobs 8`` of the same list into a local
store (the baseline: what the same captures cost without the queue, PostgreSQL and S3),
and two workers' round against one worker's (on this 2-core machine the two share the
cores with PostgreSQL, moto and the page server, so the gain is bounded). Skipped without
PostgreSQL, psycopg or moto.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import row
from benchmarks.pages import serve_pages

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "PROVENANCE_TO": "none", "PROVENANCE_TSA": "none"}


def _cli(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "provenance", "-q", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})


def _round(cluster: Any, s3: Any, endpoint: str, listing: Path, workers: int,
           jobs: int) -> float:
    name = f"workers{workers}"
    s3.create_bucket(Bucket=name)
    store = ["--store", cluster.create_database(name), "--objects", f"s3://{name}/ev"]
    env = {**_ENV, "AWS_ENDPOINT_URL": endpoint}
    added = _cli(*store, "watch", "--team", "-i", str(listing), "--every", "1h", env=env)
    if added.wait() != 0:
        raise RuntimeError(f"watch --team failed: {added.stderr.read() if added.stderr else ''}")
    start = time.perf_counter()
    running = [_cli(*store, "worker", "--drain", "--jobs", str(jobs), env=env)
               for _ in range(workers)]
    for proc in running:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"worker failed: {err[-500:]}")
    return time.perf_counter() - start


def _wait_for(endpoint: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto's S3 server did not start")


def run(quick: bool = False) -> list[dict[str, Any]]:
    import pgserver

    reason = pgserver.missing()
    if reason is not None:
        print(f"workers benchmark skipped: {reason}", file=sys.stderr)
        return []
    try:
        import boto3
        import moto.server  # noqa: F401 - run below as a process of its own
    except ModuleNotFoundError as exc:
        print(f"workers benchmark skipped: {exc.name} is not installed", file=sys.stderr)
        return []
    count, jobs = (200, 8) if quick else (1000, 8)
    cluster = pgserver.PgCluster().start()
    # moto in a process of its own: in this one it would share a GIL with the page server
    port = pgserver._free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait_for(endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        with serve_pages() as base, tempfile.TemporaryDirectory() as folder:
            listing = Path(folder) / "urls.txt"
            listing.write_text("".join(f"{base}/page/{i}\n" for i in range(count)))
            start = time.perf_counter()
            local = _cli("--store", f"{folder}/local", "archive", "-i", str(listing),
                         "--jobs", str(jobs), env=_ENV)
            if local.wait() != 0:
                raise RuntimeError("archive -i failed")
            archive_s = time.perf_counter() - start
            one = _round(cluster, s3, endpoint, listing, 1, jobs)
            two = _round(cluster, s3, endpoint, listing, 2, jobs)
    finally:
        moto.terminate()
        moto.wait()
        cluster.stop()
    return [
        row(f"team watch round of {count} URLs, 1 worker --jobs {jobs} vs local archive -i",
            one, archive_s, "s", "report (the cost of PostgreSQL + S3 + procrastinate's queue)"),
        row(f"team watch round of {count} URLs, 2 workers vs 1 worker", two, one, "s",
            "ratio > 1 (2 workers are faster; 2 cores shared with the servers)",
            ok=one / two > 1.0),
    ]
