"""Index rows of one archived instance: patient, study, series and instance, in one transaction."""

from __future__ import annotations

from datetime import date, time

import psycopg
from dicom_ingest.inspect import Header, Invalid
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb


def upsert_instance(conn: psycopg.Connection[TupleRow], header: Header, archive_key: str) -> bool:
    """Insert the instance and everything above it; True when the series is new.

    Raises :class:`Invalid` when the instance contradicts what is indexed (a series UID
    already used by another study).
    """
    patient = conn.execute(
        "INSERT INTO patients (patient_id, issuer_of_patient_id, patient_name, birth_date, sex)"
        " VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (issuer_of_patient_id, patient_id) DO UPDATE SET"
        " patient_name = COALESCE(EXCLUDED.patient_name, patients.patient_name),"
        " birth_date = COALESCE(EXCLUDED.birth_date, patients.birth_date),"
        " sex = COALESCE(EXCLUDED.sex, patients.sex)"
        " RETURNING id",
        (header.patient_id, header.issuer_of_patient_id, header.patient_name,
         _date(header.patient_birth_date), _sex(header.patient_sex)),
    ).fetchone()  # fmt: skip
    assert patient is not None
    conn.execute(
        "INSERT INTO studies (study_uid, patient_pk, accession_number, study_date, study_time,"
        " study_description) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (study_uid) DO NOTHING",
        (header.study_uid, patient[0], header.accession_number, _date(header.study_date),
         _time(header.study_time), header.study_description),
    )  # fmt: skip
    series = conn.execute(
        "INSERT INTO series (series_uid, study_uid, modality, body_part, series_number,"
        " series_description, routing_tags, instance_count)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, 1)"
        " ON CONFLICT (series_uid) DO UPDATE SET instance_count = series.instance_count + 1,"
        " last_instance_at = now()"
        " RETURNING study_uid, (xmax = 0) AS created",
        (header.series_uid, header.study_uid, header.modality, header.body_part,
         header.series_number, header.series_description, Jsonb(header.routing_tags)),
    ).fetchone()  # fmt: skip
    assert series is not None
    if series[0] != header.study_uid:
        raise Invalid(
            "invalid-attribute:SeriesInstanceUID",
            "the series UID is already indexed under another study",
        )
    conn.execute(
        "INSERT INTO instances (sop_uid, series_uid, sop_class_uid, instance_number,"
        " transfer_syntax, sha256, size, archive_key, pixel_rows, pixel_columns,"
        " number_of_frames) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (header.sop_uid, header.series_uid, header.sop_class_uid, header.instance_number,
         header.transfer_syntax, header.sha256, header.size, archive_key, header.rows,
         header.columns, header.frames),
    )  # fmt: skip
    created = bool(series[1])
    if created:
        # A new series reopens a study that had completed (never one already further on).
        conn.execute(
            "UPDATE studies SET state = 'receiving' WHERE study_uid = %s AND state = 'complete'",
            (header.study_uid,),
        )
    return created


def _date(value: str | None) -> date | None:
    if not value or len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _time(value: str | None) -> time | None:
    if not value:
        return None
    digits = value.split(".")[0]
    if not digits.isdigit() or len(digits) not in (2, 4, 6):
        return None
    parts = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)] + [0, 0]
    try:
        return time(parts[0], parts[1], parts[2])
    except ValueError:
        return None


def _sex(value: str | None) -> str | None:
    return value if value in ("M", "F", "O") else None
