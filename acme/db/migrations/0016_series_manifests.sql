-- 0016: completion manifests (docs/decisions/0111-completion-manifests.md). An uploader lists
-- the SOP Instance UIDs of a series in a manifest object; the series completes as soon as
-- every listed instance is indexed. The stable age stays the fallback.

CREATE TABLE series_manifests (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket              text NOT NULL,
    key                 text NOT NULL,
    etag                text NOT NULL,
    received_at         timestamptz NOT NULL,
    study_uid           dicom_uid NOT NULL,
    series_uid          dicom_uid NOT NULL,
    sop_uids            text[] NOT NULL CHECK (cardinality(sop_uids) > 0),
    declared_at         timestamptz NOT NULL DEFAULT now(),
    -- set once, in the transaction that completes the series on it ('declared'), or that
    -- completes the series by its stable age before every listed instance came ('stable-age')
    closed_at           timestamptz,
    closed_by           text CHECK (closed_by IN ('declared', 'stable-age')),
    UNIQUE (bucket, key, etag, received_at),
    CONSTRAINT closed_says_how CHECK ((closed_at IS NULL) = (closed_by IS NULL))
);

CREATE INDEX series_manifests_open_idx ON series_manifests (series_uid) WHERE closed_at IS NULL;

-- A manifest is settled in the ledger as 'declared'.
ALTER TABLE inbox_ledger DROP CONSTRAINT inbox_ledger_outcome_check;
ALTER TABLE inbox_ledger ADD CONSTRAINT inbox_ledger_outcome_check
    CHECK (outcome IN ('archived', 'duplicate', 'quarantined', 'declared'));
ALTER TABLE inbox_ledger DROP CONSTRAINT outcome_names_its_object;
ALTER TABLE inbox_ledger ADD CONSTRAINT outcome_names_its_object CHECK (
    (outcome = 'archived' AND sop_uid IS NOT NULL AND quarantine_key IS NULL)
    OR (outcome = 'quarantined' AND quarantine_key IS NOT NULL AND sop_uid IS NULL)
    OR (outcome = 'duplicate' AND (sop_uid IS NULL) <> (quarantine_key IS NULL))
    OR (outcome = 'declared' AND sop_uid IS NULL AND quarantine_key IS NULL)
);
