-- Append-only: UPDATE, DELETE and TRUNCATE of the events, the log, the access log and its case
-- index are refused, whoever asks (in production the application's role has no such privilege
-- anyway; these stop the owner's mistakes too, and make tampering a deliberate act: disabling a
-- trigger).

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
