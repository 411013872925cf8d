"""Antialiased resampling of 2-D images, and the geometric fits a model card can ask for.

Resampling is separable: ``out = Wr @ image @ Wc.T`` with triangle-filter weight matrices
whose support widens with the reduction factor (as Pillow's bilinear ``resize`` does), so a
large radiograph is averaged, not sampled, down to the model's input size. The result depends
only on the pixel values, never on how they were stored. Each output sample has only a few
taps (about twice the reduction factor), so the products are taken over those taps alone
(:func:`_apply`) rather than over the mostly-zero matrices: a 1024² radiograph to 224² costs
about 2% of the dense product.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from acme.imaging._errors import UnsupportedImageError

Image = NDArray[np.float32]
ResizeMode = Literal["stretch", "center-crop", "letterbox"]


def _weights(n_in: int, n_out: int) -> NDArray[np.float32]:
    """The (n_out, n_in) triangle-filter weights mapping n_in samples onto n_out."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    centers = (np.arange(n_out, dtype=np.float64) + 0.5) * scale
    positions = np.arange(n_in, dtype=np.float64) + 0.5
    weights = np.maximum(0.0, 1.0 - np.abs(positions[None, :] - centers[:, None]) / support)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.astype(np.float32)


_MAX_TAPS = 64
"""Wider filters (a huge image to a tiny one) use the dense product."""


@lru_cache(maxsize=32)
def _filter(
    n_in: int, n_out: int
) -> tuple[NDArray[np.float32], NDArray[np.intp], NDArray[np.float32]]:
    """The weights from n_in samples onto n_out and their band (:func:`_taps`), read-only:
    a pure function of the two sizes, kept for the sizes a function sees again and again."""
    weights = _weights(n_in, n_out)
    index, band = _taps(weights)
    for array in (weights, index, band):
        array.flags.writeable = False
    return weights, index, band


def _taps(weights: NDArray[np.float32]) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """The nonzero band of each row of ``weights``: (n_out, taps) indices and weights (a
    row's unused taps hold weight 0)."""
    n_in = weights.shape[1]
    nonzero = weights > 0
    first = nonzero.argmax(axis=1)
    taps = int(nonzero.sum(axis=1).max())
    raw = first[:, None] + np.arange(taps)[None, :]
    index = np.minimum(raw, n_in - 1)
    band = np.where(raw < n_in, np.take_along_axis(weights, index, axis=1), 0.0)
    return index, band.astype(np.float32)


def _rows(source: Image, n_out: int) -> Image:
    """``weights @ source`` onto ``n_out`` rows, over each output row's taps only."""
    weights, index, band = _filter(source.shape[0], n_out)
    if index.shape[1] > _MAX_TAPS:
        dense: Image = weights @ source
        return dense
    out: Image = np.zeros((weights.shape[0], source.shape[1]), dtype=np.float32)
    for tap in range(index.shape[1]):
        out += band[:, tap, None] * source[index[:, tap]]
    return out


def _columns(source: Image, n_out: int) -> Image:
    """``source @ weights.T`` onto ``n_out`` columns, over each output column's taps only."""
    weights, index, band = _filter(source.shape[1], n_out)
    if index.shape[1] > _MAX_TAPS:
        dense: Image = source @ weights.T
        return dense
    out: Image = np.zeros((source.shape[0], weights.shape[0]), dtype=np.float32)
    for tap in range(index.shape[1]):
        out += source[:, index[:, tap]] * band[None, :, tap]
    return out


def resample(image: NDArray[np.floating], height: int, width: int) -> Image:
    """``image`` resampled to ``height`` x ``width`` (antialiased bilinear)."""
    if image.ndim != 2 or min(image.shape) < 1:
        raise UnsupportedImageError(f"resample: expected a 2-D image, got shape {image.shape}")
    if height < 1 or width < 1:
        raise UnsupportedImageError(f"resample: target {height}x{width} must be positive")
    source = np.asarray(image, dtype=np.float32)
    return _columns(_rows(source, height), width)


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
