"""The objects sent back: valid per dciodvfy, in the source study, with stable UIDs."""

from __future__ import annotations

import uuid
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from dciodvfy import dciodvfy_errors
from dicomfiles import fresh_cxr, part10
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset

from acme.dicomnet.outputs import (
    ENCAPSULATED_PDF,
    KeySource,
    encapsulated_pdf,
    output_uid,
    secondary_capture,
)

REPORT = uuid.UUID("6a1c0d6e-52b0-4d4b-8a32-0a3f5b0b7f11")
PDF = b"%PDF-1.4\n% a tiny stand-in document\n%%EOF\n"


@pytest.fixture
def ref() -> Dataset:
    return fresh_cxr()


def _png(height: int = 48, width: int = 40) -> bytes:
    ramp = (np.arange(height * width, dtype=np.uint32) % 256).astype(np.uint8)
    out = BytesIO()
    Image.fromarray(ramp.reshape(height, width), mode="L").save(out, format="PNG")
    return out.getvalue()


def _round_trip(ds: Dataset, path: Path) -> Dataset:
    path.write_bytes(part10(ds))
    return dcmread(path)


def test_the_key_image_is_a_valid_secondary_capture_in_the_source_study(
    ref: Dataset, tmp_path: Path
) -> None:
    source = KeySource(ref.SOPClassUID, ref.SOPInstanceUID, ("L", "F"), "CHEST")
    sc = secondary_capture(ref, _png(), source, report_id=REPORT, version=2, not_for_diagnosis=True)
    read = _round_trip(sc, tmp_path / "sc.dcm")
    assert dciodvfy_errors(tmp_path / "sc.dcm", "SC") == []
    assert (read.StudyInstanceUID, read.PatientID) == (ref.StudyInstanceUID, ref.PatientID)
    assert read.SOPInstanceUID == output_uid(REPORT, 2, "key-image")
    assert read.SeriesInstanceUID == output_uid(REPORT, None, "key-image")
    assert read.SourceImageSequence[0].ReferencedSOPInstanceUID == ref.SOPInstanceUID
    assert read.pixel_array.shape == (48, 40) and read.PatientOrientation == ["L", "F"]
    assert "NOT FOR DIAGNOSTIC USE" in read.ImageComments


def test_the_pdf_is_a_valid_encapsulated_pdf_in_the_source_study(
    ref: Dataset, tmp_path: Path
) -> None:
    ds = encapsulated_pdf(ref, PDF, report_id=REPORT, version=1, not_for_diagnosis=True)
    read = _round_trip(ds, tmp_path / "pdf.dcm")
    assert dciodvfy_errors(tmp_path / "pdf.dcm", "EncapsulatedPDF") == []
    assert read.SOPClassUID == ENCAPSULATED_PDF
    assert read.StudyInstanceUID == ref.StudyInstanceUID
    assert read.EncapsulatedDocument[: read.EncapsulatedDocumentLength] == PDF
    assert read.SOPInstanceUID == output_uid(REPORT, 1, "report-pdf")


def test_uids_are_stable_and_distinct() -> None:
    assert output_uid(REPORT, 1, "key-image") == output_uid(REPORT, 1, "key-image")
    assert len({output_uid(REPORT, v, k) for v in (1, 2, None) for k in ("key-image", "pdf")}) == 6
    assert all(len(output_uid(REPORT, 9, "key-image")) <= 64 for _ in range(1))
