-- 0001: the imaging schema (docs/architecture.md §5).
-- Never edit this file once released: add 0002_... instead (its checksum is recorded).

CREATE TYPE study_state AS ENUM (
    'receiving', 'complete', 'inferring', 'inferred', 'reported', 'signed', 'failed'
);

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- DICOM UIDs: digits and dots, at most 64 characters (PS3.5 section 9.1).
CREATE DOMAIN dicom_uid AS text
    CHECK (VALUE ~ '^[0-9]+(\.[0-9]+)*$' AND length(VALUE) <= 64);

CREATE DOMAIN sha256_hex AS text
    CHECK (VALUE ~ '^[0-9a-f]{64}$');

-- Patients, identified by PatientID within its issuer (0010,0020) + (0010,0021).
CREATE TABLE patients (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id              text NOT NULL,
    issuer_of_patient_id    text NOT NULL DEFAULT '',
    patient_name            text,
    birth_date              date,
    sex                     text CHECK (sex IN ('M', 'F', 'O')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer_of_patient_id, patient_id)
);

CREATE TRIGGER patients_touch BEFORE UPDATE ON patients
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE studies (
    study_uid           dicom_uid PRIMARY KEY,
    patient_pk          bigint REFERENCES patients (id),
    accession_number    text,
    study_date          date,
    study_time          time,
    study_description   text,
    referring_physician text,
    state               study_state NOT NULL DEFAULT 'receiving',
    failure_reason      text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT failed_has_reason CHECK (state <> 'failed' OR failure_reason IS NOT NULL)
);

CREATE INDEX studies_state_idx ON studies (state, updated_at);
CREATE INDEX studies_patient_idx ON studies (patient_pk);
CREATE INDEX studies_accession_idx ON studies (accession_number);

CREATE TRIGGER studies_touch BEFORE UPDATE ON studies
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE series (
    series_uid          dicom_uid PRIMARY KEY,
    study_uid           dicom_uid NOT NULL REFERENCES studies (study_uid),
    modality            text NOT NULL,
    body_part           text,
    series_number       integer,
    series_description  text,
    pipeline            text CHECK (pipeline ~ '^[a-z0-9_-]+$'),
    instance_count      integer NOT NULL DEFAULT 0 CHECK (instance_count >= 0),
    first_instance_at   timestamptz NOT NULL DEFAULT now(),
    last_instance_at    timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT completed_has_pipeline CHECK (completed_at IS NULL OR pipeline IS NOT NULL)
);

CREATE INDEX series_study_idx ON series (study_uid);
-- the completion sweep: open series by age
CREATE INDEX series_open_idx ON series (last_instance_at) WHERE completed_at IS NULL;

CREATE TABLE instances (
    sop_uid             dicom_uid PRIMARY KEY,
    series_uid          dicom_uid NOT NULL REFERENCES series (series_uid),
    sop_class_uid       dicom_uid NOT NULL,
    instance_number     integer,
    transfer_syntax     dicom_uid NOT NULL,
    sha256              sha256_hex NOT NULL,
    size                bigint NOT NULL CHECK (size >= 0),
    archive_key         text NOT NULL UNIQUE,
    pixel_rows          integer CHECK (pixel_rows > 0),
    pixel_columns       integer CHECK (pixel_columns > 0),
    number_of_frames    integer NOT NULL DEFAULT 1 CHECK (number_of_frames > 0),
    received_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX instances_series_idx ON instances (series_uid, instance_number);

CREATE TABLE inference_runs (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    study_uid           dicom_uid NOT NULL REFERENCES studies (study_uid),
    series_uid          dicom_uid NOT NULL REFERENCES series (series_uid),
    pipeline            text NOT NULL,
    model_name          text NOT NULL,
    model_version       text NOT NULL,
    execution_provider  text,
    status              text NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'completed', 'failed')),
    error               text,
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    -- one run per series and model version: a redelivered event finds the existing run
    UNIQUE (series_uid, model_name, model_version),
    CONSTRAINT failed_run_has_error CHECK (status <> 'failed' OR error IS NOT NULL)
);

CREATE INDEX inference_runs_study_idx ON inference_runs (study_uid);

CREATE TABLE findings (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id              uuid NOT NULL REFERENCES inference_runs (id) ON DELETE CASCADE,
    label               text NOT NULL,
    code_system         text,
    code                text,
    probability         double precision NOT NULL CHECK (probability BETWEEN 0 AND 1),
    positive            boolean NOT NULL,
    heatmap_key         text,
    UNIQUE (run_id, label)
);

CREATE TABLE reports (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    study_uid           dicom_uid NOT NULL UNIQUE REFERENCES studies (study_uid),
    status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'signed')),
    current_version     integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    signed_by           text,
    signed_at           timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signed_has_signer
        CHECK (status <> 'signed' OR (signed_by IS NOT NULL AND signed_at IS NOT NULL))
);

CREATE TRIGGER reports_touch BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE report_versions (
    report_id           uuid NOT NULL REFERENCES reports (id),
    version             integer NOT NULL CHECK (version >= 1),
    status              text NOT NULL CHECK (status IN ('draft', 'signed')),
    author              text NOT NULL,
    content             jsonb NOT NULL,
    fhir_key            text,
    sr_key              text,
    html_key            text,
    pdf_key             text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report_id, version)
);

-- Append-only, hash-chained audit trail: rows are inserted, never changed or removed.
CREATE TABLE audit_events (
    id                  bigserial PRIMARY KEY,
    event_id            text NOT NULL UNIQUE,
    event_type          text NOT NULL,
    prev_hash           text NOT NULL,
    hash                text NOT NULL UNIQUE,
    payload             jsonb NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Rejected objects: the quarantine object key, a machine-readable reason and its detail.
CREATE TABLE quarantine_entries (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key                 text NOT NULL UNIQUE,
    source_bucket       text NOT NULL,
    source_key          text NOT NULL,
    reason_code         text NOT NULL CHECK (reason_code ~ '^[a-z0-9_.-]+$'),
    detail              text NOT NULL DEFAULT '',
    sha256              sha256_hex,
    size                bigint CHECK (size >= 0),
    study_uid           text,
    sop_uid             text,
    quarantined_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX quarantine_reason_idx ON quarantine_entries (reason_code, quarantined_at);
