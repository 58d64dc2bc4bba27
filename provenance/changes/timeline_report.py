"""The history of a URL as one self-contained HTML page a reader opens offline.

Each capture and witness snapshot is a row of the timeline with its time, source, HTTP
status and hash; each change shows the removed passages struck through in red and the added
ones in green, with the figures that changed, and apart from them the passages still in the
page that its own style now hides ("hidden by the page's style", struck through in amber)
or shows again. Nothing is loaded from anywhere (inline styles,
a Content-Security-Policy that forbids everything else), and every piece of page text is
HTML-escaped, so a page that was captured cannot inject markup into the report.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
from collections.abc import Mapping, Sequence
from typing import Any

from provenance.store.atomic import write_atomic
from provenance.store.clock import utc_now


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _diff_html(diff: dict[str, Any]) -> str:
    since = diff.get("since") or {}
    parts = [f"<p class='since'>compared with {_e(since.get('source'))} "
             f"{_e(since.get('time'))} <code>{_e(since.get('id'))}</code></p>"]
    parts.extend(f"<p class='status'>compare with care: {_e(n.get('copy'))} copy's text: "
                 f"{_e(n.get('note'))}</p>" for n in diff.get("text_notes") or [])
    for key in ("http_status", "final_url"):
        if key in diff:
            parts.append(f"<p class='status'>{_e(key.replace('_', ' '))}: "
                         f"{_e(diff[key]['from'])} → {_e(diff[key]['to'])}</p>")
    parts.extend(f"<p class='removed'><del>{_e(p)}</del></p>" for p in diff.get("removed", []))
    parts.extend(f"<p class='added'><ins>{_e(p)}</ins></p>" for p in diff.get("added", []))
    parts.extend(f"<p class='hidden'><span class='tag'>hidden by the page's style:</span> "
                 f"<s>{_e(p)}</s></p>" for p in diff.get("hidden") or [])
    parts.extend(f"<p class='shown'><span class='tag'>shown again:</span> {_e(p)}</p>"
                 for p in diff.get("shown") or [])
    figures = diff.get("figures") or []
    if figures:
        rows = "".join(
            f"<tr><td>{_e(f['old_text']) if f['old_text'] is not None else '—'}</td>"
            f"<td>{_e(f['new_text']) if f['new_text'] is not None else '<em>gone</em>'}</td>"
            f"<td>{_e(f['passage'])}</td></tr>" for f in figures)
        parts.append("<table class='figures'><tr><th>figure before</th><th>after</th>"
                     f"<th>passage</th></tr>{rows}</table>")
    parts.append(_unread_html(diff.get("style_sheets_unread")))
    ledger = diff.get("ledger")
    if ledger:
        parts.append(f"<p class='since'>recorded as ledger record #{_e(ledger['seq'])} "
                     f"<code>{_e(ledger['id'])}</code></p>")
    return "".join(parts)


def unread_sentence(unread: Any, where: str = "") -> str:
    """``1 style sheet{where} not read: what it hides or shows is not known`` (the
    report's and ``history``'s words); empty when ``unread`` is no count of sheets."""
    if not isinstance(unread, int) or unread <= 0:
        return ""
    if unread == 1:
        return f"1 style sheet{where} not read: what it hides or shows is not known"
    return f"{unread} style sheets{where} not read: what they hide or show is not known"


def _unread_html(unread: Any) -> str:
    """The page's style sheets not read (what they hide or show is not known)."""
    sheets = unread_sentence(unread, " of this page")
    return f"<p class='since'>{sheets}</p>" if sheets else ""


def _shot(item: dict[str, Any], screenshots: Mapping[int, bytes]) -> str:
    """Our full-page screenshot of a ``--browser`` capture, folded (it can be long)."""
    seq = item.get("ledger_seq")
    shot = screenshots.get(seq) if item["source"] == "local" and isinstance(seq, int) else None
    if shot is None:
        return ""
    encoded = base64.b64encode(shot).decode("ascii")
    return ("<details><summary>our screenshot (headless Chromium, SHA-256 "
            f"<code>{hashlib.sha256(shot).hexdigest()}</code>)</summary>"
            f"<img alt='our screenshot of the page' src='data:image/png;base64,{encoded}'>"
            "</details>")


def render_timeline(url: str, items: Sequence[dict[str, Any]],
                    screenshots: Mapping[int, bytes] | None = None) -> str:
    """The report as a string; ``screenshots``: ours, by the capture's ledger number."""
    screenshots = screenshots or {}
    rows = []
    changes = 0
    for item in items:
        if item.get("error"):
            rows.append(f"<tr class='error'><td>—</td><td>{_e(item['source'])}</td>"
                        f"<td colspan='3'>could not be read: {_e(item['error'])}</td></tr>")
            continue
        diff = item.get("diff", "absent")
        if diff == "absent":
            note = ("<em>copy not fetched</em>" if item["source"] != "local" else "")
            if item.get("fetch_error"):
                note = f"<em>copy could not be fetched: {_e(item['fetch_error'])}</em>"
            if item.get("not_compared"):  # an outage, a rate limit: neither change nor none
                note = f"<em>{_e(item['not_compared'])}</em>"
        elif diff is None:
            note = ("<span class='same'>no change</span>"
                    + _unread_html(item.get("style_sheets_unread")))
        else:
            changes += 1
            note = _diff_html(diff)
        where = item.get("id") or item.get("where")
        rows.append(
            f"<tr><td>{_e(item['time'])}</td><td>{_e(item['source'])}</td>"
            f"<td>{_e(item.get('status') or '—')}</td>"
            f"<td><code>{_e(where)}</code><br><code class='hash'>{_e(item.get('digest'))}"
            f"</code></td><td>{note}{_shot(item, screenshots)}</td></tr>")
    body = "".join(rows) or "<tr><td colspan='5'>no captures</td></tr>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>History of {_e(url)}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }}
del {{ background: #fde2e2; color: #8a0010; }} ins {{ background: #ddf4e0; color: #0a5d22;
 text-decoration: none; }}
.since, .hash {{ color: #666; font-size: .85em; }} .same {{ color: #666; }}
.status {{ font-weight: bold; color: #8a0010; }} code {{ word-break: break-all; }}
.hidden s {{ background: #fff1c2; color: #6b4a00; }} .tag {{ font-weight: bold; }}
table.figures {{ width: auto; margin: .4em 0; }}
img {{ max-width: 100%; border: 1px solid #999; }}
</style></head><body>
<h1>History of <code>{_e(url)}</code></h1>
<p>{len([i for i in items if not i.get('error')])} captures and snapshots, {changes} with
 changes · report written {_e(utc_now())}. Local captures are in the evidence store
 (<code>provenance check</code> re-hashes them); witness snapshots are the archives' own copies.
 Only the article text is compared: clocks, dates, counters and ad lines are not changes, and
 figures are compared by value. A passage still in the page that its own style sheets or
 attributes hide is said as hidden, never as removed.</p>
<table><tr><th>time (UTC)</th><th>source</th><th>HTTP</th><th>record / copy</th>
<th>what changed</th></tr>
{body}</table>
</body></html>
"""


def write_timeline_report(url: str, items: Sequence[dict[str, Any]],
                          out_html: str | os.PathLike[str], *, force: bool = False,
                          screenshots: Mapping[int, bytes] | None = None) -> str:
    """Write the report atomically (a reader never sees half a file); returns the path.
    An existing file is replaced only with ``force``
    (:func:`~provenance.store.atomic.check_target`)."""
    return write_atomic(out_html, render_timeline(url, items, screenshots).encode("utf-8"),
                        force=force)
