"""Synthetic daily CT QA scans of a 200 mm water phantom, under ``good/ct-qa-pass/`` and
``good/ct-qa-fail/``.

The phantom is a water cylinder in a 5 mm acrylic shell (120 HU), in air, scanned in ten
5 mm axial slices on a 256 x 256 grid of 1 mm pixels. Its water reads ``water_hu`` with
Gaussian noise of ``noise_hu`` at the centre, rising by ``cupping_hu`` towards the edge (a
beam-hardening cup, quadratic in the radius). The passing scan is what a well-calibrated
scanner gives; the failing one has drifted: water at +9 HU and a 12 HU cup (about 7.6 HU
between the centre and the peripheral regions), outside the default tolerances (±4 HU
water, ±5 HU uniformity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from acme.samples._common import Patient, StudyIdentity, WriteContext, record, write_part10
from acme.samples.ct import ct_slice_dataset, stored_values
from acme.samples.ct_model import ChestPhantom
from acme.samples.manifest import CtQaTruth, Pipeline, SampleStudy

QA_SLICES = 10
QA_MATRIX = 256
QA_PIXEL_MM = 1.0
QA_SLICE_MM = 5.0
PHANTOM_RADIUS_MM = 100.0
SHELL_MM = 5.0
SHELL_HU = 120.0
QA_DESCRIPTION = "DAILY QA WATER PHANTOM"

Grid = NDArray[np.float32]


@dataclass(frozen=True)
class _QaSpec:
    name: str
    number: int
    water_hu: float
    noise_hu: float
    cupping_hu: float
    passes: bool


_SPECS = (
    _QaSpec("ct-qa-pass", 11, water_hu=1.0, noise_hu=5.0, cupping_hu=2.0, passes=True),
    _QaSpec("ct-qa-fail", 12, water_hu=9.0, noise_hu=5.0, cupping_hu=12.0, passes=False),
)
QA_FILE_COUNT = len(_SPECS) * QA_SLICES
_PATIENT = Patient("SYNTHETIC^QA^WATER PHANTOM", "SYN-QA-WATER", "20000101", "O")


def water_phantom_hu(
    spec_water: float, noise: float, cupping: float, rng: np.random.Generator
) -> Grid:
    """One slice of the water phantom, in HU."""
    origin = -(QA_MATRIX - 1) / 2 * QA_PIXEL_MM
    axis = origin + np.arange(QA_MATRIX, dtype=np.float32) * np.float32(QA_PIXEL_MM)
    y, x = np.meshgrid(axis, axis, indexing="ij")
    radius = np.sqrt(x * x + y * y)
    image = np.full((QA_MATRIX, QA_MATRIX), -1000.0, dtype=np.float32)
    image[radius < PHANTOM_RADIUS_MM + SHELL_MM] = SHELL_HU
    water = radius < PHANTOM_RADIUS_MM
    cup = cupping * (radius / PHANTOM_RADIUS_MM) ** 2
    image[water] = (spec_water + cup)[water]
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(noise)
    return image


def write_qa_phantoms(ctx: WriteContext) -> list[SampleStudy]:
    """Write the passing and the failing QA scan, each its own study."""
    grid = ChestPhantom(slices=QA_SLICES, matrix=QA_MATRIX, pixel_mm=QA_PIXEL_MM,
                        slice_mm=QA_SLICE_MM)  # fmt: skip
    studies = []
    for spec in _SPECS:
        identity = StudyIdentity.make(ctx.uids, spec.name, _PATIENT, spec.number, "CT QA")
        identity = StudyIdentity(
            patient=identity.patient, study_uid=identity.study_uid,
            series_uid=identity.series_uid, accession=identity.accession,
            study_id=identity.study_id, description="CT QA",
        )  # fmt: skip
        frame_of_reference = ctx.uids.uid(spec.name, "frame-of-reference")
        rng = ctx.rng(spec.name, "noise")
        for index in range(QA_SLICES):
            hu = water_phantom_hu(spec.water_hu, spec.noise_hu, spec.cupping_hu, rng)
            ds = ct_slice_dataset(
                identity,
                sop_uid=ctx.uids.uid(spec.name, "sop", str(index)),
                frame_of_reference=frame_of_reference,
                phantom=grid,
                index=index,
                values=stored_values(hu),
                body_part="PHANTOM",
            )
            ds.SeriesDescription = QA_DESCRIPTION
            ds.WindowCenter, ds.WindowWidth = 0, 100
            del ds.WindowCenterWidthExplanation
            path = ctx.root / "good" / spec.name / f"QA{index + 1:06d}.dcm"
            write_part10(ds, path)
            record(
                ctx, path, category=spec.name, ds=ds, pipeline=Pipeline.CT_QA,
                description=f"Synthetic water phantom QA slice {index + 1} of {QA_SLICES} "
                f"({'passes' if spec.passes else 'fails'}).",
            )  # fmt: skip
        studies.append(
            SampleStudy(
                study_uid=identity.study_uid,
                series_uid=identity.series_uid,
                patient_id=_PATIENT.patient_id,
                modality="CT",
                description="CT QA",
                instances=QA_SLICES,
                expected_pipeline=Pipeline.CT_QA,
                truth=CtQaTruth(
                    water_hu=spec.water_hu,
                    noise_hu=spec.noise_hu,
                    cupping_hu=spec.cupping_hu,
                    passes=spec.passes,
                ),
            )
        )
    return studies
