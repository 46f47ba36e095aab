-- The statements the recorder runs, one section each ("-- name: <name>" starts one; the
-- recorder's __init__ names each attribute it keeps). Comment lines are dropped and no
-- statement ends with a semicolon: a few reads are extended in Python with optional
-- conditions (select_events, select_notifications, verify), next to the parameters they bind.
-- Parameters are psycopg's (%s, %(name)s); {values} stands for %(<column>)s for each column
-- the hash covers (domain.integrity.HASHED_COLUMNS, which _row_params supplies by name),
-- {stored_e} for e.<column> for each stored column (STORED_COLUMNS), and {log_columns} for
-- what infra.recorders.common.sealed reads of a log entry. For the access log, {access_columns}
-- stands for its columns (infra.recorders.common.ACCESS_COLUMNS), {access_values} for
-- %(<column>)s of each, cast to its type, and {access_a} for a.<column> of each.

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
SELECT l.position, l.event_id, l.case_id, l.version, l.event_hash, l.log_hash, l.logged_at,
    CASE WHEN e.event_id = l.event_id AND e.case_id = l.case_id AND e.version = l.version
    THEN e.hash END AS current_hash
FROM {schema}.{log} l LEFT JOIN {schema}.{events} e ON e.row_id = l.row_id

-- name: verify_events
-- each event as stored (domain.integrity.StoredRow), its position, and whether it lacks one
-- although every older transaction had ended when verification began
SELECT {stored_e}, l.position, (l.position IS NULL AND e.tx_id < %(horizon)s) AS unsequenced
FROM {schema}.{events} e LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id

-- name: access_lock
-- taken by each appender to the access log, held until its transaction ends: appenders take
-- turns, each chaining from the last entry committed before it
SELECT pg_advisory_xact_lock({access_key})

-- name: access_head
-- run after access_lock, so that (READ COMMITTED) it sees the entries of every appender before
SELECT position, hash FROM {schema}.{access} ORDER BY position DESC LIMIT 1

-- name: insert_access
INSERT INTO {schema}.{access} ({access_columns}) VALUES ({access_values})

-- name: insert_access_cases
INSERT INTO {schema}.{access_cases} (case_id, position)
SELECT * FROM unnest(%s::uuid[], %s::bigint[])

-- name: access_entries
SELECT {access_a} FROM {schema}.{access} a WHERE a.position > %(after)s

-- name: access_entries_of_case
-- through the case index, in its order (i.position)
SELECT {access_a}
FROM {schema}.{access_cases} i JOIN {schema}.{access} a ON a.position = i.position
WHERE i.case_id = %(case_id)s AND i.position > %(after)s

-- name: verify_access
-- each access log entry as stored, and the case ids the case index holds for it
SELECT {access_a}, i.indexed
FROM {schema}.{access} a LEFT JOIN (
    SELECT position, array_agg(case_id) AS indexed FROM {schema}.{access_cases} GROUP BY position
) i ON i.position = a.position
ORDER BY a.position

-- name: insert_key
-- a case's data key, with its first event (in the same transaction), or on its own for a case
-- recorded before its events were encrypted
INSERT INTO {schema}.{keys} (case_id, kek_id, wrapped) VALUES (%s, %s, %s)
ON CONFLICT (case_id) DO NOTHING

-- name: data_key
SELECT case_id, kek_id, wrapped FROM {schema}.{keys} WHERE case_id = %s

-- name: erase_key
UPDATE {schema}.{keys} SET wrapped = NULL, erased_at = now()
WHERE case_id = %s AND wrapped IS NOT NULL

-- name: data_keys
SELECT case_id, kek_id, wrapped FROM {schema}.{keys}
WHERE wrapped IS NOT NULL AND case_id > %s ORDER BY case_id LIMIT %s

-- name: rewrap
UPDATE {schema}.{keys} SET kek_id = %s, wrapped = %s WHERE case_id = %s AND wrapped IS NOT NULL

-- name: kek_samples
SELECT DISTINCT ON (kek_id) case_id, kek_id, wrapped FROM {schema}.{keys}
WHERE wrapped IS NOT NULL ORDER BY kek_id, case_id

-- name: tree_nodes
-- stored subtree hashes of the log's tree, by (level, idx)
SELECT t.level, t.idx, t.hash
FROM {schema}.{tree} t JOIN unnest(%s::smallint[], %s::bigint[]) AS u (level, idx)
    ON t.level = u.level AND t.idx = u.idx

-- name: tree_scan
-- every stored subtree hash in the order a tree built leaf by leaf completes them: by the
-- last leaf each covers, then by level (domain.tlog.Frontier.append)
SELECT level, idx, hash FROM {schema}.{tree} ORDER BY ((idx + 1) << level) - 1, level

-- name: log_entries
-- the log entries of one case up to a position, as the tree's leaves hold them
SELECT position, case_id, version, event_hash, logged_at, event_id FROM {schema}.{log}
WHERE case_id = %s AND position <= %s ORDER BY version

-- name: log_range
SELECT position, case_id, version, event_hash, logged_at, event_id FROM {schema}.{log}
WHERE position > %s ORDER BY position LIMIT %s

-- name: case_heads
-- each case's last version and its hash among the log's first positions, by case id
SELECT DISTINCT ON (case_id) case_id, version, event_hash FROM {schema}.{log}
WHERE position <= %s ORDER BY case_id, version DESC

-- name: insert_tree
INSERT INTO {schema}.{tree} (level, idx, hash)
SELECT * FROM unnest(%s::smallint[], %s::bigint[], %s::bytea[])

-- name: insert_checkpoint
INSERT INTO {schema}.{checkpoints} (size, note) VALUES (%s, %s) ON CONFLICT (size) DO NOTHING

-- name: insert_cosignature
INSERT INTO {schema}.{cosignatures} (size, witness, line) VALUES (%s, %s, %s)
ON CONFLICT (size, witness) DO NOTHING

-- name: checkpoints
-- extended with the size wanted, or the latest
SELECT c.size, c.issued_at, c.note,
    ARRAY(SELECT s.line FROM {schema}.{cosignatures} s WHERE s.size = c.size
          ORDER BY s.witness) AS cosignatures
FROM {schema}.{checkpoints} c

-- name: stored_rows
-- one case's events exactly as stored, with their positions (an evidence bundle's events)
SELECT {stored_e}, l.position
FROM {schema}.{events} e LEFT JOIN {schema}.{log} l ON l.row_id = e.row_id
WHERE e.case_id = %s ORDER BY e.version
