"""Antialiased resampling of 2-D images, and the geometric fits a model card can ask for.

Resampling is Pillow's bilinear ``resize`` on 32-bit float images (mode ``F``): a separable
triangle filter whose support widens with the reduction factor, so a large radiograph is
averaged, not sampled, down to the model's input size, and the result depends only on the
pixel values, never on how they were stored. Pillow computes it in C over each output
sample's taps alone and releases the GIL meanwhile.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image as PILImage

from acme.imaging._errors import UnsupportedImageError

Image = NDArray[np.float32]
ResizeMode = Literal["stretch", "center-crop", "letterbox"]


def resample(image: NDArray[np.floating], height: int, width: int) -> Image:
    """``image`` resampled to ``height`` x ``width`` (antialiased bilinear)."""
    if image.ndim != 2 or min(image.shape) < 1:
        raise UnsupportedImageError(f"resample: expected a 2-D image, got shape {image.shape}")
    if height < 1 or width < 1:
        raise UnsupportedImageError(f"resample: target {height}x{width} must be positive")
    source = PILImage.fromarray(np.ascontiguousarray(image, dtype=np.float32))  # mode F
    out: Image = np.array(source.resize((width, height), PILImage.Resampling.BILINEAR))
    return out


def fit(image: NDArray[np.floating], height: int, width: int, mode: ResizeMode) -> Image:
    """``image`` brought to ``height`` x ``width``.

    - ``stretch``: resample to the target, ignoring the aspect ratio (most CXR classifiers).
    - ``center-crop``: crop the largest central region of the target's aspect, then resample.
    - ``letterbox``: resample to fit inside the target, keeping the aspect; pad with 0 (black).
    """
    if mode == "stretch":
        return resample(image, height, width)
    rows, cols = image.shape
    if mode == "center-crop":
        if rows * width > cols * height:  # too tall: crop rows
            keep = max(1, round(cols * height / width))
            top = (rows - keep) // 2
            return resample(image[top : top + keep, :], height, width)
        keep = max(1, round(rows * width / height))
        left = (cols - keep) // 2
        return resample(image[:, left : left + keep], height, width)
    if mode == "letterbox":
        scale = min(height / rows, width / cols)
        inner_h, inner_w = max(1, round(rows * scale)), max(1, round(cols * scale))
        canvas = np.zeros((height, width), dtype=np.float32)
        top, left = (height - inner_h) // 2, (width - inner_w) // 2
        canvas[top : top + inner_h, left : left + inner_w] = resample(image, inner_h, inner_w)
        return canvas
    raise UnsupportedImageError(f"resize mode {mode!r}: expected stretch, center-crop or letterbox")
