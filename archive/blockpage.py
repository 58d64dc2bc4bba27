"""A bot check, captcha or "access denied" page served instead of the page asked for.

When a site answers a fetch with Cloudflare's "Just a moment...", a DDoS-Guard or Qrator
check, a captcha (Yandex SmartCaptcha, Google's "unusual traffic", DataDome, PerimeterX's
"Press & Hold") or a firewall's "Access Denied" (Akamai, Sucuri, Imperva), what was captured
is the challenge, not the article: its text must never be compared with the article's, or
every passage would read as removed. :func:`detect` says whether a response is such a page,
who sent it and which words gave it away.

It works from the status, the page's title and extracted text alone (old records and
archive copies have no headers), and uses the response headers and markup when it has them.
A false positive hides a real change, so it never flags on one word ("captcha",
"Cloudflare"): it needs a short page (an article that discusses bot checks is long) and
either two of a vendor's specific phrases or one with something that corroborates it (an
error status, the vendor's header, the challenge's script in the markup).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

MAX_WORDS = 200  # longer than any challenge page's text; an article is longer
MAX_WORDS_UNCORROBORATED = 120  # two phrases and nothing else: shorter still
MAX_WORDS_ONE_SIGN = 60  # one phrase and an error status: a page that says little else
MAX_WORDS_MARKUP_ONLY = 25  # a challenge whose page is all script (DataDome, Imperva, Qrator)
CJK_CHARS_PER_WORD = 2  # a text without spaces (Chinese, Japanese) is measured by its letters
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
CHALLENGE_STATUSES = frozenset({401, 403, 429, 503})
MAX_MARKUP = 256 * 1024  # only the start of the markup is looked at
MAX_TEXT_CHARS = 64 * 1024  # a text longer than this is an article, whatever its words


class BlockKind(str, Enum):
    """What the page asks of the reader instead of showing the page."""

    BOT_CHECK = "bot-check"  # wait while a script checks the browser
    CAPTCHA = "captcha"  # prove you are human
    ACCESS_DENIED = "access-denied"  # a firewall refused the request
    CONSENT_WALL = "consent-wall"  # nothing but a cookie consent form


@dataclass(frozen=True)
class BlockPage:
    """Who sent the page (``vendor``), what it is, and the words or marks that said so."""

    vendor: str
    kind: BlockKind
    evidence: str

    def to_json(self) -> dict[str, str]:
        return {"by": self.vendor, "kind": self.kind.value, "evidence": self.evidence}

    @classmethod
    def from_json(cls, data: Any) -> BlockPage | None:
        """A stored ``blocked`` field read back; None for anything not of its form."""
        if not isinstance(data, Mapping):
            return None
        vendor, kind, evidence = data.get("by"), data.get("kind"), data.get("evidence")
        if not isinstance(vendor, str) or not vendor or not isinstance(evidence, str):
            return None
        try:
            return cls(vendor=vendor, kind=BlockKind(kind), evidence=evidence)
        except ValueError:
            return None

    @property
    def words(self) -> str:
        """"a bot check (Cloudflare)": the page in a few words, for a sentence."""
        what = {BlockKind.BOT_CHECK: "a bot check", BlockKind.CAPTCHA: "a captcha",
                BlockKind.ACCESS_DENIED: "an \"access denied\" page",
                BlockKind.CONSENT_WALL: "a cookie consent wall"}[self.kind]
        return f"{what} ({self.vendor})"


@dataclass(frozen=True)
class _Sign:
    """One specific phrase, title or pattern of a vendor's page (lower case)."""

    pattern: str
    kind: BlockKind
    regex: bool = False
    alone: bool = True  # False: words other pages use too, counted only beside another sign

    def found(self, haystack: str) -> str | None:
        if self.regex:
            match = re.search(self.pattern, haystack)
            return match.group(0) if match else None
        return self.pattern if self.pattern in haystack else None


