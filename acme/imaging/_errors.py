"""The errors of DICOM pixel handling; each maps onto an ``inference.failed`` reason code."""

from __future__ import annotations

from typing import ClassVar, Literal

from acme.errors import AcmeError

ImagingReason = Literal["decode-failed", "unsupported-input"]


class ImagingError(AcmeError):
    """An image cannot be turned into model input; ``reason_code`` says why."""

    reason_code: ClassVar[ImagingReason] = "unsupported-input"


class DecodeError(ImagingError):
    """The object is not readable DICOM, or its pixel data cannot be decoded."""

    reason_code: ClassVar[ImagingReason] = "decode-failed"


class UnsupportedImageError(ImagingError):
    """The image is valid but not one the pipeline takes (no pixels, colour, bad window)."""

    reason_code: ClassVar[ImagingReason] = "unsupported-input"
