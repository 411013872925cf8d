-- 0013: indexes for study searches (QIDO-RS, the worklist; docs/decisions/0091-dicomweb.md).

-- newest first, the order of every study list: a page is read off the index
CREATE INDEX studies_newest_idx
    ON studies (study_date DESC NULLS LAST, study_time DESC NULLS LAST, study_uid);
CREATE INDEX studies_created_idx ON studies (created_at DESC, study_uid);
-- exact Patient ID and modality matching
CREATE INDEX patients_patient_id_idx ON patients (patient_id);
CREATE INDEX series_modality_idx ON series (modality, study_uid);