@dataclass(frozen=True)
class _Vendor:
    name: str
    titles: tuple[_Sign, ...] = ()  # the whole title, as the vendor's page has it
    phrases: tuple[_Sign, ...] = ()  # in the text (or the title)
    headers: tuple[tuple[str, str], ...] = ()  # (name, part of the value): the vendor serves
    # the site (on its every page, so it corroborates only a page that is all script)
    decisive_headers: tuple[tuple[str, str], ...] = ()  # says so on its own (short page)
    markup: tuple[str, ...] = ()  # in the raw page, only on the vendor's challenge: corroborates
    kind: BlockKind = BlockKind.BOT_CHECK  # when only headers or markup said so


B, C, D, W = BlockKind.BOT_CHECK, BlockKind.CAPTCHA, BlockKind.ACCESS_DENIED, BlockKind.CONSENT_WALL


def _s(pattern: str, kind: BlockKind, alone: bool = True) -> _Sign:
    return _Sign(pattern, kind, alone=alone)


def _r(pattern: str, kind: BlockKind) -> _Sign:
    return _Sign(pattern, kind, regex=True)


VENDORS: tuple[_Vendor, ...] = (
    _Vendor(
        "Cloudflare",
        titles=(_s("just a moment...", B), _s("attention required! | cloudflare", C),
                _s("please wait... | cloudflare", B),
                _r(r"^access denied \| .{1,200} used cloudflare to restrict access$", D)),
        phrases=(_s("checking if the site connection is secure", B),
                 _s("checking your browser before accessing", B),
                 _s("needs to review the security of your connection before proceeding", B),
                 _s("verifying you are human. this may take a few seconds", B),
                 _s("verify you are human by completing the action below", C),
                 _s("enable javascript and cookies to continue", B, alone=False),
                 _s("this process is automatic. your browser will redirect to your "
                    "requested content shortly", B),
                 _s("ddos protection by cloudflare", B),
                 _s("performance & security by cloudflare", B),
                 _s("please complete the security check to access", C),
                 _s("completing the captcha proves you are a human", C),
                 _s("sorry, you have been blocked", D),
                 _s("why have i been blocked?", D),
                 _s("used cloudflare to restrict access", D),
                 _r(r"cloudflare ray id: ?[0-9a-f]{16}", B),
                 _r(r"\bray id: ?[0-9a-f]{16}\b", B)),
        headers=(("server", "cloudflare"), ("cf-ray", "")),
        decisive_headers=(("cf-mitigated", "challenge"),),
        # not /cdn-cgi/challenge-platform/ alone: it is put into ordinary pages too
        markup=("window._cf_chl_opt", "cf-browser-verification", "__cf_chl_",
                "/cdn-cgi/styles/challenges.css", "cf_captcha_kind")),
    _Vendor(
        "DDoS-Guard",
        titles=(_s("ddos-guard", B),),
        phrases=(_s("ddos protection by ddos-guard", B),
                 _s("checking your browser before accessing", B),
                 _s("проверка браузера перед переходом на", B)),
        headers=(("server", "ddos-guard"),),
        markup=("/.well-known/ddos-guard/", "ddos-guard.net/")),
    _Vendor(
        "Qrator",
        phrases=(_s("qrator", B),),
        headers=(("server", "qrator"),),
        markup=("/__qrator/", "qauth.js")),
    _Vendor(
        "Yandex SmartCaptcha",
        titles=(_s("вы не робот?", C), _s("are you not a robot?", C)),
        phrases=(_s("подтвердите, что запросы отправляли вы, а не робот", C),
                 _s("please confirm that you and not a robot are sending requests", C),
                 _s("smartcaptcha by yandex cloud", C),
                 _s("нам очень жаль, но запросы с вашего устройства похожи на автоматические", C),
                 _s("we're sorry, but requests from your device look like automated ones", C)),
        markup=("smartcaptcha", "captcha.yandex", "/showcaptcha", "/checkcaptcha")),
    _Vendor(
        "Google",
        phrases=(_s("our systems have detected unusual traffic from your computer network", C),
                 _s("this page checks to see if it's really you sending the requests, and not "
                    "a robot", C),
                 _s("this page checks to see if it’s really you sending the requests, and not "
                    "a robot", C)),
        markup=("/sorry/index", "g-recaptcha")),
    _Vendor(
        "Google",
        titles=(_s("before you continue to google", W), _s("before you continue to youtube", W),
                _s("bevor sie zu google weitergehen", W)),
        phrases=(_s("before you continue to google", W), _s("before you continue to youtube", W),
                 _s("we use cookies and data to deliver and maintain google services", W)),
        markup=("consent.google.com", "consent.youtube.com")),
    _Vendor(
        "DataDome",
        phrases=(_s("please enable js and disable any ad blocker", C),),
        headers=(("x-datadome", ""), ("x-dd-b", ""), ("set-cookie", "datadome=")),
        markup=("captcha-delivery.com", "var dd={'rt':"),
        kind=C),
    _Vendor(
        "PerimeterX",
        titles=(_s("access to this page has been denied", C),
                _s("access to this page has been denied.", C)),
        phrases=(_s("press & hold to confirm you are a human (and not a bot)", C),
                 _s("press & hold to confirm you are a human", C),
                 _s("access to this page has been denied because we believe you are using "
                    "automation tools", C)),
        headers=(("x-px", ""),),
        markup=("px-captcha",),  # not its sensor script (_pxAppId): ordinary pages have it
        kind=C),
    _Vendor(
        "Akamai",  # Apache's own 403 says "You don't have permission to access" too
        phrases=(_s("you don't have permission to access", D, alone=False),
                 _r(r"reference #\d{1,3}\.[0-9a-f]{4,}\.\d{6,}\.[0-9a-f]{4,}", D)),
        headers=(("server", "akamaighost"),),
        kind=D),
    _Vendor(
        "Sucuri",
        titles=(_s("you are being redirected...", B),  # its JavaScript check, with its script
                _s("access denied - sucuri website firewall", D),
                _s("sucuri website firewall - access denied", D),
                _s("sucuri website firewall - cloudproxy - access denied", D)),
        phrases=(_s("access denied - sucuri website firewall", D),
                 _s("sucuri website firewall - access denied", D),
                 _s("if you are the site owner (or you manage this site), please whitelist your "
                    "ip", D)),
        headers=(("x-sucuri-id", ""), ("x-sucuri-block", ""), ("server", "sucuri")),
        markup=("sucuri_cloudproxy_js", "cloudproxy.sucuri.net"),
        kind=D),
    _Vendor(
        "Imperva",
        phrases=(_s("request unsuccessful. incapsula incident id", D),
                 _r(r"incapsula incident id: ?\d", D)),
        headers=(("x-iinfo", ""), ("x-cdn", "incapsula")),
        markup=("_incapsula_resource", "incapsula incident"),
        kind=D),
)

