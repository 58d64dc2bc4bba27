"""Changes between captures: the pure diff (properties and examples), ``changed`` records,
and history with witness snapshots, on loopback servers only."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webfixtures import send

from provenance.changes.diff import (
    compile_ignore,
    diff_texts,
    is_volatile,
    passage_key,
    passages,
    unified_lines,
)
from provenance.changes.timeline import CHANGED, screenshot_timeline
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.ledger import Ledger

LEAD = ("По данным Министерства обороны, с начала специальной военной операции Россия "
        "потеряла {killed} человек убитыми, {injured} ранеными.")
REST = ["Потери России на Украине: данные Минобороны",
        "В ведомстве подчеркнули, что эти сведения уточняются.",
        "Ранее официально сообщалось о 498 погибших военнослужащих."]


def article(lead: str | None, *, clock: str = "14:03", ad: str = "Купите наши курсы") -> str:
    lines = [REST[0], f"Обновлено {clock}", *([lead] if lead else []), REST[1],
             f"Реклама. {ad}", REST[2]]
    return "\n".join(lines)


KP = LEAD.format(killed="9 861", injured="16 153")


# --- the pure diff: examples -------------------------------------------------------------------

def test_figures_removed_are_a_removed_passage_with_its_figures():
    changes = diff_texts(article(KP), article(None, clock="17:40"))
    assert changes.removed == [KP] and changes.added == []
    assert [(f.old, f.new) for f in changes.figures] == [("9861", None), ("16153", None)]
    assert unified_lines(changes)[0] == f"- {KP}"


def test_a_figure_written_differently_is_no_change_and_a_different_one_always_is():
    for same in ("9,861", "9861", "9\u00a0861", "9\u2009861", "9.861"):
        assert not diff_texts(article(KP), article(KP.replace("9 861", same)))
    changes = diff_texts(article(KP), article(KP.replace("9 861", "9 881")))
    assert [(f.old, f.new, f.old_text, f.new_text) for f in changes.figures] == [
        ("9861", "9881", "9 861", "9 881")]
    assert changes.removed == [KP] and changes.added == [KP.replace("9 861", "9 881")]


def test_clock_ad_date_and_whitespace_are_not_changes():
    old = article(KP) + "\n20 марта 2022\n1 234 просмотра\nerid: 2VtzqwXyZ"
    new = (article(KP.replace(" ", "  "), clock="23:59", ad="Скидка 30% только сегодня")
           + "\n21 марта 2022\n1 301 просмотр\nerid: 2Vtzqabc")
    assert not diff_texts(old, new)


@pytest.mark.parametrize("line", [
    "Потери составили 9 861 человек", "9 861", "Реклама на телевидении подорожала на 10%",
    "Ad hoc committee met at 14:00", "Ранее, 12 марта, сообщалось о 498 погибших"])
def test_lines_with_content_are_never_volatile(line):
    assert not is_volatile(line)


@pytest.mark.parametrize("line", [
    "Обновлено 14:03", "20 марта 2022", "2022-03-21T14:03:07Z", "Updated 3 hours ago",
    "Реклама 16+", "Advertisement", "Читайте также: другие новости", "12 комментариев"])
def test_volatile_lines(line):
    assert is_volatile(line)


def test_a_figure_that_only_moved_is_not_a_figure_change():
    old = "Первый абзац без цифр о событиях.\nПотери: 9 861 человек по данным ведомства."
    new = "Потери: 9 861 человек по данным ведомства.\nПервый абзац без цифр о событиях."
    changes = diff_texts(old, new)
    assert changes.figures == []


# --- the pure diff: properties -------------------------------------------------------------------

words = st.sampled_from(["потери", "данные", "министерство", "раненые", "убитые", "report",
                         "the", "ministry", "said", "9 861", "16 153", "498", "2022", "14:03"])
passage_st = st.lists(words, min_size=1, max_size=12).map(" ".join)
text_st = st.lists(passage_st, min_size=0, max_size=12).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(text_st)
def test_a_text_never_differs_from_itself_or_from_its_reflowed_self(text):
    assert not diff_texts(text, text)
    reflowed = "\n".join("  " + line.replace(" ", " \u00a0 ") + "\t" for line in text.split("\n"))
    assert not diff_texts(text, reflowed)


@settings(max_examples=60, deadline=None)
@given(text_st, text_st)
def test_removed_and_added_turn_one_text_into_the_other(old, new):
    changes = diff_texts(old, new)
    keys = Counter(passage_key(p) for p in passages(old))
    keys -= Counter(passage_key(p) for p in changes.removed)
    keys += Counter(passage_key(p) for p in changes.added)
    assert keys == Counter(passage_key(p) for p in passages(new))
    assert set(changes.removed) <= set(passages(old))
    assert set(changes.added) <= set(passages(new))


@settings(max_examples=50, deadline=None)
@given(text_st, st.sampled_from(["9 861", "16 153", "498"]),
       st.sampled_from(["9 881", "1 351", "499"]))
def test_every_changed_figure_is_reported(text, old, new):
    base = f"{text}\nПотери составили {old} человек."
    changes = diff_texts(base, base.replace(old, new))
    assert any(f.new == new.replace(" ", "") for f in changes.figures)


# --- `changed` records through `archive` ------------------------------------------------------

def changing_route(web, path, bodies):
    """A route that serves the next of ``bodies`` ((status, html)) per request (then the last)."""
    served = itertools.count()

    def handler(h):
        status, body = bodies[min(next(served), len(bodies) - 1)]
        send(h, status, body.encode("utf-8"), content_type="text/html; charset=utf-8")

    web.add_route(path, handler)
    return web.url(path)


def html(text: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n"))
    return (f"<html><body><nav>Главная Политика</nav><article>{paragraphs}</article>"
            "<footer>Все права защищены</footer></body></html>")


def archive(capsys, store, url):
    assert main(["--json", "--store", store, "archive", url, "--to", "none", "--tsa",
                 "none"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[-1])


def test_kp_sequence_records_each_change(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = changing_route(web, "/changes/kp", [
        (200, html(article(KP, clock="16:04"))),
        (200, html(article(KP, clock="16:30", ad="Другая реклама"))),  # clock and ad only
        (200, html(article(None, clock="19:40"))),
        (200, html(article(LEAD.format(killed="1 351", injured="3 825"), clock="20:00"))),
        (404, "<html><body><p>Страница не найдена</p></body></html>"),
        (410, "<html><body><p>Страница удалена</p></body></html>"),
    ])
    outs = [archive(capsys, store, url) for _ in range(6)]
    assert [o["changed"] is None for o in outs] == [True, True, False, False, False, False]
    removed = outs[2]["changed"]
    assert removed["removed"] == [KP] and removed["added"] == []
    assert {f["old"] for f in removed["figures"]} == {"9861", "16153"}
    assert removed["since"] == outs[1]["id"]
    new_figures = outs[3]["changed"]["figures"]
    assert {(f["old"], f["new"]) for f in new_figures} == {(None, "1351"), (None, "3825")}
    gone = outs[4]["changed"]
    assert gone["http_status"] == {"from": 200, "to": 404}
    assert REST[1] in gone["removed"] and "Страница не найдена" in gone["added"]
    assert outs[5]["changed"]["http_status"] == {"from": 404, "to": 410}

    with Ledger(Store(store)) as ledger:
        records = list(ledger.records(kind=CHANGED))
    assert len(records) == 4
    first = records[0].data
    assert first["from"]["seq"] == outs[1]["ledger_seq"]
    assert first["from"]["record_hash"] == outs[1]["record_hash"]
    assert first["to"]["record_hash"] == outs[2]["record_hash"]
    assert first["differ"].startswith("provenance-changes/")
    assert main(["--store", store, "check"]) == 0


def test_clock_and_ad_page_never_reports_a_change(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = changing_route(web, "/changes/clock", [
        (200, html(article(KP, clock=f"1{n}:0{n}", ad=f"Реклама номер {n}"))) for n in range(4)])
    outs = [archive(capsys, store, url) for _ in range(4)]
    assert len({o["text_sha256"] for o in outs}) == 4  # the texts do differ...
    assert all(o["changed"] is None for o in outs)      # ...but not in anything that counts
    with Ledger(Store(store)) as ledger:
        assert list(ledger.records(kind=CHANGED)) == []


# --- history: local captures and witness snapshots --------------------------------------------

def test_history_merges_local_and_witness_and_fetches_witness_copies(tmp_path, capsys, web,
                                                                     ia_env):
    store = str(tmp_path / "ev")
    url = changing_route(web, "/changes/witnessed", [
        (200, html(article(KP))),                  # our capture
        (200, html(article(KP, clock="18:00"))),   # the Wayback Machine's first snapshot
        (200, html(article(None))),                # the edit only the Wayback Machine saw
        (200, html(article(None, clock="21:00"))),  # our second capture
    ])
    archive(capsys, store, url)
    ia_env.state.snaps.clear()
    import urllib.request
    for _ in range(2):
        urllib.request.urlopen(f"{ia_env.base}/save/{url}").read()
    last = ia_env.snapshots(url)[-1].timestamp  # one per second: it may be ahead of us
    while time.strftime("%Y%m%d%H%M%S", time.gmtime()) <= last:
        time.sleep(0.1)
    archive(capsys, store, url)

    assert main(["--json", "--store", store, "history", url, "--to", "ia"]) == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [i["source"] for i in plain].count("ia") == 2
    assert "diff" not in [i for i in plain if i["source"] == "ia"][0]
    local = [i for i in plain if i["source"] == "local"]
    assert local[1]["diff"]["removed"] == [KP] and local[1]["diff"]["ledger"]["seq"]

    assert main(["--json", "--store", store, "history", url, "--to", "ia",
                 "--fetch-witnesses"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [i["source"] for i in items] == ["local", "ia", "ia", "local"]
    assert items[1]["diff"] is None                      # the clock changed, nothing else
    assert items[2]["diff"]["removed"] == [KP]           # the Wayback Machine saw the edit
    assert items[2]["diff"]["since"]["source"] == "ia"
    assert items[3]["diff"] is None                      # we saw the same page later
    assert all(i["raw_url"].startswith(ia_env.base + "/web/") for i in items[1:3])

    report = tmp_path / "timeline.html"
    assert main(["--store", store, "history", url, "--to", "ia", "--fetch-witnesses",
                 "--report", str(report)]) == 0
    human = capsys.readouterr().out
    assert f"- {KP}" in human and "\x1b[" not in human  # marked, no colour off a terminal
    page = report.read_text("utf-8")
    assert "<del>" in page and "9 861" in page
    assert not any(tag in page for tag in ("<link", "src=", "<script", "@import"))  # offline


def test_history_report_escapes_page_text(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = changing_route(web, "/changes/evil", [
        (200, html("Текст &lt;script&gt;alert(1)&lt;/script&gt; статьи номер один")),
        (200, html("Другой текст &lt;img src=x onerror=alert(1)&gt; статьи")),
    ])
    archive(capsys, store, url)
    archive(capsys, store, url)
    report = tmp_path / "r.html"
    assert main(["--store", store, "history", url, "--to", "none", "--report",
                 str(report)]) == 0
    page = report.read_text("utf-8")
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "default-src 'none'" in page


# --- a screenshot across time ------------------------------------------------------------------

def test_screenshot_timeline_shown_then_absent(tmp_path, capsys, web):
    """The library call ``verify IMAGE --against URL`` uses across time, on real OCR."""
    from evalset import _draw_paragraphs, find_font
    from PIL import Image, ImageDraw, ImageFont

    from provenance.screens.match import verify_against_text
    from provenance.screens.ocr import OcrUnavailable, ocr_image

    store = str(tmp_path / "ev")
    url = changing_route(web, "/changes/shot", [
        (200, html(article(KP))), (200, html(article(KP, clock="17:00"))),
        (200, html(article(None))), (404, "<p>Страница не найдена</p>")])
    outs = [archive(capsys, store, url) for _ in range(4)]
    image = tmp_path / "shot.png"
    picture = Image.new("RGB", (760, 260), "white")
    _draw_paragraphs(ImageDraw.Draw(picture), 28, 28, 700,
                     [(KP, ImageFont.truetype(find_font(), 19))], (20, 20, 20))
    picture.save(image)
    try:
        ocr = ocr_image(str(image), "rus")
    except OcrUnavailable as exc:
        pytest.skip(str(exc))
    with Ledger(Store(store)) as ledger:
        result = screenshot_timeline(ledger, Store(store),
                                     lambda text: verify_against_text(ocr, text), url)
    assert [c["verdict"] for c in result["captures"]] == ["match", "match", "absent", "absent"]
    assert result["first_shown"] == outs[0]["fetched_at"]
    assert result["absent_since"] == outs[2]["fetched_at"]
    assert "not shown from" in result["summary"]


# --- --ignore: a site's own volatile passages ----------------------------------------------------

def test_ignore_patterns_drop_passages_from_the_diff():
    ticker = "Курс доллара: {}"
    old = article(KP) + "\n" + ticker.format("81,20 ₽ — Московская биржа, торги идут")
    new = article(KP) + "\n" + ticker.format("82,05 ₽ — Московская биржа, торги идут")
    assert diff_texts(old, new)  # a line with words and a figure: a change by default
    assert not diff_texts(old, new, compile_ignore([r"^Курс доллара:"]))
    withdrawn = article(None) + "\n" + ticker.format("82,05 ₽ — Московская биржа, торги идут")
    assert diff_texts(old, withdrawn, compile_ignore([r"^Курс доллара:"])).removed == [KP]


def test_ignore_through_archive_and_history_is_recorded(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    ticker = "Курс доллара: {} ₽ — Московская биржа, торги идут"
    url = changing_route(web, "/changes/ignore", [
        (200, html(article(KP) + "\n" + ticker.format("81,20"))),
        (200, html(article(KP) + "\n" + ticker.format("82,05"))),
        (200, html(article(None) + "\n" + ticker.format("82,05")))])
    ignore = ["--ignore", "^Курс доллара:"]
    first = archive_with(capsys, store, url, *ignore)
    second = archive_with(capsys, store, url, *ignore)
    assert first["changed"] is None and second["changed"] is None  # only the ticker moved
    third = archive_with(capsys, store, url, *ignore)
    assert third["changed"]["removed"] == [KP]
    with Ledger(Store(store)) as ledger:
        [record] = ledger.records(kind=CHANGED)
    assert record.data["ignore"] == ["^Курс доллара:"]  # the record says what it disregarded
    assert main(["--json", "--store", store, "history", url, "--to", "none"]) == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert plain[1]["diff"]["figures"]  # without --ignore, the ticker's figure is a change
    assert main(["--json", "--store", store, "history", url, "--to", "none", *ignore]) == 0
    told = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert told[1]["diff"] is None and told[2]["diff"]["removed"] == [KP]


def test_a_bad_ignore_pattern_is_a_usage_error(tmp_path, capsys, web):
    code = main(["--store", str(tmp_path / "ev"), "archive", web.url("/ru/utf8"),
                 "--ignore", "(unclosed"])
    err = capsys.readouterr().err
    assert code == 2 and "--ignore '(unclosed' is not a regular expression" in err
    assert not (tmp_path / "ev").exists()


def archive_with(capsys, store, url, *extra):
    assert main(["--json", "--store", store, "archive", url, "--to", "none", "--tsa", "none",
                 *extra]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[-1])


# --- figures longer than a default Decimal (28 digits) ------------------------------------------

def _long(n: int) -> str:
    return "1" + "".join(str((i * 7 + 3) % 10) for i in range(n - 1))


@pytest.mark.parametrize("n", [29, 40, 1000])
def test_long_figures_change_by_exact_value(n):
    digits = _long(n)
    lead = f"Ущерб составил {digits} рублей, сообщило министерство"
    grouped = f"{int(digits):,}".replace(",", "\u00a0") if n < 100 else digits
    assert not diff_texts(article(lead), article(lead.replace(digits, grouped)))
    edited = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    changes = diff_texts(article(lead), article(lead.replace(digits, edited)))
    assert [(f.old, f.new) for f in changes.figures] == [(digits, edited)]


def test_history_of_pages_with_long_figures(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    digits = {n: _long(n) for n in (29, 40, 1000)}
    first = "\n".join(f"Ущерб номер {n} составил {d} рублей, сообщило министерство"
                      for n, d in digits.items())
    second = first.replace(f"{digits[40]} рублей", f"{digits[40][:-1]}0 рублей")
    url = changing_route(web, "/changes/long", [(200, html(article(first))),
                                                 (200, html(article(second)))])
    outs = [archive(capsys, store, url) for _ in range(2)]
    assert outs[0]["changed"] is None
    assert [(f["old"], f["new"]) for f in outs[1]["changed"]["figures"]] == [
        (digits[40], digits[40][:-1] + "0")]
    assert main(["--json", "--store", store, "history", url, "--to", "none"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(f["old"], f["new"]) for f in items[1]["diff"]["figures"]] == [
        (digits[40], digits[40][:-1] + "0")]


def test_the_previous_capture_is_one_row_read_by_index(tmp_path):
    """A new capture is compared with the newest earlier capture of its URL, read as one
    row (issue 16: not every capture of the URL decoded on every page)."""
    from provenance.changes.timeline import previous_capture
    from provenance.store.kinds import CAPTURE

    with Ledger(Store(tmp_path / "ev")) as ledger:
        url = "http://example.org/a"
        first = ledger.append(CAPTURE, {"url": url, "n": 1}, subject=url)
        ledger.append(CAPTURE, {"url": "http://example.org/b"}, subject="http://example.org/b")
        second = ledger.append(CAPTURE, {"url": url, "n": 2}, subject=url)
        third = ledger.append(CAPTURE, {"url": url, "n": 3}, subject=url)
        statements: list[str] = []
        ledger._db.set_trace_callback(statements.append)
        assert previous_capture(ledger, third) == second
        ledger._db.set_trace_callback(None)
        assert previous_capture(ledger, second) == first
        assert previous_capture(ledger, first) is None
        assert len(statements) == 1 and statements[0].endswith("LIMIT 1")
