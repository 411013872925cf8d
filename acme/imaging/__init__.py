"""DICOM pixel handling shared by the AI functions.

From archived bytes to model input::

    ds = read_dataset(data)                       # any transfer syntax (pylibjpeg plugins)
    frames = display_frames(ds, voi="header")     # Modality LUT, VOI LUT/window, MONOCHROME1
    x = to_model_input(frames[0].pixels, card.preprocessing, channels=1, height=224, width=224)

and back to something a person looks at: :func:`heatmap_overlay` and :func:`encode_png`.
A CT series becomes one :class:`Volume` in HU through :func:`assemble_volume`, or fails with
:class:`UntrustedSeriesError` naming why it cannot be trusted.
Errors are :class:`ImagingError` subclasses carrying the ``inference.failed`` reason code:
:class:`DecodeError` (``decode-failed``) and :class:`UnsupportedImageError`
(``unsupported-input``).
"""

import importlib
from typing import TYPE_CHECKING

from acme.imaging._display import DisplayImage, VoiMode, display_frames, read_dataset, window
from acme.imaging._errors import DecodeError, ImagingError, ImagingReason, UnsupportedImageError
from acme.imaging._png import PNG_SIGNATURE, encode_png, heat_colours, heatmap_overlay
from acme.imaging._preprocess import (
    Preprocessing,
    normalise_channels,
    to_display,
    to_model_input,
)
from acme.imaging._resize import ResizeMode, fit, resample
from acme.imaging._volume import UntrustedSeriesError, Volume, VolumeReason, assemble_volume

__all__ = [
    "PNG_SIGNATURE",
    "Candidate",
    "DecodeError",
    "DisplayImage",
    "ImagingError",
    "ImagingReason",
    "Preprocessing",
    "ResizeMode",
    "UnsupportedImageError",
    "UntrustedSeriesError",
    "VoiMode",
    "Volume",
    "VolumeReason",
    "assemble_volume",
    "candidate_views",
    "display_frames",
    "encode_png",
    "find_candidates",
    "fit",
    "heat_colours",
    "heatmap_overlay",
    "lung_field",
    "normalise_channels",
    "read_dataset",
    "resample",
    "to_display",
    "to_index",
    "to_model_input",
    "window",
    "window_hu",
]

if TYPE_CHECKING:
    from acme.imaging._nodules import (
        Candidate,
        candidate_views,
        find_candidates,
        lung_field,
        to_index,
        window_hu,
    )

_NODULES = (
    "Candidate",
    "candidate_views",
    "find_candidates",
    "lung_field",
    "to_index",
    "window_hu",
)
"""Imported on first use: the nodule search needs scipy, which only infer-ct runs."""


def __getattr__(name: str) -> object:
    if name in _NODULES:
        return getattr(importlib.import_module("acme.imaging._nodules"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
