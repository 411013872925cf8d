"""Index rows of one archived instance: study, patient, series and instance, in one transaction."""

from __future__ import annotations

from datetime import time

import psycopg
from dicom_ingest.inspect import Header, Invalid
from dicom_ingest.patients import file_patient
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from acme.lifecycle import Step, advance
from acme.outcomes import MODEL_PIPELINES
from acme.patients import Patient, dicom_date


def upsert_instance(conn: psycopg.Connection[TupleRow], header: Header, archive_key: str) -> bool:
    """Insert the instance and everything above it; True when the series is new.

    An instance of a series that has completed reopens the series: it completes again after
    its stable age (:mod:`dicom_ingest.completion`), so the late instance is scored and
    reported. Raises :class:`Invalid` when the instance contradicts what is indexed (a series
    UID already used by another study).
    """
    conn.execute(
        "INSERT INTO studies (study_uid, accession_number, study_date, study_time,"
        " study_description) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (study_uid) DO NOTHING",
        (header.study_uid, header.accession_number, dicom_date(header.study_date),
         _time(header.study_time), header.study_description),
    )  # fmt: skip
    file_patient(conn, header.study_uid, header.sop_uid, _patient(header))
    prior = conn.execute(
        "SELECT completed_at IS NOT NULL, completions, pipeline FROM series"
        " WHERE series_uid = %s FOR UPDATE",
        (header.series_uid,),
    ).fetchone()
    series = conn.execute(
        "INSERT INTO series (series_uid, study_uid, modality, body_part, series_number,"
        " series_description, routing_tags, instance_count)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, 1)"
        " ON CONFLICT (series_uid) DO UPDATE SET instance_count = series.instance_count + 1,"
        " last_instance_at = now(), completed_at = NULL"
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
    if prior is not None and prior[0]:
        _reopen(conn, header, completion=int(prior[1]), pipeline=str(prior[2]))
    return bool(series[1])


def _reopen(
    conn: psycopg.Connection[TupleRow], header: Header, *, completion: int, pipeline: str
) -> None:
    """A late instance reopened its completed series: record it (the next tick announces it)
    and, when the series went to a model, take the study back to receiving."""
    conn.execute(
        "INSERT INTO series_reopenings (series_uid, completion, pipeline, sop_uid)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (header.series_uid, completion, pipeline, header.sop_uid),
    )
    if pipeline in MODEL_PIPELINES:
        advance(conn, header.study_uid, Step.SERIES_REOPENED)


def _patient(header: Header) -> Patient:
    return Patient.of(
        patient_id=header.patient_id,
        issuer=header.issuer_of_patient_id,
        name=header.patient_name,
        birth_date=header.patient_birth_date,
        sex=header.patient_sex,
    )


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
