-- The store's tables and indexes (created if missing: an existing store keeps its own), and
-- the column default that stamps each event row with the id of the transaction that wrote it.

-- One row: tx_offset is 0 unless the store was restored into a cluster whose transaction ids
-- are behind the stored ones (caseledger migrate raises it so that new ids sort after them).
CREATE TABLE IF NOT EXISTS {schema}.{state} (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    tx_offset bigint NOT NULL DEFAULT 0
);
INSERT INTO {schema}.{state} (id) VALUES (true) ON CONFLICT DO NOTHING;

-- The global log: position -> event row, the event's hash as sequenced, the chained log hash.
CREATE TABLE IF NOT EXISTS {schema}.{log} (
    position bigint PRIMARY KEY,
    tx_id bigint NOT NULL,
    row_id bigint NOT NULL UNIQUE,
    event_id text NOT NULL,
    case_id uuid NOT NULL,
    version bigint NOT NULL,
    event_hash bytea NOT NULL,
    log_hash bytea NOT NULL
);

-- The default of the events' tx_id: the writing transaction's id plus tx_offset. The
-- application's role cannot set tx_id itself (it may insert only the event's own columns).
CREATE OR REPLACE FUNCTION {schema}.{tx_id}() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t bigint;
    head bigint;
BEGIN
    SELECT pg_current_xact_id()::text::bigint + s.tx_offset INTO t FROM {schema}.{state} s;
    SELECT l.tx_id INTO head FROM {schema}.{log} l ORDER BY l.position DESC LIMIT 1;
    -- never true within one cluster: the sequenced rows' transactions have all ended
    IF head >= t THEN
        RAISE EXCEPTION 'the global log is ahead of this cluster''s transaction ids (restored from another cluster?): run caseledger migrate';
    END IF;
    RETURN t;
END $$;

-- The events: row_id and tx_id are the store's; the other columns are the stored event's
-- (domain.integrity.STORED_COLUMNS: what the hash covers, then the hash).
CREATE TABLE IF NOT EXISTS {schema}.{events} (
    row_id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tx_id bigint NOT NULL DEFAULT {schema}.{tx_id}(),
    event_id text NOT NULL UNIQUE,
    case_id uuid NOT NULL,
    version bigint NOT NULL,
    type text NOT NULL,
    schema_version integer NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    actor text NOT NULL,
    payload bytea NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE INDEX IF NOT EXISTS {events_tx_idx} ON {schema}.{events} (tx_id, row_id);
CREATE INDEX IF NOT EXISTS {events_recorded_at_idx} ON {schema}.{events} (recorded_at);
CREATE INDEX IF NOT EXISTS {events_occurred_at_idx} ON {schema}.{events} (occurred_at);
CREATE INDEX IF NOT EXISTS {log_case_idx} ON {schema}.{log} (case_id);

-- The access log (domain/access.py): who read or was refused which case data. Positions run
-- 1..N in append order; each entry's fields are columns of their own; hash chains it from the
-- entry before (domain.access.access_hash, computed by the appender, which holds the access
-- lock). detail is json, not jsonb: json keeps the text as written, so the entry read back
-- hashes to the same bytes (jsonb would rewrite numbers such as 1e2).
CREATE TABLE IF NOT EXISTS {schema}.{access} (
    position bigint PRIMARY KEY,
    kind text NOT NULL,
    at timestamptz NOT NULL,
    actor_id text NOT NULL,
    role text NOT NULL,
    unit text NOT NULL,
    purpose text NOT NULL,
    route text NOT NULL,
    query text NOT NULL,
    case_ids uuid[] NOT NULL,
    first_position bigint,
    last_position bigint,
    outcome text NOT NULL,
    request_id text NOT NULL,
    detail json NOT NULL,
    hash bytea NOT NULL
);

-- The access log's case index: the positions of the entries naming each case, in order (a
-- case's access history is one index range). Verification checks it against case_ids.
CREATE TABLE IF NOT EXISTS {schema}.{access_cases} (
    case_id uuid NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (case_id, position)
);

CREATE INDEX IF NOT EXISTS {access_actor_idx} ON {schema}.{access} (actor_id, position);
CREATE INDEX IF NOT EXISTS {access_at_idx} ON {schema}.{access} (at);

-- The persons' data keys (domain/personal.py), each wrapped by a key-encryption key that is
-- not in the database (kek_id names it). Erasure empties wrapped and stamps erased_at; the row
-- stays, so that an erased person is told apart from one who never had a key.
CREATE TABLE IF NOT EXISTS {schema}.{keys} (
    case_id uuid PRIMARY KEY,
    kek_id text NOT NULL,
    wrapped bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);

-- When the database logged each entry (the sequencer's clock_timestamp(), which the writer
-- cannot choose): an event inserted with a back-dated recorded_at shows as a late recording
-- with its true time. Stores created before it keep NULL in their earlier rows.
ALTER TABLE {schema}.{log} ADD COLUMN IF NOT EXISTS logged_at timestamptz;

-- The Merkle tree over the global log (RFC 9162, domain/tlog.py): the hash of each complete
-- subtree, (level, idx) covering leaves [idx * 2^level, (idx + 1) * 2^level); leaf i is the
-- log entry at position i + 1 (domain.tlog.log_entry). Written by the sequencer with the log
-- entries, in the same pass: a proof or a root reads O(log n) rows of it.
CREATE TABLE IF NOT EXISTS {schema}.{tree} (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints of the tree (C2SP tlog-checkpoint, signed by the log key, which is not
-- in the database), one per tree size, and the witnesses' cosignatures of each.
CREATE TABLE IF NOT EXISTS {schema}.{checkpoints} (
    size bigint PRIMARY KEY,
    issued_at timestamptz NOT NULL DEFAULT now(),
    note text NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.{cosignatures} (
    size bigint NOT NULL REFERENCES {schema}.{checkpoints} (size),
    witness text NOT NULL,
    line text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (size, witness)
);
