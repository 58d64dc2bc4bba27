"""Screenshots a real browser made of real pages, and claims made from the pages' own text.

The pages are trafilatura's evaluation pages (``../shared/realworld/trafilatura-eval``,
Apache-2.0 repository, third-party page content kept for evaluation). Each is served from
127.0.0.1 (:mod:`tests.webfixtures`) with a small script added at the end of its body that
finds the chosen passage (``window.find``), clears the selection again and scrolls the
passage to the middle of the window: the screenshot shows article text, not just a header.
Debian's Chromium takes the screenshot with ``--screenshot`` and flags that keep it off
the network (every host but 127.0.0.1 resolves to nothing).

``python tests/realshots.py OUT`` makes the screenshots and prints a table of verdicts
(genuine, forged figure, swapped word, added negation, against the captured page).
"""

from __future__ import annotations

import gzip
import html
import json
import os
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from webfixtures import WebServer, send

EVAL = Path(os.environ.get("PROVENANCE_REALWORLD", "/work/shared/realworld")) / "trafilatura-eval"
CHROMIUM = os.environ.get("PROVENANCE_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-proxy-server", "--hide-scrollbars", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         "--virtual-time-budget=4000"]

PAGES = [  # (file, language): long article text, several languages and scripts
    ("football.ua.podolski.html", "ru"),
    ("iwr.de.IWR-Pressedienst.html", "de"), ("mdr.de.autohaeuser.html", "de"),
    ("furche.at.achtsam.html", "de"), ("fairkom.eu.about.html", "de"),
    ("internet-law.de.pseudonymen.html", "de"), ("die-tagespost.de.Demut.html", "de"),
    ("de.induux.com.energiezaehler.html", "de"),
    ("nationnews.com-tridents.html", "en"), ("haitiantimes.com-family.html", "en"),
    ("nationnews.com-schools.html", "en"), ("reporternewspapers.net-Brookhaven.html", "en"),
    ("breakingbelizenews.com-paho.html", "en"), ("stluciatimes.com-dea.html", "en"),
    ("cubadebate.cu-sesiona.html", "es"), ("laestrella.com.pa-laboral.html", "es"),
    ("larepublica.net-hackers.html", "es"), ("elnuevoherald.com-miami.html", "es"),
    ("laprensagrafica.com.fiscal.html", "es"), ("soy502.com-capturan.html", "es"),
    ("100noticias.com-millones.html", "es"), ("elfaro.net-asamblea.html", "es"),
    ("legrandcontinent.eu.heran.html", "fr"), ("blog.mondediplo.net.turpitude.html", "fr"),
    ("cybercook.com.br.sequilho.html", "pt"),
]

NEGATION = {"ru": "не", "de": "nicht", "en": "not", "es": "no", "fr": "pas", "pt": "não"}


@dataclass(frozen=True)
class Variant:
    name: str
    width: int
    height: int
    extra: tuple[str, ...] = ()
    jpeg: int = 0          # re-encode the PNG as JPEG of this quality


VARIANTS = [
    Variant("desktop", 1280, 1000),
    Variant("mobile", 390, 1100),
    Variant("retina", 1280, 800, ("--force-device-scale-factor=2",)),
    Variant("dark", 1280, 1000, ("--force-dark-mode",
                                 "--blink-settings=forceDarkModeEnabled=true")),
    Variant("jpeg60", 1280, 1000, (), 60),
]


@dataclass(frozen=True)
class Page:
    file: str
    lang: str
    url: str          # the original URL (evaldata's key)
    passage: str      # a passage of its text, as the page shows it


def _evaldata() -> dict[str, dict[str, object]]:
    with open(EVAL / "evaldata.json", encoding="utf-8") as handle:
        data: dict[str, dict[str, object]] = json.load(handle)
    return data


def _clip(text: str, words: int = 22) -> str:
    """At most ``words`` whole words of ``text``, whitespace made single spaces."""
    parts = text.split()
    if len(parts) > words:
        parts = parts[:words]
    return " ".join(parts).strip(" ,;:")


def pages() -> list[Page]:
    """The chosen pages with the longest 'with' snippet of each (whole words only)."""
    by_file = {str(v["file"]): (url, v) for url, v in _evaldata().items()}
    out = []
    for file, lang in PAGES:
        url, entry = by_file[file]
        snippets = [str(s) for s in entry["with"]]  # type: ignore[attr-defined]
        best = max(snippets, key=len)
        words = best.split()
        # evaldata snippets may start or end inside a word: drop the partial ends
        if best[:1].islower() and len(words) > 4:
            words = words[1:]
        if not re.search(r"[.!?»”\"]$", best) and len(words) > 4:
            words = words[:-1]
        out.append(Page(file, lang, url, _clip(" ".join(words))))
    return out


