"""Typed record payloads: what is written is exactly what the dataclass gives, and a
record read back round-trips unchanged (its hash depends on every key)."""

from __future__ import annotations

import json
import random

import pytest
from evalset import PASSAGES, render
from webfixtures import RU_UTF8, closed_port, send

from archive.witness import parse_specs
from provenance.api import Evidence
from provenance.stamps.stamping import StampData
from provenance.store.records import (
    CapturePayload,
    ChangedPayload,
    FetchFailedPayload,
    OcrPayload,
    Payload,
    SnapshotPayload,
    StampStatus,
    TimestampPayload,
    Verdict,
    VerificationPayload,
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


# --- every kind typed, and what is written is what was always written -----------------------

PAYLOADS: dict[str, type[Payload]] = {
    "capture": CapturePayload, "witness": WitnessPayload,
    "fetch_failed": FetchFailedPayload, "changed": ChangedPayload, "ocr": OcrPayload,
    "verification": VerificationPayload, "snapshot": SnapshotPayload,
    "timestamp": TimestampPayload}

# The keys each kind's records have held since it was introduced (the ledger hashes every
# one, so a typed payload must write exactly these, no more, no fewer).
OLD_KEYS = {
    "capture": {"url", "final_url", "redirects", "http_status", "content_type", "fetched_at",
                "ip_address", "sha256", "text_sha256", "title", "canonical_url", "published",
                "modified", "charset", "files", "extractor"},
    "fetch_failed": {"url", "error", "reason"},
    "changed": {"url", "from", "to", "removed", "added", "figures", "differ"},
    "ocr": {"image_sha256", "image_name", "phash", "width", "height", "lang_requested", "lang",
            "engine", "pipeline", "confidence", "words", "files"},
    "verification": {"verdict", "score", "claim", "found", "figures", "reasons",
                     "image_sha256", "ocr_record", "against", "checked_at"},
    "pending timestamp": {"covers", "leaves", "method", "merkle_root", "tree_size",
                          "algorithm", "tsa", "resolves", "status", "error", "files"},
    "granted timestamp": {"covers", "leaves", "method", "merkle_root", "tree_size",
                          "algorithm", "tsa", "resolves", "status", "error", "files", "trust",
                          "imprint", "gen_time", "serial", "tsa_name", "verifier"},
}


def _changing_page(web, path):
    seen = {"n": 0}

    def page(h):
        seen["n"] += 1
        body = (f"<html><body><p>Losses reported: {seen['n']} 861 units.</p>"
                "<p>The figure was updated in the evening.</p></body></html>").encode()
        send(h, 200, body, content_type="text/html; charset=utf-8")

    web.add_route(path, page)
    return web.url(path)


def test_every_kind_is_written_with_the_keys_it_always_had(tmp_path, web, tsa):
    """Typed payloads change nothing on disk: each kind's record keeps its keys, and reads
    back through its payload class to the same dict."""
    url = _changing_page(web, "/records/changing")
    image = tmp_path / "shot.png"
    render(PASSAGES[0], PASSAGES[0].body, "clean", random.Random(1)).save(image)
    refused = f"http://127.0.0.1:{closed_port()}/tsa"
    with Evidence(tmp_path / "ev") as evidence:
        evidence.archive([url], tsas=[tsa.url])
        evidence.archive([url, f"http://127.0.0.1:{closed_port()}/gone"], tsas=[refused])
        evidence.verify(image, PASSAGES[0].claim)
        records = list(evidence.log())
        assert evidence.check().intact
    seen: dict[str, dict[str, object]] = {}
    for record in records:
        kind = record.kind
        if kind == "timestamp":
            kind = f"{record.data['status']} timestamp"
        seen[kind] = record.data
        if record.kind in PAYLOADS:
            assert PAYLOADS[record.kind].from_json(record.data).to_json() == record.data
    assert {k: set(v) for k, v in seen.items() if k in OLD_KEYS} == OLD_KEYS
    assert VerificationPayload.from_json(seen["verification"]).verdict is Verdict.MATCH
    assert ChangedPayload.from_json(seen["changed"]).from_["seq"] == 1


def test_records_in_the_old_form_read_back_and_check(tmp_path, web):
    """Records appended as the dicts earlier versions built (before the payload classes)
    read back field by field and unchanged, and ``check`` finds the store intact."""
    url = _changing_page(web, "/records/old-form")
    with Evidence(tmp_path / "ev") as evidence:
        evidence.archive([url])
        evidence.archive([url])
        first, second = [r for r in evidence.log() if r.kind == "capture"]
        png = evidence.store.put_bytes(b"\x89PNG not really an image", role="screenshot",
                                       suffix=".png")
        reading = evidence.store.put_bytes(b'{"text": "7 861"}', role="ocr",
                                           suffix=".ocr.json")
        ledger = evidence.ledger

        def ref(record):
            return {"seq": record.seq, "record_hash": record.record_hash, "id": record.id,
                    "fetched_at": record.data.get("fetched_at"),
                    "http_status": record.data.get("http_status"),
                    "text_sha256": record.data.get("text_sha256")}

        old = {
            "fetch_failed": {"url": "http://127.0.0.1:9/", "error": "connection refused",
                             "reason": "refused"},
            "changed": {"url": first.subject, "from": ref(first), "to": ref(second),
                        "removed": ["Losses reported: 1 861 units."],
                        "added": ["Losses reported: 2 861 units."],
                        "figures": [{"old": "1861", "new": "2861", "old_text": "1 861",
                                     "new_text": "2 861", "passage": "Losses reported"}],
                        "http_status": {"from": 200, "to": 404}, "differ": "passages/1",
                        "ignore": ["^Updated"]},
            "ocr": {"image_sha256": png.sha256, "image_name": "shot.png", "phash": "00ff",
                    "width": 10, "height": 5, "lang_requested": "auto", "lang": "eng",
                    "engine": "tesseract 5.3.0", "pipeline": "provenance-ocr/2",
                    "confidence": "91.50", "words": 2,
                    "files": [png.to_json(), reading.to_json()]},
        }
        written = {kind: ledger.append(kind, data, subject=data.get("url"))
                   for kind, data in old.items()}
        ocr = written["ocr"]
        old["verification"] = {
            "verdict": "mismatch", "score": "0.870", "claim": "8 861", "found": "7 861",
            "figures": [{"claim": "8861", "found_as": None}], "reasons": ["figure 8 861"],
            "image_sha256": png.sha256,
            "ocr_record": {"seq": ocr.seq, "record_hash": ocr.record_hash},
            "against": {"kind": "text"}, "checked_at": "2026-11-25T12:00:00Z"}
        written["verification"] = ledger.append("verification", old["verification"],
                                                subject=png.sha256)
        report = evidence.check()
        assert report.intact and not report.problems, report.problems
        back = {kind: ledger.get(record.seq) for kind, record in written.items()}
    for kind, record in back.items():
        assert record is not None and record.data == old[kind]
        assert PAYLOADS[kind].from_json(record.data).to_json() == old[kind]
    assert FetchFailedPayload.from_json(back["fetch_failed"].data).reason == "refused"
    changed = ChangedPayload.from_json(back["changed"].data)
    assert (changed.from_["seq"], changed.to["seq"]) == (first.seq, second.seq)
    assert changed.http_status == {"from": 200, "to": 404} and changed.ignore == ["^Updated"]
    assert OcrPayload.from_json(back["ocr"].data).files[0]["role"] == "screenshot"
    assert VerificationPayload.from_json(back["verification"].data).verdict is Verdict.MISMATCH


def test_a_record_of_an_older_version_is_not_given_keys_it_never_had():
    """Missing keys read as defaults and are not written back; empty optional ones stay."""
    ocr = {"image_sha256": "ab" * 32, "lang": "rus", "confidence": "80.00", "words": 3,
           "files": [], "tesseract": "4.1"}  # no engine, no pipeline: an early reading
    payload = OcrPayload.from_json(ocr)
    assert payload.pipeline is None and payload.extra == {"tesseract": "4.1"}
    assert payload.to_json() == ocr
    snapshot = {"archive": "ia", "url": "https://example.org/", "timestamp": "20260101000000",
                "files": [], "text_note": ""}
    assert SnapshotPayload.from_json(snapshot).to_json() == snapshot
    pending = TimestampPayload.from_json({"covers": [1], "status": "pending", "files": []})
    assert pending.status is StampStatus.PENDING and "trust" not in pending.to_json()
    with pytest.raises(ValueError):
        VerificationPayload.from_json({"verdict": "close enough"})


def test_a_payload_set_after_reading_is_written():
    """A key an old record lacked is written once it is given a value."""
    payload = ChangedPayload.from_json({"url": "https://example.org/"})
    payload.differ = "passages/1"
    assert payload.to_json() == {"url": "https://example.org/", "differ": "passages/1"}


def test_changed_text_notes_are_optional_and_old_records_read_back_the_same():
    old = {"url": "https://example.org/", "from": {"seq": 1}, "to": {"seq": 2},
           "removed": [], "added": ["x"], "figures": [], "differ": "passages/1"}
    payload = ChangedPayload.from_json(old)
    assert payload.text_notes is None and payload.to_json() == old
    noted = {**old, "text_notes": [{"copy": "this", "note": "no article found"}]}
    assert ChangedPayload.from_json(noted).text_notes == noted["text_notes"]
    assert ChangedPayload.from_json(noted).to_json() == noted
    empty = {**old, "text_notes": []}  # as written by no version, still kept as it was
    assert ChangedPayload.from_json(empty).to_json() == empty
