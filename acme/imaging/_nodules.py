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
        inside = _off_border(hu < AIR_BELOW_HU)
        field[k] = inside | _off_border(~inside)  # what is enclosed by the lungs: their holes
    return field


def _off_border(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The 4-connected regions of a 2-D ``mask`` that do not touch the image border.

    Of the background of a region, that is its holes: ``inside | _off_border(~inside)`` is
    ``scipy.ndimage.binary_fill_holes(inside)``, with one labelling instead of a dilation
    repeated until nothing changes.
    """
    labels, count = ndimage.label(mask)
    touching = np.zeros(count + 1, dtype=bool)
    touching[0] = True  # not part of the mask
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touching[edge] = True
    kept: NDArray[np.bool_] = ~touching[labels]
    return kept


def _sphere_diameter(volume_mm3: float) -> float:
    return float((6.0 * volume_mm3 / np.pi) ** (1.0 / 3.0))


def find_candidates(volume: Volume, field: NDArray[np.bool_] | None = None) -> list[Candidate]:
    """The candidate regions of ``volume``, largest first (see the module docstring)."""
    lungs = lung_field(volume) if field is None else field
    dense = lungs & (volume.hu > TISSUE_ABOVE_HU)
    box = _bounding_box(dense)
    if box is None:
        return []
    # regions are labelled within the box around every dense voxel (the same regions, in
    # the same order, as in the whole volume, at a fraction of the memory traffic)
    labels, count = ndimage.label(dense[box], structure=np.ones((3, 3, 3), dtype=bool))
    offset = tuple(axis.start for axis in box)
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
        index = tuple(
            float(c + (s.start + o)) for c, s, o in zip(local, region, offset, strict=True)
        )
        centre = volume.to_patient(index)
        first, last = region[0].start + offset[0], region[0].stop - 1 + offset[0]
        found.append(
            Candidate(
                centre_index=(index[0], index[1], index[2]),
                centre_mm=centre,
                volume_mm3=volume_mm3,
                diameter_mm=diameter,
                slices=(int(first), int(last)),
                side="left" if float(np.dot(centre, _LEFT)) > midline else "right",
            )
        )
    return sorted(found, key=lambda c: -c.volume_mm3)


def _bounding_box(mask: NDArray[np.bool_]) -> tuple[slice, slice, slice] | None:
    """The smallest box holding every voxel of ``mask``; None when it has none."""
    spans = []
    for axis in range(3):
        present = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        if len(present) == 0:
            return None
        spans.append(slice(int(present[0]), int(present[-1]) + 1))
    return spans[0], spans[1], spans[2]


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