def page_html(page: Page) -> bytes:
    """The page's HTML as it was saved."""
    raw = gzip.decompress((EVAL / "pages" / (page.file + ".gz")).read_bytes())
    return raw


def serve(web: WebServer, items: list[Page]) -> dict[str, str]:
    """Add a route per page; file -> loopback URL."""
    urls = {}
    for page in items:
        body = page_html(page)
        path = "/real/" + page.file

        def handler(h: object, body: bytes = body) -> None:
            send(h, 200, body)  # type: ignore[arg-type]
        web.add_route(path, handler)
        urls[page.file] = web.url(path)
    return urls


class Shooter:
    """Debian's Chromium driven by Playwright (its own ``--screenshot`` paints only the
    first viewport of a scrolled page: the rest comes out blank). One browser per flag set;
    every request to anything but 127.0.0.1 is aborted as well as unresolvable."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright
        self._driver = sync_playwright().start()
        self._browsers: dict[tuple[str, ...], object] = {}
        self.scrolled = False  # whether the last shot found its passage and scrolled to it

    def _browser(self, extra: tuple[str, ...]) -> object:
        if extra not in self._browsers:
            self._browsers[extra] = self._driver.chromium.launch(
                executable_path=CHROMIUM, args=[*FLAGS, *extra])
        return self._browsers[extra]

    def shoot(self, url: str, passage: str, variant: Variant, out: Path,
              must_show: str = "") -> Path:
        """Screenshot ``url`` scrolled to ``passage``. :attr:`scrolled` says whether the
        passage was found (and ``must_show`` is in the page's text as drawn: a page whose
        script renders its article again from data overwrites an edit of its HTML)."""
        scale = 2 if "--force-device-scale-factor=2" in variant.extra else 1
        extra = tuple(f for f in variant.extra if not f.startswith("--force-device"))
        browser = self._browser(extra)
        context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": variant.width, "height": variant.height},
            device_scale_factor=scale, is_mobile=variant.width < 600,
            color_scheme="dark" if "--force-dark-mode" in extra else "light")
        try:
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith("http://127.0.0.1") else route.abort())
            page = context.new_page()
            page.goto(url, wait_until="load", timeout=30_000)
            self.scrolled = bool(page.evaluate(SCROLL_JS, " ".join(passage.split()[:5])))
            page.wait_for_timeout(300)
            if must_show:
                self.scrolled = self.scrolled and bool(page.evaluate(
                    "(want) => document.body.innerText.replace(/\\s+/g, ' ').includes(want)",
                    must_show))
            png = out.with_suffix(".png")
            page.screenshot(path=str(png))
        finally:
            context.close()
        if variant.jpeg:
            jpg = out.with_suffix(".jpg")
            with Image.open(png) as image:
                image.convert("RGB").save(jpg, "JPEG", quality=variant.jpeg)
            png.unlink()
            return jpg
        return png

    def close(self) -> None:
        for browser in self._browsers.values():
            browser.close()  # type: ignore[attr-defined]
        self._driver.stop()


SCROLL_JS = """(want) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT);
  let best = null;
  while (walker.nextNode()) {
    const e = walker.currentNode;
    if (!e.getClientRects().length) continue;
    const t = (e.innerText || '').replace(/\\s+/g, ' ');
    if (t.indexOf(want) >= 0) best = e;
  }
  if (best) best.scrollIntoView({block: 'center'});
  return best !== null;
}"""


# -- claims -----------------------------------------------------------------------------------


def forged_figure(claim: str) -> str | None:
    """The claim with its first figure's last digit changed, or None without a figure."""
    m = re.search(r"\d", claim)
    if not m:
        return None
    digits = [m2 for m2 in re.finditer(r"\d+", claim)]
    last = digits[0]
    i = last.end() - 1
    new = str((int(claim[i]) + 3) % 10)
    return claim[:i] + new + claim[i + 1:]


_WORD = re.compile(r"[^\W\d_]{6,}")


def swapped_word(claim: str, page_text: str, seed: int) -> str | None:
    """One content word of the claim (6+ letters) replaced by another real word of the
    same page with the same capitalisation (a name for a name) and other letters."""
    rng = random.Random(seed)
    words = [m for m in _WORD.finditer(claim)]
    if not words:
        return None
    target = rng.choice(words)
    old = target.group()
    pool = sorted({w for w in _WORD.findall(page_text)
                   if w[0].isupper() == old[0].isupper() and w.lower() != old.lower()
                   and len(set(w.lower()) ^ set(old.lower())) >= 3})
    if not pool:
        return None
    new = rng.choice(pool)
    return claim[:target.start()] + new + claim[target.end():]


