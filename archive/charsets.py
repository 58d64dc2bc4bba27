"""Charset labels and decoders as browsers use them (the WHATWG Encoding Standard).

A page's text must be what its readers saw, and browsers do not read labels literally:
``iso-8859-1`` and ``us-ascii`` mean windows-1252, ``iso-8859-9`` windows-1254, ``gb2312``
and ``gbk`` the GB18030 decoder, ``euc-kr`` windows-949, ``big5`` Big5-HKSCS and
``shift_jis`` windows-31J (checked byte by byte against Chromium: Python's ``shift_jis``
reads 0x8160 as U+301C where Chromium shows U+FF5E, and it refuses NEC's ①). A single-byte
decoder never fails: the bytes a Windows code page leaves undefined are the C1 controls
(U+0080-U+009F), as in browsers, so one stray byte does not make a whole labelled page
"mislabelled". A UTF-16 label met inside the bytes (``<meta>``, XML declaration) means
UTF-8, since a document that could be read to find it is not UTF-16.
"""

from __future__ import annotations

import codecs
import functools
import sys

# label (lower case) -> Python codec; labels not listed go to codecs.lookup as they are.
_LABELS = {
    **dict.fromkeys(("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819",
                     "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1",
                     "iso_8859-1:1987", "l1", "latin1", "latin-1", "us-ascii", "windows-1252",
                     "x-cp1252"), "cp1252"),
    **dict.fromkeys(("cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9",
                     "iso88599", "iso_8859-9", "iso_8859-9:1989", "l5", "latin5",
                     "windows-1254", "x-cp1254"), "cp1254"),
    **dict.fromkeys(("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620",
                     "windows-874"), "cp874"),
    **dict.fromkeys(("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312",
                     "gb_2312-80", "gbk", "iso-ir-58", "x-gbk", "gb18030", "cp936", "ms936",
                     "windows-936"), "gb18030"),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"), "big5hkscs"),
    **dict.fromkeys(("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean",
                     "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "ksc_5601",
                     "windows-949"), "cp949"),
    **dict.fromkeys(("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis",
                     "windows-31j", "x-sjis"), "cp932"),
    **dict.fromkeys(("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"), "euc_jp"),
    **dict.fromkeys(("csiso88598i", "iso-8859-8-i", "logical"), "iso8859_8"),
    **dict.fromkeys(("x-mac-cyrillic", "x-mac-ukrainian"), "mac_cyrillic"),
    **dict.fromkeys(("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8",
                     "x-unicode20utf8"), "utf-8"),
    **dict.fromkeys(("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff",
                     "utf-16", "utf-16le"), "utf-16-le"),
    **dict.fromkeys(("unicodefffe", "utf-16be"), "utf-16-be"),
}
_UTF16 = ("utf-16-le", "utf-16-be")
_STRICT = "provenance-whatwg-strict"
_REPLACE = "provenance-whatwg-replace"


