"""The parametric chest CT phantom: an axial body (fat, lungs, heart, aorta, spine, sternum,
ribs), lung vessels, and spherical nodules of known diameter and HU at known places.

Used for the sample studies and, by ``training/ct``, to make training and held-out volumes.
Geometry follows DICOM: slice ``k`` lies at z = ``first_z + k * slice_mm`` (feet to head),
pixel (row, column) at (x, y) = (origin + column * pixel_mm, origin + row * pixel_mm) in
patient (LPS) coordinates, so +x is the patient's left. Nodules and vessels are sampled at
four depths within each slice's thickness (partial volume), like a real reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from acme.imaging import Volume

Grid = NDArray[np.float32]
Mask = NDArray[np.bool_]
Point = tuple[float, float, float]

LUNG_HU = -820.0
DEPTH_SAMPLES = 4


@dataclass(frozen=True)
class Nodule:
    """A solid sphere."""

    centre_mm: Point
    diameter_mm: float
    hu: float = 40.0

    @property
    def side(self) -> str:
        return "left" if self.centre_mm[0] > 0 else "right"


@dataclass(frozen=True)
class Vessel:
    """A straight tube through ``point`` along ``direction`` (clipped to the lungs)."""

    point: Point
    direction: Point
    radius_mm: float
    hu: float = 40.0


@dataclass(frozen=True)
class ChestPhantom:
    """One chest CT: its grid, and what it contains."""

    slices: int
    matrix: int = 512
    pixel_mm: float = 0.75
    slice_mm: float = 2.5
    nodules: tuple[Nodule, ...] = ()
    vessels: tuple[Vessel, ...] = ()
    noise_hu: float = 10.0

    @property
    def origin_mm(self) -> float:
        """x of column 0 and y of row 0."""
        return -(self.matrix - 1) / 2 * self.pixel_mm

    @property
    def first_z(self) -> float:
        return -(self.slices - 1) / 2 * self.slice_mm

    def z(self, index: int) -> float:
        return self.first_z + index * self.slice_mm

    def t(self, z: float) -> float:
        """-1 at the feet end, 1 at the head end of the scanned range."""
        return z / (-self.first_z) if self.slices > 1 else 0.0

    def index_of(self, point: Point) -> tuple[int, int, int]:
        """The (slice, row, column) of the voxel nearest to ``point``."""
        x, y, z = point
        return (
            round((z - self.first_z) / self.slice_mm),
            round((y - self.origin_mm) / self.pixel_mm),
            round((x - self.origin_mm) / self.pixel_mm),
        )

    def snap(self, point: Point) -> Point:
        """``point`` moved to the nearest voxel centre."""
        k, row, column = self.index_of(point)
        return (
            self.origin_mm + column * self.pixel_mm,
            self.origin_mm + row * self.pixel_mm,
            self.z(k),
        )

    @cached_property
    def anatomy(self) -> Anatomy:
        return Anatomy.build(self.matrix, self.pixel_mm)

    def hu(self, index: int, rng: np.random.Generator) -> Grid:
        """Slice ``index`` in HU, with noise."""
        return self.anatomy.render(self, index, rng)


def _ellipse(x: Grid, y: Grid, cx: float, cy: float, ax: float, ay: float) -> Grid:
    """The squared normalised radius: < 1 inside the ellipse."""
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2


def _profile(t: float, centre: float, half: float) -> float:
    """How much of a structure spanning ``centre ± half`` (in t) is present at ``t``."""
    return float(np.sqrt(max(0.0, 1.0 - ((t - centre) / half) ** 2)))


LUNGS = ((-75.0, 0.0, 55.0, 80.0), (75.0, 0.0, 52.0, 78.0))
"""(cx, cy, ax, ay) of the right and left lung's largest cross-section, mm."""


def lung_scale(t: float) -> float:
    """How large the lungs' cross-section is at ``t`` (0 outside them)."""
    return _profile(t, 0.1, 0.85)


