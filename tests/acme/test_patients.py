"""The patient as one instance names them, and when two readings disagree."""

from __future__ import annotations

from datetime import date

from pydicom.dataset import Dataset

from acme.patients import Patient


def test_header_values_are_read_and_unusable_ones_left_unknown() -> None:
    patient = Patient.of(
        patient_id=" MRN-1 ", issuer="ACME", name="Doe^Jane", birth_date="19500230", sex="f"
    )
    assert (patient.patient_id, patient.issuer, patient.name) == ("MRN-1", "ACME", "Doe^Jane")
    assert (patient.birth_date, patient.sex) == (None, "F")  # 30 February is no date
    assert Patient.of(patient_id="", issuer=None, name=" ", birth_date=None, sex="X") == Patient()
    assert not Patient().identified and patient.identified
    ds = Dataset()
    ds.PatientID, ds.PatientName, ds.PatientBirthDate, ds.PatientSex = (
        "7",
        "Roe^Rick",
        "19610203",
        "M",
    )
    assert Patient.from_dataset(ds) == Patient(
        patient_id="7", name="Roe^Rick", birth_date=date(1961, 2, 3), sex="M"
    )


def test_differences_ignore_case_trailing_components_and_missing_values() -> None:
    record = Patient(patient_id="7", issuer="ACME", name="Doe^Jane", birth_date=date(1950, 1, 1))
    assert record.differences(Patient(patient_id="7", issuer="ACME", name="DOE^JANE^^")) == ()
    assert record.differences(Patient(name="Doe^Jane^Q", sex="F")) == ("name",)
    other = Patient(patient_id="8", issuer="ACME", birth_date=date(1950, 1, 2))
    assert record.differences(other) == ("patient_id", "birth_date")
    assert (record.value("patient_id"), record.value("birth_date")) == ("7 (ACME)", "1950-01-01")
