-- 0015: CT quality-assurance checks of a water phantom (docs/decisions/0104-ct-qa-pipeline.md).
-- A run of the ct-qa pipeline records its verdict and each measurement with the tolerance it
-- was judged by, so a department can trend its scanner's water CT number day by day.

CREATE TABLE qa_checks (
    run_id              uuid PRIMARY KEY REFERENCES inference_runs (id) ON DELETE CASCADE,
    passed              boolean NOT NULL,
    sop_uid             dicom_uid NOT NULL,
    phantom_diameter_mm double precision NOT NULL CHECK (phantom_diameter_mm > 0),
    checked_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qa_measurements (
    run_id              uuid NOT NULL REFERENCES qa_checks (run_id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (name IN ('water-mean', 'noise', 'uniformity')),
    value               double precision NOT NULL,
    unit                text NOT NULL DEFAULT 'HU',
    lower               double precision NOT NULL,
    upper               double precision NOT NULL,
    passed              boolean NOT NULL,
    PRIMARY KEY (run_id, name),
    CONSTRAINT passed_matches_tolerance CHECK (passed = (value BETWEEN lower AND upper))
);
