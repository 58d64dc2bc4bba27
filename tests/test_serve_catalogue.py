"""The captures list and a URL's history read the ledger by index, never whole.

Not a timing test: every SQL statement SQLite runs while the pages render is traced, and
its query plan must be answered by an index (or the primary key), never by reading the
records table through. The paging itself (newest first, by seq, filters) is checked on a
ledger built the way benchmarks/check.py builds its 100,000-record one, only smaller.
"""

from __future__ import annotations

import re

import pytest

from benchmarks.check import build
from provenance.api import Evidence
from provenance.store.catalogue import CatalogueQuery, catalogue_page, query_plans
from provenance.web.app import create_app
from provenance.web.security import Access

RECORDS = 3000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("catalogue") / "evidence"
    _, ledger = build(str(folder), RECORDS)
    url = "http://127.0.0.1/page/2999"
    ledger.append_many([
        ("witness", {"capture_seq": 3000, "witness": "ia", "status": "archived",
                     "agrees": True}, url),  # page/N is record N + 1
        ("timestamp", {"covers": [2999, 3000], "status": "granted", "tsa": "t"}, None),
        ("changed", {"url": url, "to": {"seq": 3000}, "removed": ["x"]}, url),
        ("capture", {"url": "http://127.0.0.1/100%_sure", "files": []},
         "http://127.0.0.1/100%_sure"),
    ])
    ledger.close()
    return folder


@pytest.fixture
def evidence(store):
    with Evidence(store, create=False) as opened:
        yield opened


def _plans(evidence, work):
    """The query plan of every statement ``work`` makes SQLite run."""
    statements: list[str] = []
    db = evidence.ledger._db
    db.set_trace_callback(statements.append)
    try:
        work()
    finally:
        db.set_trace_callback(None)
    plans = {}
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            plans[sql] = [row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]
    assert plans, "no query was traced"
    return plans


def _reads_whole_table(sql: str, plan: list[str]) -> bool:
    """A plan that walks the table, unless it is the last N rows by seq with no condition
    (SQLite then reads N rows from the end)."""
    if re.search(r"FROM records ORDER BY seq DESC LIMIT \d+$", sql):
        return False
    return any(re.fullmatch(r"SCAN records( USING ROWID.*)?", step) or "TEMP B-TREE" in step
               for step in plan)


@pytest.mark.parametrize("query", [
    "/", "/?q=page/12", "/?q=nothing-like-this", "/?before=1500", "/?after=1500",
    "/?since=2020-01-01&until=2100-01-01", "/?kind=witness", "/?kind=timestamp&q=x"])
def test_the_list_is_answered_by_indexes(evidence, query):
    client = create_app(evidence, Access("127.0.0.1", 80)).test_client()
    plans = _plans(evidence, lambda: client.get(query, base_url="http://127.0.0.1"))
    whole = {sql: plan for sql, plan in plans.items() if _reads_whole_table(sql, plan)}
    assert whole == {}


def test_a_urls_history_is_answered_by_indexes(evidence):
    client = create_app(evidence, Access("127.0.0.1", 80)).test_client()
    plans = _plans(evidence, lambda: client.get("/history?url=http://127.0.0.1/page/2999",
                                                base_url="http://127.0.0.1"))
    whole = {sql: plan for sql, plan in plans.items() if _reads_whole_table(sql, plan)}
    assert whole == {}


def test_the_page_query_uses_the_kind_index(evidence):
    for query in (CatalogueQuery(), CatalogueQuery(url="page"),
                  CatalogueQuery(since="2020-01-01T00:00:00Z")):
        assert any("records_by_kind" in step for step in query_plans(evidence.ledger, query))


def test_pages_newest_first_by_seq(evidence):
    first = catalogue_page(evidence.ledger, CatalogueQuery(size=50))
    seqs = [row.record.seq for row in first.rows]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 50
    assert first.total == RECORDS + 1 and first.newer is None and first.older == seqs[-1]
    second = catalogue_page(evidence.ledger, CatalogueQuery(size=50, before=first.older))
    assert second.rows[0].record.seq < seqs[-1] and second.newer == second.rows[0].record.seq
    back = catalogue_page(evidence.ledger, CatalogueQuery(size=50, after=second.newer))
    assert [row.record.seq for row in back.rows] == seqs


def test_rows_carry_witnesses_stamps_and_changes(evidence):
    page = catalogue_page(evidence.ledger, CatalogueQuery(url="/page/2999"))
    (row,) = page.rows
    assert [w.data["witness"] for w in row.witnesses] == ["ia"]
    assert [s.data["status"] for s in row.stamps] == ["granted"]
    assert row.changed is not None and row.changed.data["removed"] == ["x"]
    earlier = catalogue_page(evidence.ledger, CatalogueQuery(url="/page/2998"))
    assert [s.data["status"] for s in earlier.rows[0].stamps] == ["granted"]
    assert earlier.rows[0].witnesses == [] and earlier.rows[0].changed is None


def test_search_takes_percent_and_underscore_as_themselves(evidence):
    found = catalogue_page(evidence.ledger, CatalogueQuery(url="100%_"))
    assert [row.record.subject for row in found.rows] == ["http://127.0.0.1/100%_sure"]
    assert catalogue_page(evidence.ledger, CatalogueQuery(url="1_0")).total == 0
    assert catalogue_page(evidence.ledger, CatalogueQuery(url="%")).total == 1


def test_time_bounds_and_unknown_kinds(evidence):
    assert catalogue_page(evidence.ledger, CatalogueQuery(until="2000-01-01T00:00:00Z")
                          ).total == 0
    with pytest.raises(ValueError):
        catalogue_page(evidence.ledger, CatalogueQuery(kind="records; DROP TABLE records"))
