-- 0008: every inbox object accounted for, and objects that keep failing counted.

-- A quarantine entry holds every field of its instance.rejected event (one type for both).
ALTER TABLE quarantine_entries ADD COLUMN quarantine_bucket text;
ALTER TABLE quarantine_entries ADD COLUMN series_uid text;
CREATE INDEX quarantine_sha256_idx ON quarantine_entries (sha256);

-- The ledger: what became of each object dropped into the inbox, written in the transaction
-- that settles it. An object is one version of a key: (bucket, key, etag, received_at).
CREATE TABLE inbox_ledger (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket              text NOT NULL,
    key                 text NOT NULL,
    etag                text NOT NULL,
    size                bigint NOT NULL CHECK (size >= 0),
    received_at         timestamptz NOT NULL,
    outcome             text NOT NULL CHECK (outcome IN ('archived', 'duplicate', 'quarantined')),
    -- archived: the instance it became; duplicate: the instance it repeats
    sop_uid             dicom_uid,
    -- quarantined: its entry; duplicate: the entry it repeats
    quarantine_key      text REFERENCES quarantine_entries (key),
    sha256              sha256_hex,
    settled_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket, key, etag, received_at),
    CONSTRAINT outcome_names_its_object CHECK (
        (outcome = 'archived' AND sop_uid IS NOT NULL AND quarantine_key IS NULL)
        OR (outcome = 'quarantined' AND quarantine_key IS NOT NULL AND sop_uid IS NULL)
        OR (outcome = 'duplicate' AND (sop_uid IS NULL) <> (quarantine_key IS NULL))
    )
);

CREATE INDEX inbox_ledger_key_idx ON inbox_ledger (bucket, key, settled_at DESC);
CREATE INDEX inbox_ledger_outcome_idx ON inbox_ledger (outcome, settled_at);

-- Attempts at objects not settled yet: counted before each try, so a try that kills its
-- process counts too. The row goes when the object is settled.
CREATE TABLE ingest_attempts (
    bucket              text NOT NULL,
    key                 text NOT NULL,
    etag                text NOT NULL,
    received_at         timestamptz NOT NULL,
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    failures            integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_error          text,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, key, etag, received_at)
);
