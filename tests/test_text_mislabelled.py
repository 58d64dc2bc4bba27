"""Real pages served with a wrong single-byte label, as a server's default charset sends them
(windows-1251 news as ISO-8859-1, Czech as KOI8-R): the text is what the page says, not the
label's mojibake, which would make a genuine screenshot of the page look absent and a page
re-read later look edited. Excerpts of chardet's real files (tests/realworld_charsets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.text import decode_bytes

EXCERPTS = Path(__file__).parent / "realworld_charsets"
WRONG_LABELS = ("iso-8859-1", "windows-1250", "iso-8859-2", "windows-1251", "koi8-r")


def _page(name: str) -> bytes:
    return (b"<html><head><title>t</title></head><body><pre>" + (EXCERPTS / name).read_bytes()
            + b"</pre></body></html>")


@pytest.mark.parametrize(("name", "codec"), [
    ("ru-windows-1251.txt", "cp1251"), ("ru-koi8-r.txt", "koi8_r"),
    ("bg-windows-1251.txt", "cp1251")])
def test_cyrillic_served_with_a_latin_label_reads_as_written(name, codec):
    """Russian and Bulgarian read as windows-1252, -1250 or ISO-8859-2 are no language
    ("Ìèíèñòåðñòâî"): the letters decide, as for an unlabelled page."""
    body = _page(name)
    for label in WRONG_LABELS:
        text, found = decode_bytes(body, label, html=True)
        assert text == body.decode(codec), (label, found)


@pytest.mark.parametrize(("name", "codec", "twin"), [
    ("cs-windows-1250.txt", "cp1250", "iso-8859-2"), ("pl-iso-8859-2.txt", "iso8859_2",
                                                      "windows-1250")])
def test_central_european_served_with_a_wrong_label_reads_as_written(name, codec, twin):
    """Czech and Polish as ISO-8859-1 ("è" for "č"), as windows-1251 or KOI8-R, where their
    letters read as Cyrillic ones (no Cyrillic text is made of Latin words), and as the twin
    code page ("ą" for "š", "±" for "ą"), judged by the bytes the two read differently."""
    body = _page(name)
    for label in ("iso-8859-1", "windows-1251", "koi8-r", twin):
        text, found = decode_bytes(body, label, html=True)
        assert text == body.decode(codec), (label, found)


def test_a_label_whose_reading_is_a_language_is_followed():
    """A Hungarian ISO-8859-2 paragraph served as ISO-8859-1 reads its few "ő" as "õ" and
    nothing worse: that is what browsers show, and it stays the label's reading. The labels
    that fit are followed."""
    body = _page("hu-iso-8859-2.txt")
    text, found = decode_bytes(body, "iso-8859-1", html=True)
    assert (text, found) == (body.decode("cp1252"), "cp1252")
    for name, label in (("hu-iso-8859-2.txt", "iso-8859-2"), ("cs-windows-1250.txt",
                                                             "windows-1250")):
        body = _page(name)
        assert decode_bytes(body, label, html=True)[1] in ("iso8859-2", "cp1250")
    # and a Czech page served as koi8-r is read as Czech (fails on the old code)
    body = _page("cs-windows-1250.txt")
    assert decode_bytes(body, "koi8-r", html=True)[0] == body.decode("cp1250")


def test_ukrainian_served_as_koi8_r_keeps_its_letters():
    """KOI8-U served with the Russian label, as many Ukrainian sites were: read as KOI8-R,
    і ї є ґ are box-drawing signs inside words ("М╔н╔стерство"), however short the page.
    Russian in ISO-8859-5 served as KOI8-R (its capitals read as box signs beside letters)
    is still read as Russian, not as Ukrainian."""
    sentence = "Міністерство оборони оприлюднило дані про втрати, а потім видалило їх."
    body = f"<html><body><p>{sentence}</p></body></html>".encode("koi8_u")
    text, found = decode_bytes(body, "koi8-r", html=True)
    assert sentence in text and found == "koi8-u", text
    russian = (EXCERPTS / "ru-windows-1251.txt").read_bytes().decode("cp1251")
    body = _page("ru-windows-1251.txt").decode("cp1251").encode("iso8859_5")
    text, found = decode_bytes(body, "koi8-r", html=True)
    assert russian in text and found == "iso8859-5", found


TRUE_LABELS = [  # each sentence in a code page whose language the letter scorer may not know
    ("windows-1257", "Lietuvos vyriausybė šiandien paskelbė naujus duomenis apie nukentėjusius "
                     "žmones ir jų skaičių, o ministerija teigė, kad jie bus atnaujinti rytoj."),
    ("iso-8859-4", "Latvijas valdība paziņoja, ka ministrija ir publicējusi jaunus skaitļus, bet "
                   "žurnālisti jautāja, kāpēc raksts tika izņemts pēc dažām stundām."),
    ("iso-8859-15", "Eesti valitsus teatas täna, et ministeerium avaldas uued andmed. Õhtul "
                    "küsisid ajakirjanikud, miks andmed eemaldati lehelt nii kiiresti."),
    ("iso-8859-1", "Íslenska ríkisstjórnin tilkynnti í dag að ráðuneytið hefði birt nýjar tölur. "
                   "Þær voru fjarlægðar af vefnum nokkrum klukkustundum síðar."),
    ("iso-8859-16", "Guvernul României a anunțat astăzi că ministerul a publicat cifre noi. "
                    "Jurnaliștii au întrebat de ce articolul a fost șters după câteva ore."),
    ("windows-1250", "Vlada Republike Hrvatske objavila je danas nove brojke. Novinari su pitali "
                     "zašto je članak uklonjen nakon nekoliko sati, a glasnogovornik šuti."),
    ("windows-1254", "Türkiye hükümeti bugün bakanlığın yeni rakamlar yayımladığını açıkladı. "
                     "Gazeteciler makalenin neden birkaç saat sonra kaldırıldığını sordu."),
    ("iso-8859-3", "Il-Gvern ta' Malta ħabbar illum li l-ministeru ppubblika ċifri ġodda. "
                   "Il-ġurnalisti staqsew għaliex l-artiklu tneħħa wara ftit sigħat."),
]


@pytest.mark.parametrize(("label", "sentence"), TRUE_LABELS, ids=[t[0] for t in TRUE_LABELS])
def test_a_true_label_is_never_overruled(label, sentence):
    """The dangerous direction: a page whose label is right must read as its label says,
    whatever the letter scorer thinks of a language it was not built for (Baltic, Estonian,
    Icelandic, Romanian with ș ț, Croatian, Turkish, Maltese)."""
    body = (f"<html><head><title>t</title></head><body><p>{sentence}</p></body></html>"
            ).encode(label)
    text, _ = decode_bytes(body, label, html=True)
    assert sentence in text
