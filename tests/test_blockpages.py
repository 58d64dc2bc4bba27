"""A bot check, captcha or "access denied" page is never read as the page.

When a site answered with Cloudflare's "Just a moment..." (or a captcha, or a firewall's
block page) instead of the article, the capture's text was the challenge's: ``history``,
the ``changed`` records and ``watch`` read that as "every passage removed", and as
"everything added" when the page came back, and ``archive`` said "captured" as if the
article were held. Real challenge pages (tests/blockpages, see its README) are served here
with the statuses they come with; articles that talk about challenges must never be taken
for one (the pages of trafilatura's evaluation set, when present, and adversarial ones).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace

import pytest
from challengescan import challenges_in
from test_changes import KP, article, html
from webfixtures import send

from archive.blockpage import BlockKind, BlockPage, archived_headers, detect
from archive.text import extract_text
from provenance.changes.timeline import blocked, screenshot_timeline
from provenance.cli.main import main
from provenance.store.filestore import Store
from provenance.store.kinds import CAPTURE, CHANGED
from provenance.store.ledger import Ledger

PAGES = Path(__file__).parent / "blockpages"


def real(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def judged(body: bytes, status: int | None, *, markup: bool = False,
           headers: dict[str, str] | None = None) -> BlockPage | None:
    page = extract_text(body, "text/html", "https://example.org/a")
    return detect(status, page.title, page.text, headers=headers,
                  markup=body if markup else None)


# --- the detector on real challenge pages -------------------------------------------------

@pytest.mark.parametrize("name, vendor, kind", [
    ("cloudflare_js_challenge_2019.html", "Cloudflare", BlockKind.BOT_CHECK),
    ("cloudflare_js_challenge_2020.html", "Cloudflare", BlockKind.BOT_CHECK),
    ("cloudflare_managed_challenge_2022.html", "Cloudflare", BlockKind.BOT_CHECK),
    ("cloudflare_attention_required_2019.html", "Cloudflare", BlockKind.CAPTCHA),
    ("cloudflare_access_denied.html", "Cloudflare", BlockKind.ACCESS_DENIED),
])
@pytest.mark.parametrize("status", [200, 403, 503])
def test_real_cloudflare_pages_are_known_from_title_and_text_alone(name, vendor, kind, status):
    """No headers, no markup: what an old record or an archive's copy gives."""
    found = judged(real(name), status)
    assert found is not None and (found.vendor, found.kind) == (vendor, kind)
    assert found.evidence


def test_sucuris_script_check_needs_its_script_or_an_error_status():
    body = real("sucuri_js_check_2019.html")
    assert judged(body, 200) is None  # "You are being redirected..." alone: any site says it
    assert judged(body, 200, markup=True).vendor == "Sucuri"  # its sucuri_cloudproxy_js
    assert judged(body, 503).vendor == "Sucuri"


def test_cloudflares_challenge_header_says_so_on_its_own():
    body = b"<html><head><title>example.org</title></head><body><p>One moment</p></body></html>"
    assert judged(body, 200) is None
    found = judged(body, 403, headers={"CF-Mitigated": "challenge", "Server": "cloudflare"})
    assert found is not None and found.vendor == "Cloudflare"


