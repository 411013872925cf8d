"""What a model card says about its input's preprocessing, and the function that applies it."""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from acme.imaging._display import VoiMode
from acme.imaging._errors import UnsupportedImageError
from acme.imaging._resize import ResizeMode, fit

Tensor = NDArray[np.float32]


class Preprocessing(BaseModel):
    """From display values in [0, 1] (1 white; MONOCHROME1 already inverted) to model input.

    ``x = ((value_range[0] + v * (value_range[1] - value_range[0])) - mean[c]) / std[c]``
    after the image is fitted to the input's height and width by ``resize``; a single-channel
    image is repeated over the input's channels.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    voi: VoiMode = Field(
        default="header",
        description="header: VOI LUT Sequence, else Window Center/Width, else percentiles; "
        "percentile: always the percentiles below.",
    )
    percentiles: tuple[float, float] = Field(
        default=(0.5, 99.5), description="Percentiles mapped to black and white (voi)."
    )
    resize: ResizeMode = Field(
        default="stretch", description="stretch, center-crop or letterbox to the input size."
    )
    value_range: tuple[float, float] = Field(
        default=(0.0, 1.0), description="Display black and white as the model saw them in training."
    )
    mean: tuple[float, ...] = Field(default=(0.0,), min_length=1, description="Per channel.")
    std: tuple[float, ...] = Field(default=(1.0,), min_length=1, description="Per channel.")
    hu_window: tuple[float, float] | None = Field(
        default=None,
        description="CT models: the HU shown black and white (display values come from HU, "
        "not from the header's window).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        low, high = self.percentiles
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(f"percentiles {self.percentiles}: expected 0 <= low < high <= 100")
        if self.value_range[0] == self.value_range[1]:
            raise ValueError(f"value_range {self.value_range}: black and white must differ")
        if len(self.mean) != len(self.std):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std {self.std}: every value must be > 0")
        if self.hu_window is not None and self.hu_window[0] >= self.hu_window[1]:
            raise ValueError(f"hu_window {self.hu_window}: black must be below white")
        return self


def to_model_input(
    display: NDArray[np.floating], prep: Preprocessing, *, channels: int, height: int, width: int
) -> Tensor:
    """One display image as a ``(channels, height, width)`` float32 model input."""
    if len(prep.mean) not in (1, channels):
        raise UnsupportedImageError(
            f"preprocessing.mean has {len(prep.mean)} values for an input of {channels} channels"
        )
    fitted = fit(display, height, width, prep.resize)
    low, high = prep.value_range
    scaled = low + fitted * np.float32(high - low)
    mean = np.broadcast_to(np.asarray(prep.mean, dtype=np.float32), (channels,))
    std = np.broadcast_to(np.asarray(prep.std, dtype=np.float32), (channels,))
    out: Tensor = ((scaled[None, :, :] - mean[:, None, None]) / std[:, None, None]).astype(
        np.float32
    )
    return out


def normalise_channels(display: NDArray[np.floating], prep: Preprocessing) -> Tensor:
    """Display values of shape (..., channels, H, W), each channel its own image, as model
    input: scaled to ``value_range``, then ``(x - mean[c]) / std[c]``."""
    channels = display.shape[-3]
    if len(prep.mean) not in (1, channels):
        raise UnsupportedImageError(
            f"preprocessing.mean has {len(prep.mean)} values for an input of {channels} channels"
        )
    low, high = prep.value_range
    scaled = np.float32(low) + np.asarray(display, dtype=np.float32) * np.float32(high - low)
    mean = np.broadcast_to(np.asarray(prep.mean, dtype=np.float32), (channels,))
    std = np.broadcast_to(np.asarray(prep.std, dtype=np.float32), (channels,))
    out: Tensor = ((scaled - mean[:, None, None]) / std[:, None, None]).astype(np.float32)
    return out


def to_display(tensor: NDArray[np.floating], prep: Preprocessing) -> NDArray[np.float32]:
    """The inverse of :func:`to_model_input`'s intensity mapping (first channel), in [0, 1]."""
    low, high = prep.value_range
    values = np.asarray(tensor[0], dtype=np.float32) * np.float32(prep.std[0]) + np.float32(
        prep.mean[0]
    )
    out: NDArray[np.float32] = np.clip((values - low) / np.float32(high - low), 0.0, 1.0).astype(
        np.float32
    )
    return out
