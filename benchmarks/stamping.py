"""Stamping 1,000 captures: TSA requests made (goal 1) and wall time, against one request
per record, both against the loopback ``openssl ts -reply`` TSA of the tests."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def run(quick: bool) -> list[dict]:
    from tsaserver import TsaServer, make_pki

    from provenance.stamps.stamping import stamp
    from provenance.store.filestore import Store
    from provenance.store.ledger import Ledger

    n = 1000
    baseline_n = 50 if quick else n  # one request per record, extrapolated in quick mode
    with tempfile.TemporaryDirectory() as work:
        pki = make_pki(Path(work) / "pki")
        store = Store(Path(work) / "store")
        ledger = Ledger(store)
        records = ledger.append_many([("capture", {"url": f"http://x/{i}", "files": []},
                                       f"http://x/{i}") for i in range(n)])
        with TsaServer(pki) as tsa, requests.Session() as session:
            start = time.perf_counter()
            stamp(ledger, store, records, [tsa.url], session, timeout=30)
            ours = time.perf_counter() - start
            requests_made = tsa.requests
            start = time.perf_counter()
            for record in records[:baseline_n]:
                stamp(ledger, store, [record], [tsa.url], session, timeout=30)
            baseline = (time.perf_counter() - start) * n / baseline_n
        ledger.close()
    return [
        {"name": "stamping 1,000 records: TSA requests", "ours": requests_made,
         "baseline": n, "unit": "requests", "ratio": requests_made / n, "goal": 1,
         "ok": requests_made == 1},
        {"name": "stamping 1,000 records: wall time", "ours": round(ours, 3),
         "baseline": round(baseline, 3), "unit": "s", "ratio": round(ours / baseline, 4),
         "goal": "< 0.1 of one request per record", "ok": ours < baseline * 0.1},
    ]


if __name__ == "__main__":
    import json

    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
