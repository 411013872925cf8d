"""Read and validate one dropped object: what the archive needs, or why it is rejected.

The question asked is "can this be read, and its first frame decoded with the decoders the
platform ships?", not "is it byte-perfect". What the archive requires, and why (PS3.3 Type 1
attributes unless said otherwise):

* ``SOPInstanceUID`` — the archive key and the deduplication key.
* ``SOPClassUID`` — what kind of object it is; kept in the index.
* ``StudyInstanceUID``, ``SeriesInstanceUID`` — the archive layout and the grouping into
  series and studies.
* ``Modality`` — routing and the per-modality stable age of series completion.
* UIDs must be valid (digits and dots, 64 characters at most).
* a transfer syntax the platform knows; a file without file meta (or whose meta names no
  syntax) is read in the encoding its first elements show: implicit or explicit VR, little or
  big endian.
* every element as long as it declares, and encapsulated pixel data not cut inside an item.
  A missing final sequence delimiter is accepted, as readers accept it.
* the first frame decodes (pylibjpeg, GDCM, Pillow; see :mod:`dicom_ingest.pixels`).

Patient attributes are Type 2 (present, possibly empty): an empty PatientID is accepted and
indexed as an unknown patient.

A Part 10 file (preamble, ``DICM``, file meta with a transfer syntax) is archived as it came,
byte for byte. Anything else is archived as a Part 10 copy (the file meta added, the dataset
written in its own encoding), and the bytes as received are kept beside it.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from io import BytesIO

from dicom_ingest.pixels import Undecodable, decode_frame, has_pixels
from dicom_ingest.routing import ROUTING_TAGS
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    UID,
    AllTransferSyntaxes,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

REQUIRED = ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "Modality")
_UIDS = ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID")
_UNDEFINED = 0xFFFFFFFF
_CODE_STRING = re.compile(r"^[A-Z0-9_ ]{1,16}$")
_PREAMBLE_AND_MAGIC = 132
_SYNTAX_OF_ENCODING = {
    (True, True): ImplicitVRLittleEndian,
    (False, True): ExplicitVRLittleEndian,
    (False, False): ExplicitVRBigEndian,
}


class Invalid(Exception):
    """The object cannot enter the archive; ``reason`` is the quarantine reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class Header:
    """What ingest indexes from one instance (read from the header only)."""

    sop_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    modality: str
    transfer_syntax: str
    sha256: str
    size: int
    patient_id: str
    issuer_of_patient_id: str
    patient_name: str | None
    patient_birth_date: str | None
    patient_sex: str | None
    accession_number: str | None
    study_date: str | None
    study_time: str | None
    study_description: str | None
    series_number: int | None
    series_description: str | None
    instance_number: int | None
    rows: int | None
    columns: int | None
    frames: int
    body_part: str | None
    routing_tags: dict[str, str] = field(default_factory=dict)
    had_preamble: bool = True


@dataclass(frozen=True)
class Inspected:
    """A valid instance: its header, the archive object and, for a copy, the original."""

    header: Header
    dataset: Dataset
    archived: bytes
    """The canonical archive object: the bytes as received when they are a Part 10 file."""
    original: bytes | None
    """The bytes as received when ``archived`` is a Part 10 copy of them, else None."""


def inspect(data: bytes, sha256: str | None = None) -> Inspected:
    """Validate ``data`` (whose SHA-256, when the caller has it, is ``sha256``); raises
    :class:`Invalid` with the reason code."""
    if not data:
        raise Invalid("empty", "the object has no content (a failed or aborted upload)")
    ds, had_preamble = _read(data)
    as_is = had_preamble and "TransferSyntaxUID" in ds.file_meta
    if not as_is:
        _assume_syntax(ds)
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    if syntax not in AllTransferSyntaxes:
        raise Invalid(
            "unsupported-syntax", f"transfer syntax {syntax or '(none)'} is not a standard one"
        )
    _check_complete(data, ds, had_preamble)
    for keyword in REQUIRED:
        value = ds.get(keyword)
        if value is None or str(value).strip() == "":
            raise Invalid(f"missing-attribute:{keyword}", f"{keyword} is absent or empty")
    for keyword in _UIDS:
        if not UID(str(ds[keyword].value)).is_valid:
            raise Invalid(
                f"invalid-attribute:{keyword}",
                f"{keyword} is not a valid UID (digits and dots, at most 64 characters)",
            )
    if not _CODE_STRING.match(str(ds.Modality).strip().upper()):
        raise Invalid("invalid-attribute:Modality", "Modality is not a DICOM code string")
    if has_pixels(ds):
        _check_first_frame(ds)
    archived = data if as_is else _as_part10(ds)
    return Inspected(
        header=_header(ds, archived, had_preamble, sha256 if archived is data else None),
        dataset=ds,
        archived=archived,
        original=None if as_is else data,
    )


