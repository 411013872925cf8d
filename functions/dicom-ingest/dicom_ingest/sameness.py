"""Whether an upload is the instance already archived under its SOP Instance UID.

The standard lets a PACS transcode an instance losslessly and keep its SOP Instance UID
(PS3.5 section 10 and PS3.4 Annex B: a lossless transfer syntax change is the same instance).
So the bytes may differ while the instance is the same: it is the same when its identifying
attributes match and its decoded pixel data is equal, frame by frame. An object without pixel
data is the same when every element of its dataset is equal, whatever the encoding.
"""

from __future__ import annotations

import numpy as np
from dicom_ingest.pixels import Undecodable, frame_count, frames, has_pixels
from pydicom.dataset import Dataset

IDENTITY = (
    "PatientID",
    "IssuerOfPatientID",
    "PatientName",
    "PatientBirthDate",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPClassUID",
)
"""The attributes that must match for two objects to be one instance."""


def difference(upload: Dataset, archived: Dataset) -> str | None:
    """None when ``upload`` is the ``archived`` instance; else what differs (no values)."""
    for keyword in IDENTITY:
        if _text(upload, keyword) != _text(archived, keyword):
            return f"{keyword} differs"
    if has_pixels(upload) != has_pixels(archived):
        return "only one of them has pixel data"
    if not has_pixels(upload):
        return None if upload == archived else "the datasets differ"
    if frame_count(upload) != frame_count(archived):
        return "the number of frames differs"
    try:
        for index, (mine, theirs) in enumerate(zip(frames(upload), frames(archived), strict=True)):
            if mine.shape != theirs.shape or not np.array_equal(mine, theirs):
                return f"the decoded pixel data differs (frame {index})"
    except Undecodable as exc:
        return f"the pixel data cannot be compared ({exc.detail})"
    return None


def _text(ds: Dataset, keyword: str) -> str:
    return str(ds.get(keyword) or "").strip()
