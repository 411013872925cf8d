-- 0005: the audit trail (issue 7): query columns, a chain the database checks on insert, and
-- the roles the audit functions work as. 0001 made audit_events append-only with triggers;
-- here the privileges say so too (docs/decisions/0051-audit-trail.md).
--
-- Each row's hash = sha256(prev_hash || canonical JSON of the row's content) (acme.audit);
-- rows are numbered 1, 2, 3... with no gap, so a deleted row leaves a hole and an altered
-- row no longer matches its hash. The first row's prev_hash is 64 zeros.

ALTER TABLE audit_events
    ADD COLUMN occurred_at timestamptz,
    ADD COLUMN study_uid text,
    ADD COLUMN actor text,
    ADD CONSTRAINT audit_events_hashes_are_sha256
        CHECK (prev_hash ~ '^[0-9a-f]{64}$' AND hash ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT audit_events_id_positive CHECK (id > 0);

CREATE INDEX audit_events_study_idx ON audit_events (study_uid, id) WHERE study_uid IS NOT NULL;
CREATE INDEX audit_events_actor_idx ON audit_events (actor, id);
CREATE INDEX audit_events_type_idx ON audit_events (event_type, id);
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at, id);

-- A new row must extend the chain: the next id after the last row, linked to its hash. Two
-- writers that skipped the advisory lock cannot fork the chain: the second fails here or on
-- the primary key.
CREATE FUNCTION audit_events_extend_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_id   bigint;
    last_hash text;
BEGIN
    SELECT id, hash INTO last_id, last_hash FROM audit_events ORDER BY id DESC LIMIT 1;
    IF NEW.id <> COALESCE(last_id, 0) + 1 THEN
        RAISE EXCEPTION 'audit_events: row % does not follow row %', NEW.id, COALESCE(last_id, 0)
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.prev_hash <> COALESCE(last_hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'audit_events: row % does not link to the hash of row %', NEW.id,
            COALESCE(last_id, 0)
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_extend_chain();

-- The roles (cluster-wide, so created only when absent; a DBA may create them beforehand when
-- the migrating login lacks CREATEROLE). Neither can log in: the audit functions switch to
-- them per transaction (SET LOCAL ROLE); a dedicated login is GRANTed one of them.
--   acme_audit_writer  INSERT + SELECT   appends (audit-events, acme audit export)
--   acme_audit_reader  SELECT            verify, query, export (the audit HTTP API)
-- The writer is a member of the reader, so one login granted the writer can be both.
-- No role gets UPDATE, DELETE or TRUNCATE; the 0001 triggers refuse them to the owner too.
DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['acme_audit_writer', 'acme_audit_reader'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database
            END;
        END IF;
    END LOOP;
    -- a login granted the writer role may also work as the reader (SET ROLE)
    IF NOT pg_has_role('acme_audit_writer', 'acme_audit_reader', 'MEMBER') THEN
        BEGIN
            GRANT acme_audit_reader TO acme_audit_writer;
        EXCEPTION WHEN unique_violation THEN
            NULL;  -- granted meanwhile by a migration of another database
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO acme_audit_writer, acme_audit_reader',
                   current_schema());
END
$$;

REVOKE ALL ON audit_events FROM PUBLIC;
REVOKE ALL ON audit_events FROM acme_audit_writer, acme_audit_reader;
GRANT SELECT, INSERT ON audit_events TO acme_audit_writer;
GRANT SELECT ON audit_events TO acme_audit_reader;