def doc(title: str, body: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()


@pytest.mark.parametrize("body, status, vendor, kind", [
    (doc("DDoS-Guard", "<p>Checking your browser before accessing example.ru.</p>"
         "<p>DDoS protection by DDoS-Guard</p>"), 403, "DDoS-Guard", BlockKind.BOT_CHECK),
    (doc("Вы не робот?", "<p>Подтвердите, что запросы отправляли вы, а не робот</p>"
         "<p>SmartCaptcha by Yandex Cloud</p>"), 200, "Yandex SmartCaptcha", BlockKind.CAPTCHA),
    (doc("https://www.google.com/search?q=x", "<p>Our systems have detected unusual traffic "
         "from your computer network. This page checks to see if it's really you sending "
         "the requests, and not a robot.</p>"), 429, "Google", BlockKind.CAPTCHA),
    (doc("example.fr", "<p id=cmsg>Please enable JS and disable any ad blocker</p><script>"
         "var dd={'rt':'c','host':'geo.captcha-delivery.com'}</script>"), 403, "DataDome",
     BlockKind.CAPTCHA),
    (doc("Access to this page has been denied", "<div id=px-captcha></div><p>Press &amp; "
         "Hold to confirm you are a human (and not a bot).</p>"), 403, "PerimeterX",
     BlockKind.CAPTCHA),
    (doc("Access Denied", "<h1>Access Denied</h1><p>You don't have permission to access "
         "\"http://www.example.com/a\" on this server.</p>"
         "<p>Reference #18.3c0d1402.1700000000.1a2b3c4d</p>"), 403, "Akamai",
     BlockKind.ACCESS_DENIED),
    (doc("Sucuri WebSite Firewall - Access Denied", "<h2>Access Denied - Sucuri Website "
         "Firewall</h2><p>If you are the site owner (or you manage this site), please "
         "whitelist your IP</p>"), 403, "Sucuri", BlockKind.ACCESS_DENIED),
    (doc("", "<p>Request unsuccessful. Incapsula incident ID: 1234000180123</p>"), 200,
     "Imperva", BlockKind.ACCESS_DENIED),
    (doc("Before you continue to Google", "<p>Before you continue to Google</p><p>We use "
         "cookies and data to deliver and maintain Google services</p>"), 200, "Google",
     BlockKind.CONSENT_WALL),
])
def test_other_vendors_pages(body, status, vendor, kind):
    found = judged(body, status)
    assert found is not None and (found.vendor, found.kind) == (vendor, kind), found


def test_a_page_that_is_all_script_needs_the_vendors_script_header_and_an_error_status():
    body = (b"<html><head><script src=\"/_Incapsula_Resource?SWJIYLWA=5074a7\"></script>"
            b"</head><body></body></html>")
    imperva = {"X-Iinfo": "10-1234-0 0NNN RT(1700000000000 0)", "X-CDN": "Imperva"}
    assert judged(body, 403, markup=True, headers=imperva).vendor == "Imperva"
    assert judged(body, 403, markup=True) is None  # nor its header
    assert judged(body, 200, markup=True, headers=imperva) is None  # an empty page of a site
    assert judged(body, 403, headers=imperva) is None  # no markup: nothing says whose


def test_an_archives_own_headers_are_not_the_pages():
    headers = [("Server", "cloudflare"), ("X-Archive-Orig-cf-mitigated", "challenge"),
               ("X-Archive-Orig-Server", "cloudflare")]
    assert archived_headers(headers) == [("cf-mitigated", "challenge"),
                                         ("Server", "cloudflare")]


def test_the_stored_field_is_read_back_and_anything_else_is_ignored():
    page = BlockPage("Cloudflare", BlockKind.BOT_CHECK, "title 'just a moment...'")
    assert BlockPage.from_json(page.to_json()) == page
    for bad in (None, "Cloudflare", {"by": "x", "kind": "nonsense", "evidence": ""},
                {"kind": "captcha", "evidence": ""}, ["by"]):
        assert BlockPage.from_json(bad) is None
    # a record without the field (made before) is judged again from its title and text
    assert blocked({"http_status": 403, "title": "Just a moment..."},
                   "Checking if the site connection is secure").vendor == "Cloudflare"
    assert blocked({"http_status": 200, "title": "Cloudflare"}, "An article.") is None


# --- never an article ----------------------------------------------------------------------

NEWS = ("Millions of readers saw a page titled \"Just a moment...\" on Tuesday instead of "
        "the news they wanted. \"Checking your browser before accessing\" the site, it "
        "said, and then \"Checking if the site connection is secure\". Cloudflare, which "
        "protects a fifth of the web, said a configuration change had sent its bot check, "
        "the one that reads \"Verifying you are human. This may take a few seconds.\", to "
        "people who were not bots at all. Some were asked to complete a captcha; others saw "
        "\"Sorry, you have been blocked\" and a Ray ID: 7a1b2c3d4e5f6a7b. ")


@pytest.mark.parametrize("title, text", [
    ("Cloudflare outage: 'Just a moment...' pages everywhere",
     NEWS + " ".join(["The company apologised and said it would publish a full report."] * 30)),
    ("How CAPTCHAs work, and why you keep failing them",
     "A captcha asks you to prove you are human. Please verify you are a human, the page "
     "says, or: verify that you are human. Google's reCAPTCHA, hCaptcha and Cloudflare's "
     "Turnstile all do it differently; Turnstile mostly runs without asking anything. "
     "DataDome and PerimeterX, whose \"Press & Hold to confirm you are a human\" button "
     "you may know, watch how the mouse moves. " * 3),
    ("Access denied: why the court refused", "The judge said the applicant did not have "
     "permission to access the documents. \"You don't have permission to access this "
     "file,\" the letter read, according to the filing. " * 6),
    ("Just a moment...", "A short poem about waiting, by our reader Anna. Just a moment, "
     "she writes, is all it takes for the kettle to sing and for the light to change."),
])
@pytest.mark.parametrize("status", [200, 403])
def test_an_article_about_challenges_is_never_one(title, text, status):
    markup = (f"<html><head><title>{title}</title><script src='https://challenges.cloudflare"
              f".com/turnstile/v0/api.js'></script></head><body><article><p>{text}</p>"
              "<div class='cf-turnstile g-recaptcha'></div></article></body></html>")
    assert detect(status, title, text, markup=markup,
                  headers={"Server": "cloudflare", "cf-ray": "7a1b2c3d4e5f6a7b-AMS"}) is None


def test_a_short_brief_quoting_one_phrase_is_not_one():
    text = ("Readers reported seeing \"Checking your browser before accessing\" pages on the "
            "news site on Monday morning. The site said the problem was fixed by noon.")
    assert detect(200, "Site back after outage", text,
                  headers={"Server": "cloudflare"}) is None


def _realworld() -> Path | None:
    """trafilatura's evaluation set in ../shared/realworld (beside the checkout or a folder
    above it, as benchmarks/text.py finds it), else $PROVENANCE_REALWORLD."""
    here = Path(__file__).resolve().parent.parent
    candidates = [base / "shared" / "realworld" for base in here.parents]
    candidates.append(Path(os.environ.get("PROVENANCE_REALWORLD", "/work/shared/realworld")))
    for base in candidates:
        if (base / "trafilatura-eval" / "pages").is_dir():
            return base / "trafilatura-eval" / "pages"
    return None


def test_no_real_page_of_the_evaluation_set_is_taken_for_a_challenge():
    """990 real news and blog pages: none is a challenge, whatever status it came with,
    its markup (Cloudflare's and captcha scripts included) read too."""
    folder = _realworld()
    pages = sorted(folder.glob("*.html.gz")) if folder is not None else []
    if not pages:
        pytest.skip("the real-world pages (../shared/realworld) are not on this machine")
    # Reading 990 pages is a minute of one core: the pages are shared out over the cores.
    workers = max(1, min(4, os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        flagged = [hit for hits in pool.map(challenges_in, pages, chunksize=10)
                   for hit in hits]
    assert len(pages) >= 900 and not flagged, flagged[:5]


# --- the whole path, on a loopback server ---------------------------------------------------

CHALLENGE = real("cloudflare_managed_challenge_2022.html")
CF_HEADERS = {"Server": "cloudflare", "CF-Mitigated": "challenge", "CF-RAY": "77839e47c8743481"}


def route(web, path: str, bodies: list[tuple[int, bytes, dict[str, str]]]) -> str:
    """Serves the next of ``bodies`` per request (then the last)."""
    served = iter(range(1 << 30))

    def handler(h):
        status, body, headers = bodies[min(next(served), len(bodies) - 1)]
        send(h, status, body, headers, content_type="text/html; charset=utf-8")

    web.add_route(path, handler)
    return web.url(path)


def archive(capsys, store: str, url: str) -> tuple[dict, str]:
    assert main(["--json", "--store", store, "archive", url, "--to", "none", "--tsa",
                 "none"]) == 0  # an error page's exit code: the capture is kept
    captured = capsys.readouterr()
    return json.loads(captured.out.splitlines()[-1]), captured.err


def page(text: str) -> bytes:
    return html(text).encode("utf-8")


@pytest.mark.parametrize("status, headers", [(403, CF_HEADERS), (503, {}), (200, {})])
def test_a_challenge_between_two_captures_of_the_article_is_no_removal(
        tmp_path, capsys, web, status, headers):
    store = str(tmp_path / "ev")
    url = route(web, f"/block/cf-{status}", [(200, page(article(KP)), {}),
                                             (status, CHALLENGE, headers),
                                             (200, page(article(KP)), {})])
    first, _ = archive(capsys, store, url)
    wall, err = archive(capsys, store, url)
    back, _ = archive(capsys, store, url)
    assert "blocked" not in first and "blocked" not in back
    assert wall["blocked"]["by"] == "Cloudflare" and wall["blocked"]["kind"] == "bot-check"
    said = f" (HTTP {status} {HTTPStatus(status).phrase})" if status >= 400 else ""
    assert err.splitlines() == [  # one line: not also "the error page is what was captured"
        f"provenance: {url}: the server sent a bot check (Cloudflare) instead of the page"
        f"{said}; that is what was captured, not the article"], err
    assert wall["changed"] is None and back["changed"] is None
    with Ledger(Store(store)) as ledger:
        assert list(ledger.records(kind=CHANGED)) == []
        records = list(ledger.records(kind=CAPTURE))
        assert records[1].data["blocked"]["by"] == "Cloudflare"

    assert main(["--store", store, "history", url, "--to", "none"]) == 0
    out = capsys.readouterr().out
    assert "CHANGED" not in out and "\n    - " not in out and "\n    + " not in out, out
    assert "not compared" in out
    assert main(["--json", "--store", store, "history", url, "--to", "none"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert not any((i.get("diff") or {}).get("removed") for i in items), items
    assert main(["--store", store, "check"]) == 0


def test_an_edit_made_while_a_challenge_was_served_is_still_shown(tmp_path, capsys, web):
    """The next capture is compared with the last one that had the page."""
    store = str(tmp_path / "ev")
    url = route(web, "/block/edit", [(200, page(article(KP)), {}),
                                     (200, real("cloudflare_attention_required_2019.html"), {}),
                                     (200, page(article(None)), {})])
    first, _ = archive(capsys, store, url)
    wall, err = archive(capsys, store, url)
    edit, _ = archive(capsys, store, url)
    assert wall["blocked"]["kind"] == "captcha" and "a captcha (Cloudflare)" in err
    assert wall["changed"] is None
    assert edit["changed"]["since_seq"] == first["ledger_seq"]
    assert edit["changed"]["removed"] == [KP] and edit["changed"]["added"] == []
    with Ledger(Store(store)) as ledger:
        [change] = ledger.records(kind=CHANGED)
        assert change.data["from"]["seq"] == first["ledger_seq"]

    assert main(["--json", "--store", store, "history", url, "--to", "none"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    local = [i for i in items if i.get("source") == "local"]
    assert local[1]["not_compared"].startswith("not compared: the server sent a captcha")
    assert local[2]["diff"]["removed"] == [KP]


def test_a_screenshot_is_not_withdrawn_by_a_challenge(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = route(web, "/block/shot", [(200, page(article(KP)), {}),
                                     (403, CHALLENGE, CF_HEADERS)])
    first, _ = archive(capsys, store, url)
    archive(capsys, store, url)

    def shows(text: str) -> SimpleNamespace:
        return SimpleNamespace(verdict="match" if KP in text else "absent", score=1.0,
                               found=KP in text)

    with Ledger(Store(store)) as ledger:
        result = screenshot_timeline(ledger, Store(store), shows, url)
    assert [c["verdict"] for c in result["captures"]] == ["match", None]
    assert "bot check (Cloudflare)" in result["captures"][1]["not_compared"]
    assert result["absent_since"] is None and "not shown" not in result["summary"]


def test_watch_says_a_challenge_was_not_compared(tmp_path, capsys, web):
    store = str(tmp_path / "ev")
    url = route(web, "/block/watch", [(200, page(article(KP)), {}),
                                      (403, CHALLENGE, CF_HEADERS)])
    assert main(["--store", store, "watch", url, "--every", "0.1s", "--for", "0.35s",
                 "--tsa", "none"]) == 0
    captured = capsys.readouterr()
    assert "CHANGED" not in captured.out and "removed" not in captured.out
    assert "the server sent a bot check (Cloudflare) instead of the page" in captured.err
    with Ledger(Store(store)) as ledger:
        assert list(ledger.records(kind=CHANGED)) == []


def test_an_archived_challenge_is_no_copy_of_the_page(tmp_path, capsys, web, monkeypatch):
    """A Wayback copy that is itself a Cloudflare challenge (archived with HTTP 200): read
    from the witness, it is not compared, and the next copy is compared with the last page."""
    import random

    from test_witness_adversarial import HEADER, archive_at, http_date

    from archive.witness import WitnessSpec
    from provenance.changes.timeline import timeline

    store = str(tmp_path / "ev")
    url = route(web, f"/block/ia-{random.randrange(1 << 30)}", [(200, page(article(KP)), {})])
    archive(capsys, store, url)
    copies = {"20220320100000": page(article(KP)),
              "20220320150000": real("cloudflare_js_challenge_2020.html"),
              "20220320200000": page(article(None))}
    table = "[" + ",".join([HEADER] + [json.dumps(
        ["k", ts, url, "text/html", "200", "-", "1"]) for ts in copies]) + "]"

    def answer(h, rest):
        if rest.startswith("/cdx/search/cdx"):
            return send(h, 200, table.encode(), content_type="application/json")
        stamp = rest.split("/")[2][:14]
        return send(h, 200, copies[stamp], {"Memento-Datetime": http_date(stamp)},
                    content_type="text/html; charset=utf-8")

    archive_at(web, monkeypatch, answer)
    for writable in (True, False):  # kept as snapshot records, or read only
        with Ledger(Store(store, create=False, writable=writable)) as ledger:
            items = timeline(ledger, ledger.store, url, [WitnessSpec.parse("ia")],
                             fetch_witnesses=True)
        first, wall, edited = [i for i in items if i["source"] == "ia"]
        assert "diff" not in wall and "bot check (Cloudflare)" in wall["not_compared"]
        assert edited["diff"]["removed"] == [KP]
        assert edited["diff"]["since"]["time"] == first["time"]
    # pull lists the kept copies: the archived challenge is said to be one
    assert main(["--json", "--store", store, "pull", url, "--to", "ia"]) == 0
    pulled = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    snapshots = [p for p in pulled if p.get("timestamp")]
    assert [p["blocked"]["by"] if p.get("blocked") else None for p in snapshots] == \
        [None, "Cloudflare", None]
    assert main(["--store", store, "pull", url, "--to", "ia"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [("a bot check (Cloudflare), not the page" in line) for line in lines[:3]] == \
        [False, True, False]


def test_a_record_made_before_is_judged_again_from_its_text(tmp_path, capsys, web):
    """A capture recorded without ``blocked`` (made by an earlier version) is judged again
    from its title, stored text and status when compared."""
    store = str(tmp_path / "ev")
    url = route(web, "/block/old", [(200, page(article(KP)), {}), (200, CHALLENGE, {}),
                                    (200, page(article(KP)), {})])
    first, _ = archive(capsys, store, url)
    wall, _ = archive(capsys, store, url)
    with Ledger(Store(store)) as ledger:
        made = ledger.get(wall["ledger_seq"])
        old = ledger.append(CAPTURE, {k: v for k, v in made.data.items() if k != "blocked"},
                            subject=made.subject)
    back, _ = archive(capsys, store, url)
    assert back["changed"] is None
    assert main(["--json", "--store", store, "history", url, "--to", "none"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_seq = {i.get("ledger_seq"): i for i in items}
    assert "bot check (Cloudflare)" in by_seq[old.seq]["not_compared"]
    assert by_seq[back["ledger_seq"]]["diff"] is None  # compared with the first: unchanged


@pytest.fixture
def shot(tmp_path):
    import random

    from evalset import Passage, render
    from test_scenario import CLAIM, FIGURES_PARAGRAPH
    from webfixtures import ARTICLE

    passage = Passage("kp", "rus", ARTICLE[0], FIGURES_PARAGRAPH, CLAIM, ARTICLE[2], "")
    path = tmp_path / "shot.png"
    render(passage, FIGURES_PARAGRAPH, "clean", random.Random(1)).save(path)
    return str(path)


def test_verify_against_a_challenge_says_so_before_the_verdict(tmp_path, capsys, web, shot):
    from test_scenario import ORIGINAL

    store = str(tmp_path / "ev")
    url = route(web, "/block/verify", [(200, ORIGINAL, {}), (403, CHALLENGE, CF_HEADERS)])
    archive(capsys, store, url)
    wall, _ = archive(capsys, store, url)
    base = ["--store", store, "verify", shot, "--tsa", "none"]
    # against the challenge capture itself: said first; its verdict is the challenge's
    assert main([*base, "--against", str(wall["ledger_seq"])]) == 1
    out, err = capsys.readouterr()
    assert (f"{url}: the server sent a bot check (Cloudflare) instead of the page (HTTP 403 "
            f"Forbidden) when captured (#{wall['ledger_seq']}, ") in err, err
    assert "the error page is what was captured" not in err
    assert out.startswith("ABSENT")
    # against the URL: the latest capture is the challenge (said), the article is compared,
    # and the challenge's row over time is neither shown nor "not shown"
    assert main(["--json", *base, "--against", url, "--to", "none"]) == 0
    captured = capsys.readouterr()
    assert "the server sent a bot check (Cloudflare) instead of the page" in captured.err
    [result] = [json.loads(line) for line in captured.out.splitlines()]
    assert result["verdict"] == "match"
    rows = result["timeline"]["captures"]
    assert [r["verdict"] for r in rows] == ["match", None]
    assert "bot check (Cloudflare)" in rows[1]["not_compared"]
    assert result["timeline"]["absent_since"] is None
    assert "not shown" not in result["timeline"]["summary"]


def test_a_capture_compared_by_its_render_is_judged_by_the_render():
    """The browser may pass the check the server's answer was: the render's text (the one
    compared) is judged, not the server's answer."""
    served = {"http_status": 403, "title": "Just a moment...",
              "blocked": {"by": "Cloudflare", "kind": "bot-check", "evidence": "x"},
              "browser": {"status": "ok", "prefer_text": True}}
    assert blocked(served, article(KP)) is None
    challenge = ("example.org Checking if the site connection is secure. example.org needs "
                 "to review the security of your connection before proceeding.")
    assert blocked(served, challenge).vendor == "Cloudflare"
    assert blocked({**served, "browser": {"status": "ok", "prefer_text": False}},
                   article(KP)).vendor == "Cloudflare"  # compared by the server's text
