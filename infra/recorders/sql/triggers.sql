-- Append-only: UPDATE, DELETE and TRUNCATE of the events, the log, its tree and checkpoints,
-- the access log and its case index are refused, whoever asks (in production the
-- application's role has no such privilege anyway; these stop the owner's mistakes too, and
-- make tampering a deliberate act: disabling a trigger).

CREATE OR REPLACE FUNCTION {schema}.{refuse}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{events}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{events}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{log}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{log}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{access}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{access}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{access_cases}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{access_cases}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{tree}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{tree}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{checkpoints}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{checkpoints}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{cosignatures}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{cosignatures}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();

-- The persons' keys: never deleted (erasure empties wrapped); an erased key stays erased, and
-- a key stays its case's. Rotation rewrites kek_id and wrapped of keys not erased.
CREATE OR REPLACE FUNCTION {schema}.{keys_guard}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION '%: % refused (erasure empties wrapped)', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.wrapped IS NULL OR NEW.case_id <> OLD.case_id OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION '%: an erased key stays erased, a key stays its case''s', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {schema}.{keys}
    FOR EACH ROW EXECUTE FUNCTION {schema}.{keys_guard}();
CREATE OR REPLACE TRIGGER refuse_truncate BEFORE TRUNCATE ON {schema}.{keys}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{refuse}();
