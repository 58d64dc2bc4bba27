"""The ledger of a team store on PostgreSQL: one hash chain, many appenders on many machines.

Records are hashed exactly as in the SQLite ledger (:func:`provenance.store.ledger.build_body`,
:func:`provenance.store.hashing.record_hash`), so ``check``, ``export`` and bundles treat both
alike and a record keeps its hash when a store moves between them.

How appends stay one chain:

* Each append is one statement, ``SELECT … FROM provenance_append(…)``, sent in autocommit
  mode: one round trip, one transaction. The function (:data:`APPEND_FUNCTION`) takes the row
  lock on the one-row table ``ledger_head`` (``SELECT … FOR UPDATE``), so appenders queue on
  it and each sees the record the one before it wrote; it builds each body from the pieces
  the client serialised (the data, kind and subject as canonical JSON) and the seq, link and
  time only the database knows, hashes it as :func:`provenance.store.hashing.record_hash`
  does, inserts the rows and moves the head. The lock is held only while the server runs
  that statement and commits, never while a client thinks (a worker busy parsing pages in
  other threads used to hold it between its two round trips). The client rebuilds every body
  itself and compares hashes, so a record whose hash is not the SQLite ledger's is reported
  at once. ``PRIMARY KEY (seq)`` and ``UNIQUE (prev_hash)`` are the backstop: two records
  can never take one place in the chain, whatever a client does.
* Nothing inside that transaction talks to anything but the database (uploads and time-stamp
  requests happen before or after it), so the lock is held for a fraction of a millisecond.
* A ledger made by an earlier version is brought up to date when its owner opens it for
  writing (the schema version is the comment on ``provenance_append``); until then, a role
  that may not create functions appends as those versions did (lock, then insert, in two
  round trips), under the same lock, so old and new writers can share one ledger.
* A record's time is the database's clock (``clock_timestamp()``, read after the lock is
  taken), never the worker's: records are in time order along the chain even when the
  workers' clocks disagree.
* After each append that holds a time-stamp record, the head (seq and hash) is copied to
  the bucket, write-once (``PREFIX/heads/<seq>.json``), where ``check`` compares it with
  the ledger: hiding a rewritten chain then needs the bucket's keys as well.
* The head row names the last record; a ledger whose last record is not the one the head
  names (rows removed, or the end rewritten by someone bypassing the trigger) refuses
  further appends, as the SQLite ledger does with ``ledger.head``.

The table ``covers`` (which record each time-stamp record covers, for "which records are
unstamped") is filled by a trigger on every insert into ``records``, however the append is
issued, and is append-only too; ``check`` recomputes it from the time-stamp records.

Append-only is enforced by the database: ``UPDATE``, ``DELETE`` and ``TRUNCATE`` are revoked
from ``PUBLIC`` and a trigger refuses them for everyone, the table owner included. A database
superuser can still disable the trigger and rewrite rows (and the head with them): ``check``
shows any row changed without recomputing the chain, but a chain rewritten from the changed
record on can only be shown by time-stamps and heads copied elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg

from provenance.errors import LedgerError, StoreError
from provenance.store.filestore import Store
from provenance.store.hashing import canonical_json, record_hash
from provenance.store.kinds import TIMESTAMP
from provenance.store.ledger import (
    _COLUMNS,
    COVER_LIMIT,
    FORMAT_VERSION,
    GENESIS,
    Ledger,
    Record,
    _record_from_row,
    build_body,
    import_problem,
)

CONNECT_TIMEOUT = 10
LOCK_WAIT = 60
"""Seconds an append waits for the head's lock at most (``lock_timeout``): a writer that
hangs while holding it makes the others fail with one line, not wait forever. A writer that
dies lets go at once (its connection closes and its transaction is rolled back)."""
_SCHEMA_LOCK = 0x70726F76  # pg_advisory_xact_lock key: one process creates the schema at once

DB_TIME = """to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
"""The database's clock as records write time (RFC 3339 UTC, whole seconds)."""

