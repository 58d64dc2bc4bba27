"""Shared fixtures. Each engineer appends their own section; keep sections independent."""

from __future__ import annotations

import pytest

# --- trusted time-stamps (issue 5): a real TSA on 127.0.0.1 built on `openssl ts -reply` ---


@pytest.fixture(scope="session")
def tsa_pki(tmp_path_factory):
    """Root CA → intermediate CA → TSA certificate (timeStamping EKU), made with openssl."""
    from tsaserver import make_pki

    return make_pki(tmp_path_factory.mktemp("tsa-pki"))


@pytest.fixture
def tsa(tsa_pki):
    """A fresh loopback TSA per test (its knobs start at their defaults)."""
    from tsaserver import TsaServer

    with TsaServer(tsa_pki) as server:
        yield server


# --- the web (issue 2): a loopback HTTP server with Russian pages and misbehaving routes ---


@pytest.fixture(scope="session")
def web():
    """One :class:`webfixtures.WebServer` for the session; add routes with ``web.add_route``."""
    from webfixtures import WebServer

    with WebServer() as server:
        yield server


# --- witness archives (issue 3): a loopback Wayback Machine and a real pywb -----------------


@pytest.fixture
def wayback():
    """A fresh :class:`waybackserver.WaybackServer` per test (knobs at their defaults)."""
    from waybackserver import WaybackServer

    with WaybackServer() as server:
        yield server


@pytest.fixture
def ia_env(monkeypatch, wayback):
    """The ``wayback`` server as the Internet Archive for the CLI, with no waiting between
    saves and two tries per request."""
    monkeypatch.setenv("PROVENANCE_WAYBACK", wayback.base)
    monkeypatch.setenv("PROVENANCE_IA_INTERVAL", "0")
    monkeypatch.setenv("PROVENANCE_WITNESS_TRIES", "2")
    return wayback


@pytest.fixture(scope="session")
def pywb(tmp_path_factory):
    """A real pywb (``wayback --record --live -a``) with collection ``news``, for the session."""
    pytest.importorskip("pywb", reason="pywb is not installed (pip install -e '.[dev]')")
    from pywbserver import PywbServer

    with PywbServer(tmp_path_factory.mktemp("pywb")) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_real_witness(monkeypatch, tmp_path_factory):
    """No test reaches web.archive.org: ``archive`` without ``--to`` sends to no witness, and
    ``--to ia`` goes to a closed loopback port unless a test points PROVENANCE_WAYBACK at the
    ``wayback`` fixture."""
    from webfixtures import closed_port

    monkeypatch.setenv("PROVENANCE_TO", "none")
    # One try per witness request: a test never sleeps in backoff unless it asks (ia_env).
    monkeypatch.setenv("PROVENANCE_WITNESS_TRIES", "1")
    monkeypatch.setenv("PROVENANCE_WAYBACK", f"http://127.0.0.1:{closed_port()}")
    for name in ("IA_ACCESS_KEY", "IA_SECRET_KEY", "IA_CONFIG_FILE", "PROVENANCE_IA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    # No keys from the machine's own config files (~/.config/provenance, internetarchive).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("no-config")))


# --- the team store (issue 17): a throwaway PostgreSQL cluster and an S3-protocol server ------

@pytest.fixture(scope="session")
def cluster():
    """A throwaway PostgreSQL cluster for the session, removed afterwards: each test makes a
    database (and roles) of its own, named afresh, so none sees another's."""
    import pgserver

    server = pgserver.PgCluster().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3-protocol server on loopback, for one test module; its endpoint URL."""
    from moto import server as moto_server

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# --- the viewer in a real browser (issue 15): Debian's Chromium through Playwright ------------

@pytest.fixture(scope="module")
def browser():
    """One launched Chromium per module (skipped where Chromium or Playwright is missing)."""
    from browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    """A fresh browser context and page; ``page.requested`` lists every URL it asked for, so
    a test can prove that a replay never reached the live site."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280,
                                                                   "height": 900})
    opened = context.new_page()
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    opened.requested = requested
    yield opened
    context.close()