def codec_for_label(label: str | None, *, in_document: bool = False) -> str | None:
    """Python's codec for a charset label as a browser reads it, or None if unknown.

    ``in_document``: the label was read from the bytes themselves (``<meta>`` or an XML
    declaration), where a UTF-16 label means UTF-8 (WHATWG prescan)."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    codec = _LABELS.get(name) or _LABELS.get(name.replace("_", "-"))  # or Python's name
    if codec is None:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            return None
    if in_document and (codec in _UTF16 or codec.startswith(("utf-16", "utf_16"))):
        return "utf-8"
    return codec


def is_single_byte(codec: str) -> bool:
    """A charmap codec: one character per byte (Python's code pages, ISO 8859, KOI8)."""
    return _single_byte_table(codec) is not None


@functools.lru_cache(maxsize=64)
def _single_byte_table(codec: str) -> str | None:
    """The codec's 256 characters as WHATWG reads them: a byte Python leaves undefined is
    its C1 control (0x80-0x9F, as in windows-1252's 0x81) or U+FFFD, never an error."""
    try:
        module = sys.modules.get(getattr(codecs.lookup(codec).decode, "__module__", ""))
    except LookupError:
        return None
    table = getattr(module, "decoding_table", None)
    if not isinstance(table, str) or len(table) != 256:
        return None
    name = codecs.lookup(codec).name
    chars = [_SINGLE_BYTE_EXTRA.get((name, byte)) or (
        char if char != "\ufffe" else chr(byte) if 0x80 <= byte <= 0x9F else "\ufffd")
        for byte, char in enumerate(table)]
    return "".join(chars).translate(_AS_BROWSERS.get(name, {}))


def decode_strict(body: bytes, codec: str) -> str:
    """``body`` in ``codec`` as a browser reads it; UnicodeDecodeError if a multi-byte
    codec finds bytes it cannot read (the label may be wrong). Single-byte codecs never
    fail: an undefined byte is its C1 control (0x80-0x9F) or U+FFFD, as WHATWG says."""
    return _decode(body, codec, _STRICT)


def decode_replacing(body: bytes, codec: str) -> str:
    """:func:`decode_strict`, with U+FFFD for what cannot be read, as browsers show it."""
    return _decode(body, codec, _REPLACE)


def _decode(body: bytes, codec: str, errors: str) -> str:
    table = _single_byte_table(codec)
    if table is not None:
        return codecs.charmap_decode(body, "strict", table)[0]
    if codec in ("utf-8", "utf_8", "utf8"):  # nothing to rescue: Python's own handlers, in C
        return body.decode(codec, errors="replace" if errors == _REPLACE else "strict")
    return body.decode(codec, errors=errors).translate(_AS_BROWSERS.get(codec, {}))


# Where Python's table for a codec differs from WHATWG's (and Chromium's; each
# checked on every two-byte code): characters it reads otherwise, and pairs it cannot read.
_AS_BROWSERS = {
    # EUC-JP: JIS X 0208 as in windows-31J (WHATWG's index-jis0208): the wave dash is
    # U+FF5E, not U+301C, and five more symbols; NEC's row 13 (①, ㈱) and IBM's rows read.
    "euc_jp": str.maketrans({"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d",
                             "\u00a2": "\uffe0", "\u00a3": "\uffe1", "\u00ac": "\uffe2"}),
    # GB18030, 2005 and 2022 editions: 20 two-byte codes Python's table (2000) still reads
    # as private-use characters are the vertical forms, ḿ and CJK radicals.
    "gb18030": str.maketrans(dict(zip(
        "\ue5e5\ue78d\ue78e\ue78f\ue790\ue791\ue792\ue793\ue794\ue795\ue796\ue7c7"
        "\ue81e\ue826\ue82b\ue82c\ue832\ue843\ue854\ue864",
        "\u3000\ufe10\ufe12\ufe11\ufe13\ufe14\ufe15\ufe16\ufe17\ufe18\ufe19\u1e3f"
        "\u9fb4\u9fb5\u9fb6\u9fb7\u9fb8\u9fb9\u9fba\u9fbb", strict=True))),
    # Big5 (WHATWG's is Big5-HKSCS): the interpunct of foreign names (A145) is U+2027, not
    # a bullet; the tilde and currency signs are the full-width ones. (A241 and A242, which
    # Python reads as A1FE's and A240's slashes, stay so: a character cannot tell them.)
    "big5hkscs": str.maketrans(dict(zip(
        "\u2022\uff64\u203e\u223c\u2641\u2609\u00a5\u00a2\u00a3",
        "\u2027\ufe51\u00af\uff5e\u2295\u2299\uffe5\uffe0\uffe1",
        strict=True))),
    # KOI8-U is KOI8-RU to browsers: AE and BE are Belarusian ў and Ў, not box drawings.
    "koi8-u": str.maketrans({"\u255d": "\u045e", "\u256c": "\u040e"}),
}
_BIG5_PAIRS = {b"\xa3\xe1": "\u20ac", b"\xc6\xcf": "\u5ef4", b"\xc6\xd3": "\u65e0",
               b"\xc6\xd5": "\u7676", b"\xc6\xd7": "\u96b6", b"\xc6\xde": "\u3003",
               b"\xc6\xdf": "\u4edd"}


def _euc_jp_pair(pair: bytes) -> str | None:
    """A JIS X 0208 pair Python's euc_jp does not know, read by windows-31J's table."""
    if not (0xA1 <= pair[0] <= 0xFE and 0xA1 <= pair[1] <= 0xFE):
        return None
    row, cell = pair[0] - 0x80, pair[1] - 0x80
    lead = ((row + 1) >> 1) + 0x70
    lead += 0x40 if lead >= 0xA0 else 0
    trail = cell + 0x1F + (cell >= 0x60) if row & 1 else cell + 0x7E
    try:
        return bytes([lead, trail]).decode("cp932")
    except UnicodeDecodeError:
        return None


def _rescue(error: UnicodeError) -> tuple[str, int] | None:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    pair = error.object[error.start:error.start + 2]
    if len(pair) == 2:
        codec = codecs.lookup(error.encoding).name
        found = (_euc_jp_pair(pair) if codec == "euc_jp"
                 else _BIG5_PAIRS.get(pair) if codec == "big5hkscs" else None)
        if found is not None:
            return found, error.start + 2
    return None


def _strict(error: UnicodeError) -> tuple[str, int]:
    rescued = _rescue(error)
    if rescued is None:
        raise error
    return rescued


def _replace(error: UnicodeError) -> tuple[str, int]:
    rescued = _rescue(error)
    if rescued is None:
        assert isinstance(error, UnicodeDecodeError)
        return "\ufffd", error.end  # as Python's "replace" does
    return rescued


_SINGLE_BYTE_EXTRA = {("cp1255", 0xCA): "\u05ba"}  # Hebrew holam haser, added since Python's


codecs.register_error(_STRICT, _strict)
codecs.register_error(_REPLACE, _replace)
