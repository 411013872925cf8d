"""The instances the ingest and send benchmarks move: copies of a real 512x512 CT slice."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread
from pydicom.uid import generate_uid

from acme.samples.real import testdata_path

__all__ = ["ct_instances"]


def ct_instances(folder: Path, count: int, *, per_series: int = 100) -> list[Path]:
    """``count`` CT instances (pydicom-data's 693_UNCR.dcm, a real head slice of 512x512,
    0.5 MB) with fresh UIDs, ``per_series`` to a series, written under ``folder``."""
    base = dcmread(testdata_path("693_UNCR.dcm"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    study = series = ""
    for index in range(count):
        if index % per_series == 0:
            study, series = generate_uid(), generate_uid()
        ds = base.copy()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = index % per_series + 1
        path = folder / f"{index:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
