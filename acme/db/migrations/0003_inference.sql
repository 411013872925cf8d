-- 0003: what the inference functions record of a run beyond 0001.

ALTER TABLE inference_runs
    ADD COLUMN device text CHECK (device IN ('cpu', 'cuda')),
    ADD COLUMN model_sha256 sha256_hex,
    ADD COLUMN reason_code text CHECK (reason_code ~ '^[a-z0-9-]+$'),
    ADD COLUMN attempts integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    ADD COLUMN not_for_diagnosis boolean NOT NULL DEFAULT true,
    ADD COLUMN timings jsonb,
    ADD COLUMN images_used integer CHECK (images_used >= 0),
    -- instances left out, each {sop_uid, reason_code, detail}
    ADD COLUMN images_skipped jsonb NOT NULL DEFAULT '[]'::jsonb;

-- the latest run of each series decides the study's state
CREATE INDEX inference_runs_series_idx ON inference_runs (series_uid, started_at DESC);

ALTER TABLE findings
    ADD COLUMN threshold double precision CHECK (threshold BETWEEN 0 AND 1),
    -- the instance whose image gave the series' probability (the highest)
    ADD COLUMN sop_uid dicom_uid,
    ADD CONSTRAINT positive_matches_threshold
        CHECK (threshold IS NULL OR positive = (probability >= threshold));
