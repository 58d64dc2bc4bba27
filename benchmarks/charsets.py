"""Decoding real pages whose charset is missing or wrong, as servers send them.

chardet's test corpus (repository chardet/chardet, LGPL-2.1; real pages and feeds, one folder
per encoding and language: ``windows-1251-russian``, ``KOI8-R``, ``iso-8859-2-czech`` ...)
is read by :func:`archive.text.decode_bytes` three ways: with no label (its own
``charset=``/``encoding=`` labels blanked), with its true label, and with wrong labels a
server's default gives (``iso-8859-1``, ``windows-1250``, ``iso-8859-2``, ``windows-1251``,
``koi8-r``). A reading counts when it is the file's text exactly (the file decoded in its
folder's encoding, as browsers decode that encoding). The baseline is what a browser shows:
the label's reading, or with no label charset-normalizer's first answer.

Not vendored: point ``PROVENANCE_CHARDET`` at chardet's ``tests`` folder (or put it at
``../shared/realworld/chardet-tests``); without it this benchmark prints nothing.
``python3 -m benchmarks.charsets`` prints a row per folder and label kind.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import charset_normalizer  # noqa: E402

from archive.charsets import codec_for_label, decode_replacing  # noqa: E402
from archive.text import decode_bytes  # noqa: E402
from benchmarks.common import row  # noqa: E402

FOLDERS = {  # chardet's folder -> the label of its encoding (browsers' meaning)
    "windows-1251-russian": "windows-1251", "windows-1251-bulgarian": "windows-1251",
    "KOI8-R": "koi8-r", "IBM866": "ibm866", "MacCyrillic": "x-mac-cyrillic",
    "iso-8859-5-russian": "iso-8859-5", "iso-8859-5-bulgarian": "iso-8859-5",
    **{f"windows-1250-{lang}": "windows-1250" for lang in (
        "hungarian", "czech", "croatian", "romanian", "slovene", "slovak", "polish")},
    **{f"iso-8859-2-{lang}": "iso-8859-2" for lang in (
        "hungarian", "czech", "croatian", "polish", "slovak", "slovene")},
    "utf-8": "utf-8", "windows-1252": "windows-1252", "iso-8859-1": "windows-1252",
    "iso-8859-7-greek": "iso-8859-7", "iso-8859-9-turkish": "windows-1254",
    "windows-1254-turkish": "windows-1254", "windows-1255-hebrew": "windows-1255",
    "iso-8859-6-arabic": "iso-8859-6", "windows-1256-arabic": "windows-1256",
    "TIS-620": "windows-874",
}
WRONG = ("iso-8859-1", "windows-1250", "iso-8859-2", "windows-1251", "koi8-r")
CYRILLIC = ("cp1251", "koi8-r", "cp866", "mac_cyrillic", "iso8859-5")
MAX_FILE = 2 * 1024 * 1024
_LABEL = re.compile(rb"""((?:charset|encoding)\s*=\s*["']?)([A-Za-z0-9_:.-]+)""", re.I)


def _find() -> Path | None:
    named = os.environ.get("PROVENANCE_CHARDET")
    candidates = [Path(named)] if named else []
    candidates += [base / "shared" / "realworld" / "chardet-tests" for base in ROOT.parents]
    return next((c for c in candidates if (c / "KOI8-R").is_dir()), None)


def unlabelled_page(raw: bytes) -> bytes:
    """The file as an HTML page with every label in it blanked (same length, unknown)."""
    raw = _LABEL.sub(lambda m: m.group(1) + b"x" * len(m.group(2)), raw)
    if b"<html" in raw[:2000].lower():
        return raw
    return b"<html><head><title>t</title></head><body><pre>\n" + raw + b"\n</pre></body></html>"


def kind(truth: str, label: str | None) -> str | None:
    """The row a wrong label's reading goes to, or None when the label is right after all."""
    if label is None:
        return "unlabelled"
    if codec_for_label(label) == truth:
        return None
    group = "cyrillic" if truth in CYRILLIC else "central european" if truth in (
        "cp1250", "iso8859-2") else "other"
    return f"{group}, wrong label"


def browser(body: bytes, label: str | None) -> str:
    if label is None:
        best = charset_normalizer.from_bytes(body).best()
        codec = codec_for_label(best.encoding) if best else None
        return decode_replacing(body, codec or "cp1252")
    return decode_replacing(body, codec_for_label(label) or "cp1252")


def measure(folder: Path) -> tuple[Counter[str], Counter[str], Counter[str], float, str]:
    ours: Counter[str] = Counter()
    theirs: Counter[str] = Counter()
    total: Counter[str] = Counter()
    slowest, slowest_name = 0.0, ""
    for given in (None, *WRONG):  # once untimed: the first calls build the code-page tables
        decode_bytes(unlabelled_page(("Проверка связи " * 4).encode("cp1251")), given,
                     html=True)
    for name, label in FOLDERS.items():
        truth = codec_for_label(label) or label
        for path in sorted((folder / name).glob("*")) if (folder / name).is_dir() else []:
            raw = path.read_bytes()[:MAX_FILE]
            if raw.startswith(b"\xef\xbb\xbf"):
                continue
            body = unlabelled_page(raw)
            expected = decode_replacing(body, truth)
            for given in (None, label, *WRONG):
                row_kind = "true label" if given == label else kind(truth, given)
                if row_kind is None:
                    continue
                start = time.perf_counter()
                text, _ = decode_bytes(body, given, html=True)
                took = time.perf_counter() - start
                if took > slowest:
                    slowest, slowest_name = took, f"{name}/{path.name}"
                total[row_kind] += 1
                ours[row_kind] += text == expected
                theirs[row_kind] += browser(body, given) == expected
    return ours, theirs, total, slowest, slowest_name


def run(quick: bool = False) -> list[dict[str, Any]]:
    folder = _find()
    if folder is None:
        return []
    ours, theirs, total, slowest, name = measure(folder)
    rows = [row(f"charsets: {k} ({total[k]})", round(ours[k] * 100 / total[k], 1),
                round(theirs[k] * 100 / total[k], 1), "%", "exact text",
                higher_is_better=True) for k in sorted(total)]
    rows.append(row("charsets: slowest file", round(slowest, 3), 0.0, "s", "< 1 s",
                    ok=slowest < 1.0, file=name))
    return rows


if __name__ == "__main__":
    for result in run():
        print(result)
