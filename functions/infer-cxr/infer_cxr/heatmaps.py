"""Occlusion-sensitivity heatmaps (Zeiler and Fergus, 2014), stored as PNG overlays.

A square patch, twice the grid spacing wide, is filled with the image's mean at ``grid`` x
``grid`` overlapping positions; how much each label's probability drops when a region is
hidden is spread over each patch with a triangle window and averaged where patches overlap, so
the map blends smoothly between patch centres. The map is scaled to its maximum and
blended over the model's view of the image (the preprocessed geometry, twice the input size).
The overlays go to the results bucket; they show where the model looked, not a diagnosis.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from acme.imaging import DisplayImage, encode_png, fit, heatmap_overlay, resample
from acme.models import Predictor

Maps = NDArray[np.float32]


def _patches(size: int, grid: int) -> tuple[int, list[int]]:
    """Patch width and start offsets along one axis of ``size`` pixels."""
    if grid == 1:
        return size, [0]
    patch = max(1, round(2 * size / (grid + 1)))
    step = (size - patch) / (grid - 1)
    return patch, [round(i * step) for i in range(grid)]


def _tent(size: int) -> NDArray[np.float32]:
    """A triangle window over a patch: overlapping patches blend linearly between centres."""
    position = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.maximum(1.0 - np.abs(2.0 * position - 1.0), 1e-3).astype(np.float32)


def occlusion_maps(
    predictor: Predictor, tensor: NDArray[np.float32], base: NDArray[np.float32], grid: int
) -> Maps:
    """(labels, H, W) probability drops in [0, 1] for one preprocessed image ``tensor``."""
    _, height, width = tensor.shape
    patch_h, rows = _patches(height, grid)
    patch_w, cols = _patches(width, grid)
    fill = np.float32(tensor.mean())
    positions = [(r, c) for r in rows for c in cols]
    weight = np.outer(_tent(patch_h), _tent(patch_w))
    drops = np.zeros((len(base), height, width), dtype=np.float32)
    counts = np.zeros((height, width), dtype=np.float32)
    for start in range(0, len(positions), 64):
        chunk = positions[start : start + 64]
        batch = np.repeat(tensor[None], len(chunk), axis=0)
        for i, (r, c) in enumerate(chunk):
            batch[i, :, r : r + patch_h, c : c + patch_w] = fill
        scores = predictor.predict(batch)
        for (r, c), score in zip(chunk, scores, strict=True):
            drop = np.clip(base - score, 0.0, 1.0)
            drops[:, r : r + patch_h, c : c + patch_w] += drop[:, None, None] * weight
            counts[r : r + patch_h, c : c + patch_w] += weight
    maps: Maps = (drops / np.maximum(counts, 1e-6)[None]).astype(np.float32)
    return maps


def overlay_png(predictor: Predictor, image: DisplayImage, heat: NDArray[np.float32]) -> bytes:
    """The PNG of ``heat`` (scaled to its maximum) over the model's view of ``image``."""
    _, height, width = predictor.input_shape
    mode = predictor.card.preprocessing.resize
    view = fit(image.pixels, 2 * height, 2 * width, mode)
    peak = float(heat.max())
    scaled = heat / peak if peak > 0 else heat
    return encode_png(heatmap_overlay(view, resample(scaled, 2 * height, 2 * width)))


def heatmap_key(study_uid: str, series_uid: str, run_id: str, label: str) -> str:
    """Where a label's overlay goes in the results bucket."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "label"
    return f"studies/{study_uid}/series/{series_uid}/runs/{run_id}/heatmaps/{slug}.png"
