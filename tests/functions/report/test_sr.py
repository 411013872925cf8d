"""The DICOM SR: built by highdicom on the real film, valid per dciodvfy, read back equal."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from dciodvfy import dciodvfy_errors
from pydicom import dcmread
from pydicom.dataset import Dataset
from report import codes
from report.content import ReportContent, ReportedSeries, Signature
from report.sr import TYPE2_PATIENT_AND_STUDY, SrFinding, build_sr, read_sr, sr_bytes, sr_uid

MakeContent = Callable[..., ReportContent]


def _signed(make_content: MakeContent, version: int, status: str, **more: object) -> ReportContent:
    signature = Signature(user="dr.who", role="radiologist", name="Who^Doctor",
                          at=datetime(2024, 5, 7, 8, 0, tzinfo=UTC))  # fmt: skip
    return make_content(version=version, status=status, signature=signature, **more)


def test_the_sr_reads_back_as_it_was_built(make_content: MakeContent, film_header: Dataset) -> None:
    content = make_content()
    summary = read_sr(sr_bytes(build_sr(content, [film_header])))
    assert summary.sop_uid == sr_uid(content)
    assert (summary.study_uid, summary.patient_id) == (
        film_header.StudyInstanceUID, film_header.PatientID,
    )  # fmt: skip
    assert (summary.preliminary, summary.verified) == (True, False)
    assert summary.impression == content.impression
    assert summary.findings == tuple(
        SrFinding(label=f.label, code=codes.code_of(f), probability=f.probability,
                  threshold=f.threshold, present=f.positive, source_sop_uid=f.sop_uid)
        for _, f in content.results
    )  # fmt: skip
    assert summary.complete and len(summary.comments) == 1  # the intended use


def test_a_pending_series_makes_the_sr_partial_and_is_named_with_any_identity_conflict(
    make_content: MakeContent, film_header: Dataset, tmp_path: Path
) -> None:
    base = make_content()
    ct = ReportedSeries(series_uid="1.2.3.9", modality="CT", pipeline="ct", outcome="pending")
    content = make_content(series=(*base.series, ct), patient_conflicts=("birth_date",))
    path = tmp_path / "report.sr.dcm"
    path.write_bytes(sr_bytes(build_sr(content, [film_header])))
    assert dciodvfy_errors(path, "ComprehensiveSR") == []
    summary = read_sr(path.read_bytes())
    assert not summary.complete and dcmread(path).CompletionFlag == "PARTIAL"
    assert summary.comments[1:] == (
        "Pending: CT series 1.2.3.9 (ct) has no AI result yet.",
        "Patient record conflict: the birth date differs between images filed under this "
        "patient. Verify the patient's identity.",
    )


def test_the_sr_copies_patient_and_study_and_references_the_source_image(
    make_content: MakeContent, film_header: Dataset
) -> None:
    sr = dcmread(BytesIO(sr_bytes(build_sr(make_content(), [film_header]))))
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID",
                    "AccessionNumber", "ReferringPhysicianName"):  # fmt: skip
        assert sr.get(keyword) == film_header.get(keyword), keyword
    [study] = sr.CurrentRequestedProcedureEvidenceSequence
    [series] = study.ReferencedSeriesSequence
    [instance] = series.ReferencedSOPSequence
    assert series.SeriesInstanceUID == film_header.SeriesInstanceUID
    assert (instance.ReferencedSOPClassUID, instance.ReferencedSOPInstanceUID) == (
        film_header.SOPClassUID, film_header.SOPInstanceUID,
    )  # fmt: skip
    assert sr.Modality == "SR" and "NOT FOR DIAGNOSTIC USE" in sr.SeriesDescription


@pytest.mark.parametrize("signed", [False, True], ids=["preliminary", "amended"])
def test_dciodvfy_finds_no_error(
    make_content: MakeContent, film_header: Dataset, tmp_path: Path, signed: bool
) -> None:
    first = build_sr(make_content(), [film_header])
    if signed:
        final = build_sr(_signed(make_content, 2, "final"), [film_header], previous=[first])
        content = _signed(make_content, 3, "amended", amendment_reason="typo",
                          impression="Corrected: no opacity.")  # fmt: skip
        sr = build_sr(content, [film_header], previous=[final])
    else:
        sr = first
    path = tmp_path / "report.sr.dcm"
    path.write_bytes(sr_bytes(sr))
    assert dciodvfy_errors(path, "ComprehensiveSR") == []
    if signed:
        summary = read_sr(path.read_bytes())
        assert (summary.preliminary, summary.verified) == (False, True)
        assert summary.predecessors == (final.SOPInstanceUID,)
        assert summary.impression == "Corrected: no opacity."
        assert dcmread(path).VerifyingObserverSequence[0].VerifyingObserverName == "Who^Doctor"


def test_a_deidentified_source_without_its_method_still_gives_a_valid_sr(
    make_content: MakeContent, film_header: Dataset, tmp_path: Path
) -> None:
    source = film_header.copy()
    source.PatientIdentityRemoved = "YES"  # as the synthetic samples say, without the method
    path = tmp_path / "report.sr.dcm"
    path.write_bytes(sr_bytes(build_sr(make_content(), [source])))
    assert dciodvfy_errors(path, "ComprehensiveSR") == []
    assert dcmread(path).DeidentificationMethod == "Not stated by the source images"


def test_a_source_without_the_type2_patient_and_study_attributes_gives_a_valid_sr(
    make_content: MakeContent, film_header: Dataset, tmp_path: Path
) -> None:
    """A modality may leave out Type 2 attributes (here: all of them); the SR has them empty."""
    source = copy.deepcopy(film_header)
    for keyword in TYPE2_PATIENT_AND_STUDY:
        delattr(source, keyword)
    path = tmp_path / "report.sr.dcm"
    path.write_bytes(sr_bytes(build_sr(make_content(), [source])))
    assert dciodvfy_errors(path, "ComprehensiveSR") == []
    sr = dcmread(path)
    assert all(sr[keyword].value in ("", None) for keyword in TYPE2_PATIENT_AND_STUDY)
    assert "PatientBirthDate" not in source, "the source image is left as it was"


def test_an_sr_needs_its_source_images(make_content: MakeContent) -> None:
    with pytest.raises(ValueError, match="evidence is empty"):
        build_sr(make_content(), [])
