-- 0007: patients are never merged (docs/decisions/0060-patients.md).
--
-- A patient record is shared by studies only under a non-empty Patient ID (within its issuer).
-- A study without a Patient ID has a record of its own. When an instance names a patient
-- differently from the record it is filed under, the difference is recorded here and the
-- record keeps what it had: nothing is overwritten.

ALTER TABLE patients DROP CONSTRAINT patients_issuer_of_patient_id_patient_id_key;
CREATE UNIQUE INDEX patients_identified_key ON patients (issuer_of_patient_id, patient_id)
    WHERE patient_id <> '';

-- Until now every study without a Patient ID shared one record, holding the demographics of
-- whichever upload came last. Give each such study a record of its own, without those
-- demographics (reports read them from the study's own instances), and drop the shared one.
DO $$
DECLARE
    shared record;
BEGIN
    FOR shared IN
        SELECT s.study_uid, p.issuer_of_patient_id AS issuer
        FROM studies s JOIN patients p ON p.id = s.patient_pk
        WHERE p.patient_id = ''
    LOOP
        WITH own AS (
            INSERT INTO patients (patient_id, issuer_of_patient_id)
            VALUES ('', shared.issuer) RETURNING id
        )
        UPDATE studies SET patient_pk = (SELECT id FROM own) WHERE study_uid = shared.study_uid;
    END LOOP;
    DELETE FROM patients p
    WHERE p.patient_id = '' AND NOT EXISTS (SELECT 1 FROM studies s WHERE s.patient_pk = p.id);
END
$$;

CREATE TABLE patient_conflicts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_pk          bigint NOT NULL REFERENCES patients (id),
    study_uid           dicom_uid NOT NULL REFERENCES studies (study_uid),
    -- the first instance of the study that showed the difference
    sop_uid             dicom_uid NOT NULL,
    attribute           text NOT NULL
                        CHECK (attribute IN ('patient_id', 'name', 'birth_date', 'sex')),
    recorded            text NOT NULL,  -- what the patient record holds
    received            text NOT NULL,  -- what the instance says
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient_pk, study_uid, attribute, received)
);

CREATE INDEX patient_conflicts_patient_idx ON patient_conflicts (patient_pk);
