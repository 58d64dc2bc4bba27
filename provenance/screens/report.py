"""One self-contained HTML page a reader can open offline: verdict, claim, found, figures.

Everything is inside the file (the screenshot as a base64 data URL, the styles inline) so
the page shows the same thing on any machine, years later, with no network. Every piece
of text from the claim, the OCR or the EXIF is HTML-escaped: a screenshot's text must not
be able to inject markup into the report.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
from typing import Any

from provenance.screens.annotate import draw_boxes, png_bytes
from provenance.screens.images import load_image
from provenance.screens.match import Verification
from provenance.screens.ocr import OcrResult
from provenance.store.atomic import write_atomic
from provenance.store.clock import utc_now

_COLOURS = {"match": "#0a7d32", "mismatch": "#b00020", "absent": "#8a6d00"}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _row(name: str, value: object, *, code: bool = False) -> str:
    shown = f"<code>{_e(value)}</code>" if code else _e(value)
    return f"<tr><th>{_e(name)}</th><td>{shown}</td></tr>"


def _copy_rows(against: dict[str, Any]) -> str:
    """The copy the verdict rests on: which one, when, its hashes and ledger record."""
    if against.get("snapshot"):
        digest = against.get("digest_agrees")
        return (_row("copy", f"{against.get('source')} archive copy")
                + _row("memento URL", against.get("memento_url"), code=True)
                + _row("archived at (Memento-Datetime)", against.get("memento_datetime"))
                + _row("SHA-256 of the copy", against.get("sha256"), code=True)
                + _row("archive's index digest agrees",
                       "unknown" if digest is None else ("yes" if digest else "NO")))
    status = against.get("http_status")
    return (_row("copy", "our own capture")
            + _row("fetched at", against.get("fetched_at"))
            + _row("HTTP status", status if status is not None else "unknown")
            + _row("SHA-256 of the body", against.get("sha256"), code=True)
            + _row("SHA-256 of the text", against.get("text_sha256"), code=True))


def _checked(v: Verification, ocr: OcrResult, against: dict[str, Any] | None,
             timeline: dict[str, Any] | None, record: dict[str, Any] | None) -> str:
    """What was checked against what, when, and the records that tie the report to an
    exported bundle: the report must stand alone."""
    rows = [_row("screenshot", os.path.basename(ocr.image)),
            _row("SHA-256 of the screenshot", ocr.sha256, code=True)]
    if against and (against.get("capture") or against.get("snapshot")):
        url = (timeline or {}).get("url") or against.get("url")
        rows.append(_row("checked against the page at", url, code=True))
        rows.append(_copy_rows(against))
        kind = "capture" if against.get("capture") else "snapshot"
        rows.append(_row(f"{kind} record", f"#{against.get('seq')} {against.get(kind)}"))
    else:
        rows.append(_row("checked against", "the claim quoted below"))
    if timeline:
        rows.append(_row("over time", timeline.get("summary")))
    rows.append(_row("checked at", v.checked_at))
    if record:
        rows.append(_row("verification record",
                         f"#{record.get('seq')} {record.get('id')}"))
        rows.append(_row("record hash", record.get("record_hash"), code=True))
    note = ("<p>The records above are in the evidence store's ledger; <code>provenance "
            f"export {_e(record.get('id'))} --out bundle.zip</code> exports the verification "
            "with every copy it names, to be checked without this tool.</p>") if record else ""
    return "<h2>What was checked</h2><table>" + "".join(rows) + "</table>" + note


def _copies(timeline: dict[str, Any] | None) -> str:
    """The screenshot across every copy of the page
    (:meth:`provenance.screens.across.Across.timeline`); empty without one."""
    if not timeline:
        return ""
    rows = "".join(
        f"<tr><td>{_e(c.get('time'))}</td><td>{_e(c.get('source'))}</td>"
        f"<td>#{_e(c.get('seq'))}</td><td>{_e(c.get('http_status'))}</td>"
        f"<td class='{_e(c.get('verdict'))}'>{_e(c.get('verdict') or 'could not check')}"
        f"</td><td><code>{_e(c.get('memento_url') or c.get('id'))}</code></td>"
        f"<td><code>{_e(c.get('sha256'))}</code></td></tr>"
        for c in timeline.get("captures", []))
    errors = "".join(f"<li>{_e(e)}</li>" for e in timeline.get("could_not_check", []))
    return (f"<h2>Every copy of the page</h2><p>{_e(timeline.get('summary'))}</p>"
            f"<table><tr><th>time</th><th>source</th><th>record</th><th>status</th>"
            f"<th>verdict</th><th>copy</th><th>SHA-256</th></tr>{rows}</table>"
            + (f"<ul>{errors}</ul>" if errors else ""))


def _pictures(picture: str, ours: bytes | None, against: dict[str, Any] | None) -> str:
    """The screenshot checked, and beside it our own of the page when the capture compared
    with was made with ``--browser``."""
    theirs = ("<figure><img alt='the screenshot, passage boxed green, what differs red, "
              "unclear words orange' "
              f"src='data:image/png;base64,{picture}'><figcaption>the screenshot checked"
              "</figcaption></figure>")
    if ours is None:
        return f"<p>{theirs}</p>"
    encoded = base64.b64encode(ours).decode("ascii")
    where = (f"capture #{_e((against or {}).get('seq'))} {_e((against or {}).get('capture'))}"
             if against else "the capture")
    return ("<div class='pair'>" + theirs +
            f"<figure><img alt='our screenshot of the page' src='data:image/png;base64,"
            f"{encoded}'><figcaption>our screenshot of the page ({where}, headless Chromium, "
            f"SHA-256 <code>{_e(hashlib.sha256(ours).hexdigest())}</code>)</figcaption>"
            "</figure></div>")


def render_html(verification: Verification, ocr: OcrResult, image_png: bytes, *,
                against: dict[str, Any] | None = None,
                timeline: dict[str, Any] | None = None,
                record: dict[str, Any] | None = None, ours: bytes | None = None) -> str:
    """The report as a string; ``image_png`` is the (possibly annotated) picture;
    ``against`` and ``timeline`` (verify --against) say which copies were checked,
    ``record`` (``id``, ``seq``, ``record_hash``) is the verification's ledger record;
    ``ours``: our own screenshot of the page compared with (a ``--browser`` capture)."""
    v = verification
    page = v.against == "page"
    # Against a page the "claim" is the screenshot's own text, looked for on the page.
    claim_head, found_head, shows = (
        ("Text of the screenshot looked for on the page", "Found on the page", "page shows")
        if page else ("Claim", "Found in the screenshot", "screenshot shows"))
    nothing = ("the screenshot's passage has no figures" if page
               else "the claim has no figures")
    picture = base64.b64encode(image_png).decode("ascii")
    rows = "".join(
        f"<tr><td>{_e(f.claim_text)}</td><td>{_e(f.value)}</td>"
        f"<td>{_e(f.found_as) if f.found_as is not None else '<em>not found</em>'}</td>"
        f"<td class='{_e(f.status)}'>{_e(f.status)}</td></tr>"
        for f in v.figures
    ) or f"<tr><td colspan='4'>{nothing}</td></tr>"
    reasons = "".join(f"<li>{_e(r)}</li>" for r in v.reasons)
    notes = "".join(f"<li>{_e(n)}</li>" for n in ocr.notes + [f"preprocessing: {s}"
                                                             for s in ocr.preprocessing])
    exif = "".join(f"<tr><th>{_e(k)}</th><td>{_e(val)}</td></tr>" for k, val in
                   sorted(ocr.exif.items())) or "<tr><td>none</td></tr>"
    colour = _COLOURS.get(v.verdict, "#333")
    status = (against or {}).get("http_status")
    warning = (f"<p class='differs'>The copy compared with answered HTTP {_e(status)}: "
               "it is an error page, not the article.</p>"
               if isinstance(status, int) and status >= 400 else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Verification: {_e(v.verdict)}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
.verdict {{ font-size: 2em; font-weight: bold; color: {colour}; text-transform: uppercase; }}
table {{ border-collapse: collapse; margin: .5em 0; }}
td, th {{ border: 1px solid #ccc; padding: .2em .6em; text-align: left; vertical-align: top; }}
.found {{ color: #0a7d32; }} .differs, .missing {{ color: #b00020; font-weight: bold; }}
blockquote {{ background: #f4f4f4; margin: 0; padding: .6em 1em; white-space: pre-wrap; }}
code {{ word-break: break-all; }} img {{ max-width: 100%; border: 1px solid #999; }}
.pair {{ display: flex; gap: 1em; align-items: flex-start; }} .pair figure {{ flex: 1;
 margin: 0; }} figcaption {{ color: #555; font-size: .85em; }}
</style></head><body>
{warning}
<p class="verdict">{_e(v.verdict)}</p>
<p>Score {v.score:.3f} · compared against the {_e(v.against)} · checked {_e(v.checked_at)}
 · report written {_e(utc_now())}</p>
{_checked(v, ocr, against, timeline, record)}
<h2>{claim_head}</h2><blockquote>{_e(v.claim) or '<em>no text</em>'}</blockquote>
<h2>{found_head}</h2>
<blockquote>{_e(v.found) or '<em>nothing corresponding</em>'}</blockquote>
<h2>Figures</h2>
<table><tr><th>{'screenshot' if page else 'claim'}</th><th>value</th><th>{shows}</th>
<th>status</th></tr>{rows}</table>
<h2>Reasons</h2><ul>{reasons}</ul>
{_copies(timeline)}
<h2>Screenshot</h2>
<table>
<tr><th>file</th><td>{_e(os.path.basename(ocr.image))}</td></tr>
<tr><th>SHA-256</th><td><code>{_e(ocr.sha256)}</code></td></tr>
<tr><th>perceptual hash</th><td><code>{_e(ocr.phash)}</code></td></tr>
<tr><th>size</th><td>{ocr.width} × {ocr.height}</td></tr>
<tr><th>OCR</th><td>{_e(ocr.engine)}, languages {_e(ocr.lang)},
 confidence {ocr.confidence:.1f}</td></tr>
</table>
<h3>Capture metadata (EXIF)</h3><table>{exif}</table>
<h3>Notes</h3><ul>{notes or '<li>none</li>'}</ul>
{_pictures(picture, ours, against)}
<h2>Text read from the screenshot</h2><blockquote>{_e(ocr.text)}</blockquote>
</body></html>
"""


def html_report(verification: Verification, ocr: OcrResult,
                image_path: str | os.PathLike[str], out_html: str | os.PathLike[str], *,
                force: bool = False, against: dict[str, Any] | None = None,
                timeline: dict[str, Any] | None = None,
                record: dict[str, Any] | None = None, ours: bytes | None = None) -> str:
    """Write the report for ``image_path`` to ``out_html`` atomically; returns the path.

    The embedded picture is the screenshot with the passage and differing figures boxed.
    An existing file is replaced only with ``force`` (:func:`provenance.store.atomic.check_target`).
    """
    picture = png_bytes(draw_boxes(load_image(image_path).image, verification))
    page = render_html(verification, ocr, picture, against=against, timeline=timeline,
                       record=record, ours=ours)
    return write_atomic(out_html, page.encode("utf-8"), force=force)