def negated(claim: str, lang: str) -> str:
    """The claim with a negation added after its third word."""
    parts = claim.split()
    at = min(3, len(parts))
    return " ".join(parts[:at] + [NEGATION[lang]] + parts[at:])


def page_text(page: Page) -> str:
    raw = gzip.decompress((EVAL / "pages" / (page.file + ".gz")).read_bytes())
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", raw.decode("utf-8", "replace"),
                  flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _visible(markup: str) -> str:
    """``markup`` with tags dropped and entities undone, whitespace made single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", markup)).split())


def forge_page(raw: bytes, passage: str, kind: str, seed: int, lang: str
               ) -> tuple[bytes, str, str] | None:
    """The page's bytes with one edit inside the passage, and the passage as the forged
    page shows it; None when the edit cannot be placed in the passage's own text.

    The third item is the forged words in their context (what a shot must show).

    ``figure``: the passage's first figure with a digit changed; ``word``: a content word
    swapped for another word of the page (:func:`swapped_word`); ``negation``: a negation
    added after the passage's third word. The edit goes where the page's HTML has the
    passage's words (the words before it must be there, in its visible text), never into
    another place that happens to hold the same word."""
    from archive.text import decode_bytes  # the tool's own decoding, as a browser's

    markup, codec = decode_bytes(raw, None, html=True)
    words = passage.split()
    if kind == "figure":
        forged = forged_figure(passage)
    elif kind == "word":
        forged = swapped_word(passage, page_text_of(markup), seed)
    else:
        forged = negated(passage, lang)
    if forged is None or forged == passage:
        return None
    new_words = forged.split()
    # the first word that differs, and the page's text up to it
    at = next((i for i, (a, b) in enumerate(zip(words, new_words, strict=False)) if a != b),
              min(len(words), len(new_words)))
    if at < 2:
        return None
    before = " ".join(words[max(0, at - 3):at])
    if kind == "negation":
        old, new = words[at - 1], words[at - 1] + " " + new_words[at]
        before = " ".join(words[max(0, at - 4):at - 1])
    else:
        old, new = words[at], new_words[at]
    old_core = old.strip(".,;:!?«»\"“”()")
    new_core = new if kind == "negation" else new.strip(".,;:!?«»\"“”()")
    if not old_core:
        return None
    for match in re.finditer(r"(?<![\w])" + re.escape(html.escape(old_core, quote=False))
                             + r"(?![\w])", markup):
        head = markup[max(0, match.start() - 2000):match.start()]
        if "<" in head[head.rfind(">") + 1:]:
            continue  # inside a tag
        if _visible(head).endswith(before):
            edited = markup[:match.start()] + html.escape(new_core, quote=False) \
                + markup[match.end():]
            shows = " ".join(new_words[max(0, at - 2):at + 2])
            return edited.encode(codec, errors="xmlcharrefreplace"), forged, shows
    return None


def page_text_of(markup: str) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


FORGERIES = ("figure", "word", "negation")


def run_forged_pages(out: Path, only: list[str] | None = None,
                     variants: list[str] | None = None) -> list[Row]:
    """Screenshots of forged copies of each page (one edit in the passage the screenshot
    shows), each checked with ``verify --against`` the genuine page's capture: every one
    must be a mismatch (or absent), never a match."""
    from provenance.api import Evidence

    chosen = [p for p in pages() if not only or p.file in only]
    rows: list[Row] = []
    out.mkdir(parents=True, exist_ok=True)
    shooter = Shooter()
    with WebServer({}) as web:
        urls = serve(web, chosen)
        forged_urls: dict[tuple[str, str], tuple[str, str, str]] = {}
        for index, page in enumerate(chosen):
            for kind in FORGERIES:
                made = forge_page(page_html(page), page.passage, kind, index, page.lang)
                if made is None:
                    continue
                body, passage, shows = made
                path = f"/forged/{kind}/{page.file}"

                def handler(h: object, body: bytes = body) -> None:
                    send(h, 200, body)  # type: ignore[arg-type]
                web.add_route(path, handler)
                forged_urls[(page.file, kind)] = (web.url(path), passage, shows)
        with Evidence(str(out / "store")) as ev:
            for page in chosen:
                ev.archive([urls[page.file]])
                for kind in FORGERIES:
                    if (page.file, kind) not in forged_urls:
                        print(f"    {page.file[:34]:34} {kind:8} (no place for this edit)")
                        continue
                    url, passage, shows = forged_urls[(page.file, kind)]
                    for variant in VARIANTS:
                        if variants and variant.name not in variants:
                            continue
                        stem = f"{page.file[:-5]}-forged-{kind}-{variant.name}"
                        found = [f for f in out.glob(f"{stem}.*") if f.suffix != ".img"]
                        if found:
                            found[0].unlink()  # whether it shows the edit is known only now
                        image = shooter.shoot(url, passage, variant, out / f"{stem}.img",
                                              shows)
                        if not shooter.scrolled:  # the shot does not show the edit
                            print(f"    {page.file[:34]:34} {variant.name:8} page-{kind} "
                                  "(not shown: the browser does not show the edit)")
                            continue
                        result = ev.verify(str(image), against=urls[page.file]).verification
                        rows.append(Row(page.file, variant.name, f"page-{kind}", result.verdict,
                                        result.score, "; ".join(result.reasons)[:160]))
                        print(_fmt(rows[-1]), flush=True)
    shooter.close()
    return rows


# -- running ----------------------------------------------------------------------------------


@dataclass
class Row:
    page: str
    variant: str
    check: str        # genuine | forged | swapped | negated | against
    verdict: str
    score: float
    reason: str

    @property
    def bad(self) -> bool:
        if self.check in ("genuine", "against"):
            return self.verdict != "match"
        return self.verdict == "match"  # a forged claim, or a forged page (page-*)


def claims(page: Page, index: int) -> Iterator[tuple[str, str]]:
    yield "genuine", page.passage
    forged = forged_figure(page.passage)
    if forged:
        yield "forged", forged
    swapped = swapped_word(page.passage, page_text(page), index)
    if swapped:
        yield "swapped", swapped
    yield "negated", negated(page.passage, page.lang)


def run(out: Path, only: list[str] | None = None, variants: list[str] | None = None,
        against: bool = True) -> list[Row]:
    from provenance.api import Evidence  # the code under test, imported late

    chosen = [p for p in pages() if not only or p.file in only]
    rows: list[Row] = []
    out.mkdir(parents=True, exist_ok=True)
    shooter = Shooter()
    with WebServer({}) as web:
        urls = serve(web, chosen)
        with Evidence(str(out / "store")) as ev:
            for index, page in enumerate(chosen):
                if against:
                    ev.archive([urls[page.file]])
                for variant in VARIANTS:
                    if variants and variant.name not in variants:
                        continue
                    shot = out / f"{page.file[:-5]}-{variant.name}.img"
                    stem = f"{page.file[:-5]}-{variant.name}"
                    found = [f for f in out.glob(f"{stem}.*") if f.suffix != ".img"]
                    image = (found[0] if found else
                             shooter.shoot(urls[page.file], page.passage, variant, shot))
                    for check, claim in claims(page, index):
                        result = ev.verify(str(image), claim).verification
                        rows.append(Row(page.file, variant.name, check, result.verdict,
                                        result.score, "; ".join(result.reasons)[:160]))
                        print(_fmt(rows[-1]), flush=True)
                    if against:
                        result = ev.verify(str(image), against=urls[page.file]).verification
                        rows.append(Row(page.file, variant.name, "against", result.verdict,
                                        result.score, "; ".join(result.reasons)[:160]))
                        print(_fmt(rows[-1]), flush=True)
    shooter.close()
    return rows


def _fmt(row: Row) -> str:
    flag = "BAD " if row.bad else "    "
    return (f"{flag}{row.page[:34]:34} {row.variant:8} {row.check:8} {row.verdict:9} "
            f"{row.score:5.2f} {row.reason}")


def summary(rows: list[Row]) -> str:
    lines = []
    for check in ("genuine", "forged", "swapped", "negated", "against",
                  *(f"page-{kind}" for kind in FORGERIES)):
        for variant in [v.name for v in VARIANTS]:
            sel = [r for r in rows if r.check == check and r.variant == variant]
            if not sel:
                continue
            good = sum(not r.bad for r in sel)
            lines.append(f"{check:8} {variant:8} {good}/{len(sel)} right "
                         f"({sum(r.verdict == 'match' for r in sel)} match)")
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "realshots-out")
    forged_pages = "--forged-pages" in sys.argv[2:]
    rest = [a for a in sys.argv[2:] if a != "--forged-pages"]
    only_arg = [a for a in rest if a.endswith(".html")] or None
    variant_arg = [a for a in rest if not a.endswith(".html")] or None
    result_rows = (run_forged_pages(target, only_arg, variant_arg) if forged_pages
                   else run(target, only_arg, variant_arg))
    print(summary(result_rows))
    (target / "rows.json").write_text(json.dumps([r.__dict__ for r in result_rows], indent=1,
                                                 ensure_ascii=False))
