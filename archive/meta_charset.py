"""The charset a page's ``<meta>`` gives, read as a browser reads it (WHATWG prescan).

A browser honours ``<meta charset=X>``, and ``<meta content="...; charset=X">`` only beside
``http-equiv="content-type"``: a ``name="description"`` whose text mentions "charset=", a
``data-charset`` attribute or a ``content`` without the pragma is not a label, and a label no
browser knows is passed over for the next ``<meta>``. Reading any "charset=" in a tag as the
label would decode such a page differently from how its readers saw it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_META = re.compile(rb"<meta(?=[\s/])", re.I)
# One attribute, as the prescan's "get an attribute" reads it: a name up to "=", space,
# "/" or ">", then an optional value, quoted or running to space or ">".
_ATTRIBUTE = re.compile(rb"""[\s/]*([^\s/>=][^\s/>=]*|=[^\s/>=]*)"""
                        rb"""(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?""")
_END = re.compile(rb"[\s/]*>")
_CONTENT_CHARSET = re.compile(rb"charset\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s;\"']+))",
                              re.I)
MAX_ATTRIBUTES = 64  # of one tag (a real <meta> has two or three)


def meta_charset(head: bytes, known: Callable[[str], bool]) -> str | None:
    """The label of the first ``<meta>`` in ``head`` that declares one ``known`` accepts."""
    for meta in _META.finditer(head):
        label = _label(head, meta.end())
        if label is not None and known(label):
            return label
    return None


def _label(head: bytes, at: int) -> str | None:
    attributes: dict[bytes, bytes] = {}
    for _ in range(MAX_ATTRIBUTES):
        if _END.match(head, at) or at >= len(head):
            break
        found = _ATTRIBUTE.match(head, at)
        if found is None or found.end() == at:
            break
        at = found.end()
        value = next((v for v in found.group(2, 3, 4) if v is not None), b"")
        attributes.setdefault(found.group(1).lower(), value)  # the first of a name counts
    if b"charset" in attributes:
        return _ascii(attributes[b"charset"])
    pragma = attributes.get(b"http-equiv", b"").strip().lower() == b"content-type"
    if pragma and b"content" in attributes:
        found = _CONTENT_CHARSET.search(attributes[b"content"])
        if found:
            return _ascii(next(v for v in found.group(1, 2, 3) if v is not None))
    return None


def _ascii(value: bytes) -> str | None:
    label = value.strip().decode("ascii", errors="replace")
    return label if label and "\ufffd" not in label and len(label) <= 40 else None