@dataclass(frozen=True)
class Anatomy:
    """The slice-independent geometry of one grid, computed once per phantom."""

    x: Grid
    y: Grid
    body: Grid
    lungs: tuple[Grid, Grid]
    heart: Grid
    liver: Mask
    bone: Mask
    canal: Mask
    aorta: Mask
    sternum: Mask
    ring: Mask
    rib_phase: Grid
    pixel_mm: float = field(default=0.75)

    @classmethod
    def build(cls, matrix: int, pixel_mm: float) -> Anatomy:
        origin = -(matrix - 1) / 2 * pixel_mm
        axis = np.float32(origin) + np.arange(matrix, dtype=np.float32) * np.float32(pixel_mm)
        y, x = np.meshgrid(axis, axis, indexing="ij")
        body = _ellipse(x, y, 0.0, 0.0, 165.0, 115.0)
        vertebra = _ellipse(x, y, 0.0, 75.0, 18.0, 18.0) < 1
        arch = _ellipse(x, y, 0.0, 102.0, 26.0, 13.0) < 1
        canal = _ellipse(x, y, 0.0, 100.0, 7.0, 7.0) < 1
        angle = np.arctan2(y, x)
        return cls(
            x=x,
            y=y,
            body=body,
            lungs=(_ellipse(x, y, *LUNGS[0]), _ellipse(x, y, *LUNGS[1])),
            heart=_ellipse(x, y, 25.0, -35.0, 60.0, 50.0),
            liver=_ellipse(x, y, -45.0, 5.0, 100.0, 80.0) < 1,
            bone=(vertebra | arch) & ~canal,
            canal=canal,
            aorta=_ellipse(x, y, 15.0, 40.0, 12.0, 12.0) < 1,
            sternum=_ellipse(x, y, 0.0, -104.0, 14.0, 6.0) < 1,
            ring=(body > 0.80**2) & (body < 0.86**2) & ((np.abs(x) > 25) | (y > 0)),
            rib_phase=(np.abs(angle) * np.float32(40.0)).astype(np.float32),
            pixel_mm=pixel_mm,
        )

    def render(self, phantom: ChestPhantom, index: int, rng: np.random.Generator) -> Grid:
        z = phantom.z(index)
        t = phantom.t(z)
        image = np.full(self.x.shape, -1000.0, dtype=np.float32)
        image[self.body < 1] = 0.0
        image[(self.body >= 0.9**2) & (self.body < 1)] = -100.0
        if t < -0.55:
            image[self.liver & (self.body < 0.85**2)] = 60.0
        lung = lung_scale(t)
        in_lung = np.zeros(self.x.shape, dtype=bool)
        for shape in self.lungs:
            in_lung |= shape < lung**2
        image[in_lung] = LUNG_HU
        heart = _profile(t, -0.15, 0.4)
        image[self.heart < heart**2] = 40.0
        if t > -0.6:
            image[self.aorta] = 45.0
        if t > -0.5:
            image[self.sternum] = 500.0
        image[self.canal] = 20.0
        image[self.bone] = 700.0
        image[self.ring & (np.mod(self.rib_phase + z, 30.0) < 8.0)] = 700.0
        depths: NDArray[np.float64] = z + (
            np.arange(DEPTH_SAMPLES, dtype=np.float64) + 0.5 - DEPTH_SAMPLES / 2
        ) * (phantom.slice_mm / DEPTH_SAMPLES)
        for vessel in phantom.vessels:
            self._add_vessel(image, in_lung, vessel, depths)
        for nodule in phantom.nodules:
            self._add_nodule(image, nodule, depths)
        image += rng.standard_normal(self.x.shape, dtype=np.float32) * np.float32(phantom.noise_hu)
        return image

    def _window(self, x: float, y: float, reach_mm: float) -> tuple[slice, slice]:
        """The rows and columns within ``reach_mm`` of (x, y)."""
        origin = float(self.x[0, 0])
        reach = int(np.ceil(reach_mm / self.pixel_mm)) + 2
        col, row = round((x - origin) / self.pixel_mm), round((y - origin) / self.pixel_mm)
        return slice(max(0, row - reach), max(0, row + reach + 1)), slice(
            max(0, col - reach), max(0, col + reach + 1)
        )

    def _add_vessel(
        self, image: Grid, in_lung: Mask, vessel: Vessel, depths: NDArray[np.float64]
    ) -> None:
        d = np.asarray(vessel.direction, dtype=np.float64)
        d /= np.linalg.norm(d)
        if abs(d[2]) < 0.2:
            return  # nearly in-plane vessels are not modelled
        px, py, pz = vessel.point
        z = float(np.mean(depths))
        cx, cy = px + d[0] * (z - pz) / d[2], py + d[1] * (z - pz) / d[2]
        spread = vessel.radius_mm / abs(d[2]) + float(np.ptp(depths)) * np.hypot(d[0], d[1])
        rows, cols = self._window(cx, cy, spread)
        x, y = self.x[rows, cols], self.y[rows, cols]
        if x.size == 0:
            return
        total = np.zeros(x.shape, dtype=np.float32)
        for depth in depths:
            rx, ry, rz = x - np.float32(px), y - np.float32(py), np.float32(depth - pz)
            ux = ry * np.float32(d[2]) - rz * np.float32(d[1])
            uy = rz * np.float32(d[0]) - rx * np.float32(d[2])
            uz = rx * np.float32(d[1]) - ry * np.float32(d[0])
            total += (ux * ux + uy * uy + uz * uz) < np.float32(vessel.radius_mm**2)
        fraction = total / np.float32(len(depths)) * in_lung[rows, cols]
        image[rows, cols] += fraction * np.float32(vessel.hu - LUNG_HU)

    def _add_nodule(self, image: Grid, nodule: Nodule, depths: NDArray[np.float64]) -> None:
        nx, ny, nz = nodule.centre_mm
        radius = nodule.diameter_mm / 2
        if min(abs(depth - nz) for depth in depths) >= radius:
            return
        rows, cols = self._window(nx, ny, radius)
        x, y = self.x[rows, cols], self.y[rows, cols]
        inside = np.zeros(x.shape, dtype=np.float32)
        for depth in depths:
            r2 = radius**2 - (depth - nz) ** 2
            if r2 > 0:
                inside += ((x - nx) ** 2 + (y - ny) ** 2) < r2
        fraction = inside / np.float32(len(depths))
        patch = image[rows, cols]
        image[rows, cols] = patch + fraction * (np.float32(nodule.hu) - patch)


