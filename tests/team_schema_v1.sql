-- The team ledger schema as provenance made it before schema version 2 (no
-- provenance_append): tests/test_team_store.py creates a ledger from it to test the upgrade.

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
INSERT INTO ledger_head (one, seq, record_hash) VALUES (TRUE, 0, '0000000000000000000000000000000000000000000000000000000000000000')
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
    now_utc := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
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
    ON records((provenance_json(body) #> '{data,capture_seq}')) WHERE kind = 'witness';
CREATE INDEX IF NOT EXISTS verifications_by_url
    ON records((provenance_json(body) #>> '{data,against,url}')) WHERE kind = 'verification';

CREATE INDEX IF NOT EXISTS captures_by_batch
    ON records((provenance_json(body) #>> '{data,batch}')) WHERE kind = 'capture';
CREATE INDEX IF NOT EXISTS witnesses_by_status
    ON records((provenance_json(body) #>> '{data,status}')) WHERE kind = 'witness';
