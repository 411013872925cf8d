-- 0011: the DICOM edge: associations the receiver served, results sent to PACS destinations.

-- One row per association the receiver accepted, written when it ended.
CREATE TABLE dicom_associations (
    id              uuid PRIMARY KEY,
    calling_ae      text NOT NULL,
    called_ae       text NOT NULL,
    peer_address    text NOT NULL,
    peer_port       integer NOT NULL CHECK (peer_port BETWEEN 0 AND 65535),
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('released', 'aborted', 'timed-out')),
    stored          integer NOT NULL CHECK (stored >= 0),
    failed          integer NOT NULL CHECK (failed >= 0),
    recorded_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX dicom_associations_time_idx ON dicom_associations (ended_at);

-- The series each association delivered (a completion hint: a modality's association
-- usually carries whole series).
CREATE TABLE dicom_association_series (
    association_id  uuid NOT NULL REFERENCES dicom_associations (id) ON DELETE CASCADE,
    study_uid       text NOT NULL,
    series_uid      text NOT NULL,
    instances       integer NOT NULL CHECK (instances > 0),
    PRIMARY KEY (association_id, series_uid)
);

CREATE INDEX dicom_association_series_idx ON dicom_association_series (series_uid);

-- Each report version sent (or to be sent) to each destination.
CREATE TABLE dispatch_deliveries (
    report_id       uuid NOT NULL,
    version         integer NOT NULL CHECK (version >= 1),
    destination     text NOT NULL CHECK (destination ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    study_uid       dicom_uid NOT NULL,
    cause           text NOT NULL CHECK (cause IN ('report.drafted', 'report.signed', 'manual')),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    sop_uids        text[] NOT NULL DEFAULT '{}',
    last_error      text,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    PRIMARY KEY (report_id, version, destination),
    CONSTRAINT delivered_has_time CHECK (status <> 'delivered' OR delivered_at IS NOT NULL)
);

CREATE INDEX dispatch_deliveries_study_idx ON dispatch_deliveries (study_uid);

CREATE TRIGGER dispatch_deliveries_touch BEFORE UPDATE ON dispatch_deliveries
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
