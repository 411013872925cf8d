"""Check one CT QA water phantom scan: infer-ct's ``ct-qa`` pipeline.

As daily CT constancy tests do (IEC 61223-2-6, the ACR CT phantom's water module), on the
volume's middle slice:

1. The phantom: the largest connected region above -500 HU, holes filled; its centre and
   radius (of a disc of its area). Less than a 40 mm disc: ``no-phantom``.
2. Regions of interest: a central disc of a tenth of the phantom's radius, and four of the
   same size at 3, 6, 9 and 12 o'clock, 15 mm plus their radius inside the phantom's edge
   (clear of its shell).
3. ``water-mean``: the central mean, within ± ``ACME_CT_QA_WATER_TOLERANCE_HU`` of 0;
   ``noise``: the central standard deviation, up to ``ACME_CT_QA_NOISE_MAX_HU``;
   ``uniformity``: the peripheral mean furthest from the central one, minus it, within ±
   ``ACME_CT_QA_UNIFORMITY_TOLERANCE_HU``. The scan passes when every item does.

The check is a measurement procedure, not a model: runs name it ``ct-water-phantom``
:data:`QA_VERSION`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from infer_ct.series import load_volume
from numpy.typing import NDArray
from scipy import ndimage

from acme.events import QaItem, QaResult, SeriesCompleted
from acme.function import Context, Event
from acme.imaging import Volume
from acme.inference import Claim, Clock, Method, Outcome, Scored, Unusable, ms_since, run_series
from acme.settings import Settings

QA_METHOD = "ct-water-phantom"
QA_VERSION = "1.0.0"
PHANTOM_ABOVE_HU = -500.0
MIN_PHANTOM_RADIUS_MM = 20.0
EDGE_MARGIN_MM = 15.0
QA_MIN_SLICES = 1


def check_phantom(ctx: Context, series: SeriesCompleted, event: Event) -> Outcome:
    """Measure the QA scan ``series`` (see the module docstring)."""
    return run_series(ctx, QaScorer(), series, event)


@dataclass(frozen=True)
class QaScorer:
    pipeline: Literal["ct-qa"] = "ct-qa"
    method_name: str = QA_METHOD
    method_version: str | None = QA_VERSION

    def load(self, ctx: Context) -> Method:
        return Method(QA_METHOD, QA_VERSION)

    def score(
        self, ctx: Context, series: SeriesCompleted, claim: Claim, method: Method, clock: Clock
    ) -> Scored:
        mark = time.perf_counter()
        volume = load_volume(ctx, series.series_uid, min_slices=QA_MIN_SLICES,
                             max_slices=ctx.settings.ct_max_slices)  # fmt: skip
        clock.preprocess_ms = ms_since(mark)
        mark = time.perf_counter()
        result = measure_phantom(volume, ctx.settings)
        clock.inference_ms = ms_since(mark)
        return Scored(findings=[], images_used=volume.shape[0], qa=result)


def _disc(
    shape: tuple[int, ...], centre: tuple[float, float], radius_px: tuple[float, float]
) -> NDArray[np.bool_]:
    """The pixels of an ellipse (a disc in mm) about ``centre``."""
    rows, columns = np.ogrid[: shape[0], : shape[1]]
    inside: NDArray[np.bool_] = (
        ((rows - centre[0]) / radius_px[0]) ** 2 + ((columns - centre[1]) / radius_px[1]) ** 2
    ) <= 1
    return inside


def _item(name: Literal["water-mean", "noise", "uniformity"], value: float, lower: float,
          upper: float) -> QaItem:  # fmt: skip
    value = round(value, 2)
    return QaItem(name=name, value=value, lower=lower, upper=upper,
                  passed=lower <= value <= upper)  # fmt: skip


def measure_phantom(volume: Volume, settings: Settings) -> QaResult:
    """The QA measurements of ``volume``'s middle slice, judged by ``settings``' tolerances."""
    middle = volume.shape[0] // 2
    hu: NDArray[np.float32] = volume.hu[middle]
    _, dy, dx = volume.spacing
    labels, count = ndimage.label(hu > PHANTOM_ABOVE_HU)
    if count == 0:
        raise Unusable("no-phantom", "the middle slice holds nothing denser than -500 HU")
    sizes = np.bincount(labels.ravel())[1:]
    phantom = ndimage.binary_fill_holes(labels == int(np.argmax(sizes)) + 1)
    area_mm2 = float(phantom.sum()) * dy * dx
    radius_mm = float(np.sqrt(area_mm2 / np.pi))
    if radius_mm < MIN_PHANTOM_RADIUS_MM:
        raise Unusable(
            "no-phantom",
            f"the largest object on the middle slice is a {2 * radius_mm:.0f} mm disc; a QA "
            f"water phantom is at least {2 * MIN_PHANTOM_RADIUS_MM:.0f} mm across",
        )
    ci, cj = ndimage.center_of_mass(phantom)
    roi_mm = radius_mm / 10
    roi = (roi_mm / dy, roi_mm / dx)
    reach = radius_mm - EDGE_MARGIN_MM - roi_mm
    centre = hu[_disc(hu.shape, (ci, cj), roi)]
    peripheral = [
        float(hu[_disc(hu.shape, (ci + di * reach / dy, cj + dj * reach / dx), roi)].mean())
        for di, dj in ((-1, 0), (0, 1), (1, 0), (0, -1))
    ]
    mean = float(centre.mean())
    furthest = max(peripheral, key=lambda value: abs(value - mean))
    water = settings.ct_qa_water_tolerance_hu
    uniform = settings.ct_qa_uniformity_tolerance_hu
    items = (
        _item("water-mean", mean, -water, water),
        _item("noise", float(centre.std()), 0.0, settings.ct_qa_noise_max_hu),
        _item("uniformity", furthest - mean, -uniform, uniform),
    )
    return QaResult(
        passed=all(item.passed for item in items),
        items=items,
        sop_uid=volume.sop_uids[middle],
        phantom_diameter_mm=round(2 * radius_mm, 1),
    )
