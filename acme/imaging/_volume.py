"""A CT series as the volume a radiologist would see: slices in order, spacing, HU.

:func:`assemble_volume` takes the series' instances in any order and either returns one
:class:`Volume` or raises :class:`UntrustedSeriesError` with the reason code of the first
check that fails (PS3.3 C.7.6.2, Image Plane Module):

===================  =============================================================
reason               when
===================  =============================================================
missing-geometry     an instance lacks Image Position / Orientation (Patient) or Pixel
                     Spacing, or they are not numbers
mixed-orientation    Image Orientation (Patient) differs between instances (> 0.001)
mixed-sizes          Rows, Columns or Pixel Spacing differ
mixed-pixel-format   Bits Allocated / Stored, Pixel Representation or Photometric
                     Interpretation differ
gantry-tilt          Gantry/Detector Tilt is not 0, or the slices are not stacked along
                     the normal of their plane (a sheared volume)
duplicate-slices     two instances lie at the same position along the normal
too-few-slices       fewer than ``min_slices`` slices
missing-slices       a gap between neighbours of 1.5 times the usual spacing or more
uneven-spacing       spacings that differ by more than 10 % (or 0.1 mm) otherwise
===================  =============================================================

Slices are sorted by their position projected on the normal (row direction x column
direction), never by Instance Number, so the same series sent shuffled gives the same volume.
Stored values go through the Modality LUT (Rescale Slope / Intercept) to HU; pixels equal to
Pixel Padding Value (outside the reconstructed field) become air, -1000 HU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut

from acme.errors import AcmeError
from acme.imaging._display import _check_grayscale, _decode
from acme.imaging._errors import UnsupportedImageError

VolumeReason = Literal[
    "missing-geometry",
    "mixed-orientation",
    "mixed-sizes",
    "mixed-pixel-format",
    "gantry-tilt",
    "duplicate-slices",
    "too-few-slices",
    "missing-slices",
    "uneven-spacing",
]

AIR_HU = -1000.0
ORIENTATION_TOLERANCE = 1e-3
SHEAR_TOLERANCE = 0.01
"""Largest sine of the angle between the normal and the stacking direction (about 0.6°)."""
GAP_FACTOR = 1.5
SPACING_TOLERANCE = 0.10
SPACING_TOLERANCE_MM = 0.1

Vector = NDArray[np.float64]


class UntrustedSeriesError(AcmeError):
    """The series is not one volume that can be trusted; ``reason_code`` says why."""

    def __init__(self, reason_code: VolumeReason, detail: str) -> None:
        self.reason_code: VolumeReason = reason_code
        self.detail = detail
        super().__init__(f"{reason_code}: {detail}")


@dataclass(frozen=True)
class Volume:
    """``hu[k, i, j]``: slice ``k`` (sorted along ``normal``), row ``i``, column ``j``, in HU.

    ``origin`` is the centre of the first voxel in patient (LPS) coordinates, mm; moving one
    column goes ``spacing[2]`` mm along ``row_direction``, one row ``spacing[1]`` along
    ``column_direction``, one slice ``spacing[0]`` along ``normal``.
    """

    hu: NDArray[np.float32]
    origin: Vector
    row_direction: Vector
    column_direction: Vector
    normal: Vector
    spacing: tuple[float, float, float]
    sop_uids: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        k, i, j = self.hu.shape
        return int(k), int(i), int(j)

    def to_patient(self, index: Sequence[float]) -> Vector:
        """Patient coordinates (mm) of the (slice, row, column) ``index`` (may be fractional)."""
        k, i, j = (float(value) for value in index)
        dz, dy, dx = self.spacing
        point: Vector = (
            self.origin
            + j * dx * self.row_direction
            + i * dy * self.column_direction
            + k * dz * self.normal
        )
        return point


@dataclass(frozen=True)
class _Plane:
    sop_uid: str
    position: Vector
    orientation: Vector
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]
    pixel_format: tuple[int, int, int, str]
    tilt: float
    thickness: float


def _numbers(ds: Dataset, keyword: str, count: int, sop_uid: str) -> Vector:
    value = ds.get(keyword)
    try:
        numbers = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        numbers = np.zeros(0)
    if numbers.shape != (count,) or not np.all(np.isfinite(numbers)):
        raise UntrustedSeriesError(
            "missing-geometry",
            f"instance {sop_uid}: {keyword} is {value!r}; expected {count} numbers",
        )
    return numbers


def _plane(ds: Dataset) -> _Plane:
    sop_uid = str(ds.get("SOPInstanceUID", "?"))
    orientation = _numbers(ds, "ImageOrientationPatient", 6, sop_uid)
    spacing = _numbers(ds, "PixelSpacing", 2, sop_uid)
    if np.any(spacing <= 0):
        raise UntrustedSeriesError(
            "missing-geometry", f"instance {sop_uid}: PixelSpacing {list(spacing)} is not > 0"
        )
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows < 2 or columns < 2:
        raise UntrustedSeriesError(
            "missing-geometry", f"instance {sop_uid}: Rows x Columns is {rows} x {columns}"
        )
    tilt, thickness = _number(ds, "GantryDetectorTilt", 0.0), _number(ds, "SliceThickness", 1.0)
    return _Plane(
        sop_uid=sop_uid,
        position=_numbers(ds, "ImagePositionPatient", 3, sop_uid),
        orientation=orientation,
        rows=rows,
        columns=columns,
        pixel_spacing=(float(spacing[0]), float(spacing[1])),
        pixel_format=(
            int(ds.get("BitsAllocated", 0) or 0),
            int(ds.get("BitsStored", 0) or 0),
            int(ds.get("PixelRepresentation", 0) or 0),
            str(ds.get("PhotometricInterpretation", "")).strip(),
        ),
        tilt=tilt,
        thickness=thickness if thickness > 0 else 1.0,
    )


def _number(ds: Dataset, keyword: str, default: float) -> float:
    try:
        return float(ds.get(keyword, default) or default)
    except (TypeError, ValueError):
        return default


def _directions(orientation: Vector, sop_uid: str) -> tuple[Vector, Vector, Vector]:
    row, column = orientation[:3], orientation[3:]
    if abs(np.linalg.norm(row) - 1) > 0.01 or abs(np.linalg.norm(column) - 1) > 0.01:
        raise UntrustedSeriesError(
            "missing-geometry",
            f"instance {sop_uid}: ImageOrientationPatient {list(orientation)} is not two unit "
            "vectors",
        )
    normal = np.cross(row, column)
    if np.linalg.norm(normal) < 0.99:
        raise UntrustedSeriesError(
            "missing-geometry",
            f"instance {sop_uid}: ImageOrientationPatient's row and column are not orthogonal",
        )
    return row, column, normal / np.linalg.norm(normal)


def _agree(planes: list[_Plane]) -> None:
    first = planes[0]
    for plane in planes[1:]:
        if np.max(np.abs(plane.orientation - first.orientation)) > ORIENTATION_TOLERANCE:
            raise UntrustedSeriesError(
                "mixed-orientation",
                f"instance {plane.sop_uid} has ImageOrientationPatient "
                f"{list(plane.orientation)}, instance {first.sop_uid} {list(first.orientation)}",
            )
        same_size = (plane.rows, plane.columns) == (first.rows, first.columns)
        if not same_size or not np.allclose(plane.pixel_spacing, first.pixel_spacing, atol=1e-4):
            raise UntrustedSeriesError(
                "mixed-sizes",
                f"instance {plane.sop_uid} is {plane.rows} x {plane.columns} at "
                f"{plane.pixel_spacing} mm, instance {first.sop_uid} {first.rows} x "
                f"{first.columns} at {first.pixel_spacing} mm",
            )
        if plane.pixel_format != first.pixel_format:
            raise UntrustedSeriesError(
                "mixed-pixel-format",
                f"instance {plane.sop_uid} stores (BitsAllocated, BitsStored, "
                f"PixelRepresentation, PhotometricInterpretation) {plane.pixel_format}, "
                f"instance {first.sop_uid} {first.pixel_format}",
            )


def _order(planes: list[_Plane], normal: Vector, min_slices: int) -> tuple[list[int], float]:
    """The slice order along ``normal`` and the spacing between slices."""
    tilted = next((p for p in planes if abs(p.tilt) > 0.01), None)
    if tilted is not None:
        raise UntrustedSeriesError(
            "gantry-tilt",
            f"instance {tilted.sop_uid} has GantryDetectorTilt {tilted.tilt:g} degrees; a "
            "tilted acquisition is not resampled here",
        )
    along = np.asarray([float(np.dot(p.position, normal)) for p in planes])
    order = sorted(range(len(planes)), key=lambda n: (along[n], planes[n].sop_uid))
    steps = np.diff(along[order])
    duplicate = next((n for n, step in enumerate(steps) if step < 1e-3), None)
    if duplicate is not None:
        a, b = planes[order[duplicate]], planes[order[duplicate + 1]]
        raise UntrustedSeriesError(
            "duplicate-slices",
            f"instances {a.sop_uid} and {b.sop_uid} lie at the same position "
            f"({along[order[duplicate]]:.3f} mm along the normal)",
        )
    if len(planes) < min_slices:
        raise UntrustedSeriesError(
            "too-few-slices",
            f"the series has {len(planes)} slice(s); a volume needs at least {min_slices}",
        )
    if len(planes) == 1:  # one slice: as thick as it says
        return order, planes[0].thickness
    first, last = planes[order[0]].position, planes[order[-1]].position
    stack = last - first
    shear = float(np.linalg.norm(np.cross(stack / np.linalg.norm(stack), normal)))
    if shear > SHEAR_TOLERANCE:
        raise UntrustedSeriesError(
            "gantry-tilt",
            f"the slices are stacked {np.degrees(np.arcsin(min(shear, 1.0))):.1f} degrees off "
            "the normal of their plane (a tilted or sheared acquisition)",
        )
    spacing = float(np.median(steps))
    widest = int(np.argmax(steps))
    if steps[widest] >= GAP_FACTOR * spacing:
        missing = round(steps[widest] / spacing) - 1
        raise UntrustedSeriesError(
            "missing-slices",
            f"{steps[widest]:.2f} mm between slices {widest + 1} and {widest + 2} where the "
            f"series steps {spacing:.2f} mm: about {missing} slice(s) missing",
        )
    deviation = float(np.max(np.abs(steps - spacing)))
    if deviation > max(SPACING_TOLERANCE * spacing, SPACING_TOLERANCE_MM):
        raise UntrustedSeriesError(
            "uneven-spacing",
            f"slice spacing varies from {steps.min():.2f} to {steps.max():.2f} mm",
        )
    return order, spacing


def _hu(ds: Dataset) -> NDArray[np.float32]:
    _check_grayscale(ds)
    stored = _decode(ds)
    if stored.ndim != 2:
        raise UnsupportedImageError(
            f"instance {ds.get('SOPInstanceUID', '?')}: {stored.shape[0]} frames; a CT slice "
            "holds one (multi-frame CT is not assembled here)"
        )
    hu = np.asarray(apply_modality_lut(stored, ds), dtype=np.float32)
    padding = ds.get("PixelPaddingValue")
    if padding is not None:
        hu[stored == int(padding)] = AIR_HU
    return hu


def assemble_volume(datasets: Sequence[Dataset], *, min_slices: int = 3) -> Volume:
    """The series ``datasets`` (any order) as one volume (see the module docstring).

    Raises :class:`UntrustedSeriesError` with its reason, or an
    :class:`~acme.imaging.ImagingError` when an instance's pixels cannot be decoded.
    """
    if not datasets:
        raise UntrustedSeriesError("too-few-slices", "the series has no instance")
    planes = [_plane(ds) for ds in datasets]
    row, column, normal = _directions(planes[0].orientation, planes[0].sop_uid)
    _agree(planes)
    order, spacing = _order(planes, normal, min_slices)
    hu = np.stack([_hu(datasets[n]) for n in order])
    first = planes[order[0]]
    return Volume(
        hu=hu,
        origin=first.position.copy(),
        row_direction=row,
        column_direction=column,
        normal=normal,
        spacing=(spacing, first.pixel_spacing[0], first.pixel_spacing[1]),
        sop_uids=tuple(planes[n].sop_uid for n in order),
    )
