"""The patient as a study's own instances name them (the DICOM Patient module).

A :class:`Patient` is read from an instance (:meth:`Patient.from_dataset`, or
:meth:`Patient.of` from header strings), never from another study: two studies without a
Patient ID are two patients, and two studies under one (issuer, Patient ID) keep the names
their images carry. :meth:`Patient.differences` says which attributes two readings disagree
on, which ingest records as a conflict of the patient record. It holds PHI: never log it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Final, Literal, get_args

import psycopg
from psycopg.rows import TupleRow
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "PATIENT_ATTRIBUTES",
    "Patient",
    "PatientAttribute",
    "Sex",
    "dicom_date",
    "record_conflicts",
]

Sex = Literal["M", "F", "O"]
PatientAttribute = Literal["patient_id", "name", "birth_date", "sex"]
PATIENT_ATTRIBUTES: Final = get_args(PatientAttribute)


class Patient(BaseModel):
    """Patient ID within its issuer, name, birth date and sex, as one instance gives them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patient_id: str = Field(default="", description="PatientID (0010,0020); empty: unknown.")
    issuer: str = Field(default="", description="IssuerOfPatientID (0010,0021).")
    name: str | None = Field(default=None, description="DICOM PN, e.g. Doe^Jane")
    birth_date: date | None = None
    sex: Sex | None = None

    @property
    def identified(self) -> bool:
        """True when the Patient ID is known: only then do studies share a patient record."""
        return bool(self.patient_id)

    @classmethod
    def of(
        cls,
        *,
        patient_id: str | None,
        issuer: str | None,
        name: str | None,
        birth_date: str | None,
        sex: str | None,
    ) -> Patient:
        """From header strings: a DA that is not a valid date and a sex outside M/F/O are
        left out (unknown), never guessed."""
        return cls(
            patient_id=(patient_id or "").strip(),
            issuer=(issuer or "").strip(),
            name=(name or "").strip() or None,
            birth_date=dicom_date(birth_date),
            sex=_sex(sex),
        )

    @classmethod
    def from_dataset(cls, ds: Dataset) -> Patient:
        """From an instance's Patient module."""

        def text(keyword: str) -> str | None:
            value = ds.get(keyword)
            return str(value) if value is not None else None

        return cls.of(
            patient_id=text("PatientID"),
            issuer=text("IssuerOfPatientID"),
            name=text("PatientName"),
            birth_date=text("PatientBirthDate"),
            sex=text("PatientSex"),
        )

    def differences(self, other: Patient) -> tuple[PatientAttribute, ...]:
        """The attributes both readings give and disagree on (names compared without case and
        trailing empty components)."""
        pairs: dict[PatientAttribute, tuple[object, object]] = {
            "patient_id": (self.id_text(), other.id_text()),
            "name": (_name(self.name), _name(other.name)),
            "birth_date": (self.birth_date, other.birth_date),
            "sex": (self.sex, other.sex),
        }
        return tuple(
            attribute
            for attribute, (mine, theirs) in pairs.items()
            if mine is not None and theirs is not None and mine != theirs
        )

    def id_text(self) -> str | None:
        """``ID`` or ``ID (issuer)``; None when the Patient ID is unknown."""
        if not self.patient_id:
            return None
        return self.patient_id + (f" ({self.issuer})" if self.issuer else "")

    def value(self, attribute: PatientAttribute) -> str | None:
        """One attribute as text (what a conflict records)."""
        values = {
            "patient_id": self.id_text(),
            "name": self.name,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
        }
        return values[attribute]


_CONFLICTS = """
SELECT DISTINCT s.study_uid, c.attribute FROM patient_conflicts c
JOIN studies s ON s.patient_pk = c.patient_pk WHERE s.study_uid = ANY(%s)
"""


def record_conflicts(
    conn: psycopg.Connection[TupleRow], study_uids: list[str]
) -> dict[str, tuple[PatientAttribute, ...]]:
    """Per study, the attributes on which images filed under its patient record disagree (in
    the study or in another under the same Patient ID); studies without any are left out."""
    found: dict[str, set[str]] = {}
    for study_uid, attribute in conn.execute(_CONFLICTS, (study_uids,)).fetchall():
        found.setdefault(str(study_uid), set()).add(str(attribute))
    return {
        study_uid: tuple(a for a in PATIENT_ATTRIBUTES if a in attributes)
        for study_uid, attributes in found.items()
    }


def dicom_date(value: str | None) -> date | None:
    """A DICOM DA (``YYYYMMDD``) as a date; None when absent or not a valid date."""
    text = (value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


_SEXES: Final[dict[str, Sex]] = {"M": "M", "F": "F", "O": "O"}


def _sex(value: str | None) -> Sex | None:
    return _SEXES.get((value or "").strip().upper())


def _name(value: str | None) -> str | None:
    if value is None:
        return None
    components = [part.strip().casefold() for part in value.split("=")[0].split("^")]
    while components and not components[-1]:
        components.pop()
    return "^".join(components) or None
