"""DICOM test files: the real chest film of pydicom-data with fresh UIDs, and broken copies."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from acme.samples.real import testdata_path


def fresh_cxr(name: str = "RG1_UNCR.dcm") -> Dataset:
    """The real PA chest film (CR, CHEST, L\\F) as a new study, series and instance."""
    ds = dcmread(testdata_path(name))
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientID = f"TEST-{ds.SOPInstanceUID[-8:]}"
    ds.PatientName = "TEST^EDGE"
    return ds


def part10(ds: Dataset) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def write(ds: Dataset, path: Path) -> Path:
    path.write_bytes(part10(ds))
    return path


def truncated_copy(ds: Dataset, path: Path, keep: float = 0.6) -> Path:
    """``ds`` written, then cut inside its pixel data: the file meta is still whole."""
    data = part10(ds)
    path.write_bytes(data[: int(len(data) * keep)])
    return path
