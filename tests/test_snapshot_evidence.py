"""Issue 11: the archives' copies as evidence, and the KP case as it really went.

Nobody captured the page before it was withdrawn; it now answers 404. The Wayback
Machine (our Wayback-protocol test server) holds snapshots with and without the figures.
``verify shot.png --against URL`` must answer from the archive copy, name it, keep it as a
``snapshot`` record (WARC and text in the store), ``check`` it, and ``export`` it.
"""

from __future__ import annotations

import json
import os
import random
import zipfile
from pathlib import Path

import pytest
from evalset import Passage, render
from test_scenario import CLAIM, EDITED, FIGURES_PARAGRAPH, NOT_FOUND, ORIGINAL, cli
from test_snapshot import witness
from waybackserver import Snap
from webfixtures import ARTICLE, closed_port, send

from provenance.capture.snapshots import keep_snapshot
from provenance.check import check_store
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

SHOWN, EDIT, GONE = "20220320161245", "20220320194011", "20220321080000"
HTML = "text/html; charset=windows-1251"


def archive_holds(wayback, url: str) -> None:
    """The evening of 20 March 2022 as the archive saw it: with, without, then 404."""
    wayback.snaps[url] = [Snap(SHOWN, url, 200, HTML, None, ORIGINAL),
                          Snap(EDIT, url, 200, HTML, None, EDITED),
                          Snap(GONE, url, 404, HTML, None, NOT_FOUND.encode("cp1251"))]


@pytest.fixture
def withdrawn(web):
    path = f"/kp/withdrawn-{random.randrange(1 << 30)}"
    web.add_route(path, lambda h: send(h, 404, NOT_FOUND.encode("cp1251"), content_type=HTML))
    return web.url(path)


@pytest.fixture
def shot(tmp_path):
    passage = Passage("kp", "rus", ARTICLE[0], FIGURES_PARAGRAPH, CLAIM, ARTICLE[2], "")
    path = tmp_path / "shot.png"
    render(passage, FIGURES_PARAGRAPH, "clean", random.Random(1)).save(path)
    return str(path)


def problems(store: Path):
    with Ledger(Store(store, create=False)) as ledger:
        return check_store(ledger.store, ledger).problems


# --- 1. a snapshot record ---------------------------------------------------------------------

def test_a_snapshot_is_kept_once_and_checked(wayback, withdrawn, tmp_path):
    archive_holds(wayback, withdrawn)
    w = witness(wayback)
    rows = w.snapshots(withdrawn)
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        record, new = keep_snapshot(store, ledger, w, rows[0])
        assert new and record.kind == "snapshot"
        fetched = len(wayback.hits("/web/"))
        again, new = keep_snapshot(store, ledger, w, rows[0])
        assert not new and again.seq == record.seq and len(wayback.hits("/web/")) == fetched
    data = record.data
    assert data["archive"] == "ia" and data["url"] == withdrawn
    assert data["memento_url"] == f"{wayback.base}/web/{SHOWN}/{withdrawn}"
    assert data["memento_datetime"] == "2022-03-20T16:12:45Z" and data["http_status"] == 200
    assert data["cdx_digest"] == f"sha1:{rows[0].digest}" and data["digest_agrees"] is True
    assert [f["role"] for f in data["files"]] == ["warc", "text"]
    assert FIGURES_PARAGRAPH in (store.root / data["files"][1]["path"]).read_text()
    assert problems(tmp_path / "ev") == []
    # A forger edits the kept copy: check says so, for the WARC as for a capture's.
    warc = store.root / data["files"][0]["path"]
    warc.chmod(0o644)
    warc.write_bytes(warc.read_bytes()[:-20] + b"\0" * 20)
    found = problems(tmp_path / "ev")
    assert any("altered" in p.what and p.path == data["files"][0]["path"] for p in found)
    assert any("WARC" in p.what and p.seq == record.seq for p in found)


# --- 2 and 4. the KP case through the CLI ---------------------------------------------------------

