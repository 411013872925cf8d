"""Constrained value types shared by the event models (pydantic v2 ``Annotated`` types).

Each type validates on construction, so an event holding a malformed value cannot exist, and
each shows up in the generated JSON Schemas with its pattern. Events carry no PHI: studies,
series and instances are named only by their UIDs.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import AfterValidator, Field, StringConstraints

DICOM_UID_PATTERN: Final = r"^[0-9]+(\.[0-9]+)*$"
"""A DICOM UID: digits in dot-separated components (PS3.5 section 9.1), at most 64 characters.

Components with a leading zero, which PS3.5 forbids, are accepted: archives hold such legacy
UIDs and rejecting them would strand real studies.
"""

DicomUID = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=DICOM_UID_PATTERN),
    Field(description="A DICOM UID: digits and dots, at most 64 characters (PS3.5 9.1)."),
]

Modality = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9_]{1,16}$"),
    Field(description="DICOM Modality (0008,0060), a code string such as CR, DX, CT."),
]

BodyPart = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9_ ]{1,16}$"),
    Field(description="DICOM Body Part Examined (0018,0015), a code string such as CHEST."),
]

Sha256 = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$"),
    Field(description="SHA-256 of the object's bytes, lower-case hex."),
]

BucketName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
    Field(description="An S3 bucket name (3-63 lower-case letters, digits, '.', '-')."),
]

MAX_KEY_BYTES: Final = 1024


def _key_fits(key: str) -> str:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"an object key is at most {MAX_KEY_BYTES} bytes of UTF-8")
    return key


ObjectKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_KEY_BYTES),
    AfterValidator(_key_fits),
    Field(description="An S3 object key, decoded (not URL-encoded), at most 1024 UTF-8 bytes."),
]

ModelName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$"),
    Field(description="A model registry name (bucket models: <name>/<version>/model.onnx)."),
]

ModelVersion = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$"),
    Field(description="A model version as registered, e.g. 1.2.0."),
]

Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_ -]+$"),
    Field(description="A finding label of the model card, e.g. Cardiomegaly."),
]

Detail = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    Field(description="A human-readable explanation; never holds PHI."),
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Milliseconds = Annotated[float, Field(ge=0.0, description="Duration in milliseconds.")]

REJECT_REASONS: Final = (
    "not-dicom",
    "truncated",
    "empty",
    "too-large",
    "uid-conflict",
    "invalid-uid",
    "unsupported-syntax",
    "corrupt-pixel-data",
    "invalid-key",
    "ingest-error",
    "invalid-manifest",
)
"""Fixed reason codes for a quarantined object; see also ``missing-attribute:<Keyword>``."""

REJECT_REASON_PATTERN: Final = (
    "^(" + "|".join(REJECT_REASONS) + r"|(missing|invalid)-attribute:[A-Z][A-Za-z0-9]{0,63})$"
)

RejectReason = Annotated[
    str,
    StringConstraints(pattern=REJECT_REASON_PATTERN),
    Field(
        description=(
            "Why an object was quarantined: one of "
            + ", ".join(REJECT_REASONS)
            + ", or missing-attribute:<Keyword> / invalid-attribute:<Keyword> naming the "
            "DICOM attribute keyword (e.g. missing-attribute:SOPInstanceUID)."
        )
    ),
]

InferenceFailure = Literal[
    "model-unavailable",
    "no-usable-images",
    "decode-failed",
    "unsupported-input",
    "out-of-memory",
    "timeout",
    "runtime-error",
    "too-few-slices",
    "missing-geometry",
    "mixed-orientation",
    "mixed-sizes",
    "mixed-pixel-format",
    "duplicate-slices",
    "missing-slices",
    "uneven-spacing",
    "gantry-tilt",
    "no-phantom",
]
"""Reason codes of ``inference.failed``.

The CT volume codes (``too-few-slices`` ... ``gantry-tilt``) name why a series cannot be
trusted as one volume (:mod:`acme.imaging.volume`); ``no-phantom``: a QA series shows no water
phantom to measure.
"""

INFERENCE_FAILURES: Final = get_args(InferenceFailure)

Pipeline = Literal["cxr", "ct", "ct-qa", "none"]
"""The pipeline a routing rule picked for a completed series (docs/architecture.md §2):
``ct-qa`` is the daily CT quality-assurance scan of a water phantom."""

InferencePipeline = Literal["cxr", "ct", "ct-qa"]
"""The pipelines that produce a result (a model's findings, or the QA measurements)."""

DestinationName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"),
    Field(description="A PACS destination of the destinations file (ACME_DESTINATIONS_FILE)."),
]

DispatchCause = Literal["report.drafted", "report.signed", "manual"]
"""Why a report version is sent to a destination: its event, or an operator (acme pacs send)."""

DispatchProtocol = Literal["dimse", "dicomweb"]
"""How a destination receives: DICOM C-STORE, or DICOMweb STOW-RS."""
