"""DICOM pixel handling shared by the AI functions.

From archived bytes to model input::

    ds = read_dataset(data)                       # any transfer syntax (pylibjpeg plugins)
    frames = display_frames(ds, voi="header")     # Modality LUT, VOI LUT/window, MONOCHROME1
    x = to_model_input(frames[0].pixels, card.preprocessing, channels=1, height=224, width=224)

and back to something a person looks at: :func:`heatmap_overlay` and :func:`encode_png`.
Errors are :class:`ImagingError` subclasses carrying the ``inference.failed`` reason code:
:class:`DecodeError` (``decode-failed``) and :class:`UnsupportedImageError`
(``unsupported-input``).
"""

from acme.imaging._display import DisplayImage, VoiMode, display_frames, read_dataset, window
from acme.imaging._errors import DecodeError, ImagingError, ImagingReason, UnsupportedImageError
from acme.imaging._png import PNG_SIGNATURE, encode_png, heat_colours, heatmap_overlay
from acme.imaging._preprocess import Preprocessing, to_display, to_model_input
from acme.imaging._resize import ResizeMode, fit, resample

__all__ = [
    "PNG_SIGNATURE",
    "DecodeError",
    "DisplayImage",
    "ImagingError",
    "ImagingReason",
    "Preprocessing",
    "ResizeMode",
    "UnsupportedImageError",
    "VoiMode",
    "display_frames",
    "encode_png",
    "fit",
    "heat_colours",
    "heatmap_overlay",
    "read_dataset",
    "resample",
    "to_display",
    "to_model_input",
    "window",
]