def lung_point(rng: np.random.Generator, phantom: ChestPhantom, margin_mm: float) -> Point:
    """A random point at least ``margin_mm`` inside a lung (its side at random)."""
    for _ in range(1000):
        k = int(rng.integers(0, phantom.slices))
        scale = lung_scale(phantom.t(phantom.z(k)))
        cx, cy, ax, ay = LUNGS[int(rng.integers(0, 2))]
        ax, ay = ax * scale - margin_mm, ay * scale - margin_mm
        if ax <= 2 or ay <= 2:
            continue
        angle, radius = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0, 1))
        point = (cx + ax * radius * np.cos(angle), cy + ay * radius * np.sin(angle), phantom.z(k))
        z_margin = phantom.first_z + margin_mm <= point[2] <= -phantom.first_z - margin_mm
        if z_margin and _inside_lungs(phantom, point, margin_mm):
            return point
    raise ValueError("no point found inside the lungs; the phantom is too small")


def _inside_lungs(phantom: ChestPhantom, point: Point, margin_mm: float) -> bool:
    """True when a sphere of ``margin_mm`` about ``point`` lies in one lung on every slice."""
    x, y, z = point
    for dz in np.linspace(-margin_mm, margin_mm, 5):
        scale = lung_scale(phantom.t(z + dz))
        reach = np.sqrt(max(0.0, margin_mm**2 - dz**2))
        fits = False
        for cx, cy, ax, ay in LUNGS:
            ax, ay = ax * scale - reach, ay * scale - reach
            if ax > 0 and ay > 0 and ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 < 1:
                fits = True
        if not fits:
            return False
    return True


def random_vessels(
    rng: np.random.Generator,
    phantom: ChestPhantom,
    count: int,
    avoid: tuple[Nodule, ...] = (),
    clearance_mm: float = 6.0,
) -> tuple[Vessel, ...]:
    """``count`` vessels, mostly running head to feet, at least ``clearance_mm`` clear of the
    nodules ``avoid``."""
    vessels: list[Vessel] = []
    while len(vessels) < count:
        point = lung_point(rng, phantom, 4.0)
        direction = (rng.normal(0, 0.35), rng.normal(0, 0.35), 1.0)
        vessel = Vessel(point=point, direction=direction, radius_mm=float(rng.uniform(0.8, 2.0)))
        if all(
            _distance_to_line(n.centre_mm, vessel) > n.diameter_mm / 2 + clearance_mm for n in avoid
        ):
            vessels.append(vessel)
    return tuple(vessels)


def _distance_to_line(point: Point, vessel: Vessel) -> float:
    d = np.asarray(vessel.direction, dtype=np.float64)
    d /= np.linalg.norm(d)
    r = np.asarray(point) - np.asarray(vessel.point)
    return float(np.linalg.norm(np.cross(r, d)))


def phantom_volume(phantom: ChestPhantom, rng: np.random.Generator) -> Volume:
    """The phantom as the :class:`~acme.imaging.Volume` its DICOM series assembles to
    (stored as 12-bit values, HU = stored - 1024, as the sample series are)."""
    hu = np.stack([phantom.hu(k, rng) for k in range(phantom.slices)])
    hu = np.clip(np.rint(hu + 1024.0), 0, 4095) - np.float32(1024.0)
    return Volume(
        hu=hu.astype(np.float32),
        origin=np.asarray([phantom.origin_mm, phantom.origin_mm, phantom.first_z]),
        row_direction=np.asarray([1.0, 0.0, 0.0]),
        column_direction=np.asarray([0.0, 1.0, 0.0]),
        normal=np.asarray([0.0, 0.0, 1.0]),
        spacing=(phantom.slice_mm, phantom.pixel_mm, phantom.pixel_mm),
        sop_uids=tuple(f"2.25.{k + 1}" for k in range(phantom.slices)),
    )