def test_kp_page_now_404_matches_via_the_archive_copy(capsys, tmp_path, ia_env, withdrawn,
                                                       shot):
    archive_holds(ia_env, withdrawn)
    store = tmp_path / "ev"
    base = ["--store", str(store)]
    code, [item], err = cli(capsys, *base, "verify", shot, "--against", withdrawn,
                            "--to", "ia", "--tsa", "none")
    assert (code, item["verdict"]) == (0, "match"), (err, item)
    against = item["against"]
    assert against["kind"] == "snapshot" and against["source"] == "ia"
    assert against["memento_url"] == f"{ia_env.base}/web/{SHOWN}/{withdrawn}"
    assert against["memento_datetime"] == "2022-03-20T16:12:45Z" and against["sha256"]
    timeline = item["timeline"]
    rows = [(c["source"], c["verdict"], c["http_status"]) for c in timeline["captures"]]
    assert rows[:3] == [("ia", "match", 200), ("ia", "mismatch", 200), ("ia", "absent", 404)]
    # Then our capture of the 404 now, and the archive's copy of it (verify sent it there).
    assert sorted(rows[3:]) == [("ia", "absent", 404), ("local", "absent", 404)]
    assert timeline["summary"].startswith(
        "shown in ia 2022-03-20T16:12:45Z (1 of 5 copies); "
        "not shown from ia 2022-03-20T19:40:11Z on; 404 from ia 2022-03-21T08:00:00Z")
    fetched = len(ia_env.hits("/web/"))

    # Again: every copy is reused from the store, no archive copy is fetched again.
    code, [again], _ = cli(capsys, *base, "verify", shot, "--against", withdrawn,
                           "--to", "ia", "--tsa", "none")
    assert (code, again["against"]["snapshot"]) == (0, against["snapshot"])
    assert len(ia_env.hits("/web/")) == fetched
    # Human output names the copy and tells the timeline.
    report = tmp_path / "kp.html"
    assert main([*base, "verify", shot, "--against", withdrawn, "--to", "ia",
                 "--tsa", "none", "--report", str(report)]) == 0
    human = capsys.readouterr().out
    page = report.read_text(encoding="utf-8")
    assert against["memento_url"] in page and against["memento_datetime"] in page
    assert "shown in ia 2022-03-20T16:12:45Z (1 of 5 copies)" in page
    assert f"against ia copy {against['memento_url']}" in human
    assert "shown in ia 2022-03-20T16:12:45Z (1 of 5 copies)" in human
    assert problems(store) == []

    # The exported verification carries the archive copy's WARC byte for byte.
    bundle = tmp_path / "kp.zip"
    code, _, err = cli(capsys, *base, "export", item["id"], "--out", str(bundle))
    assert code == 0, err
    with Ledger(Store(store, create=False)) as ledger:
        snap = ledger.find(against["snapshot"])
        assert snap is not None and snap.kind == "snapshot"
        warc_path = snap.data["files"][0]["path"]
        warc = (ledger.store.root / warc_path).read_bytes()
    with zipfile.ZipFile(bundle) as z:
        assert any(z.read(name) == warc for name in z.namelist() if name.endswith(warc_path))
    code, report, err = cli(capsys, "check", "--bundle", str(bundle))
    *listed, verdict = report
    assert verdict["problems"] == 0, (report, err)  # not intact only for want of a stamp
    assert sum(r["kind"] == "snapshot" for r in listed) == 4  # every copy it rests on