INDEXES = """
CREATE INDEX IF NOT EXISTS captures_by_batch
    ON records((provenance_json(body) #>> '{data,batch}')) WHERE kind = 'capture';
CREATE INDEX IF NOT EXISTS witnesses_by_status
    ON records((provenance_json(body) #>> '{data,status}')) WHERE kind = 'witness';
"""
"""Indexes added after the first team ledgers were made: created when a writer that may
(the table's owner) opens a ledger without them; the queries they serve work without."""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS records (
    seq BIGINT PRIMARY KEY CHECK (seq > 0),
    kind TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C",
    time TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    record_hash TEXT COLLATE "C" NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS ledger_head (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    seq BIGINT NOT NULL,
    record_hash TEXT NOT NULL
);
INSERT INTO ledger_head (one, seq, record_hash) VALUES (TRUE, 0, '{GENESIS}')
    ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION provenance_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE FUNCTION provenance_json(body TEXT) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN body::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION provenance_lock_head(
    OUT head_seq BIGINT, OUT head_hash TEXT, OUT last_seq BIGINT, OUT hash_at_head TEXT,
    OUT now_utc TEXT) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    SELECT h.seq, h.record_hash INTO head_seq, head_hash FROM ledger_head h WHERE h.one
        FOR UPDATE;
    -- Each statement below has a new snapshot (READ COMMITTED), taken once the lock is
    -- held: it sees what the appender before this one committed.
    SELECT max(r.seq) INTO last_seq FROM records r;
    SELECT r.record_hash INTO hash_at_head FROM records r WHERE r.seq = head_seq;
    now_utc := {DB_TIME};
END $$;
CREATE OR REPLACE TRIGGER records_are_never_changed BEFORE UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION provenance_append_only();
CREATE OR REPLACE TRIGGER records_are_never_truncated BEFORE TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION provenance_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON records FROM PUBLIC;
CREATE INDEX IF NOT EXISTS records_by_subject ON records(kind, subject);
CREATE INDEX IF NOT EXISTS records_by_about ON records(subject);
CREATE INDEX IF NOT EXISTS records_by_time ON records(time);
CREATE INDEX IF NOT EXISTS witnesses_by_capture
    ON records((provenance_json(body) #> '{{data,capture_seq}}')) WHERE kind = 'witness';
CREATE INDEX IF NOT EXISTS verifications_by_url
    ON records((provenance_json(body) #>> '{{data,against,url}}')) WHERE kind = 'verification';
{INDEXES}"""
"""The tables, the append-only trigger and the indexes; body JSON is read through
``provenance_json`` (NULL for a body that is not JSON), so a damaged row can never make a
query, and so the ledger, fail."""

COVERS_VERSION = 2
APPEND_VERSION = 3
SCHEMA_VERSION = APPEND_VERSION
"""The version in ``ledger_schema``: 1, tables, trigger and ``provenance_lock_head`` (no
``ledger_schema`` row); 2, the ``covers`` table; 3, ``provenance_append`` (one round trip)."""

COVER_DIGITS = len(str(COVER_LIMIT))  # the covers rule: an integer of at most 18 digits

COVERS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS ledger_schema (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    version INTEGER NOT NULL
);
GRANT SELECT ON ledger_schema TO PUBLIC;
CREATE TABLE IF NOT EXISTS covers (
    record_seq BIGINT NOT NULL,
    stamp_seq BIGINT NOT NULL,
    PRIMARY KEY (record_seq, stamp_seq)
);
CREATE INDEX IF NOT EXISTS covers_by_stamp ON covers(stamp_seq, record_seq);
CREATE OR REPLACE FUNCTION provenance_covers_of(body TEXT) RETURNS SETOF BIGINT
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    doc json;
BEGIN
    BEGIN
        doc := body::json;  -- json, not jsonb: a number keeps its text (2.0 is not 2)
    EXCEPTION WHEN others THEN
        RETURN;
    END;
    IF json_typeof(doc) IS DISTINCT FROM 'object'
            OR json_typeof(doc -> 'data') IS DISTINCT FROM 'object'
            OR json_typeof(doc -> 'data' -> 'covers') IS DISTINCT FROM 'array' THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT DISTINCT (c::text)::bigint FROM json_array_elements(
        doc -> 'data' -> 'covers') c
        WHERE json_typeof(c) = 'number' AND c::text ~ '^-?[0-9]{{1,{COVER_DIGITS}}}$';
END $$;
CREATE OR REPLACE FUNCTION provenance_fill_covers() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN  -- the records' own schema, named: never a table a caller made (a temporary one)
    EXECUTE format('INSERT INTO %I.covers (record_seq, stamp_seq) SELECT c, $1 FROM '
                   '%I.provenance_covers_of($2) c ON CONFLICT DO NOTHING',
                   TG_TABLE_SCHEMA, TG_TABLE_SCHEMA) USING NEW.seq, NEW.body;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION provenance_fill_covers() FROM PUBLIC;
CREATE OR REPLACE TRIGGER records_fill_covers AFTER INSERT ON records
    FOR EACH ROW WHEN (NEW.kind = 'timestamp') EXECUTE FUNCTION provenance_fill_covers();
CREATE OR REPLACE TRIGGER covers_are_never_changed BEFORE UPDATE OR DELETE ON covers
    FOR EACH ROW EXECUTE FUNCTION provenance_append_only();
CREATE OR REPLACE TRIGGER covers_are_never_truncated BEFORE TRUNCATE ON covers
    FOR EACH STATEMENT EXECUTE FUNCTION provenance_append_only();
REVOKE ALL ON covers FROM PUBLIC;
INSERT INTO covers (record_seq, stamp_seq)
    SELECT c, t.seq FROM records t, provenance_covers_of(t.body) c WHERE t.kind = 'timestamp'
    ON CONFLICT DO NOTHING;
INSERT INTO ledger_schema (one, version) VALUES (TRUE, {COVERS_VERSION})
    ON CONFLICT (one) DO UPDATE SET version = greatest(ledger_schema.version,
                                                       EXCLUDED.version);
"""
"""Which record each ``timestamp`` record covers (see
:data:`provenance.store.ledger.COVERS_SCHEMA`), and the schema version: made, with a row for
every time-stamp record already there, in one transaction when a ledger is created or first
opened by its owner. A trigger on every insert into ``records`` fills it, however the insert
is issued. The trigger's function runs as the schema's owner, so a reporter role never needs
(nor gets) ``INSERT`` on ``covers``: a covers row comes from a time-stamp record, or from
the owner."""

IMPORT_FUNCTION = """
CREATE OR REPLACE FUNCTION provenance_import_record(
    r_seq BIGINT, r_kind TEXT, r_subject TEXT, r_time TEXT, r_body TEXT, r_prev TEXT,
    r_hash TEXT) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_seq BIGINT; head_hash TEXT; last_seq BIGINT; hash_at_head TEXT; doc jsonb;
BEGIN
    SELECT h.seq, h.record_hash INTO head_seq, head_hash FROM ledger_head h WHERE h.one
        FOR UPDATE;
    SELECT max(r.seq) INTO last_seq FROM records r;
    SELECT r.record_hash INTO hash_at_head FROM records r WHERE r.seq = head_seq;
    IF head_seq IS NULL OR coalesce(last_seq, 0) <> head_seq
            OR (head_seq > 0 AND hash_at_head IS DISTINCT FROM head_hash) THEN
        RAISE EXCEPTION 'the team ledger does not end with the record its head names';
    END IF;
    IF r_seq IS DISTINCT FROM head_seq + 1 OR r_prev IS DISTINCT FROM head_hash THEN
        RAISE EXCEPTION 'record % does not extend the chain at record %', r_seq, head_seq;
    END IF;
    IF encode(sha256(convert_to('provenance:record:v1' || chr(10) || r_body, 'UTF8')), 'hex')
            IS DISTINCT FROM r_hash THEN
        RAISE EXCEPTION 'record %: its hash does not match its content', r_seq;
    END IF;
    doc := provenance_json(r_body);  -- NULL for a body jsonb cannot hold (a NUL)
    IF doc IS NOT NULL AND (doc -> 'seq' IS DISTINCT FROM to_jsonb(r_seq)
            OR doc ->> 'kind' IS DISTINCT FROM r_kind OR doc ->> 'time' IS DISTINCT FROM r_time
            OR doc ->> 'prev' IS DISTINCT FROM r_prev
            OR doc -> 'subject' IS DISTINCT FROM coalesce(to_jsonb(r_subject), 'null'::jsonb))
            THEN
        RAISE EXCEPTION 'record %: its columns differ from its body', r_seq;
    END IF;
    INSERT INTO records (seq, kind, subject, time, body, prev_hash, record_hash)
        VALUES (r_seq, r_kind, r_subject, r_time, r_body, r_prev, r_hash);
    UPDATE ledger_head SET seq = r_seq, record_hash = r_hash WHERE one;
END $$;
REVOKE ALL ON FUNCTION provenance_import_record(BIGINT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT)
    FROM PUBLIC;
"""
"""The one way ``provenance migrate`` adds records copied from another ledger, with their
own seq, time and hashes: a function (installed by migrate, owned by whoever runs it, the
database's owner; ``EXECUTE`` revoked from ``PUBLIC``) that takes the head's lock and only
inserts the row that extends the chain: the next seq, linked to the last record's hash, its
hash its body's. It never updates or deletes a record: the append-only trigger stays."""

APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION provenance_append(
    data_json TEXT[], kind_json TEXT[], subject_json TEXT[], format_version INTEGER,
    wait_ms INTEGER)
    RETURNS TABLE (r_seq BIGINT, r_time TEXT, r_prev TEXT, r_hash TEXT)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = {schema}, pg_temp AS $$
DECLARE
    n INTEGER := coalesce(cardinality(data_json), 0);
    kinds TEXT[]; subjects TEXT[]; piece json;
    head_seq BIGINT; head_hash TEXT; last_seq BIGINT; hash_at_head TEXT; now_utc TEXT;
    doc_text TEXT; digest TEXT;
BEGIN
    -- Before the lock: each piece must be one JSON value of its kind, so that no piece can
    -- add a key to the body (the hash covers the body as built, whatever the pieces hold).
    IF n = 0 OR coalesce(cardinality(kind_json), 0) <> n
            OR coalesce(cardinality(subject_json), 0) <> n OR format_version IS NULL THEN
        RAISE EXCEPTION 'provenance_append: % records, % kinds, % subjects', n,
            cardinality(kind_json), cardinality(subject_json)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN 1..n LOOP
        IF json_typeof(data_json[i]::json) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'provenance_append: record % has data that is not an object', i
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        piece := kind_json[i]::json;
        IF json_typeof(piece) IS DISTINCT FROM 'string' THEN
            RAISE EXCEPTION 'provenance_append: record % has a kind that is not a string', i
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        kinds[i] := piece #>> '{{}}';
        piece := subject_json[i]::json;
        IF json_typeof(piece) = 'string' THEN
            subjects[i] := piece #>> '{{}}';
        ELSIF json_typeof(piece) = 'null' THEN
            subjects[i] := NULL;
        ELSE
            RAISE EXCEPTION 'provenance_append: record % has a subject that is not a string', i
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    PERFORM set_config('lock_timeout', wait_ms || 'ms', true);
    SELECT h.seq, h.record_hash INTO head_seq, head_hash FROM ledger_head h WHERE h.one
        FOR UPDATE;
    -- Each statement below has a new snapshot (READ COMMITTED), taken once the lock is
    -- held: it sees what the appender before this one committed.
    IF head_seq IS NULL THEN
        RAISE EXCEPTION 'the team ledger has no head row' USING ERRCODE = 'data_corrupted';
    END IF;
    SELECT max(r.seq) INTO last_seq FROM records r;
    SELECT r.record_hash INTO hash_at_head FROM records r WHERE r.seq = head_seq;
    IF coalesce(last_seq, 0) <> head_seq
            OR (head_seq > 0 AND hash_at_head IS DISTINCT FROM head_hash) THEN
        RAISE EXCEPTION 'the team ledger does not end with the record its head names '
            '(records removed or rewritten?)' USING ERRCODE = 'data_corrupted';
    END IF;
    now_utc := {db_time};
    FOR i IN 1..n LOOP
        head_seq := head_seq + 1;
        -- build_body: canonical JSON, keys in sorted order; seq, prev and time need no
        -- escaping (digits, hex, and the fixed time format).
        doc_text := '{{"data":' || data_json[i] || ',"kind":' || kind_json[i] || ',"prev":"'
            || head_hash || '","seq":' || head_seq || ',"subject":' || subject_json[i]
            || ',"time":"' || now_utc || '","v":' || format_version || '}}';
        digest := encode(sha256(convert_to('provenance:record:v1' || chr(10) || doc_text,
                                           'UTF8')), 'hex');
        INSERT INTO records (seq, kind, subject, time, body, prev_hash, record_hash)
            VALUES (head_seq, kinds[i], subjects[i], now_utc, doc_text, head_hash, digest);
        r_seq := head_seq; r_time := now_utc; r_prev := head_hash; r_hash := digest;
        RETURN NEXT;
        head_hash := digest;
    END LOOP;
    UPDATE ledger_head h SET seq = head_seq, record_hash = head_hash WHERE h.one;
END $$;
INSERT INTO ledger_schema (one, version) VALUES (TRUE, {version})
    ON CONFLICT (one) DO UPDATE SET version = greatest(ledger_schema.version,
                                                       EXCLUDED.version);
"""
"""The one-round-trip append (schema version 3, made after the ``covers`` table's). ``SECURITY
INVOKER``: it needs the same privileges as an append made of plain statements (``INSERT`` on
``records``, ``UPDATE`` on ``ledger_head``), so a role that may only read still cannot append,
and its ``search_path`` is pinned to the ledger's schema (``pg_catalog`` first, ``pg_temp``
last) so that no table or operator a caller puts first on its path is used instead. ``{schema}``
is filled in with the quoted name of the schema holding ``records``."""

APPEND = ("SELECT r_seq, r_time, r_prev, r_hash "
          "FROM provenance_append(%s::text[], %s::text[], %s::text[], %s, %s)")

LOCK_HEAD = ("SELECT head_seq, head_hash, last_seq, hash_at_head, now_utc "
             "FROM provenance_lock_head()")
"""Take the head's row lock and read under it: the append of schema version 1, kept for a
role that may not upgrade the ledger (and used by writers of earlier versions)."""


def shown(url: str) -> str:
    """The database URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


LEDGER_INDEXES = """
SELECT c.oid::regclass::text FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
WHERE a.amname = 'btree' AND i.indrelid IN (
    SELECT oid FROM pg_class WHERE oid IN (to_regclass('records'), to_regclass('covers')))
ORDER BY 1"""
"""The B-tree indexes of the ledger's tables (the ones ``amcheck`` can check)."""


def _no_index_check(exc: psycopg.Error) -> str:
    """Why the indexes were not checked, with what would let them be."""
    if isinstance(exc, psycopg.errors.UndefinedFunction):
        return ("the database has no amcheck extension to check them with (a superuser can "
                "add it: CREATE EXTENSION amcheck)")
    return ("this role may not run amcheck's bt_index_check (GRANT EXECUTE ON FUNCTION "
            "bt_index_check(regclass, boolean) TO it)")


def _pg(sql: str) -> str:
    """The SQLite ledger's queries use ``?`` placeholders; psycopg takes ``%s``."""
    return sql.replace("?", "%s")


class PostgresLedger(Ledger):
    """The ledger of a team store, in the PostgreSQL database at ``url``.

    ``store`` holds the objects (an S3 bucket or a folder). ``writable=False`` opens a
    read-only session; it and ``create=False`` create nothing (a database without a ledger
    is refused). Text columns compare byte by byte (``COLLATE "C"``), as in SQLite, so that
    time ranges and hash prefixes mean the same whatever the database's locale.
    """

    _URL_OF_VERIFICATION = "(provenance_json(body) #>> '{data,against,url}')"
    head_name = "ledger_head"

    unchecked_indexes: str | None = None
    """Why :meth:`integrity_problems` could not check the indexes (None: it did, or has not
    run): ``check`` says so among what it cannot prove."""

    def integrity_problems(self, limit: int = 10) -> list[str]:
        """What PostgreSQL's own index checker (the ``amcheck`` extension's
        ``bt_index_check`` with ``heapallindexed``) finds in the ledger's indexes, at most
        ``limit`` lines. ``check`` reads the records table row by row, but ``log``,
        ``history``, ``export`` and the ``covers`` queries read through indexes: an index
        file edited apart from its table would show them other records than ``check``
        verified. Without the extension, or the right to run it, nothing is checked and
        :attr:`unchecked_indexes` says why. On a connection of its own, so that it can run
        beside the row scan."""
        found: list[str] = []
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                 application_name="provenance check") as conn:
                for (name,) in conn.execute(LEDGER_INDEXES).fetchall():
                    if len(found) >= limit:
                        break
                    try:
                        conn.execute("SELECT bt_index_check(%s::regclass, true)", (name,))
                    except (psycopg.errors.UndefinedFunction,
                            psycopg.errors.InsufficientPrivilege) as exc:
                        self.unchecked_indexes = _no_index_check(exc)
                        return []
                    except psycopg.Error as exc:  # corrupt: XX001, XX002 and their kin
                        found.append(f"index {name}: {_reason(exc)}")
        except psycopg.Error as exc:
            self.unchecked_indexes = f"they could not be checked ({_reason(exc)})"
            return []
        self.unchecked_indexes = None
        return found
    lock_wait: float = LOCK_WAIT
    _import_ready = False
    _one_trip = False
    rewritable_by = ("a database superuser (who can turn off the append-only trigger) can "
                     "rewrite the chain and its head row together")

    def __init__(self, url: str, store: Store, *, writable: bool = True,
                 create: bool = True) -> None:
        self.store = store
        self.url = url
        self.writable = writable
        self._lock = threading.RLock()
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                                       application_name="provenance")
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to the team ledger {shown(url)}: "
                              f"{_reason(exc)}") from None
        try:
            if not writable:
                self._conn.execute("SET default_transaction_read_only = on")
            if not self._has_schema():
                if not (writable and create):
                    raise LedgerError(f"no provenance ledger in the database {shown(url)}")
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    self._conn.execute(SCHEMA)
                    self._conn.execute(COVERS_SCHEMA)
                    self._conn.execute(self._append_function())
            elif writable:
                self._add_indexes()
                self._add_covers()
                self._upgrade()
            self._one_trip = writable and self._schema_version() >= APPEND_VERSION
            self.has_covers = self._read_has_covers()
        except psycopg.Error as exc:
            self._conn.close()
            raise LedgerError(f"cannot open the team ledger {shown(url)}: "
                              f"{_reason(exc)}") from None
        except LedgerError:
            self._conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def _has_schema(self) -> bool:
        """Whether the tables and the append-only trigger are there: then a role that may
        only read and insert (the recommended setup) never needs to create anything."""
        found = self._conn.execute(
            "SELECT to_regclass('records') IS NOT NULL AND to_regclass('ledger_head') IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'records_are_never_changed'"
            " AND tgrelid = to_regclass('records'))"
            " AND to_regprocedure('provenance_lock_head()') IS NOT NULL").fetchone()
        return bool(found and found[0])

    def _append_function(self) -> str:
        """:data:`APPEND_FUNCTION` for the schema that holds ``records``."""
        row = self._conn.execute(
            "SELECT quote_ident(n.nspname) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.oid = to_regclass('records')").fetchone()
        if row is None:
            raise LedgerError(f"no provenance ledger in the database {shown(self.url)}")
        return APPEND_FUNCTION.format(schema=row[0], db_time=DB_TIME, version=APPEND_VERSION)

    def _upgrade(self) -> None:
        """Give a ledger made before the one-round-trip append its function (only its owner
        may, once the ``covers`` table is there). A role that may not is told nothing and
        appends as earlier versions did, under the same lock."""
        if not COVERS_VERSION <= self._schema_version() < APPEND_VERSION:
            return
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                if self._schema_version() < APPEND_VERSION:  # not done meanwhile by another
                    self._conn.execute(self._append_function())
        except psycopg.errors.InsufficientPrivilege:
            pass

    def _add_indexes(self) -> None:
        """Indexes a ledger made by an earlier version lacks; a role that may not create
        them (only read and insert) reads without them, only slower."""
        found = self._conn.execute(
            "SELECT to_regclass('captures_by_batch') IS NOT NULL AND "
            "to_regclass('witnesses_by_status') IS NOT NULL").fetchone()
        if found and found[0]:
            return
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                self._conn.execute(INDEXES)
        except psycopg.errors.InsufficientPrivilege:
            pass

    def _schema_version(self) -> int:
        if not self._conn.execute("SELECT to_regclass('ledger_schema') IS NOT NULL"
                                  ).fetchone()[0]:  # type: ignore[index]
            return 1
        row = self._conn.execute("SELECT version FROM ledger_schema WHERE one").fetchone()
        return int(row[0]) if row else 1

    def _add_covers(self) -> None:
        """Give a ledger made before the ``covers`` table its table, trigger, rows and
        schema version, in one transaction (all or nothing, once: concurrent openers wait
        on the schema lock, and appends wait for the trigger to be in place). Only the
        schema's owner can; any other role reads the slower way until the owner has."""
        if self._schema_version() >= COVERS_VERSION:
            return
        try:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                if self._schema_version() < COVERS_VERSION:
                    self._conn.execute(COVERS_SCHEMA)
        except psycopg.errors.InsufficientPrivilege:
            pass

    def _read_has_covers(self) -> bool:
        """Whether the ``covers`` table is there, complete, and readable by this role."""
        if self._schema_version() < COVERS_VERSION:
            return False
        row = self._conn.execute("SELECT has_table_privilege('covers', 'SELECT')").fetchone()
        return bool(row and row[0])

    # -- writing -------------------------------------------------------------------------------

    def append_many(self, items: Iterable[tuple[str, dict[str, Any], str | None]]
                    ) -> list[Record]:
        """Append several records in one transaction, under the head's row lock."""
        items = list(items)
        if not items:
            return []
        with self._lock:
            if not self.writable:
                raise LedgerError(f"the team ledger {shown(self.url)} is open read-only")
            try:
                if self._one_trip:
                    written = self._append_one_trip(items)
                else:  # pipelined: the lock is held for two round trips, the last with COMMIT
                    with self._conn.pipeline(), self._conn.transaction():
                        written = self._insert_locked(items)
            except psycopg.errors.DataCorrupted as exc:
                raise LedgerError(f"{_reason(exc)}: nothing was recorded; "
                                  "run 'provenance check'") from None
            except psycopg.errors.LockNotAvailable:
                raise LedgerError(f"the team ledger is busy: another writer has held its "
                                  f"head for over {self.lock_wait} s; nothing was recorded"
                                  ) from None
            except psycopg.Error as exc:
                if self._conn.broken:  # the server may have committed before it went
                    raise LedgerError(f"the connection to the team ledger was lost during an "
                                      f"append ({_reason(exc)}): it may or may not have been "
                                      "recorded; see 'provenance log'") from None
                raise LedgerError(f"cannot write to the team ledger: {_reason(exc)}; "
                                  "nothing was recorded") from None
        if any(record.kind == TIMESTAMP for record in written):
            self._copy_head(written[-1])
        return written

    def _copy_head(self, last: Record) -> None:
        """After a time-stamp record, the head goes to the bucket too (after the commit: no
        network I/O under the lock)."""
        try:
            self.store.copy_head(last.seq, last.record_hash)
        except StoreError as exc:
            raise StoreError(f"{exc}; the records are in the ledger, but the bucket has no "
                             f"copy of its head at record {last.seq}") from None

    def _append_one_trip(self, items: list[tuple[str, dict[str, Any], str | None]]
                         ) -> list[Record]:
        """One statement in autocommit mode: the server locks the head, builds, hashes and
        inserts the records, moves the head and commits; the client then checks that every
        body it builds from what came back hashes as the database hashed it."""
        pieces = [(canonical_json(data).decode("utf-8"), canonical_json(kind).decode("utf-8"),
                   canonical_json(subject).decode("utf-8")) for kind, data, subject in items]
        rows = self._conn.execute(APPEND, (
            [p[0] for p in pieces], [p[1] for p in pieces], [p[2] for p in pieces],
            FORMAT_VERSION, int(self.lock_wait * 1000))).fetchall()
        if len(rows) != len(items):
            raise LedgerError(f"the team ledger answered {len(rows)} records for {len(items)}"
                              "; run 'provenance check'")
        written: list[Record] = []
        for (kind, data, subject), (seq, time, prev, digest) in zip(items, rows, strict=True):
            body = build_body(seq, kind, time, subject, prev, data)
            if record_hash(body) != digest or (written and prev != written[-1].record_hash):
                raise LedgerError(f"the team ledger recorded record {seq} with a hash this "
                                  "version of provenance does not compute from its content; "
                                  "run 'provenance check'")
            written.append(Record(seq, kind, time, subject, data, prev, digest,
                                  body.decode("utf-8")))
        return written

    def _insert_locked(self, items: list[tuple[str, dict[str, Any], str | None]]
                       ) -> list[Record]:
        """The append of schema version 1 (lock, build and hash here, insert): the lock is
        held across round trips, so only for a ledger its owner has not upgraded yet."""
        self._conn.execute("SELECT set_config('lock_timeout', %s, true)",
                           (f"{int(self.lock_wait * 1000)}ms",))
        locked = self._conn.execute(LOCK_HEAD).fetchone()
        assert locked is not None  # a function with OUT parameters gives one row
        head_seq, head_hash, last_seq, hash_at_head, now = locked
        if head_seq is None:
            raise LedgerError("the team ledger has no head row: nothing was recorded; "
                              "run 'provenance check'")
        if (last_seq or 0) != head_seq or (head_seq and hash_at_head != head_hash):
            raise LedgerError("the team ledger does not end with the record its head names "
                              "(records removed or rewritten?): nothing was recorded; "
                              "run 'provenance check'")
        seq, prev = head_seq, head_hash
        written = []
        for kind, data, subject in items:
            seq += 1
            body = build_body(seq, kind, now, subject, prev, data)
            digest = record_hash(body)
            written.append(Record(seq, kind, now, subject, data, prev, digest,
                                  body.decode("utf-8")))
            prev = digest
        with self._conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO records (seq, kind, subject, time, body, prev_hash, record_hash)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(r.seq, r.kind, r.subject, r.time, r.body, r.prev_hash, r.record_hash)
                 for r in written])
        self._conn.execute("UPDATE ledger_head SET seq = %s, record_hash = %s WHERE one",
                         (seq, prev))
        return written

    def import_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Add rows copied from another ledger exactly as they are (``provenance migrate``),
        in one transaction, each through ``provenance_import_record`` (see
        :data:`IMPORT_FUNCTION`), which refuses any row that does not extend the chain."""
        rows = list(rows)
        if not rows:
            return
        for before, row in zip(rows, rows[1:], strict=False):  # the first: by the database
            why = import_problem(row, before[0], before[6])
            if why is not None:
                raise LedgerError(f"{why}: nothing of this batch was written")
        with self._lock:
            if not self.writable:
                raise LedgerError(f"the team ledger {shown(self.url)} is open read-only")
            try:
                if not self._import_ready:
                    with self._conn.transaction():
                        self._conn.execute(IMPORT_FUNCTION)
                    self._import_ready = True
                with self._conn.pipeline(), self._conn.transaction():
                    self._conn.execute("SELECT set_config('lock_timeout', %s, true)",
                                       (f"{int(self.lock_wait * 1000)}ms",))
                    with self._conn.cursor() as cursor:
                        cursor.executemany(
                            "SELECT provenance_import_record(%s, %s, %s, %s, %s, %s, %s)",
                            [tuple(row) for row in rows])
            except psycopg.Error as exc:
                raise LedgerError(f"cannot import into the team ledger: {_reason(exc)}; "
                                  "nothing of this batch was written") from None

    # -- reading -------------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise LedgerError(f"cannot read the team ledger: {_reason(exc)}") from None

    def _plain(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._rows(_pg(sql), params)

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Record]:
        for row in self._rows(_pg(sql), params):
            yield _record_from_row(row)

    def witnesses_of(self, capture_seq: int) -> Iterator[Record]:
        return self._query(
            f"SELECT {_COLUMNS} FROM records WHERE kind = 'witness' AND "
            "(provenance_json(body) #> '{data,capture_seq}') = to_jsonb(?::bigint) "
            "ORDER BY seq", (capture_seq,))

    def _field(self, path: str, table: str | None = None) -> str:
        body = f"{table}.body" if table else "body"
        return f"(provenance_json({body}) #>> '{{data,{path}}}')"

    def _not_covered(self) -> str:
        """PostgreSQL plans the anti-join with each stamp's kind as one hash join."""
        return self._COVERED_BY_A_STAMP

    def _cover_source(self, body: str) -> tuple[str, str, str]:
        covers = f"(provenance_json({body}) #> '{{data,covers}}')"
        number = f"c.value::text ~ '^-{{0,1}}[0-9]{{1,{COVER_DIGITS}}}$'"  # no ?: see _pg
        return (f"jsonb_array_elements(CASE WHEN jsonb_typeof({covers}) = 'array' THEN "
                f"{covers} ELSE '[]'::jsonb END) c",
                f"(CASE WHEN {number} THEN (c.value::text)::bigint END)",
                f"jsonb_typeof(c.value) = 'number' AND {number}")

    def _latest_witness_sql(self) -> str:
        """As the SQLite ledger's, with capture numbers and names compared as JSON (so a
        capture named by the string "1" is not capture 1) and read by the capture index."""
        cap = "(provenance_json({}.body) #> '{{data,capture_seq}}')"
        name = "(provenance_json({}.body) #> '{{data,witness}}')"
        return (f"SELECT {_COLUMNS} FROM records w WHERE w.kind = 'witness' AND "
                f"{self._field('status', 'w')} = ? AND NOT EXISTS (SELECT 1 FROM records n "
                f"WHERE n.kind = 'witness' AND {cap.format('n')} = {cap.format('w')} "
                f"AND {name.format('n')} = {name.format('w')} AND n.seq > w.seq)")

    def count(self) -> int:
        return int(self._rows("SELECT count(*) FROM records")[0][0])

    def subjects(self, kind: str) -> set[str]:
        rows = self._rows("SELECT DISTINCT subject FROM records WHERE kind = %s", (kind,))
        return {row[0] for row in rows if row[0] is not None}

    def raw_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every row as stored, a batch at a time by seq (bounded memory)."""
        after: int | None = None
        while True:
            if after is None:
                batch = self._rows(f"SELECT {_COLUMNS} FROM records ORDER BY seq LIMIT 4096")
            else:
                batch = self._rows(f"SELECT {_COLUMNS} FROM records WHERE seq > %s "
                                   "ORDER BY seq LIMIT 4096", (after,))
            if not batch:
                return
            yield from batch
            after = batch[-1][0]

    def raw_rows_at(self, seqs: Iterable[int]) -> Iterator[tuple[Any, ...]]:
        wanted = sorted({s for s in seqs if isinstance(s, int) and -(1 << 63) <= s < 1 << 63})
        for start in range(0, len(wanted), 500):
            yield from self._rows(f"SELECT {_COLUMNS} FROM records WHERE seq = ANY(%s)",
                                  (wanted[start:start + 500],))

    def head_bytes(self) -> bytes | None:
        rows = self._rows("SELECT seq, record_hash FROM ledger_head WHERE one")
        if not rows:
            return None
        seq, digest = rows[0]
        if seq == 0 and digest == GENESIS:
            return None  # nothing appended yet
        return canonical_json({"seq": seq, "record_hash": digest}) + b"\n"

    def read_head(self) -> dict[str, Any] | None:
        rows = self._rows("SELECT seq, record_hash FROM ledger_head WHERE one")
        return {"seq": rows[0][0], "record_hash": rows[0][1]} if rows else None


def _reason(exc: psycopg.Error) -> str:
    """The server's one-line message (no SQL, no traceback)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        return str(primary)
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
