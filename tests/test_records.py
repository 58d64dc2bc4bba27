"""Typed record payloads: what is written is exactly what the dataclass gives, and a
record read back round-trips unchanged (its hash depends on every key)."""

from __future__ import annotations

import json

import pytest
from webfixtures import RU_UTF8, send

from archive.witness import parse_specs
from provenance.api import Evidence
from provenance.stamps.stamping import StampData
from provenance.store.records import (
    CapturePayload,
    StampStatus,
    Verdict,
    WitnessPayload,
    WitnessStatus,
)


def test_capture_witness_and_stamp_records_round_trip(tmp_path, web, ia_env, tsa):
    web.add_route("/records/page", lambda h: send(h, 200, RU_UTF8,
                                                  content_type="text/html; charset=utf-8"))
    with Evidence(tmp_path / "ev") as evidence:
        run = evidence.archive([web.url("/records/page")], witnesses=parse_specs(["ia"]),
                               tsas=[tsa.url])
        records = {r.kind: r for r in evidence.log()}
    capture = CapturePayload.from_json(records["capture"].data)
    assert capture.to_json() == records["capture"].data
    assert capture.url == run.outcomes[0].url and capture.files[0]["role"] == "warc"
    witness = WitnessPayload.from_json(records["witness"].data)
    assert witness.to_json() == records["witness"].data
    assert witness.status is WitnessStatus.ARCHIVED and witness.agrees is True
    assert witness.capture_seq == records["capture"].seq
    stamp = StampData.parse(records["timestamp"].data)
    assert stamp.status == StampStatus.GRANTED


def test_unknown_keys_are_kept_and_a_bad_status_is_refused():
    data = {"url": "https://example.org/", "files": [], "from_a_later_version": 1}
    assert CapturePayload.from_json(data).to_json()["from_a_later_version"] == 1
    with pytest.raises(ValueError):
        WitnessPayload.from_json({"status": "trust me"})


def test_enums_are_the_strings_json_has_always_had():
    assert json.dumps([Verdict.MATCH, WitnessStatus.PENDING, StampStatus.GRANTED]) == (
        '["match", "pending", "granted"]')
    assert Verdict.MISMATCH == "mismatch" and Verdict("absent") is Verdict.ABSENT
