"""The patient record a study is filed under, and the conflicts an instance shows with it.

Studies share a record only under a non-empty Patient ID within its issuer; a study without a
Patient ID gets a record of its own. A record keeps the first value it was given for each
attribute (a missing one is filled in later); an instance that names the patient otherwise is
recorded in ``patient_conflicts`` and changes nothing, so no study ever takes another's name.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from acme.patients import Patient

_SHARED = (
    "INSERT INTO patients (patient_id, issuer_of_patient_id) VALUES (%s, %s)"
    " ON CONFLICT (issuer_of_patient_id, patient_id) WHERE patient_id <> ''"
    " DO UPDATE SET patient_id = EXCLUDED.patient_id RETURNING id"
)
_OWN = "INSERT INTO patients (patient_id, issuer_of_patient_id) VALUES ('', %s) RETURNING id"
_RECORD = (
    "SELECT patient_id, issuer_of_patient_id, patient_name, birth_date, sex FROM patients"
    " WHERE id = %s"
)
_FILL = (
    "UPDATE patients SET patient_name = COALESCE(patient_name, %s),"
    " birth_date = COALESCE(birth_date, %s), sex = COALESCE(sex, %s) WHERE id = %s"
    " RETURNING patient_id, issuer_of_patient_id, patient_name, birth_date, sex"
)
_CONFLICT = (
    "INSERT INTO patient_conflicts (patient_pk, study_uid, sop_uid, attribute, recorded,"
    " received) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


def file_patient(
    conn: psycopg.Connection[TupleRow], study_uid: str, sop_uid: str, patient: Patient
) -> int:
    """The record of the study's patient (created with the study's first instance); records
    each attribute on which ``patient`` (read from instance ``sop_uid``) differs from it.

    Row locks are taken only to create the record or fill a missing value, so the instances
    of one study are indexed side by side.
    """
    pk = _record_of(conn, study_uid, lock=False)
    if pk is None:
        pk = _record_of(conn, study_uid, lock=True)  # the study's first instance: create it
    if pk is None:
        pk = _create(conn, patient)
        conn.execute("UPDATE studies SET patient_pk = %s WHERE study_uid = %s", (pk, study_uid))
    row = conn.execute(_RECORD, (pk,)).fetchone()
    assert row is not None
    record = _reading(row)
    if _fills(record, patient):
        filled = conn.execute(_FILL, (patient.name, patient.birth_date, patient.sex, pk))
        row = filled.fetchone()
        assert row is not None
        record = _reading(row)
    for attribute in record.differences(patient):
        conn.execute(
            _CONFLICT,
            (pk, study_uid, sop_uid, attribute, record.value(attribute), patient.value(attribute)),
        )
    return pk


def _record_of(conn: psycopg.Connection[TupleRow], study_uid: str, *, lock: bool) -> int | None:
    row = conn.execute(
        "SELECT patient_pk FROM studies WHERE study_uid = %s" + (" FOR UPDATE" if lock else ""),
        (study_uid,),
    ).fetchone()
    if row is None:
        raise LookupError(f"study {study_uid} must be indexed before its patient is filed")
    return int(row[0]) if row[0] is not None else None


def _create(conn: psycopg.Connection[TupleRow], patient: Patient) -> int:
    if patient.identified:
        found = conn.execute(_SHARED, (patient.patient_id, patient.issuer)).fetchone()
    else:
        found = conn.execute(_OWN, (patient.issuer,)).fetchone()
    assert found is not None
    return int(found[0])


def _reading(row: tuple[object, ...]) -> Patient:
    patient_id, issuer, name, birth_date, sex = row
    return Patient.model_validate(
        {"patient_id": patient_id, "issuer": issuer, "name": name, "birth_date": birth_date,
         "sex": sex}
    )  # fmt: skip


def _fills(record: Patient, patient: Patient) -> bool:
    """True when the instance gives a value the record lacks."""
    return any(
        getattr(record, field) is None and getattr(patient, field) is not None
        for field in ("name", "birth_date", "sex")
    )
