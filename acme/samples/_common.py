"""Shared pieces of the sample writers: deterministic UIDs and random streams, the synthetic
patient and study identity every sample carries, and Part 10 writing.

Nothing here reads the clock or the environment: the same seed gives the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, generate_uid

from acme.errors import AcmeError
from acme.samples.manifest import Kind, Pipeline, SampleFile

MANUFACTURER = "Acme Synthetic"
INSTITUTION = "Acme Synthetic Hospital"
STUDY_DATE = "20240115"
NOT_FOR_DIAGNOSIS = "SYNTHETIC SAMPLE - NOT FOR DIAGNOSTIC USE"
IMPLEMENTATION_UID = generate_uid(entropy_srcs=["acme-samples", "implementation"])
IMPLEMENTATION_VERSION = "ACME_SAMPLES_1"


class SamplesError(AcmeError):
    """The sample set cannot be written; the message names the argument or resource."""


@dataclass(frozen=True)
class UidFactory:
    """UIDs derived from the seed and a role name, so a seed always gives the same UIDs."""

    seed: int

    def uid(self, *role: str) -> UID:
        """A UID unique to ``(seed, role)``, under pydicom's UID root.

        pydicom concatenates entropy sources without a separator, so they are joined here with
        one, keeping ``("ct", "sop", "11")`` and ``("ct", "sop1", "1")`` apart.
        """
        return generate_uid(entropy_srcs=["\0".join(["acme-samples", str(self.seed), *role])])


def rng_for(seed: int, *role: str) -> np.random.Generator:
    """An independent random stream for ``(seed, role)``; stable across processes."""
    digest = hashlib.sha256("\0".join(["acme-samples", str(seed), *role]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


@dataclass(frozen=True)
class Patient:
    """An obviously synthetic patient."""

    name: str
    patient_id: str
    birth_date: str
    sex: str


@dataclass(frozen=True)
class StudyIdentity:
    """Everything that puts an instance into its patient, study and series."""

    patient: Patient
    study_uid: UID
    series_uid: UID
    accession: str
    study_id: str
    description: str
    study_date: str = STUDY_DATE
    study_time: str = "093000"
    series_number: int = 1

    @classmethod
    def make(
        cls, uids: UidFactory, role: str, patient: Patient, number: int, description: str
    ) -> StudyIdentity:
        """A study ``role`` with accession ``SYN-A<number>`` and study id ``S<number>``."""
        return cls(
            patient=patient,
            study_uid=uids.uid(role, "study"),
            series_uid=uids.uid(role, "series"),
            accession=f"SYN-A{number:04d}",
            study_id=f"S{number:04d}",
            description=description,
        )


def base_dataset(
    identity: StudyIdentity,
    *,
    sop_class: str,
    sop_uid: UID,
    modality: str,
    instance_number: int,
) -> Dataset:
    """The patient, study, series, equipment and SOP common attributes of one instance."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = identity.study_date
    ds.SeriesDate = identity.study_date
    ds.ContentDate = identity.study_date
    ds.StudyTime = identity.study_time
    ds.SeriesTime = identity.study_time
    ds.ContentTime = identity.study_time
    ds.AccessionNumber = identity.accession
    ds.Modality = modality
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = INSTITUTION
    ds.ReferringPhysicianName = "SYNTHETIC^REFERRER"
    ds.StudyDescription = identity.description
    ds.SeriesDescription = identity.description
    ds.ManufacturerModelName = "acme.samples"
    set_identity(ds, identity)
    ds.StudyID = identity.study_id
    ds.SeriesNumber = identity.series_number
    ds.InstanceNumber = instance_number
    ds.ImageComments = NOT_FOR_DIAGNOSIS
    return ds


def file_meta(ds: Dataset, transfer_syntax: str) -> FileMetaDataset:
    """File meta information for ``ds`` stored with ``transfer_syntax``, naming this writer (not
    pydicom) as the implementation, so the bytes do not change with pydicom's version."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta


def write_part10(ds: Dataset, path: Path) -> None:
    """Write ``ds`` (which carries its ``file_meta``) as a DICOM Part 10 file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dcmwrite(path, ds, enforce_file_format=True)


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class WriteContext:
    """Where and with which seed the writers write, and whom they tell about each file."""

    root: Path
    seed: int
    on_file: Callable[[SampleFile], None]

    @property
    def uids(self) -> UidFactory:
        return UidFactory(self.seed)

    def rng(self, *role: str) -> np.random.Generator:
        return rng_for(self.seed, *role)

    def relative(self, path: Path) -> str:
        """``path`` relative to the sample directory, with forward slashes."""
        return path.relative_to(self.root).as_posix()


def _text(ds: Dataset | None, keyword: str) -> str | None:
    if ds is None or keyword not in ds:
        return None
    value = ds[keyword].value
    return str(value) if value else None


def record(
    ctx: WriteContext,
    path: Path,
    *,
    category: str,
    description: str,
    ds: Dataset | None = None,
    pipeline: Pipeline = Pipeline.NONE,
    reason: str | None = None,
) -> SampleFile:
    """Describe the file just written at ``path`` (from ``ds`` when it is DICOM) and report it."""
    meta = getattr(ds, "file_meta", None) if ds is not None else None
    entry = SampleFile(
        path=ctx.relative(path),
        kind=Kind.GOOD if reason is None else Kind.BAD,
        category=category,
        description=description,
        size_bytes=path.stat().st_size,
        sha256=sha256_of(path),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        sop_uid=_text(ds, "SOPInstanceUID"),
        modality=_text(ds, "Modality"),
        transfer_syntax=_text(meta, "TransferSyntaxUID"),
        expected_pipeline=pipeline,
        expected_reason=reason,
    )
    ctx.on_file(entry)
    return entry


def set_identity(ds: Dataset, identity: StudyIdentity) -> None:
    """The synthetic patient (declared de-identified) and the study and series UIDs."""
    ds.PatientName = identity.patient.name
    ds.PatientID = identity.patient.patient_id
    ds.PatientBirthDate = identity.patient.birth_date
    ds.PatientSex = identity.patient.sex
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "Identity replaced with synthetic values; no real patient"
    ds.StudyInstanceUID = identity.study_uid
    ds.SeriesInstanceUID = identity.series_uid
