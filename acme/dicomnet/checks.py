"""What the receiver checks before it answers a C-STORE, and the status each failure gets.

The receiver checks only that the dataset arrived whole and is the instance the request
names; whether it belongs in the archive (required attributes, decodable pixel data) is
dicom-ingest's decision, made the same way for every way into the inbox.

=================================================  ========  ================================
the dataset                                        status    kept
=================================================  ========  ================================
parses, complete, SOP class/instance as requested  0x0000    in dicom-inbox (ingest decides)
cannot be parsed, ends before what it declares,    0xC210    in dicom-inbox: ingest
or names no SOP class or instance at all                     quarantines it with the reason
SOP Class/Instance UID differ from the request     0xA900    no: the peer is told why
could not be stored (object storage failed)        0xA700    no: the peer sends it again
=================================================  ========  ================================

(PS3.4 Table B.2-1: A7xx "Refused: Out of Resources", A9xx "Error: Data Set does not match SOP
Class", Cxxx "Error: Cannot understand".) Each failure carries an Error Comment saying why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO
from typing import Final

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError

SUCCESS: Final = 0x0000
OUT_OF_RESOURCES: Final = 0xA700
DOES_NOT_MATCH: Final = 0xA900
CANNOT_UNDERSTAND: Final = 0xC210
_UNDEFINED: Final = 0xFFFFFFFF
_COMMENT_LIMIT: Final = 64  # Error Comment (0000,0902) is LO


@dataclass(frozen=True)
class Verdict:
    """What to answer, whether to keep the bytes in the inbox, and the UIDs read."""

    status: int
    comment: str = ""
    keep: bool = True
    study_uid: str | None = None
    series_uid: str | None = None

    @property
    def comment_lo(self) -> str:
        """The comment cut to what an LO value holds."""
        return self.comment[:_COMMENT_LIMIT]


def check_instance(part10: bytes, *, sop_class_uid: str, sop_instance_uid: str) -> Verdict:
    """The verdict on one received instance (``part10``: preamble, file meta and dataset)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = dcmread(BytesIO(part10))
            study = ds.get("StudyInstanceUID")
            series = ds.get("SeriesInstanceUID")
            found_class = str(ds.get("SOPClassUID", ""))
            found_instance = str(ds.get("SOPInstanceUID", ""))
        except (InvalidDicomError, ValueError, KeyError, EOFError, OSError, TypeError) as exc:
            return Verdict(CANNOT_UNDERSTAND, f"dataset does not parse ({type(exc).__name__})")
    for tag, element in ds._dict.items():
        if not isinstance(element, RawDataElement) or element.length == _UNDEFINED:
            continue
        present = len(element.value) if element.value is not None else 0
        if present < element.length:
            return Verdict(CANNOT_UNDERSTAND, f"dataset truncated in element {tag}")
    if not found_class and not found_instance:
        return Verdict(CANNOT_UNDERSTAND, "dataset has no SOP Class or Instance UID")
    if found_class != str(sop_class_uid):
        return Verdict(DOES_NOT_MATCH, "SOPClassUID differs from the request", keep=False)
    if found_instance != str(sop_instance_uid):
        return Verdict(DOES_NOT_MATCH, "SOPInstanceUID differs from the request", keep=False)
    return Verdict(
        SUCCESS,
        study_uid=str(study) if study else None,
        series_uid=str(series) if series else None,
    )