def test_an_archive_that_is_down_costs_a_line_and_the_local_answer(capsys, tmp_path,
                                                                    withdrawn, shot,
                                                                    monkeypatch):
    monkeypatch.setenv("PROVENANCE_WAYBACK", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("PROVENANCE_WITNESS_TRIES", "1")
    code, [item], err = cli(capsys, "--store", str(tmp_path / "ev"), "verify", shot,
                            "--against", withdrawn, "--to", "ia", "--tsa", "none",
                            "--timeout", "3")
    assert "could not check ia" in err
    assert (code, item["verdict"]) == (1, "absent")  # the local 404, never a false match
    assert [c["source"] for c in item["timeline"]["captures"]] == ["local"]
    assert item["timeline"]["could_not_check"]


def test_a_slow_archive_never_hangs(capsys, tmp_path, ia_env, withdrawn, shot):
    archive_holds(ia_env, withdrawn)
    ia_env.slow("/web/", "endless")
    code, [item], err = cli(capsys, "--store", str(tmp_path / "ev"), "verify", shot,
                            "--against", withdrawn, "--to", "ia", "--tsa", "none",
                            "--timeout", "2")
    assert "could not check ia" in err
    assert item["verdict"] != "match" and code == 1
    assert json.dumps(item)  # a full answer, not a hang


# --- 3. history --fetch-witnesses keeps what it reads ---------------------------------------------

def test_history_keeps_the_copies_it_fetches(capsys, tmp_path, ia_env, withdrawn):
    archive_holds(ia_env, withdrawn)
    base = ["--store", str(tmp_path / "ev")]
    code, items, err = cli(capsys, *base, "history", withdrawn, "--to", "ia",
                           "--fetch-witnesses")
    assert code == 0, err
    ia = [i for i in items if i["source"] == "ia"]
    assert [i["time"] for i in ia] == ["2022-03-20T16:12:45Z", "2022-03-20T19:40:11Z",
                                       "2022-03-21T08:00:00Z"]
    assert FIGURES_PARAGRAPH in ia[1]["diff"]["removed"]  # the diffs between copies
    assert all(i["snapshot"]["seq"] for i in ia)
    fetched = len(ia_env.hits("/web/"))
    assert fetched == 3
    code, again, _ = cli(capsys, *base, "history", withdrawn, "--to", "ia",
                         "--fetch-witnesses")
    assert code == 0 and len(ia_env.hits("/web/")) == fetched  # all from the store
    assert [i.get("diff") for i in again] == [i.get("diff") for i in items]
    assert problems(tmp_path / "ev") == []


def test_kept_copies_answer_offline(capsys, tmp_path, ia_env, withdrawn, shot, monkeypatch):
    """Once kept, the archive copy decides even when the archive is down: the verdict
    names the kept copy and says the archive could not be read."""
    archive_holds(ia_env, withdrawn)
    base = ["--store", str(tmp_path / "ev")]
    code, [first], err = cli(capsys, *base, "verify", shot, "--against", withdrawn,
                             "--to", "ia", "--tsa", "none")
    assert code == 0, err
    monkeypatch.setenv("PROVENANCE_WAYBACK", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("PROVENANCE_WITNESS_TRIES", "1")
    code, [item], err = cli(capsys, *base, "verify", shot, "--against", withdrawn,
                            "--to", "ia", "--tsa", "none", "--timeout", "3")
    assert "could not check ia" in err
    assert (code, item["verdict"]) == (0, "match")
    assert item["against"]["snapshot"] == first["against"]["snapshot"]


def test_an_archive_that_excludes_its_copies_is_not_a_verdict(capsys, tmp_path, ia_env,
                                                               withdrawn, shot):
    """Every raw copy answers 403 without Memento-Datetime (an exclusion page): one line
    per copy, and the local answer; never a match, never "absent" drawn from the archive."""
    archive_holds(ia_env, withdrawn)
    ia_env.fail_next(403, times=50, path="/web/")
    code, [item], err = cli(capsys, "--store", str(tmp_path / "ev"), "verify", shot,
                            "--against", withdrawn, "--to", "ia", "--tsa", "none")
    assert "could not check ia 2022-03-20T16:12:45Z" in err
    assert (code, item["verdict"]) == (1, "absent")
    assert {c["source"] for c in item["timeline"]["captures"]} == {"local"}
    assert len(item["timeline"]["could_not_check"]) >= 3


def test_a_memento_archive_decides_too(capsys, tmp_path, pywb, web, shot):
    """A real pywb read through its TimeMap (``memento=BASE``): its copy of the page before
    it was withdrawn is the match, named by its memento URL."""
    from test_timemap import FAST

    from archive.witness import WitnessSpec, open_witness

    served = [ORIGINAL]
    path = f"/kp/pywb-{random.randrange(1 << 30)}"
    web.add_route(path, lambda h: send(h, 200 if served else 404,
                                       served[0] if served else NOT_FOUND.encode("cp1251"),
                                       content_type=HTML))
    url = web.url(path)
    recorder = open_witness(WitnessSpec.parse(f"pywb={pywb.base}"), FAST)
    assert recorder.submit(url).status == "archived"
    served.clear()  # withdrawn: 404 from now on
    spec = f"memento={pywb.base}/timemap/link/"
    code, [item], err = cli(capsys, "--store", str(tmp_path / "ev"), "verify", shot,
                            "--against", url, "--to", spec, "--tsa", "none")
    assert (code, item["verdict"]) == (0, "match"), (err, item)
    assert item["against"]["kind"] == "snapshot" and item["against"]["source"] == spec
    assert item["against"]["memento_url"].startswith(pywb.base)
    assert [c["source"] for c in item["timeline"]["captures"]] == [spec, "local"]
    assert problems(tmp_path / "ev") == []


def test_fifty_snapshots_are_read_once(capsys, tmp_path, ia_env, withdrawn, shot,
                                       monkeypatch):
    """The issue's benchmark: a URL with 50 archive snapshots. The first run reads each raw
    copy once; the same run again makes no copy request at all (all from the store)."""
    import time

    monkeypatch.setenv("PROVENANCE_IA_READ_INTERVAL", "0")
    ia_env.snaps[withdrawn] = [
        Snap(f"2022032016{m:02d}00", withdrawn, 200, HTML, None, ORIGINAL if m < 10 else EDITED)
        for m in range(50)]
    base = ["--store", str(tmp_path / "ev"), "verify", shot, "--against", withdrawn,
            "--to", "ia", "--tsa", "none"]
    started = time.monotonic()
    code, [item], err = cli(capsys, *base)
    first = time.monotonic() - started
    raw = [h for h in ia_env.hits("/web/") if f"id_/{withdrawn}" in h.path]
    assert (code, item["verdict"]) == (0, "match"), err
    assert len({h.path for h in raw}) >= 50
    started = time.monotonic()
    code, [again], _ = cli(capsys, *base)
    second = time.monotonic() - started
    assert code == 0 and again["against"] == item["against"]
    assert len([h for h in ia_env.hits("/web/") if f"id_/{withdrawn}" in h.path]) == len(raw)
    assert "shown in ia 2022-03-20T16:00:00Z to ia 2022-03-20T16:09:00Z (10 of" in \
        again["timeline"]["summary"]
    print(f"50 snapshots: first run {first:.1f} s, {len(raw)} copy requests; "
          f"again {second:.1f} s, 0 copy requests")


def test_a_copy_of_another_time_is_never_taken_for_the_one_listed(capsys, tmp_path, ia_env,
                                                                   withdrawn, shot):
    """The archive serves another snapshot than the one its index lists (its raw copy has
    another Memento-Datetime): that copy is not checked, and the others still are."""
    archive_holds(ia_env, withdrawn)
    ia_env.raw_memento_datetime = "Sun, 01 Jan 2023 00:00:00 GMT"
    code, [item], err = cli(capsys, "--store", str(tmp_path / "ev"), "verify", shot,
                            "--against", withdrawn, "--to", "ia", "--tsa", "none")
    assert (code, item["verdict"]) == (1, "absent")
    for when in ("2022-03-20T16:12:45Z", "2022-03-20T19:40:11Z", "2022-03-21T08:00:00Z"):
        assert f"could not check ia {when}" in err
    assert problems(tmp_path / "ev") == [] and "snapshot" not in {
        c["kind"] for c in item["timeline"]["captures"]}


def test_history_on_a_read_only_store_compares_without_keeping(capsys, tmp_path, ia_env,
                                                               withdrawn):
    """A write-protected store handed over as evidence: ``--fetch-witnesses`` says in one
    line that the copies cannot be kept, and still fetches and compares them."""
    from test_store import mounted

    archive_holds(ia_env, withdrawn)
    store = tmp_path / "ev"
    assert main(["--store", str(store), "archive", withdrawn, "--to", "none",
                 "--tsa", "none"]) == 0  # the page as it is now: a 404
    capsys.readouterr()
    before = sorted(p.name for p in store.rglob("*"))
    view = tmp_path / "ro"
    view.mkdir()
    with mounted(["--bind", "-o", "ro", str(store)], view):
        if os.access(view, os.W_OK):
            pytest.skip("the bind mount is not read-only here")
        code, items, err = cli(capsys, "--store", str(view), "history", withdrawn, "--to",
                               "ia", "--fetch-witnesses")
    assert code == 0, err
    assert err.splitlines() == [f"provenance: store {view} is read-only: the archive copies "
                                "are compared but cannot be kept in it (nothing is written)"]
    ia = [i for i in items if i["source"] == "ia"]
    assert FIGURES_PARAGRAPH in ia[1]["diff"]["removed"]  # compared all the same
    assert not any("snapshot" in i for i in ia)  # and kept nowhere
    assert sorted(p.name for p in store.rglob("*")) == before


def test_a_copys_kept_text_is_the_text_made_again_from_its_warc(wayback, web, tmp_path):
    """A copy's text and the text ``history`` makes again from the copy's WARC (when the
    extractor changed) come from one function: same text, note, title and charset, whatever
    the copy's bytes (charsets, gzip, bytes labelled gzip that are not, no charset label, a
    body that decodes to more than may be decoded).
    Two ways of making them differed in their notes, so a comparison could be qualified on
    one side only."""
    import gzip as gz

    from provenance.changes.timeline import reextracted_page
    from provenance.store.kinds import SNAPSHOT

    cases = {
        "cp1251": (HTML, None, ORIGINAL),
        "gzip": ("text/html; charset=utf-8", "gzip",
                 gz.compress(ORIGINAL.decode("cp1251").encode("utf-8"))),
        "garbled": ("text/html; charset=utf-8", "gzip", b"not gzip at all " * 50),
        "koi8": ("text/html", None, ORIGINAL.decode("cp1251").encode("koi8_r")),
        # decodes to more than the decoding allowed: read in part, and both say so
        "bomb": ("text/html; charset=utf-8", "gzip",
                 gz.compress(b"<p>Start of a copy.</p>" + b" " * 201_000_000, compresslevel=1)),
    }
    w = witness(wayback)
    store = Store(tmp_path / "ev")
    with Ledger(store) as ledger:
        for name, (content_type, encoding, body) in cases.items():
            url = web.url(f"/kp/copy-{name}-{random.randrange(1 << 30)}")
            wayback.snaps[url] = [Snap(SHOWN, url, 200, content_type, encoding, body)]
            keep_snapshot(store, ledger, w, w.snapshots(url)[0])
        kept = list(ledger.records(kind=SNAPSHOT))
        assert len(kept) == len(cases)
        for record in kept:
            text_file = next(f for f in record.files if f["role"] == "text")
            again = reextracted_page(store, record)
            assert again is not None, record.subject
            assert again.text == store.read_object(text_file["path"]).decode("utf-8")
            assert (again.note, again.title) == (record.data.get("text_note"),
                                                 record.data.get("title")), record.subject
        garbled = next(r for r in kept if "copy-garbled" in r.subject)
        assert garbled.data["text_note"].startswith("no text")
        bomb = next(r for r in kept if "copy-bomb" in r.subject)
        assert "its end was not read" in bomb.data["text_note"]
        assert FIGURES_PARAGRAPH in store.read_object(
            next(f for f in next(r for r in kept if "copy-koi8" in r.subject).files
                 if f["role"] == "text")["path"]).decode("utf-8")