# Said by many vendors (and by home-made checks): corroborated by an error status or a
# captcha widget in the markup, never enough on their own.
GENERIC = _Vendor(
    "unknown",
    titles=(_s("human verification", C), _s("are you a robot?", C), _s("bot verification", C),
            _s("are you human?", C), _s("captcha", C)),
    phrases=(_s("please verify you are a human", C), _s("verify that you are human", C),
             _s("please confirm you are human", C), _s("please verify you are human", C),
             _s("to continue, please verify that you're not a robot", C),
             _s("we need to make sure you're not a robot", C),
             _s("complete the captcha below to continue", C)),
    markup=("g-recaptcha", "h-captcha", "cf-turnstile", "hcaptcha.com/1/api.js",
            "google.com/recaptcha/api.js", "challenges.cloudflare.com/turnstile"),
    kind=C)


def detect(status: int | None, title: str | None, text: str | None, *,
           headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
           markup: str | bytes | None = None) -> BlockPage | None:
    """The block page a response is, or None (the page itself, as far as can be told).

    ``headers``: the response's (a mapping or (name, value) pairs), when known; ``markup``:
    the page's HTML as received, when known (only its start is read)."""
    if len(text or "") > MAX_TEXT_CHARS:
        return None  # far longer than any challenge: not even read
    body = _norm(text or "")
    size = len(body.split()) + len(_CJK.findall(body)) // CJK_CHARS_PER_WORD
    if size > MAX_WORDS:
        return None  # an article (it may well quote a challenge: it is not one)
    head = _norm(title or "")
    pairs = _header_pairs(headers)
    page = _markup(markup)
    found = [hit for vendor in VENDORS
             if (hit := _judge(vendor, head, body, size, pairs, page, status)) is not None]
    if not found:
        generic = _judge(GENERIC, head, body, size, pairs, page, status, generic=True)
        return generic[1] if generic else None
    return max(found, key=lambda hit: hit[0])[1]  # the vendor with the most signs


