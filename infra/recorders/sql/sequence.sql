-- One sequencer pass: give the next positions of the global log to the event rows whose
-- transactions, and all older ones, have ended; answer the positions of the rows in wanted.
-- See infra/recorders/__init__.py for the design. SECURITY DEFINER: the application's role may
-- not write the log, and sequences only through this function.
--
-- batch: rows read per round; channel: NOTIFYed with the last position when a pass adds some;
-- wait: wait for a running pass to end (false: return at once, that pass sequences what this
-- one would).
CREATE OR REPLACE FUNCTION {schema}.{sequence}(
    batch integer, channel text, wait boolean, wanted bigint[]
) RETURNS TABLE (event_row bigint, log_position bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    offs bigint;
    horizon bigint;
    upper_bound bigint;
    pos bigint;
    last_tx bigint;
    last_row bigint;
    sealed bytea;
    r record;
    added integer;
    logged timestamptz;
    logged_us bigint;
    leaves bigint;
    frontier bytea[] := ARRAY[]::bytea[];
    v_level integer;
    v_idx bigint;
    h bytea;
    total bigint := 0;
BEGIN
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1, not %', batch;
    END IF;
    -- each statement below takes its own snapshot: READ COMMITTED is required
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'sequencing the global log needs READ COMMITTED, not %',
            current_setting('transaction_isolation');
    END IF;
    -- a pass may commit asynchronously: the events it sequences committed synchronously, and
    -- it takes the durable rows in (tx_id, row_id) order from the last durable position, so
    -- if the server crashes before the pass reaches disk, the next pass gives the very same
    -- positions to the very same events
    PERFORM set_config('synchronous_commit', 'off', true);
    -- passes run one at a time; a pass becomes visible before it releases the lock
    IF wait THEN
        PERFORM pg_advisory_xact_lock({key});
    ELSIF NOT pg_try_advisory_xact_lock({key}) THEN
        RETURN QUERY SELECT l.row_id, l.position FROM {schema}.{log} l
            WHERE l.row_id = ANY(wanted);
        RETURN;
    END IF;
    -- after the lock: this snapshot sees every pass committed before
    SELECT l.position, l.tx_id, l.row_id, l.log_hash INTO pos, last_tx, last_row, sealed
        FROM {schema}.{log} l ORDER BY l.position DESC LIMIT 1;
    IF NOT FOUND THEN
        pos := 0; last_tx := -1; last_row := 0; sealed := {genesis};
    END IF;
    -- the tree's right edge: the complete subtrees making up its leaves, largest first
    -- (domain.tlog.range_nodes(0, pos)); each new leaf completes subtrees from it
    SELECT t.idx + 1 INTO leaves FROM {schema}.{tree} t WHERE t.level = 0
        ORDER BY t.idx DESC LIMIT 1;
    IF coalesce(leaves, 0) <> pos THEN
        RAISE EXCEPTION 'the log''s tree holds % leaves, the log % positions: run caseledger migrate',
            coalesce(leaves, 0), pos;
    END IF;
    v_idx := 0;
    FOR v_level IN REVERSE 62..0 LOOP
        IF (pos >> v_level) & 1 = 1 THEN
            SELECT t.hash INTO h FROM {schema}.{tree} t
                WHERE t.level = v_level AND t.idx = v_idx >> v_level;
            frontier := frontier || h;
            v_idx := v_idx + (1::bigint << v_level);
        END IF;
    END LOOP;
    -- the database's time of this pass, not the writer's: each entry's log time
    logged := clock_timestamp();
    logged_us := (extract(epoch FROM logged) * 1000000)::bigint;
    SELECT s.tx_offset INTO offs FROM {schema}.{state} s;
    -- the horizon: every transaction below it has ended, so rows below it are final (no row
    -- with a lower tx_id can appear later)
    SELECT pg_snapshot_xmin(c)::text::bigint + offs, pg_snapshot_xmax(c)::text::bigint + offs
        INTO horizon, upper_bound FROM pg_current_snapshot() c;
    IF last_tx >= upper_bound THEN
        RAISE EXCEPTION 'the global log is ahead of this cluster''s transaction ids (restored from another cluster?): run caseledger migrate';
    END IF;
    LOOP
        added := 0;
        FOR r IN SELECT e.row_id, e.tx_id, e.event_id, e.case_id, e.version, e.hash
            FROM {schema}.{events} e WHERE (e.tx_id, e.row_id) > (last_tx, last_row)
            AND e.tx_id < horizon ORDER BY e.tx_id, e.row_id LIMIT batch
        LOOP
            pos := pos + 1;
            sealed := sha256(sealed || int8send(pos) || r.hash);
            INSERT INTO {schema}.{log} (
                position, tx_id, row_id, event_id, case_id, version, event_hash, log_hash,
                logged_at
            ) VALUES (
                pos, r.tx_id, r.row_id, r.event_id, r.case_id, r.version, r.hash, sealed, logged
            );
            -- the leaf: SHA-256(0x00 || domain.tlog.log_entry), then the subtrees it completes
            h := sha256('\x00'::bytea || int8send(pos) || uuid_send(r.case_id)
                || int8send(r.version) || r.hash || int8send(logged_us)
                || convert_to(r.event_id, 'UTF8'));
            v_idx := pos - 1;
            v_level := 0;
            INSERT INTO {schema}.{tree} (level, idx, hash) VALUES (0, v_idx, h);
            WHILE v_idx & 1 = 1 LOOP
                h := sha256('\x01'::bytea || frontier[cardinality(frontier)] || h);
                frontier := frontier[1:cardinality(frontier) - 1];
                v_level := v_level + 1;
                v_idx := v_idx >> 1;
                INSERT INTO {schema}.{tree} (level, idx, hash) VALUES (v_level, v_idx, h);
            END LOOP;
            frontier := frontier || h;
            last_tx := r.tx_id; last_row := r.row_id; added := added + 1;
        END LOOP;
        total := total + added;
        EXIT WHEN added < batch;
    END LOOP;
    IF total > 0 THEN
        PERFORM pg_notify(channel, pos::text);
    END IF;
    RETURN QUERY SELECT l.row_id, l.position FROM {schema}.{log} l WHERE l.row_id = ANY(wanted);
END $$;

REVOKE EXECUTE ON FUNCTION {schema}.{sequence} FROM PUBLIC;
