-- 0014: CT findings carry a measurement (docs/decisions/0101-ct-findings-as-measurements.md).
-- A lesion found in a CT volume is a finding with its size and place: diameter, volume,
-- centre, side, slice range and the SOP Instance UIDs of those slices, as the event's
-- NoduleMeasurement (JSON). One finding per lesion, so a label may recur within a run, each
-- time with its own number.

ALTER TABLE findings
    ADD COLUMN measurement jsonb,
    ADD CONSTRAINT measurement_is_numbered CHECK (
        measurement IS NULL
        OR (jsonb_typeof(measurement) = 'object'
            AND (measurement ->> 'number') ~ '^[1-9][0-9]{0,2}$'
            AND (measurement ->> 'diameter_mm') IS NOT NULL)
    );

ALTER TABLE findings DROP CONSTRAINT findings_run_id_label_key;
CREATE UNIQUE INDEX findings_one_per_label_and_lesion
    ON findings (run_id, label, (COALESCE((measurement ->> 'number')::integer, 0)));