def _judge(vendor: _Vendor, title: str, body: str, size: int, headers: list[tuple[str, str]],
           markup: str, status: int | None, generic: bool = False) -> tuple[int, BlockPage] | None:
    """(how many signs, the page) if ``vendor``'s signs say this is its page."""
    error = isinstance(status, int) and status in CHALLENGE_STATUSES
    signs: list[tuple[_Sign, str]] = []
    for sign in vendor.titles:
        if sign.regex:
            hit = sign.found(title)
        else:
            hit = sign.pattern if title == sign.pattern else None
        if hit:
            signs.append((sign, f"title {hit!r}"))
            break
    for sign in vendor.phrases:
        hit = sign.found(body) or (sign.found(title) if not sign.regex else None)
        if hit and all(hit not in said for _, said in signs):
            signs.append((sign, repr(hit)))
    if signs and not any(sign.alone for sign, _ in signs):
        signs = []  # only words other pages use too
    header = _first(vendor.headers, headers)
    decisive = _first(vendor.decisive_headers, headers)
    mark = next((m for m in vendor.markup if m in markup), None)
    # an error status corroborates one phrase only on a page that says little else; the
    # challenge's own script in the markup on any short page
    # (a title alone: a page that says next to nothing)
    only_title = len(signs) == 1 and signs[0][1].startswith("title ")
    corroborated = mark is not None or (error and size <= (
        MAX_WORDS_MARKUP_ONLY if only_title else MAX_WORDS_ONE_SIGN))
    if generic:  # words many pages use: an error status and a captcha widget both needed
        ok = bool(signs) and error and mark is not None and size <= MAX_WORDS_UNCORROBORATED
    elif decisive:
        ok = True
    elif len(signs) >= 2:
        ok = size <= MAX_WORDS_UNCORROBORATED or mark is not None or error
    elif len(signs) == 1:
        ok = corroborated
    else:  # a page that is all script: the vendor's script, its header and an error status
        ok = (mark is not None and size <= MAX_WORDS_MARKUP_ONLY and error
              and (header is not None or not vendor.headers))
    if not ok:
        return None
    said = [s for _, s in signs] + [s for s in (decisive, header, mark and f"markup {mark!r}")
                                    if s] + ([f"HTTP {status}"] if error else [])
    kinds = [sign.kind for sign, _ in signs]
    kind = next((k for k in (D, C, W, B) if k in kinds), vendor.kind)
    return len(said), BlockPage(vendor=vendor.name, kind=kind, evidence="; ".join(said))


ARCHIVED_HEADER = "x-archive-orig-"  # how the Wayback Machine's raw copy passes the page's own


def archived_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The archived page's own headers in an archive's answer (its ``X-Archive-Orig-*``):
    the archive's own (its server, its cookies) say nothing about the page."""
    size = len(ARCHIVED_HEADER)
    return [(k[size:], v) for k, v in headers if k.lower().startswith(ARCHIVED_HEADER)]


def _first(wanted: tuple[tuple[str, str], ...], headers: list[tuple[str, str]]) -> str | None:
    for name, part in wanted:
        for key, value in headers:
            if key == name and part in value:
                return f"header {key}: {value[:60]}"
    return None


def _norm(text: str) -> str:
    """Lower case, one space between words, one form of ellipsis, apostrophe and ampersand."""
    text = text.replace("\u2026", "...").replace("\u2019", "'").replace("&amp;", "&")
    return " ".join(text.lower().split())


def _header_pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None
                  ) -> list[tuple[str, str]]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k).lower(), str(v).lower()) for k, v in items]


def _markup(markup: str | bytes | None) -> str:
    if not markup:
        return ""
    if isinstance(markup, bytes):
        markup = markup[:MAX_MARKUP].decode("utf-8", errors="replace")
    return markup[:MAX_MARKUP].lower()
