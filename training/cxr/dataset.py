"""The synthetic chest radiographs the CXR model learns from, and the labels they really carry.

Each image is ``acme.samples.render_cxr`` (normal, opacity or effusion) rendered at a random
size, stored as 12-bit values as the sample DICOMs are (``stored_values``), read back as
display values in [0, 1] and preprocessed by ``acme.imaging.to_model_input``: the very code
the infer-cxr function runs. Splits draw from disjoint seeds: ``[seed, split, index]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from acme.imaging import Preprocessing, to_model_input
from acme.samples import CxrFinding, render_cxr
from acme.samples.cxr import BITS_STORED, stored_values

LABELS: Final = ("Lung Opacity", "Pleural Effusion")
FINDING_LABELS: Final = {
    CxrFinding.NORMAL: (0.0, 0.0),
    CxrFinding.OPACITY: (1.0, 0.0),
    CxrFinding.EFFUSION: (0.0, 1.0),
}
SPLITS: Final = {"train": 0, "validation": 1, "test": 2}
RENDER_SIZES: Final = (320, 448, 640)
INPUT_SIZE: Final = 224
RAW: Final = Preprocessing(mean=(0.0,), std=(1.0,))
"""Preprocessing without normalisation: the training set's mean and std are measured on it."""


@dataclass(frozen=True)
class Dataset:
    images: NDArray[np.float32]
    """(n, 1, 224, 224) model input before normalisation (display values resized)."""
    labels: NDArray[np.float32]
    """(n, 2): Lung Opacity, Pleural Effusion."""
    findings: tuple[str, ...]


def render_one(seed: int, split: int, index: int) -> tuple[NDArray[np.float32], str]:
    """One image of a split: the finding cycles normal, opacity, effusion."""
    finding = list(FINDING_LABELS)[index % 3]
    rng = np.random.default_rng([seed, split, index])
    size = RENDER_SIZES[int(rng.integers(len(RENDER_SIZES)))]
    image = render_cxr(finding, rng=rng, size=size)
    display = stored_values(image.pixels, "MONOCHROME2").astype(np.float32) / (
        (1 << BITS_STORED) - 1
    )
    tensor = to_model_input(display, RAW, channels=1, height=INPUT_SIZE, width=INPUT_SIZE)
    return tensor, str(finding)


def _render_many(args: tuple[int, int, int, int]) -> list[tuple[NDArray[np.float32], str]]:
    seed, split, start, stop = args
    return [render_one(seed, split, index) for index in range(start, stop)]


def _chunks(count: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, count, size):
        yield start, min(count, start + size)


def make_split(split: str, count: int, *, seed: int, workers: int = 2) -> Dataset:
    """``count`` images of ``split`` (a third of each finding), rendered in ``workers``."""
    jobs = [(seed, SPLITS[split], a, b) for a, b in _chunks(count, 64)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rendered = [item for chunk in pool.map(_render_many, jobs) for item in chunk]
    images = np.stack([tensor for tensor, _ in rendered]).astype(np.float32)
    findings = tuple(finding for _, finding in rendered)
    labels = np.array([FINDING_LABELS[CxrFinding(f)] for f in findings], dtype=np.float32)
    return Dataset(images=images, labels=labels, findings=findings)
