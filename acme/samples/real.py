"""The real PA chest film from pydicom-data (``RG1_UNCR.dcm`` and its JPEG 2000 lossless form
``RG1_J2KR.dcm``), under ``good/real-cxr/``, as two studies of one synthetic patient.

pydicom-data gives both files the same study and series (and SOP UIDs differing in one digit),
so each gets new, seed-derived study, series and SOP UIDs and its own accession number. The
pixel data element is written back byte for byte, so decoders can be compared on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import UID

from acme.samples._common import (
    MANUFACTURER,
    NOT_FOR_DIAGNOSIS,
    Patient,
    SamplesError,
    StudyIdentity,
    WriteContext,
    file_meta,
    record,
    set_identity,
    write_part10,
)
from acme.samples.manifest import Pipeline, SampleStudy

_PATIENT = Patient("SYNTHETIC^REALCXR^FILM", "SYN-0001", "19400101", "F")
_REMOVED = ("OtherPatientIDs", "InstitutionName", "InstitutionalDepartmentName", "StationName")


@dataclass(frozen=True)
class _RealSpec:
    source: str
    name: str
    number: int
    study_date: str


_SPECS = (
    _RealSpec("RG1_UNCR.dcm", "rg1-uncompressed", 1, "20240110"),
    _RealSpec("RG1_J2KR.dcm", "rg1-j2k-lossless", 7, "20240112"),
)
REAL_FILE_COUNT = len(_SPECS)


def testdata_path(name: str) -> Path:
    """The path of a pydicom-data file, never downloading it."""
    found = get_testdata_file(name, download=False)
    if not isinstance(found, str):
        raise SamplesError(f"{name}: not found in pydicom-data; install the 'pydicom-data' package")
    return Path(found)


def _relabel(ds: Dataset, identity: StudyIdentity, sop_uid: UID) -> None:
    """Give ``ds`` the synthetic patient and new UIDs; leave the pixel data alone."""
    for keyword in _REMOVED:
        if keyword in ds:
            delattr(ds, keyword)
    set_identity(ds, identity)
    ds.SOPInstanceUID = sop_uid
    ds.AccessionNumber = identity.accession
    ds.StudyID = identity.study_id
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = identity.study_date
    ds.StudyDescription = identity.description
    ds.ReferringPhysicianName = "SYNTHETIC^REFERRER"
    ds.Modality = "CR"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.InstanceNumber = 1
    if "Manufacturer" not in ds:
        ds.Manufacturer = MANUFACTURER
    ds.ImageComments = f"{ds.get('ImageComments', '')} - real film, {NOT_FOR_DIAGNOSIS}".strip(" -")
    transfer_syntax = ds.file_meta.TransferSyntaxUID
    ds.file_meta = file_meta(ds, transfer_syntax)


def write_real_cxr(ctx: WriteContext) -> list[SampleStudy]:
    """Write both forms of the real chest film, each its own study."""
    studies = []
    for spec in _SPECS:
        ds = dcmread(testdata_path(spec.source))
        pixel_data = ds.PixelData
        identity = StudyIdentity(
            patient=_PATIENT,
            study_uid=ctx.uids.uid(f"real-{spec.name}", "study"),
            series_uid=ctx.uids.uid(f"real-{spec.name}", "series"),
            accession=f"SYN-A{spec.number:04d}",
            study_id=f"S{spec.number:04d}",
            description="CHEST PA (REAL FILM, pydicom-data RG1)",
            study_date=spec.study_date,
        )
        _relabel(ds, identity, ctx.uids.uid(f"real-{spec.name}", "sop"))
        if ds.PixelData != pixel_data:
            raise SamplesError(f"{spec.source}: pixel data changed while relabelling")
        path = ctx.root / "good" / "real-cxr" / f"{spec.name}.dcm"
        write_part10(ds, path)
        description = (
            f"Real PA chest CR film from pydicom-data {spec.source}, "
            f"{ds.file_meta.TransferSyntaxUID.name}, MONOCHROME1, pixel data untouched."
        )
        record(
            ctx, path, category="real-cxr", description=description, ds=ds, pipeline=Pipeline.CXR
        )
        studies.append(
            SampleStudy(
                study_uid=identity.study_uid,
                series_uid=identity.series_uid,
                patient_id=_PATIENT.patient_id,
                modality="CR",
                description=identity.description,
                instances=1,
                expected_pipeline=Pipeline.CXR,
            )
        )
    return studies
