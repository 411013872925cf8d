"""Many small, valid CT instances of one series, for load and fault tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

ROOT = "1.2.826.0.1.3680043.8.498."


def write_series(folder: Path, count: int, *, size: int = 64) -> tuple[str, str, list[Path]]:
    """``count`` CT slices of one new study and series under ``folder``: (study, series, paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(ROOT), generate_uid(ROOT)
    rng = np.random.default_rng(count)
    paths = []
    for number in range(1, count + 1):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(ROOT)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.BodyPartExamined, ds.ImageType = (
            "CT",
            "CHEST",
            ["ORIGINAL", "PRIMARY", "AXIAL"],
        )
        ds.PatientID, ds.PatientName = "LOAD-1", "Load^Test"
        ds.InstanceNumber = number
        ds.ImagePositionPatient = [0.0, 0.0, float(number)]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 1.0
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = rng.integers(0, 4096, (size, size), dtype=np.uint16).tobytes()
        path = folder / f"{number:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return study, series, paths
