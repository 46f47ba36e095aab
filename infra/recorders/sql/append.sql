-- Appending events: the hash of a new event, and the single-event append.

-- The hash of a new event (domain/integrity.py): SHA-256 of the hash of the event before it in
-- its case (genesis for version 1) followed by the event's canonical bytes (computed by the
-- client: domain.integrity.canonical_bytes). The one place it is written: the append procedure
-- below and the recorder's insert of several events both call it.
--
-- STABLE, so that it reads the previous event with the snapshot of the INSERT that calls it,
-- as a subquery of that INSERT would: an event inserted earlier in the same transaction is
-- seen; one whose transaction has not committed is not (the hash is then NULL and the INSERT
-- fails). plpgsql, not LANGUAGE sql: PostgreSQL does not inline a function holding a subquery,
-- and would plan a sql function's body again at every call; plpgsql keeps its plan.
CREATE OR REPLACE FUNCTION {schema}.{event_hash}(
    p_case_id uuid, p_version bigint, p_genesis bytea, p_canonical bytea
) RETURNS bytea LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN sha256(
        CASE WHEN p_version = 1 THEN p_genesis
        ELSE (SELECT p.hash FROM {schema}.{events} p
              WHERE p.case_id = p_case_id AND p.version = p_version - 1)
        END || p_canonical);
END $$;

-- A single-event append in one round trip: insert the event, commit (the event is durable and
-- visible), then a sequencer pass unless one is running; answers the event's row id and its
-- position if that pass gave it one.
--
-- The parameters are the stored event's columns but the hash, as p_<column>, in the order of
-- domain.integrity.HASHED_COLUMNS and typed as in tables.sql; then genesis and the canonical
-- bytes for the hash; then the pass's batch and channel. Keep this signature: CREATE OR REPLACE
-- replaces a procedure of the same signature only (another one would be added beside it),
-- and processes still running the previous version call it.
CREATE OR REPLACE PROCEDURE {schema}.{append}(
    p_event_id text, p_case_id uuid, p_version bigint, p_type text, p_schema_version integer,
    p_occurred_at timestamptz, p_recorded_at timestamptz, p_actor text, p_payload bytea,
    p_genesis bytea, p_canonical bytea, p_batch integer, p_channel text,
    INOUT event_row bigint DEFAULT NULL, INOUT log_position bigint DEFAULT NULL
) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.{events} AS e ({insertable})
        VALUES ({parameters}, {schema}.{event_hash}(p_case_id, p_version, p_genesis, p_canonical))
        RETURNING e.row_id INTO event_row;
    -- the event is durable here; then a pass, unless one is running
    COMMIT;
    BEGIN
        SELECT s.log_position INTO log_position
            FROM {schema}.{sequence}(p_batch, p_channel, false, ARRAY[event_row]) s;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'sequencer pass failed: %', SQLERRM;
        log_position := NULL;
    END;
END $$;
