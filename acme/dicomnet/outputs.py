"""The objects sent back to a PACS for one report version, all in the source study.

- the report's DICOM SR as stored by the report function (``report.sr.dcm``);
- a key object, per destination (``key_object``):

  * ``secondary-capture``: the report's key image (``key-image.png``) as a Secondary Capture
    Image (highdicom ``SCImage``), MONOCHROME2, 8 bits, with the source image's Patient
    Orientation and a Source Image Sequence naming it;
  * ``encapsulated-pdf``: the report's PDF as an Encapsulated PDF (PS3.3 A.45.1), built here
    (highdicom has no builder for it);
  * ``none``.

Patient and study attributes are copied from the SR, so every object lands in the study the
SR belongs to. UIDs derive from the report id, version and kind (:func:`output_uid`): sending
a version again sends the same instances, which a PACS stores once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Final

import highdicom as hd
import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

__all__ = [
    "ENCAPSULATED_PDF",
    "KeySource",
    "encapsulated_pdf",
    "output_uid",
    "read_part10",
    "secondary_capture",
]

ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
MANUFACTURER: Final = "Acme Imaging"
SC_SERIES_NUMBER: Final = 9002
PDF_SERIES_NUMBER: Final = 9003
_NAMESPACE: Final = uuid.UUID("3c5e2a71-9d04-4f8e-b6a2-51c0de7a9e15")
_PATIENT_AND_STUDY: Final = (
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
    "AccessionNumber", "StudyDescription",
)  # fmt: skip


def output_uid(report_id: uuid.UUID, version: int | None, kind: str) -> str:
    """A UID under 2.25 for one output (``version`` None: the output's series)."""
    name = f"{report_id}/{'series' if version is None else version}/{kind}"
    return f"2.25.{uuid.uuid5(_NAMESPACE, name).int}"


def read_part10(data: bytes) -> Dataset:
    """A stored DICOM file (the SR) as a dataset with its file meta."""
    return dcmread(BytesIO(data))


@dataclass(frozen=True)
class KeySource:
    """The image the key image was rendered from."""

    sop_class_uid: str
    sop_uid: str
    patient_orientation: tuple[str, str]
    body_part: str | None = None


def secondary_capture(
    sr: Dataset,
    png: bytes,
    source: KeySource,
    *,
    report_id: uuid.UUID,
    version: int,
    not_for_diagnosis: bool,
) -> Dataset:
    """The key image as a Secondary Capture in the SR's study."""
    with Image.open(BytesIO(png)) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.uint8)
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=sr,
        pixel_array=pixels,
        photometric_interpretation="MONOCHROME2",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=output_uid(report_id, None, "key-image"),
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=output_uid(report_id, version, "key-image"),
        instance_number=version,
        manufacturer=MANUFACTURER,
        patient_orientation=source.patient_orientation,
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    sc.SeriesDescription = "AI key image"
    if source.body_part:
        sc.BodyPartExamined = source.body_part
    sc.BurnedInAnnotation = "NO"
    sc.ImageComments = "AI result" + (": NOT FOR DIAGNOSTIC USE" if not_for_diagnosis else "")
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.sop_class_uid
    reference.ReferencedSOPInstanceUID = source.sop_uid
    sc.SourceImageSequence = Sequence([reference])
    return sc


def encapsulated_pdf(
    sr: Dataset, pdf: bytes, *, report_id: uuid.UUID, version: int, not_for_diagnosis: bool
) -> Dataset:
    """The report PDF as an Encapsulated PDF in the SR's study (PS3.3 A.45.1)."""
    now = datetime.now(UTC)
    ds = Dataset()
    for keyword in _PATIENT_AND_STUDY:
        if keyword in sr:
            setattr(ds, keyword, sr.data_element(keyword).value)  # type: ignore[union-attr]
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
        "StudyID",
        "AccessionNumber",
    ):
        if keyword not in ds:  # Type 2: present, possibly empty
            setattr(ds, keyword, "")  # fmt: skip
    ds.SOPClassUID = ENCAPSULATED_PDF
    ds.SOPInstanceUID = output_uid(report_id, version, "report-pdf")
    ds.SeriesInstanceUID = output_uid(report_id, None, "report-pdf")
    ds.Modality = "DOC"
    ds.SeriesNumber = PDF_SERIES_NUMBER
    ds.SeriesDescription = "AI report (PDF)"
    ds.Manufacturer = MANUFACTURER
    ds.ConversionType = "WSD"
    ds.InstanceNumber = version
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.InstanceCreationDate = ds.ContentDate
    ds.InstanceCreationTime = ds.ContentTime
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = "AI report" + (" - NOT FOR DIAGNOSTIC USE" if not_for_diagnosis else "")
    ds.ConceptNameCodeSequence = Sequence()
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf + (b"\x00" if len(pdf) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.SpecificCharacterSet = sr.get("SpecificCharacterSet", "ISO_IR 192")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds
