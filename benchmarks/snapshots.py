"""Archive copies as evidence (issue 11): a URL with 50 snapshots in the Wayback test server.

* ``verify shot.png --against URL`` the first time (the page captured now, the screenshot
  read, the index listed, every one of the 50 raw copies fetched and kept) against the same
  command again, answered from the store: time and the archive requests each run made
  (all of them, and raw ``id_`` copies alone). The ratio is second run / first run; the
  second run should make no copy request at all (one index request remains: new snapshots
  are looked for).
* ``pull URL`` of the 50 snapshots against the baseline of fetching the same 50 raw copies
  with a bare ``requests`` loop (no WARC, no text, no ledger), measured in this run; then
  ``pull`` again (everything already kept).

Both talk only to loopback servers the benchmark starts (tests/waybackserver.py), with no
wait between reads (``PROVENANCE_IA_READ_INTERVAL=0``: the real Internet Archive is read
at one request a second, which would make a first run of 50 copies take at least 50 s).
Informational: never fails on noise; the ``ok`` marks say whether the second runs made
no copy request.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

COUNT = 50
HTML = "text/html; charset=utf-8"
PARAGRAPH = ("По данным Министерства обороны, с начала специальной военной операции Россия "
             "потеряла 9 861 человек убитыми, 16 153 ранеными.")


def _page(figures: bool, n: int) -> bytes:
    lead = PARAGRAPH if figures else "Данные о потерях уточняются."
    return (f"<html><head><title>Потери</title></head><body><article><h1>Потери России</h1>"
            f"<p>{lead}</p><p>Обновлено в {n:02d} минут.</p><p>"
            + "Текст статьи. " * 60 + "</p></article></body></html>").encode("utf-8")


def _env(wayback: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PROVENANCE_TO", "PROVENANCE_TSA", "PROVENANCE_STORE", "IA_ACCESS_KEY",
                        "IA_SECRET_KEY")}
    env.update(PROVENANCE_WAYBACK=wayback, PROVENANCE_IA_READ_INTERVAL="0",
               PROVENANCE_IA_INTERVAL="0", PYTHONPATH=str(ROOT))
    return env


def _cli(env: dict[str, str], *argv: str) -> tuple[float, list[dict[str, Any]]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "provenance", "--json", "-q", *argv],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"provenance {argv[2] if len(argv) > 2 else argv}: "
                           f"{done.stderr[-500:]}")
    return elapsed, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _shot(folder: Path) -> Path:
    from evalset import Passage, render

    passage = Passage("kp", "rus", "Потери России", PARAGRAPH, PARAGRAPH,
                      "В ведомстве подчеркнули, что эти сведения уточняются.", "")
    path = folder / "shot.png"
    render(passage, PARAGRAPH, "clean", random.Random(1)).save(path)
    return path


def _counts(wayback: Any, url: str, since: int) -> tuple[int, int]:
    """Archive requests since the ``since``-th: all, and raw copies of ``url`` alone."""
    hits = wayback.hits()[since:]
    return len(hits), sum(1 for h in hits if h.path.endswith(f"id_/{url}"))


def _unavailable(name: str, why: str) -> dict[str, Any]:
    return {"name": name, "ours": float("nan"), "baseline": float("nan"), "unit": "s",
            "ratio": float("nan"), "goal": "informational", "ok": None, "note": why}


def run(quick: bool = False) -> list[dict[str, Any]]:
    from waybackserver import Snap, WaybackServer
    from webfixtures import WebServer, send

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, WebServer({}) as web, WaybackServer() as wb:
        folder = Path(tmp)
        env = _env(wb.base)
        url = web.url("/kp/withdrawn")
        web.add_route("/kp/withdrawn", lambda h: send(h, 404, b"<p>not found</p>"))
        wb.snaps[url] = [Snap(f"2022032016{m:02d}00", url, 200, HTML, None,
                              _page(m < 10, m)) for m in range(COUNT)]
        rows += _verify_rows(folder, env, wb, url)
        rows += _pull_rows(folder, env, wb, url)
    return rows


def _verify_rows(folder: Path, env: dict[str, str], wb: Any, url: str) -> list[dict[str, Any]]:
    name = f"verify --against URL, {COUNT} archive copies: again / first"
    if shutil.which(os.environ.get("PROVENANCE_TESSERACT", "tesseract")) is None:
        return [_unavailable(name, "Tesseract is not installed")]
    shot = _shot(folder)
    argv = ("--store", str(folder / "verify"), "verify", str(shot), "--against", url,
            "--to", "ia", "--tsa", "none")
    mark = len(wb.hits())
    first, [item] = _cli(env, *argv)
    requests_first, copies_first = _counts(wb, url, mark)
    mark = len(wb.hits())
    second, [again] = _cli(env, *argv)
    requests_second, copies_second = _counts(wb, url, mark)
    same = item["verdict"] == again["verdict"] == "match" and \
        again["against"] == item["against"]
    return [
        {"name": name, "ours": round(second, 3), "baseline": round(first, 3), "unit": "s",
         "ratio": round(second / first, 3) if first else float("inf"),
         "goal": "informational", "ok": None, "verdict": again["verdict"],
         "same_answer": same},
        {"name": "  archive requests of that verify: again / first", "ours": requests_second,
         "baseline": requests_first, "unit": "req",
         "ratio": round(requests_second / requests_first, 3) if requests_first else 0.0,
         "goal": "copies 0", "ok": copies_second == 0 and same,
         "copies_first": copies_first, "copies_again": copies_second},
    ]


def _pull_rows(folder: Path, env: dict[str, str], wb: Any, url: str) -> list[dict[str, Any]]:
    snaps = list(wb.snaps[url])
    start = time.perf_counter()
    with requests.Session() as session:  # the baseline: just download every raw copy
        for snap in snaps:
            session.get(f"{wb.base}/web/{snap.timestamp}id_/{url}", timeout=30).close()
    baseline = time.perf_counter() - start
    argv = ("--store", str(folder / "pull"), "pull", url, "--to", "ia")
    mark = len(wb.hits())
    first, items = _cli(env, *argv)
    requests_first, copies_first = _counts(wb, url, mark)
    kept = items[-1]["kept"] if items else 0
    mark = len(wb.hits())
    again, items = _cli(env, *argv)
    requests_again, copies_again = _counts(wb, url, mark)
    had = items[-1]["had"] if items else 0
    return [
        {"name": f"pull {len(snaps)} archive copies vs bare GETs", "ours": round(first, 3),
         "baseline": round(baseline, 3), "unit": "s",
         "ratio": round(first / baseline, 3) if baseline else float("inf"),
         "goal": "informational", "ok": kept == len(snaps), "kept": kept,
         "requests": requests_first, "copies": copies_first},
        {"name": "  pull again (all kept): again / first", "ours": round(again, 3),
         "baseline": round(first, 3), "unit": "s",
         "ratio": round(again / first, 3) if first else float("inf"),
         "goal": "copies 0", "ok": copies_again == 0 and had == len(snaps),
         "requests": requests_again, "copies": copies_again},
    ]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(json.dumps(line, ensure_ascii=False))
