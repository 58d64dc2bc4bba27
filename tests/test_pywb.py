"""A real pywb in record mode as a witness (started by the ``pywb`` fixture)."""

from __future__ import annotations

import hashlib

from webfixtures import RU_UTF8, closed_port, page_body

from archive.ratelimit import Backoff
from archive.witness import BadWitnessSpec, WitnessConfig, WitnessSpec, open_witness

FAST = WitnessConfig(pywb_confirm_deadline=15.0, pywb_confirm_interval=0.2,
                     backoff=Backoff(tries=2, base=0.05, cap=0.1), timeout=(2, 20),
                     ia_save_interval=0.0, ia_read_interval=0.0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_record_confirm_and_compare(pywb, web):
    url = web.url("/ru/utf8")
    witness = open_witness(WitnessSpec.parse(f"pywb={pywb.base}"), FAST)
    result = witness.submit(url)
    assert result.status == "archived", result.error
    assert result.name == f"pywb={pywb.base}"
    assert result.url.startswith(f"{pywb.base}/") and result.url.endswith(url)
    assert result.archived_at.endswith("Z")
    assert result.raw_sha256 == sha(RU_UTF8)  # pywb holds what the page served
    rows = witness.snapshots(url)
    assert any(row.timestamp == result.url.split("/")[4] for row in rows)
    assert all(row.statuscode == 200 and row.mimetype == "text/html" for row in rows)


def test_both_witnesses_at_once(pywb, web, wayback):
    url = web.url("/page/42")
    env = {"PROVENANCE_WAYBACK": wayback.base}
    specs = [WitnessSpec.parse("ia"), WitnessSpec.parse(f"pywb={pywb.base}")]
    results = [open_witness(spec, FAST, env=env).submit(url) for spec in specs]
    assert [r.status for r in results] == ["archived", "archived"], [r.error for r in results]
    assert {r.raw_sha256 for r in results} == {sha(page_body(42))}
    assert results[0].url.startswith(wayback.base) and results[1].url.startswith(pywb.base)


def test_pywb_down_is_pending(web):
    base = f"http://127.0.0.1:{closed_port()}/news"
    result = open_witness(WitnessSpec.parse(f"pywb={base}"), FAST).submit(web.url("/page/1"))
    assert result.status == "pending" and result.retryable
    assert "refused" in result.error


def test_unknown_collection_is_failed(pywb, web):
    spec = WitnessSpec.parse(f"pywb={pywb.url}/no-such-collection")
    result = open_witness(spec, FAST).submit(web.url("/page/1"))
    assert result.status in ("failed", "pending")
    assert result.error and "\n" not in result.error


def test_spec_errors_are_one_line():
    for bad in ["pywb", "pywb=ftp://x/y", "pywb=http://127.0.0.1:8080", "wayback", ""]:
        try:
            WitnessSpec.parse(bad)
        except BadWitnessSpec as exc:
            assert isinstance(exc, ValueError)
            assert "\n" not in str(exc)
        else:
            raise AssertionError(f"{bad!r} parsed")
