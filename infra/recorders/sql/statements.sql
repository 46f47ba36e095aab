-- The statements the recorder runs, one section each ("-- name: <name>" starts one; the
-- recorder's __init__ names each attribute it keeps). Comment lines are dropped and no
-- statement ends with a semicolon: a few reads are extended in Python with optional
-- conditions (select_events, select_notifications, verify), next to the parameters they bind.
-- Parameters are psycopg's (%s, %(name)s); {values} stands for %(<column>)s for each column
-- the hash covers (domain.integrity.HASHED_COLUMNS, which _row_params supplies by name),
-- {stored_e} for e.<column> for each stored column (STORED_COLUMNS), and {log_columns} for
-- what infra.recorders.common.sealed reads of a log entry.

-- name: insert_row
-- one event of an append of several, all in one transaction (a single event is one CALL of
-- the append procedure): its hash chained by the same function
INSERT INTO {schema}.{events} ({insertable})
VALUES ({values}, {schema}.{event_hash}(
    %(case_id)s::uuid, %(version)s::bigint, %(genesis)s::bytea, %(canonical)s::bytea))
RETURNING row_id

-- name: append_call
CALL {schema}.{append}(
    {values}, %(genesis)s::bytea, %(canonical)s::bytea, %(batch)s::integer, %(channel)s::text)

-- name: sequence_call
SELECT * FROM {schema}.{sequence}(%s::integer, %s::text, %s::boolean, %s::bigint[])

-- name: repair_offset
-- after a restore from another cluster: raise tx_offset so that new transaction ids sort
-- after every stored one (nothing when they already do)
UPDATE {schema}.{state} SET tx_offset = tx_offset + needed
FROM (
    SELECT max(e.tx_id) + 1 - (pg_snapshot_xmax(pg_current_snapshot())::text::bigint
        + (SELECT s.tx_offset FROM {schema}.{state} s)) AS needed
    FROM {schema}.{events} e
) n
WHERE needed > 0
RETURNING tx_offset

-- name: select_rows
SELECT version, type, payload FROM {schema}.{events} WHERE case_id = %s

-- name: log
SELECT {log_columns}
FROM {schema}.{log} l JOIN {schema}.{events} e ON e.row_id = l.row_id
WHERE l.position > %s

-- name: max_position
SELECT max(position) AS max FROM {schema}.{log}

-- name: case_ids
SELECT DISTINCT case_id FROM {schema}.{log} WHERE position <= %s ORDER BY case_id

-- name: cases
SELECT {log_columns}
FROM {schema}.{log} l JOIN {schema}.{events} e ON e.row_id = l.row_id
WHERE l.case_id = ANY(%s) AND l.position <= %s ORDER BY l.case_id, l.version

-- name: horizon
-- every transaction below it has ended
SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint + s.tx_offset AS horizon
FROM {schema}.{state} s

-- name: seals
SELECT e.version, e.row_id, l.position, e.hash
FROM {schema}.{events} e LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id
WHERE e.case_id = %s

-- name: locate
SELECT event_id, case_id, version FROM {schema}.{events} WHERE event_id = ANY(%s)

-- name: verify_log
-- each log entry, and the hash the events table now holds for the event it names (NULL if
-- that row is gone or now holds another event)
SELECT l.position, l.event_id, l.case_id, l.version, l.event_hash, l.log_hash,
    CASE WHEN e.event_id = l.event_id AND e.case_id = l.case_id AND e.version = l.version
    THEN e.hash END AS current_hash
FROM {schema}.{log} l LEFT JOIN {schema}.{events} e ON e.row_id = l.row_id

-- name: verify_events
-- each event as stored (domain.integrity.StoredRow), its position, and whether it lacks one
-- although every older transaction had ended when verification began
SELECT {stored_e}, l.position, (l.position IS NULL AND e.tx_id < %(horizon)s) AS unsequenced
FROM {schema}.{events} e LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id
