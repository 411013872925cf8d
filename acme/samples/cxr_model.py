"""A parametric PA chest radiograph: torso, lung fields, mediastinum and heart, spine, ribs and
clavicles, and optionally one finding (an opacity blob or a pleural effusion with a meniscus).

The model also serves to generate training images: every random parameter is drawn first and
in the same order whatever the finding, so one seed gives the same anatomy and noise for every
finding and the images differ only where the finding is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from acme.samples.manifest import CxrFinding, CxrTruth, PixelBox

Image = NDArray[np.float32]


@dataclass(frozen=True)
class CxrImage:
    """A rendered radiograph: ``pixels`` in [0, 1], 1 the most attenuating (white)."""

    pixels: Image
    truth: CxrTruth


@dataclass(frozen=True)
class _Lung:
    side: Literal["right", "left"]
    center: float
    half_width: float
    apex: float
    base: float

    @property
    def lateral(self) -> float:
        """-1 when the lateral border is towards the image's left (the patient's right lung)."""
        return -1.0 if self.side == "right" else 1.0


@dataclass(frozen=True)
class _Anatomy:
    torso: float
    lungs: tuple[_Lung, _Lung]
    heart: tuple[float, float, float, float]
    rib_spacing: float
    rib_phase: float


@dataclass(frozen=True)
class _FindingDraw:
    side: int
    across: float
    down: float
    sigma: float
    level: float


def _draw(rng: np.random.Generator) -> tuple[_Anatomy, _FindingDraw]:
    u = rng.uniform
    apex = u(-0.78, -0.70)
    base_right = u(0.36, 0.44)
    width = u(0.26, 0.30)
    lungs = (
        _Lung("right", -u(0.37, 0.41), width, apex, base_right),
        _Lung("left", u(0.39, 0.43), width * u(0.92, 1.0), apex, base_right + u(0.02, 0.06)),
    )
    anatomy = _Anatomy(
        torso=u(0.80, 0.88),
        lungs=lungs,
        heart=(u(0.06, 0.12), u(0.22, 0.30), u(0.24, 0.30), u(0.17, 0.21)),
        rib_spacing=u(0.105, 0.12),
        rib_phase=u(0.0, 0.02),
    )
    finding = _FindingDraw(
        side=int(rng.integers(2)),
        across=u(-0.35, 0.35),
        down=u(0.35, 0.7),
        sigma=u(0.05, 0.075),
        level=u(0.6, 0.75),
    )
    return anatomy, finding


def _box_blur(image: Image, radius: int) -> Image:
    """A separable box blur of width ``2 * radius + 1`` with edge padding."""
    out = image
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius + 1, radius)
        summed = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis, dtype=np.float32)
        width = 2 * radius + 1
        hi = np.take(summed, np.arange(width, summed.shape[axis]), axis=axis)
        lo = np.take(summed, np.arange(0, summed.shape[axis] - width), axis=axis)
        out = (hi - lo) / np.float32(width)
    return out.astype(np.float32)


def _box_of(mask: NDArray[np.bool_]) -> PixelBox:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return PixelBox(
        row_min=int(rows[0]),
        col_min=int(cols[0]),
        row_max=int(rows[-1]) + 1,
        col_max=int(cols[-1]) + 1,
    )


def render_cxr(
    finding: CxrFinding | str, *, rng: np.random.Generator, size: int = 1024
) -> CxrImage:
    """Render a ``size``x``size`` PA chest radiograph carrying ``finding``.

    The image is displayed as radiologists read a PA film: the patient's right on the image's
    left. The returned truth's box is where the finding is, in pixel indices.
    """
    finding = CxrFinding(finding)
    anatomy, draw = _draw(rng)
    noise = rng.standard_normal((size, size), dtype=np.float32) * np.float32(0.012)
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    v, u = axis[:, None], axis[None, :]

    neck = np.float32(0.2)
    grow = np.clip((v + 1.0) / 0.45, 0.0, 1.0)
    torso = neck + (anatomy.torso - neck) * grow * grow * (3.0 - 2.0 * grow)
    thickness = np.sqrt(np.clip(1.0 - (u / torso) ** 2, 0.0, 1.0))
    density = 0.62 * thickness + 0.1 * (v > -0.75) * (np.abs(u) < 0.11)

    hx, hy, hax, hay = anatomy.heart
    heart = (((u - hx) / hax) ** 2 + ((v - hy) / hay) ** 2) < 1.0
    lucency = np.zeros((size, size), dtype=np.float32)
    lung_masks: list[NDArray[np.bool_]] = []
    for lung in anatomy.lungs:
        height = (v - lung.apex) / (lung.base - lung.apex)
        p = (u - lung.center) / (lung.half_width * (0.78 + 0.22 * np.clip(height, 0.0, 1.0)))
        q = 2.0 * height - 1.0
        dome = lung.base - 0.09 * (1.0 - np.clip(p, -1.0, 1.0) ** 2)
        inside = (np.abs(p) < 1.0) & ((q > 0.0) | (p**2 + q**2 < 1.0)) & (v < dome)
        lung_masks.append(inside & ~heart)
        lucency += 0.34 * inside * np.sqrt(np.clip(1.0 - p**2, 0.05, 1.0))
    lucency *= np.where(heart, np.float32(0.25), np.float32(1.0))

    absu = np.abs(u)
    chest = (absu > 0.06) & (absu < 0.92 * torso) & (v > anatomy.lungs[0].apex - 0.02)
    rib_v = v - anatomy.lungs[0].apex - anatomy.rib_phase - 0.22 * (absu - 0.06)
    in_cage = (rib_v > 0.0) & (rib_v < 10 * anatomy.rib_spacing)
    ribs = chest & in_cage & (np.mod(rib_v, anatomy.rib_spacing) < 0.028)
    clavicle = (absu > 0.08) & (absu < 0.5) & (np.abs(v + 0.66 + 0.24 * (absu - 0.08)) < 0.016)
    spine = (absu < 0.055) & (v > -0.95)
    density = density - lucency + 0.1 * ribs + 0.14 * clavicle + 0.12 * spine + 0.05 * heart

    side_lung = anatomy.lungs[draw.side]
    truth = CxrTruth(finding=CxrFinding.NORMAL)
    if finding is CxrFinding.OPACITY:
        cu = side_lung.center + draw.across * side_lung.half_width * 0.6
        cv = side_lung.apex + (side_lung.base - side_lung.apex) * draw.down
        r2 = (u - cu) ** 2 + (v - cv) ** 2
        density = density + 0.4 * np.exp(-r2 / (2.0 * draw.sigma**2))
        box = _box_of(r2 < (2.0 * draw.sigma) ** 2)
        truth = CxrTruth(finding=finding, side=side_lung.side, box=box)
    elif finding is CxrFinding.EFFUSION:
        lateral = np.clip((u - side_lung.center) / side_lung.half_width * side_lung.lateral, 0, 1)
        level = side_lung.apex + (side_lung.base - side_lung.apex) * draw.level
        fluid = lung_masks[draw.side] & (v > level - 0.14 * lateral**2)
        density = density + 0.3 * fluid
        truth = CxrTruth(finding=finding, side=side_lung.side, box=_box_of(fluid))

    blurred = _box_blur(density.astype(np.float32), max(1, size // 256))
    pixels = np.clip(blurred + noise, 0.0, 1.0).astype(np.float32)
    return CxrImage(pixels=pixels, truth=truth)
