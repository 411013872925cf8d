"""Each bad file fails in the way its reason code says."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.uid import AllTransferSyntaxes, JPEG2000Lossless

from acme.samples import (
    TOO_LARGE_PATH,
    Reason,
    SampleFile,
    SampleManifest,
    SamplesError,
    write_oversized,
)

_UNDEFINED = 0xFFFFFFFF
_META_FOR = {
    "SOPInstanceUID": "MediaStorageSOPInstanceUID",
    "SOPClassUID": "MediaStorageSOPClassUID",
}


def _with_reason(manifest: SampleManifest, code: str) -> list[SampleFile]:
    found = [f for f in manifest.bad() if (f.expected_reason or "").split(":")[0] == code]
    assert found, code
    return found


def _cut_elements(path: Path) -> list[str]:
    """Keywords of the elements with fewer value bytes than their length says."""
    ds = pydicom.dcmread(path)
    cut = []
    for tag in list(ds.keys()):
        raw: object = ds.get_item(tag)
        if (
            isinstance(raw, RawDataElement)
            and raw.length != _UNDEFINED
            and raw.value is not None
            and len(raw.value) < raw.length
        ):
            cut.append(pydicom.datadict.keyword_for_tag(tag))
    return cut


def test_not_dicom_files_are_refused_by_pydicom(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    for entry in _with_reason(manifest, Reason.NOT_DICOM):
        with pytest.raises(InvalidDicomError):
            pydicom.dcmread(samples_dir / entry.path)
    assert (samples_dir / "bad/not-dicom.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_empty_file_is_empty(samples_dir: Path, manifest: SampleManifest) -> None:
    (entry,) = _with_reason(manifest, Reason.EMPTY)
    assert entry.size_bytes == 0 and (samples_dir / entry.path).stat().st_size == 0


def test_truncated_files_are_cut_inside_an_element(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    cut = {f.path: _cut_elements(samples_dir / f.path) for f in _with_reason(manifest, "truncated")}
    assert cut == {
        "bad/truncated-pixel-data.dcm": ["PixelData"],
        "bad/truncated-header.dcm": ["ImageComments"],
    }
    header = pydicom.dcmread(samples_dir / "bad/truncated-header.dcm")
    assert "StudyInstanceUID" in header and "Rows" not in header and "PixelData" not in header
    with pytest.raises(ValueError, match="less than expected"):
        _ = pydicom.dcmread(samples_dir / "bad/truncated-pixel-data.dcm").pixel_array


def test_missing_attributes_are_really_missing(samples_dir: Path, manifest: SampleManifest) -> None:
    entries = _with_reason(manifest, Reason.MISSING_ATTRIBUTE)
    keywords = {(f.expected_reason or "").split(":")[1] for f in entries}
    assert keywords == {
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "SOPClassUID",
        "Modality",
    }
    for entry in entries:
        keyword = (entry.expected_reason or "").split(":")[1]
        ds = pydicom.dcmread(samples_dir / entry.path)
        assert not ds.get(keyword), entry.path
        assert not ds.file_meta.get(_META_FOR.get(keyword, keyword)), entry.path
        assert ds.file_meta.FileMetaInformationGroupLength > 0
        others = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "Modality"}
        assert all(ds.get(k) for k in others - {keyword}), entry.path
        _ = ds.pixel_array


def test_unsupported_syntax_is_unknown_to_pydicom(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    (entry,) = _with_reason(manifest, Reason.UNSUPPORTED_SYNTAX)
    ds = pydicom.dcmread(samples_dir / entry.path)
    assert ds.file_meta.TransferSyntaxUID == entry.transfer_syntax
    assert ds.file_meta.TransferSyntaxUID not in AllTransferSyntaxes
    with pytest.raises(NotImplementedError):
        _ = ds.pixel_array


def test_corrupt_pixel_data_parses_but_does_not_decode(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    (entry,) = _with_reason(manifest, Reason.CORRUPT_PIXEL_DATA)
    ds = pydicom.dcmread(samples_dir / entry.path)
    assert ds.file_meta.TransferSyntaxUID == JPEG2000Lossless
    assert ds.StudyInstanceUID == entry.study_uid
    with pytest.raises(RuntimeError):
        _ = ds.pixel_array


def test_uid_conflict_reuses_a_good_instance_uid(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    (entry,) = _with_reason(manifest, Reason.UID_CONFLICT)
    (original,) = [f for f in manifest.good() if f.sop_uid == entry.sop_uid]
    assert manifest.files.index(original) < manifest.files.index(entry)
    assert (original.study_uid, original.series_uid) == (entry.study_uid, entry.series_uid)
    assert original.sha256 != entry.sha256
    ds = pydicom.dcmread(samples_dir / entry.path)
    assert ds.SOPInstanceUID == original.sop_uid


def test_bad_files_share_no_uid_with_good_ones_except_the_conflict(
    manifest: SampleManifest,
) -> None:
    good = {f.study_uid for f in manifest.good()}
    for entry in manifest.bad():
        if entry.expected_reason != Reason.UID_CONFLICT:
            assert entry.study_uid is None or entry.study_uid not in good, entry.path


def test_oversized_file_is_written_on_demand(tmp_path: Path, manifest: SampleManifest) -> None:
    entry = manifest.file(TOO_LARGE_PATH)
    assert not entry.materialised and entry.expected_reason == Reason.TOO_LARGE
    limit = 3 * 1024 * 1024
    path = tmp_path / "too-large.dcm"
    size = write_oversized(path, larger_than=limit, seed=manifest.seed)
    assert size == path.stat().st_size > limit
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert (ds.StudyInstanceUID, ds.SOPInstanceUID) == (entry.study_uid, entry.sop_uid)
    pixels: object = pydicom.dcmread(path).get_item("PixelData")
    assert isinstance(pixels, RawDataElement)
    assert pixels.length == ds.Rows * ds.Columns * 2 == size - pixels.value_tell


def test_oversized_file_has_a_ceiling(tmp_path: Path) -> None:
    with pytest.raises(SamplesError, match="larger_than"):
        write_oversized(tmp_path / "x.dcm", larger_than=5 * 1024**3)
