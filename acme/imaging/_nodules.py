"""Lung nodule candidates in a CT volume, their measurements, and the views a model scores.

1. **Lung field** (:func:`lung_field`): per slice, air below ``-400 HU`` that does not touch the
   image border (the air around the patient does), with its holes filled, so that what lies
   inside a lung (vessels, nodules) belongs to it.
2. **Candidates** (:func:`find_candidates`): connected regions (26-neighbourhood) of tissue
   above ``-400 HU`` inside the lung field, about halfway between aerated lung (about -820)
   and soft tissue (about 40), so the region's volume is the object's at half its contrast.
   Regions smaller than a 3 mm sphere are noise; larger than 40 mm are not nodules.
3. **Measurements** (:class:`Candidate`): volume, the diameter of the sphere of that volume,
   centre of mass in patient coordinates, the patient's side (against the lung field's
   midline), and the slices it spans.
4. **Views** (:func:`candidate_views`): the 2.5D input of the nodule model: three orthogonal
   planes (axial, coronal, sagittal) through the centre, resampled to ``size`` x ``size``
   pixels of ``pixel_mm`` (trilinear), windowed to display values. A nodule is round in all
   three; a vessel is round in one and a tube in the others.

Juxtapleural nodules (touching the chest wall) are not part of the lung field and are missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from acme.imaging._volume import Vector, Volume

AIR_BELOW_HU = -400.0
TISSUE_ABOVE_HU = -400.0
MIN_DIAMETER_MM = 3.0
MAX_DIAMETER_MM = 40.0
VIEW_SIZE = 32
VIEW_PIXEL_MM = 1.0
Side = Literal["left", "right"]


@dataclass(frozen=True)
class Candidate:
    """A connected region of tissue inside the lungs, measured."""

    centre_index: tuple[float, float, float]
    """Centre of mass as fractional (slice, row, column)."""
    centre_mm: Vector
    volume_mm3: float
    diameter_mm: float
    slices: tuple[int, int]
    """First and last slice (0-based, volume order)."""
    side: Side


def lung_field(volume: Volume) -> NDArray[np.bool_]:
    """The lungs, holes filled, as a mask of the volume's shape (see the module docstring)."""
    field = np.zeros(volume.hu.shape, dtype=bool)
    for k, hu in enumerate(volume.hu):
        air = hu < AIR_BELOW_HU
        labels, count = ndimage.label(air)
        if count == 0:
            continue
        border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        inside = air & ~np.isin(labels, border)
        field[k] = ndimage.binary_fill_holes(inside)
    return field


def _sphere_diameter(volume_mm3: float) -> float:
    return float((6.0 * volume_mm3 / np.pi) ** (1.0 / 3.0))


def find_candidates(volume: Volume, field: NDArray[np.bool_] | None = None) -> list[Candidate]:
    """The candidate regions of ``volume``, largest first (see the module docstring)."""
    lungs = lung_field(volume) if field is None else field
    dense = lungs & (volume.hu > TISSUE_ABOVE_HU)
    labels, count = ndimage.label(dense, structure=np.ones((3, 3, 3), dtype=bool))
    if count == 0:
        return []
    dz, dy, dx = volume.spacing
    voxel_mm3 = dz * dy * dx
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    midline = _midline(volume, lungs)
    found = []
    for number, region in enumerate(ndimage.find_objects(labels), start=1):
        if region is None:
            continue
        volume_mm3 = float(sizes[number]) * voxel_mm3
        diameter = _sphere_diameter(volume_mm3)
        if not MIN_DIAMETER_MM <= diameter <= MAX_DIAMETER_MM:
            continue
        mask = labels[region] == number
        local = ndimage.center_of_mass(mask)
        index = tuple(float(c + s.start) for c, s in zip(local, region, strict=True))
        centre = volume.to_patient(index)
        found.append(
            Candidate(
                centre_index=(index[0], index[1], index[2]),
                centre_mm=centre,
                volume_mm3=volume_mm3,
                diameter_mm=diameter,
                slices=(int(region[0].start), int(region[0].stop) - 1),
                side="left" if float(np.dot(centre, _LEFT)) > midline else "right",
            )
        )
    return sorted(found, key=lambda c: -c.volume_mm3)


_LEFT = np.asarray([1.0, 0.0, 0.0])
"""The patient's left in LPS coordinates."""


def _midline(volume: Volume, lungs: NDArray[np.bool_]) -> float:
    """The patient x (LPS) halfway between the lungs' outer edges, or of the volume's centre."""
    k, i, j = np.nonzero(lungs[:: max(1, lungs.shape[0] // 16)])
    if len(j) == 0:
        centre = [(size - 1) / 2 for size in volume.shape]
        return float(np.dot(volume.to_patient(centre), _LEFT))
    step = max(1, lungs.shape[0] // 16)
    low = volume.to_patient((float(k.min() * step), float(i.mean()), float(j.min())))
    high = volume.to_patient((float(k.min() * step), float(i.mean()), float(j.max())))
    return float((np.dot(low, _LEFT) + np.dot(high, _LEFT)) / 2)


def to_index(volume: Volume, points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Fractional (slice, row, column) of patient points (..., 3)."""
    offset = points - volume.origin
    dz, dy, dx = volume.spacing
    return np.stack(
        [
            offset @ volume.normal / dz,
            offset @ volume.column_direction / dy,
            offset @ volume.row_direction / dx,
        ],
        axis=-1,
    )


def window_hu(hu: NDArray[np.floating], low: float, high: float) -> NDArray[np.float32]:
    """HU mapped linearly to [0, 1] between ``low`` (black) and ``high`` (white)."""
    out: NDArray[np.float32] = np.clip(
        (np.asarray(hu, dtype=np.float32) - np.float32(low)) / np.float32(high - low), 0.0, 1.0
    ).astype(np.float32)
    return out


def candidate_views(
    volume: Volume,
    centres_mm: list[Vector],
    *,
    window: tuple[float, float],
    size: int = VIEW_SIZE,
    pixel_mm: float = VIEW_PIXEL_MM,
) -> NDArray[np.float32]:
    """(candidates, 3, size, size) display values: axial, coronal and sagittal planes through
    each centre, resampled to ``pixel_mm`` and windowed to ``window`` (HU)."""
    if not centres_mm:
        return np.zeros((0, 3, size, size), dtype=np.float32)
    steps = (np.arange(size, dtype=np.float64) - (size - 1) / 2) * pixel_mm
    u, v = np.meshgrid(steps, steps, indexing="ij")  # u down the view, v across it
    x, y, z = volume.row_direction, volume.column_direction, volume.normal
    planes = (
        (y, x),  # axial: rows along the patient's back, columns along the left
        (-z, x),  # coronal: head at the top
        (-z, y),  # sagittal: head at the top, back to the right
    )
    views = np.empty((len(centres_mm), 3, size, size), dtype=np.float32)
    for n, centre in enumerate(centres_mm):
        for c, (down, across) in enumerate(planes):
            points = centre + u[..., None] * down + v[..., None] * across
            index = to_index(volume, points)
            sampled = ndimage.map_coordinates(
                volume.hu, np.moveaxis(index, -1, 0), order=1, mode="nearest"
            )
            views[n, c] = window_hu(sampled, *window)
    return views
