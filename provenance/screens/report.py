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


def _copies(against: dict[str, Any] | None, timeline: dict[str, Any] | None) -> str:
    """Which copy the verdict rests on, and the screenshot across every copy of the page
    (:meth:`provenance.screens.across.Across.timeline`); empty without them."""
    parts = []
    if against and against.get("snapshot"):
        parts.append(
            f"<h2>Copy the verdict rests on</h2><table>"
            f"<tr><th>source</th><td>{_e(against.get('source'))}</td></tr>"
            f"<tr><th>memento URL</th><td><code>{_e(against.get('memento_url'))}</code></td></tr>"
            f"<tr><th>Memento-Datetime</th><td>{_e(against.get('memento_datetime'))}</td></tr>"
            f"<tr><th>SHA-256</th><td><code>{_e(against.get('sha256'))}</code></td></tr>"
            f"<tr><th>archive digest agrees</th><td>{_e(against.get('digest_agrees'))}</td></tr>"
            f"<tr><th>ledger record</th><td>#{_e(against.get('seq'))} "
            f"{_e(against.get('snapshot'))}</td></tr></table>")
    elif against and against.get("capture"):
        parts.append(f"<h2>Copy the verdict rests on</h2><p>our capture "
                     f"#{_e(against.get('seq'))} {_e(against.get('capture'))} of "
                     f"{_e(against.get('url'))}</p>")
    if timeline:
        rows = "".join(
            f"<tr><td>{_e(c.get('time'))}</td><td>{_e(c.get('source'))}</td>"
            f"<td>{_e(c.get('http_status'))}</td>"
            f"<td class='{_e(c.get('verdict'))}'>{_e(c.get('verdict') or 'could not check')}"
            f"</td><td><code>{_e(c.get('memento_url') or c.get('id'))}</code></td></tr>"
            for c in timeline.get("captures", []))
        errors = "".join(f"<li>{_e(e)}</li>" for e in timeline.get("could_not_check", []))
        parts.append(
            f"<h2>Every copy of the page</h2><p>{_e(timeline.get('summary'))}</p>"
            f"<table><tr><th>time</th><th>source</th><th>status</th><th>verdict</th>"
            f"<th>copy</th></tr>{rows}</table>" + (f"<ul>{errors}</ul>" if errors else ""))
    return "\n".join(parts)


def _pictures(picture: str, ours: bytes | None, against: dict[str, Any] | None) -> str:
    """The screenshot checked, and beside it our own of the page when the capture compared
    with was made with ``--browser``."""
    theirs = ("<figure><img alt='the screenshot, passage boxed green, differing figures red' "
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
                timeline: dict[str, Any] | None = None, ours: bytes | None = None) -> str:
    """The report as a string; ``image_png`` is the (possibly annotated) picture;
    ``against`` and ``timeline`` (verify --against URL) say which copies were checked;
    ``ours``: our own screenshot of the page compared with (a ``--browser`` capture)."""
    v = verification
    picture = base64.b64encode(image_png).decode("ascii")
    rows = "".join(
        f"<tr><td>{_e(f.claim_text)}</td><td>{_e(f.value)}</td>"
        f"<td>{_e(f.found_as) if f.found_as is not None else '<em>not found</em>'}</td>"
        f"<td class='{_e(f.status)}'>{_e(f.status)}</td></tr>"
        for f in v.figures
    ) or "<tr><td colspan='4'>the claim has no figures</td></tr>"
    reasons = "".join(f"<li>{_e(r)}</li>" for r in v.reasons)
    notes = "".join(f"<li>{_e(n)}</li>" for n in ocr.notes + [f"preprocessing: {s}"
                                                             for s in ocr.preprocessing])
    exif = "".join(f"<tr><th>{_e(k)}</th><td>{_e(val)}</td></tr>" for k, val in
                   sorted(ocr.exif.items())) or "<tr><td>none</td></tr>"
    colour = _COLOURS.get(v.verdict, "#333")
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
<p class="verdict">{_e(v.verdict)}</p>
<p>Score {v.score:.3f} · compared against the {_e(v.against)} · checked {_e(v.checked_at)}
 · report written {_e(utc_now())}</p>
<h2>Claim</h2><blockquote>{_e(v.claim)}</blockquote>
<h2>Found in the screenshot</h2>
<blockquote>{_e(v.found) or '<em>nothing corresponding</em>'}</blockquote>
<h2>Figures</h2>
<table><tr><th>claim</th><th>value</th><th>screenshot shows</th><th>status</th></tr>{rows}</table>
<h2>Reasons</h2><ul>{reasons}</ul>
{_copies(against, timeline)}
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
                timeline: dict[str, Any] | None = None, ours: bytes | None = None) -> str:
    """Write the report for ``image_path`` to ``out_html`` atomically; returns the path.

    The embedded picture is the screenshot with the passage and differing figures boxed.
    An existing file is replaced only with ``force`` (:func:`provenance.store.atomic.check_target`).
    """
    picture = png_bytes(draw_boxes(load_image(image_path).image, verification))
    return write_atomic(out_html, render_html(verification, ocr, picture, against=against,
                                    timeline=timeline, ours=ours).encode("utf-8"),
                        force=force)
