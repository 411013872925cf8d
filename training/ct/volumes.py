"""Synthetic chest CT volumes for training and evaluation, and their labelled candidates.

Each volume is a :class:`~acme.samples.ct_model.ChestPhantom` drawn from its own seed
``[seed, split, index]`` (train 0, validation 1, test 2: disjoint): a 256 x 256 grid of
1.2-1.6 mm pixels, 1.25-2.5 mm slices over about 170 mm, 0-3 nodules of 4-20 mm and 0-80 HU
(every sixth volume has none), 6-14 vessels kept clear of them. A candidate is a positive
when its centre lies within the nodule's radius (at least 3 mm) of a nodule's centre.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from acme.imaging import Volume, candidate_views, find_candidates
from acme.samples.ct_model import (
    ChestPhantom,
    Nodule,
    lung_point,
    phantom_volume,
    random_vessels,
)

SPLITS = {"train": 0, "validation": 1, "test": 2}
VIEW = 32
HU_WINDOW = (-1000.0, 400.0)


def phantom(seed: int, split: str, index: int) -> tuple[ChestPhantom, np.random.Generator]:
    """The phantom ``index`` of ``split`` and the random stream that renders its noise."""
    rng = np.random.default_rng([seed, SPLITS[split], index])
    slice_mm = float(rng.choice([1.25, 2.0, 2.5]))
    base = ChestPhantom(
        slices=int(170 / slice_mm),
        matrix=256,
        pixel_mm=round(float(rng.uniform(1.2, 1.6)), 3),
        slice_mm=slice_mm,
        noise_hu=float(rng.uniform(6.0, 14.0)),
    )
    count = 0 if index % 6 == 5 else int(rng.integers(1, 4))
    nodules: list[Nodule] = []
    while len(nodules) < count:
        diameter = float(rng.uniform(4.0, 20.0))
        centre = base.snap(lung_point(rng, base, diameter / 2 + 3.0))
        far = all(
            np.linalg.norm(np.subtract(centre, n.centre_mm)) > (diameter + n.diameter_mm) / 2 + 8
            for n in nodules
        )
        if far:
            nodules.append(Nodule(centre, round(diameter, 2), hu=float(rng.uniform(0.0, 80.0))))
    vessels = random_vessels(rng, base, int(rng.integers(6, 15)), tuple(nodules))
    chest = ChestPhantom(
        slices=base.slices, matrix=base.matrix, pixel_mm=base.pixel_mm, slice_mm=base.slice_mm,
        noise_hu=base.noise_hu, nodules=tuple(nodules), vessels=vessels,
    )  # fmt: skip
    return chest, rng


def labelled(volume: Volume, nodules: tuple[Nodule, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' views and labels (1: a nodule) of one volume."""
    found = find_candidates(volume)
    views = candidate_views(volume, [c.centre_mm for c in found], window=HU_WINDOW, size=VIEW)
    labels = np.asarray(
        [
            any(
                np.linalg.norm(c.centre_mm - np.asarray(n.centre_mm)) <= max(3.0, n.diameter_mm / 2)
                for n in nodules
            )
            for c in found
        ],
        dtype=np.float32,
    )
    return views, labels


@dataclass(frozen=True)
class Split:
    name: str
    seed: int
    scans: int
    nodules: int
    views: np.ndarray
    labels: np.ndarray

    def volumes(self) -> Iterator[tuple[Volume, tuple[Nodule, ...]]]:
        """Each volume again (rendered anew from its seed) with its nodules."""
        for index in range(self.scans):
            chest, rng = phantom(self.seed, self.name, index)
            yield phantom_volume(chest, rng), chest.nodules


def make_split(name: str, count: int, *, seed: int) -> Split:
    views, labels, nodules = [], [], 0
    for index in range(count):
        chest, rng = phantom(seed, name, index)
        v, y = labelled(phantom_volume(chest, rng), chest.nodules)
        views.append(v)
        labels.append(y)
        nodules += len(chest.nodules)
    return Split(
        name=name,
        seed=seed,
        scans=count,
        nodules=nodules,
        views=np.concatenate(views).astype(np.float32),
        labels=np.concatenate(labels).astype(np.float32),
    )
