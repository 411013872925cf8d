"""Every good file parses and decodes, and carries what the manifest says it carries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from pydicom.data import get_testdata_file
from pydicom.dataset import FileDataset
from pydicom.uid import ImplicitVRLittleEndian, JPEG2000Lossless, RLELossless

from acme.samples import (
    CtChestTruth,
    CtQaTruth,
    CxrFinding,
    CxrTruth,
    SampleManifest,
    SampleStudy,
)


def _read(samples_dir: Path, path: str) -> FileDataset:
    if path.startswith("good/no-preamble/"):
        ds = pydicom.dcmread(samples_dir / path, force=True)
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        return ds
    return pydicom.dcmread(samples_dir / path)


def _study(manifest: SampleManifest, category: str, finding: CxrFinding) -> SampleStudy:
    for entry in manifest.good():
        if entry.category != category or entry.study_uid is None:
            continue
        study = manifest.study(entry.study_uid)
        if isinstance(study.truth, CxrTruth) and study.truth.finding is finding:
            return study
    raise AssertionError(f"no {category} study with {finding}")


def _display(ds: FileDataset) -> NDArray[np.float64]:
    """Pixels with white the most attenuating, whatever the photometric interpretation."""
    pixels = ds.pixel_array.astype(np.float64)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        return float((1 << ds.BitsStored) - 1) - pixels
    return pixels


def test_every_good_file_parses_and_decodes(samples_dir: Path, manifest: SampleManifest) -> None:
    for entry in manifest.good():
        ds = _read(samples_dir, entry.path)
        pixels = ds.pixel_array
        assert pixels.shape == (ds.Rows, ds.Columns), entry.path
        assert ds.SOPInstanceUID == entry.sop_uid
        assert ds.StudyInstanceUID == entry.study_uid
        assert ds.SeriesInstanceUID == entry.series_uid
        assert ds.Modality == entry.modality
        assert str(ds.PatientName).startswith("SYNTHETIC^"), entry.path
        assert str(ds.PatientID).startswith("SYN-"), entry.path
        assert ds.AccessionNumber.startswith("SYN-A")
        assert ds.StudyID and ds.StudyDate and ds.InstanceNumber


def test_sop_instance_uids_are_unique(manifest: SampleManifest) -> None:
    uids = [f.sop_uid for f in manifest.good()]
    assert len(uids) == len(set(uids))


def test_real_film_keeps_its_pixels_under_new_uids(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    real = [f for f in manifest.good() if f.category == "real-cxr"]
    assert len(real) == 2 and len({f.study_uid for f in real}) == 2
    plain, j2k = (pydicom.dcmread(samples_dir / f.path) for f in real)
    for ds, source in ((plain, "RG1_UNCR.dcm"), (j2k, "RG1_J2KR.dcm")):
        source_path = get_testdata_file(source, download=False)
        assert isinstance(source_path, str)
        original = pydicom.dcmread(source_path)
        assert ds.PixelData == original.PixelData
        assert ds.StudyInstanceUID != original.StudyInstanceUID
        assert ds.SOPInstanceUID != original.SOPInstanceUID
        assert (ds.Modality, ds.BodyPartExamined, ds.ViewPosition) == ("CR", "CHEST", "PA")
        assert ds.PhotometricInterpretation == "MONOCHROME1"
    assert j2k.file_meta.TransferSyntaxUID == JPEG2000Lossless
    assert np.array_equal(plain.pixel_array, j2k.pixel_array)


def test_synthetic_radiographs_cover_the_encodings(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    cxr = [pydicom.dcmread(samples_dir / f.path) for f in manifest.good() if f.category == "cxr"]
    assert {ds.PhotometricInterpretation for ds in cxr} == {"MONOCHROME1", "MONOCHROME2"}
    assert {RLELossless, JPEG2000Lossless} <= {ds.file_meta.TransferSyntaxUID for ds in cxr}
    assert {ds.Modality for ds in cxr} == {"CR", "DX"}
    for ds in cxr:
        assert (ds.Rows, ds.Columns, ds.BitsStored) == (1024, 1024, 12)
        assert int(ds.pixel_array.max()) < 4096
        assert ds.Manufacturer == "Acme Synthetic"
        assert (ds.BodyPartExamined, ds.ViewPosition) == ("CHEST", "PA")


@pytest.mark.parametrize("finding", [CxrFinding.OPACITY, CxrFinding.EFFUSION])
def test_finding_is_in_the_image_where_the_truth_says(
    samples_dir: Path, manifest: SampleManifest, finding: CxrFinding
) -> None:
    study = _study(manifest, "cxr", finding)
    assert isinstance(study.truth, CxrTruth) and study.truth.box is not None
    (entry,) = manifest.files_of(study.study_uid)
    pixels = _display(pydicom.dcmread(samples_dir / entry.path))
    box = study.truth.box
    width = pixels.shape[1]
    inside = pixels[box.row_min : box.row_max, box.col_min : box.col_max]
    mirror = pixels[box.row_min : box.row_max, width - box.col_max : width - box.col_min]
    assert inside.mean() > mirror.mean() + 150


def test_no_preamble_file_is_a_bare_dataset(samples_dir: Path, manifest: SampleManifest) -> None:
    (entry,) = [f for f in manifest.good() if f.category == "no-preamble"]
    data = (samples_dir / entry.path).read_bytes()
    assert data[128:132] != b"DICM" and data[:4] == b"\x08\x00\x05\x00"
    with pytest.raises(pydicom.errors.InvalidDicomError):
        pydicom.dcmread(samples_dir / entry.path)
    assert entry.transfer_syntax == ImplicitVRLittleEndian


def test_ct_series_geometry_is_consistent(samples_dir: Path, manifest: SampleManifest) -> None:
    study = manifest.study(str(manifest.file("good/ct/CT000001.dcm").study_uid))
    slices = [
        pydicom.dcmread(samples_dir / f.path, stop_before_pixels=True)
        for f in manifest.files_of(study.study_uid)
    ]
    assert len(slices) == study.instances == 100
    slices.sort(key=lambda ds: int(ds.InstanceNumber))
    assert [int(ds.InstanceNumber) for ds in slices] == list(range(1, 101))
    z = np.array([float(ds.ImagePositionPatient[2]) for ds in slices])
    spacing = float(slices[0].SpacingBetweenSlices)
    assert spacing == float(slices[0].SliceThickness) > 0
    assert np.allclose(np.diff(z), spacing)
    assert np.allclose([float(ds.SliceLocation) for ds in slices], z)
    assert len({ds.SOPInstanceUID for ds in slices}) == 100
    for ds in slices:
        assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
        assert [float(v) for v in ds.ImagePositionPatient[:2]] == [
            float(v) for v in slices[0].ImagePositionPatient[:2]
        ]
        assert ds.FrameOfReferenceUID == slices[0].FrameOfReferenceUID
        assert ds.SeriesInstanceUID == study.series_uid
        assert (ds.Rows, ds.Columns) == (512, 512)
        assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
        assert ds.BodyPartExamined == "CHEST"


def test_ct_phantom_has_its_nodule_lungs_and_bone(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    study = manifest.study(str(manifest.file("good/ct/CT000001.dcm").study_uid))
    assert isinstance(study.truth, CtChestTruth)
    (truth,) = study.truth.nodules
    assert (truth.side, truth.diameter_mm) == ("right", 12.0)
    files = {f.path: f for f in manifest.files_of(study.study_uid)}
    centre = pydicom.dcmread(samples_dir / f"good/ct/CT{truth.instance_number:06d}.dcm")
    assert f"good/ct/CT{truth.instance_number:06d}.dcm" in files
    assert float(centre.ImagePositionPatient[2]) == truth.center_mm[2]
    origin = [float(v) for v in centre.ImagePositionPatient[:2]]
    spacing = [float(v) for v in centre.PixelSpacing]
    assert origin[0] + truth.column * spacing[1] == pytest.approx(truth.center_mm[0])
    assert origin[1] + truth.row * spacing[0] == pytest.approx(truth.center_mm[1])
    hu = centre.pixel_array * float(centre.RescaleSlope) + float(centre.RescaleIntercept)
    r, c = truth.row, truth.column
    assert hu[r - 2 : r + 3, c - 2 : c + 3].mean() == pytest.approx(truth.hu, abs=15)
    lung = hu[r - 2 : r + 3, c + 20 : c + 25].mean()
    assert -900 < lung < -700
    assert hu[256 + 100, 256 - 2 : 256 + 3].mean() > 500  # the vertebral body, 75 mm posterior
    assert hu[5, 5] < -950  # air outside the body


def test_the_set_has_twelve_studies_four_chest_cts_and_two_qa_phantoms(
    manifest: SampleManifest,
) -> None:
    assert len(manifest.studies) == 12
    chests = [s.truth for s in manifest.studies if isinstance(s.truth, CtChestTruth)]
    assert sorted(len(t.nodules) for t in chests) == [0, 1, 1, 2]
    nodules = [n for t in chests for n in t.nodules]
    assert {n.side for n in nodules} == {"left", "right"}
    assert len({n.diameter_mm for n in nodules}) == len(nodules)  # different sizes
    qa = [s.truth for s in manifest.studies if isinstance(s.truth, CtQaTruth)]
    assert sorted(t.passes for t in qa) == [False, True]
    assert [s.expected_pipeline for s in manifest.studies].count("ct-qa") == 2


def test_a_ct_phantom_nodule_lies_where_its_truth_says(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    study = manifest.study(str(manifest.file("good/ct-two-nodules/CT000001.dcm").study_uid))
    assert isinstance(study.truth, CtChestTruth)
    for nodule in study.truth.nodules:
        ds = pydicom.dcmread(
            samples_dir / f"good/ct-two-nodules/CT{nodule.instance_number:06d}.dcm"
        )
        hu = ds.pixel_array.astype(float) - 1024.0
        assert hu[nodule.row, nodule.column] == pytest.approx(nodule.hu, abs=40)
        assert (nodule.center_mm[0] > 0) == (nodule.side == "left")  # LPS: +x is the left