def _read(data: bytes) -> tuple[Dataset, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return dcmread(BytesIO(data)), True
        except InvalidDicomError:
            pass
        except Exception as exc:  # noqa: BLE001 - pydicom raises many types on garbage
            raise Invalid(
                "not-dicom", f"not a readable DICOM file ({type(exc).__name__})"
            ) from None
        try:
            ds = dcmread(BytesIO(data), force=True)
        except Exception as exc:  # noqa: BLE001
            raise Invalid(
                "not-dicom", f"not a readable DICOM file ({type(exc).__name__})"
            ) from None
    if len(ds) == 0 or not any(str(ds.get(k, "")) for k in ("SOPInstanceUID", "StudyInstanceUID")):
        raise Invalid("not-dicom", "no DICOM preamble and no DICOM dataset could be read")
    return ds, False


def _assume_syntax(ds: Dataset) -> None:
    """Give a dataset without a transfer syntax the one its encoding shows (as read)."""
    implicit, little = ds.original_encoding
    syntax = _SYNTAX_OF_ENCODING.get((bool(implicit), bool(little)))
    if syntax is None:
        raise Invalid("unsupported-syntax", "implicit VR big endian is not a DICOM encoding")
    if not isinstance(ds.file_meta, FileMetaDataset):
        ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax


def _check_complete(data: bytes, ds: Dataset, had_preamble: bool) -> None:
    """Raise ``truncated`` when the bytes stop before what the file declares.

    pydicom reads a cut file without an error: compare each element's declared length with
    the bytes present, and the file meta group length with the file size. Encapsulated pixel
    data cut inside an item leaves pydicom with no dataset at all; cut between items (the
    final delimiter missing), it is read whole, and accepted.
    """
    if had_preamble:
        group_length = ds.file_meta.get("FileMetaInformationGroupLength")
        if group_length is not None and _PREAMBLE_AND_MAGIC + 12 + int(group_length) > len(data):
            raise Invalid("truncated", "the file ends inside its file meta information")
        if len(ds) == 0:  # also what pydicom reads when a cut ends inside a pixel data item
            raise Invalid(
                "truncated",
                "no element of the dataset could be read: the file ends after its file meta"
                " information or inside its first element or pixel data item",
            )
    for tag, element in ds._dict.items():
        if not isinstance(element, RawDataElement):
            continue
        present = len(element.value) if element.value is not None else 0
        if element.length != _UNDEFINED and present < element.length:
            raise Invalid(
                "truncated",
                f"element {tag} declares {element.length} bytes but only {present} are present",
            )


def _check_first_frame(ds: Dataset) -> None:
    try:
        decode_frame(ds, 0)
    except Undecodable as exc:
        if exc.unsupported:
            raise Invalid("unsupported-syntax", exc.detail) from None
        raise Invalid(
            "corrupt-pixel-data", f"the first frame does not decode: {exc.detail}"
        ) from None


def _as_part10(ds: Dataset) -> bytes:
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = "\\".join(str(v) for v in value) if _is_multi(value) else str(value)
    return text.strip() or None


def _code_string(ds: Dataset, keyword: str) -> str | None:
    """A code string attribute upper-cased, or None when absent or not a valid code string."""
    text = (_text(ds, keyword) or "").upper()
    return text if _CODE_STRING.match(text) else None


def _is_multi(value: object) -> bool:
    return isinstance(value, list | tuple) or type(value).__name__ == "MultiValue"


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _header(ds: Dataset, archived: bytes, had_preamble: bool, sha256: str | None) -> Header:
    return Header(
        sop_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.SOPClassUID),
        study_uid=str(ds.StudyInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        modality=str(ds.Modality).strip().upper(),
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID),
        sha256=sha256 or hashlib.sha256(archived).hexdigest(),
        size=len(archived),
        patient_id=_text(ds, "PatientID") or "",
        issuer_of_patient_id=_text(ds, "IssuerOfPatientID") or "",
        patient_name=_text(ds, "PatientName"),
        patient_birth_date=_text(ds, "PatientBirthDate"),
        patient_sex=_text(ds, "PatientSex"),
        accession_number=_text(ds, "AccessionNumber"),
        study_date=_text(ds, "StudyDate"),
        study_time=_text(ds, "StudyTime"),
        study_description=_text(ds, "StudyDescription"),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription"),
        instance_number=_int(ds, "InstanceNumber"),
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        frames=max(_int(ds, "NumberOfFrames") or 1, 1),
        body_part=_code_string(ds, "BodyPartExamined"),
        routing_tags={k: v for k in ROUTING_TAGS if (v := _text(ds, k) or "")},
        had_preamble=had_preamble,
    )
