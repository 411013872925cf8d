-- 0006: a series can complete more than once. An instance that arrives after its series
-- completed reopens it; the series completes again after its stable age, and each completion
-- gets its own inference run (docs/decisions/0062-late-instances.md).

-- How many times the series completed; the latest completion is the one results must cover.
ALTER TABLE series
    ADD COLUMN completions integer NOT NULL DEFAULT 0 CHECK (completions >= 0);
UPDATE series SET completions = 1 WHERE completed_at IS NOT NULL;
ALTER TABLE series ADD CONSTRAINT completed_has_completion
    CHECK (completed_at IS NULL OR completions >= 1);

-- One run per series completion and model version (was: per series and model version).
ALTER TABLE inference_runs
    ADD COLUMN series_completion integer NOT NULL DEFAULT 1 CHECK (series_completion >= 1);
ALTER TABLE inference_runs DROP CONSTRAINT inference_runs_series_uid_model_name_model_version_key;
ALTER TABLE inference_runs ADD CONSTRAINT inference_runs_one_per_completion
    UNIQUE (series_uid, model_name, model_version, series_completion);

-- Each reopening, recorded by ingest with the instance that caused it, and announced
-- (series.reopened) by the next tick.
CREATE TABLE series_reopenings (
    series_uid          dicom_uid NOT NULL REFERENCES series (series_uid),
    completion          integer NOT NULL CHECK (completion >= 1),
    pipeline            text NOT NULL CHECK (pipeline ~ '^[a-z0-9_-]+$'),
    sop_uid             dicom_uid NOT NULL,
    reopened_at         timestamptz NOT NULL DEFAULT now(),
    announced_at        timestamptz,
    PRIMARY KEY (series_uid, completion)
);

CREATE INDEX series_reopenings_unannounced_idx
    ON series_reopenings (reopened_at) WHERE announced_at IS NULL;

-- A finding's code as the model card gives it (FHIR system, code, display), when it has one.
ALTER TABLE findings
    ADD COLUMN code_display text,
    ADD CONSTRAINT finding_code_is_whole CHECK (
        (code_system IS NULL AND code IS NULL AND code_display IS NULL)
        OR (code_system IS NOT NULL AND code IS NOT NULL AND code_display IS NOT NULL)
    );
