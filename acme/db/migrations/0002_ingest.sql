-- 0002: what dicom-ingest needs beyond 0001.

-- The tags routing rules test, recorded from a series' first instance.
ALTER TABLE series ADD COLUMN routing_tags jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Reason codes name DICOM keywords: missing-attribute:StudyInstanceUID.
ALTER TABLE quarantine_entries DROP CONSTRAINT quarantine_entries_reason_code_check;
ALTER TABLE quarantine_entries ADD CONSTRAINT quarantine_entries_reason_code_check
    CHECK (reason_code ~ '^[a-z0-9-]+(:[A-Za-z0-9]+)?$');

CREATE INDEX quarantine_source_idx ON quarantine_entries (source_bucket, source_key);
