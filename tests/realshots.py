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

    def _browser(self, extra: tuple[str, ...]) -> object:
        if extra not in self._browsers:
            self._browsers[extra] = self._driver.chromium.launch(
                executable_path=CHROMIUM, args=[*FLAGS, *extra])
        return self._browsers[extra]

    def shoot(self, url: str, passage: str, variant: Variant, out: Path) -> Path:
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
            page.evaluate(SCROLL_JS, " ".join(passage.split()[:5]))
            page.wait_for_timeout(300)
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
        return self.verdict == "match"


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
    for check in ("genuine", "forged", "swapped", "negated", "against"):
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
    only_arg = [a for a in sys.argv[2:] if a.endswith(".html")] or None
    variant_arg = [a for a in sys.argv[2:] if not a.endswith(".html")] or None
    result_rows = run(target, only_arg, variant_arg)
    print(summary(result_rows))
    (target / "rows.json").write_text(json.dumps([r.__dict__ for r in result_rows], indent=1,
                                                 ensure_ascii=False))
