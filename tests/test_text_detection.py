"""Unlabelled single-byte pages, read in the code page they were written in.

Old CMSs in Central and Eastern Europe, Turkey, the Baltics and the Balkans send no charset.
Each case is real news prose (tests/langsamples.py) in a code page such sites used, as a
sentence, a paragraph and a page, with no label anywhere: the text read must be the text
written. A statistical detector's first answer got 30 of these wrong (French as
windows-1250, Czech ISO-8859-2 as windows-1250, Turkish and Lithuanian as windows-1250 ...).
"""

from __future__ import annotations

import time
import unicodedata

import pytest
from langsamples import CHARSETS, LENGTHS, sample, text_in

from archive.charsets import codec_for_label
from archive.text import decode_bytes, extract_text

CASES = [(lang, codec, length) for lang, codec in CHARSETS for length in LENGTHS]


@pytest.mark.parametrize("lang, codec, length", CASES,
                         ids=[f"{lang}-{codec}-{length}" for lang, codec, length in CASES])
def test_unlabelled_page_reads_as_written(lang, codec, length):
    text, body = sample(lang, codec, length)
    read, found = decode_bytes(body, None, html=True)
    assert text in unicodedata.normalize("NFC", read), (found, read[:300])


@pytest.mark.parametrize("lang, codec", [("cs", "iso8859_2"), ("tr", "cp1254"),
                                         ("fr", "cp1252"), ("lt", "cp1257")])
def test_extracted_text_of_unlabelled_page(lang, codec):
    text, body = sample(lang, codec, "paragraph")
    page = extract_text(body, "text/html", "http://site.example/")
    assert text in page.text.splitlines()


@pytest.mark.parametrize("lang, codec", [("cs", "iso8859_2"), ("pl", "cp1250"),
                                         ("de", "cp1252"), ("el", "iso8859_7")])
def test_a_label_that_fits_the_bytes_is_followed(lang, codec):
    """Detection is only for unlabelled pages: a page whose label fits is read by its label
    (German read alike in windows-1250 and -1252 is still windows-1250 when so labelled)."""
    _, body = sample(lang, codec, "paragraph")
    for label in {"cp1252": "windows-1250", "cp1250": "windows-1250"}.get(codec, codec), codec:
        read, found = decode_bytes(body, label, html=True)
        assert found == codec_for_label(label)


def test_equal_readings_go_to_the_code_page_most_used():
    """German with „ “ – € reads the same in windows-1250 and -1252: windows-1252."""
    _, body = sample("de", "cp1252", "page")
    assert decode_bytes(body, None, html=True)[1] == "cp1252"


@pytest.mark.parametrize("lang, codec", [("cs", "iso8859_2"), ("ru", "koi8_r")])
def test_large_unlabelled_page_is_read_in_bounded_time(lang, codec):
    """Six MB of unlabelled text (near the extraction limit): a sample decides, in well under
    the seconds a full scan of every candidate (and of UTF-8's errors) took."""
    paragraph = f"<p>{text_in(lang, codec)}</p>\n".encode(codec)
    body = b"<html><body>" + paragraph * (6_000_000 // len(paragraph)) + b"</body></html>"
    start = time.process_time()
    read, found = decode_bytes(body, None, html=True)
    took = time.process_time() - start
    assert text_in(lang, codec) in read and took < 1.0, (found, took)


@pytest.mark.parametrize("lang, codec, words", [("ru", "koi8_r", 2), ("uk", "koi8_u", 2),
                                                 ("pl", "iso8859_2", 5), ("sv", "cp1252", 14),
                                                 ("hr", "iso8859_2", 23), ("en", "cp1252", 2),
                                                 ("fr", "iso8859_15", 26)])
def test_a_few_words_are_not_read_as_cjk_or_a_neighbour(lang, codec, words):
    """Two KOI8 words or five Polish ones are valid Shift_JIS (their letters are its
    half-width katakana), fourteen Swedish ones valid Big5 ("f顤esl緳"), and a statistical
    detector said so; Croatian "š č" read in windows-1250 as "ą č" fits Lithuanian, but no
    Lithuanian page is in windows-1250; "Copyright ©" is not Thai, nor "«" a lone "Ť"."""
    text = " ".join(text_in(lang, codec).split()[:words])
    read, found = decode_bytes(f"<html><body><p>{text}</p></body></html>".encode(codec), None,
                               html=True)
    assert text in read, found


@pytest.mark.parametrize("codec", ["cp932", "euc_jp", "gbk", "big5hkscs", "cp949"])
def test_cjk_with_latin_names_is_still_cjk(codec):
    """The check that turns away "f顤esl緳" must not turn away CJK prose naming products
    (and when a detector's first answer is Shift_JIS half-width kana, its next, Big5, is)."""
    text = {"cp932": "iPhone 15の新機能について、Appleは本日Windows版とMac版の提供を発表した。",
            "euc_jp": "iPhone 15の新機能について、Appleは本日Windows版とMac版の提供を発表した。",
            "gbk": "苹果公司今天发布了iPhone 15，Windows版和Mac版将于下月上市。",
            "big5hkscs": "蘋果公司今天發布了iPhone 15，Windows版和Mac版將於下月上市。",
            "cp949": "애플은 오늘 iPhone 15를 발표했으며 Windows판과 Mac판은 다음 달에 나온다.",
            }[codec]
    read, found = decode_bytes(f"<html><body><p>{text}</p></body></html>".encode(codec), None,
                               html=True)
    assert text in read, found


BROWSER_AGREES = [("fr", "cp1252", "paragraph"), ("tr", "cp1254", "page"),
                  ("sk", "iso8859_2", "paragraph"), ("lt", "cp1257", "paragraph"),
                  ("el", "iso8859_7", "paragraph"), ("ru", "koi8_r", "sentence"),
                  ("uk", "koi8_u", "paragraph"), ("th", "cp874", "page"),
                  ("ar", "iso8859_6", "paragraph"), ("en", "cp1252", "sentence")]


def test_chromium_reads_the_same_text(web):
    """Debian's Chromium on unlabelled pages its detector reads right (it reads Czech and
    Croatian ISO-8859-2 as windows-1250, and Vietnamese as windows-1252): our text of the
    first paragraph is its text."""
    from browser import chromium
    from webfixtures import send

    for lang, codec, length in BROWSER_AGREES:
        body = sample(lang, codec, length)[1]
        web.add_route(f"/detect/{lang}/{codec}/{length}",
                      lambda h, b=body: send(h, 200, b, content_type="text/html"))
    with chromium() as browser:
        tab = browser.new_page()
        for lang, codec, length in BROWSER_AGREES:
            tab.goto(web.url(f"/detect/{lang}/{codec}/{length}"))
            seen = tab.evaluate("() => document.querySelector('p').textContent")
            text, body = sample(lang, codec, length)
            assert seen == text and text in decode_bytes(body, None, html=True)[0], lang
