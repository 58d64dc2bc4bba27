"""normalize_url: what is fetched is exactly what was asked for, or a one-line refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.errors import BadUrl
from archive.urls import normalize_url


@pytest.mark.parametrize("raw, expected", [
    ("https://example.com/x", "https://example.com/x"),
    ("  https://example.com/x\n", "https://example.com/x"),
    ("HTTP://Example.COM", "http://example.com/"),
    ("http://127.0.0.1:8080/a?b=1#c", "http://127.0.0.1:8080/a?b=1#c"),
    ("http://[::1]:8080/a", "http://[::1]:8080/a"),
    ("https://пример.рф/новости", "https://xn--e1afmkfd.xn--p1ai/новости"),
    ("https://www.kp.ru/online/news/4672522/", "https://www.kp.ru/online/news/4672522/"),
])
def test_accepts_http_urls(raw, expected):
    assert normalize_url(raw) == expected


@pytest.mark.parametrize("raw, words", [
    ("example.com/x", "https://"),
    ("localhost:8080/x", "https://"),
    ("ftp://example.com/file", "ftp:"),
    ("file:///etc/passwd", "file:"),
    ("javascript:alert(1)", "javascript:"),
    ("data:text/html,hi", "data:"),
    ("mailto:someone@example.com", "mailto:"),
    ("http://", "no host"),
    ("https:///path", "no host"),
    ("http:/example.com", "malformed"),
    ("http://example.com:99999/", "port"),
    ("http://example.com:abc/", "port"),
    ("http://exa mple.com/", "spaces"),
    ("http://exa\x00mple.com/", "control"),
    ("http://exa_mple!.com/", "invalid host"),
    ("", "empty"),
    ("   ", "empty"),
])
def test_refuses_bad_urls_with_one_clear_line(raw, words):
    with pytest.raises(BadUrl) as info:
        normalize_url(raw)
    message = str(info.value)
    assert words in message
    assert "\n" not in message


@given(st.text(max_size=40))
def test_never_anything_but_badurl_or_http(raw):
    try:
        url = normalize_url(raw)
    except BadUrl:
        return
    assert url.startswith(("http://", "https://"))
    assert normalize_url(url) == url  # normalizing twice changes nothing
