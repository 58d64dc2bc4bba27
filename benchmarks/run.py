"""Run every benchmark and print one row each: ours, the baseline measured in the same run,
and the ratio. ``--quick`` for a short run, ``--json`` for JSON Lines.

Benchmarks are never part of the test suite's pass/fail: machine noise must not fail CI.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from typing import Any

MODULES = ["hashing", "capture", "check", "log", "witness", "ocr_verify", "stamping", "changes",
           "text", "text_heldout", "text_readability", "charsets", "extract_speed", "snapshots",
           "style_hiding", "team", "browser", "serve", "queries", "watch", "workers", "recording"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer repeats")
    parser.add_argument("--json", action="store_true", help="JSON Lines on stdout")
    parser.add_argument("--only", action="append", choices=MODULES, help="run only these")
    options = parser.parse_args(argv)
    for name in options.only or MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("benchmarks."):
                continue  # that capability has no benchmark yet
            raise
        try:
            rows: list[dict[str, Any]] = module.run(quick=options.quick)
        except Exception:  # a broken benchmark must not hide the others' numbers
            print(f"benchmark {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        for row in rows:
            if options.json:
                print(json.dumps(row, ensure_ascii=False), flush=True)
            else:
                mark = {True: "ok", False: "MISSED", None: "-"}[row.get("ok")]
                print(f"{row['name']:<48} ours {row['ours']:>10} {row['unit']:<4} "
                      f"baseline {row['baseline']:>10}  ratio {row['ratio']:>7}  "
                      f"goal {row['goal']:<14} {mark}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
