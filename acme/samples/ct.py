"""Synthetic chest CT series (:mod:`acme.samples.ct_model` phantoms with known nodules), one
file per slice, InstanceNumber 1 the most inferior slice:

- ``good/ct/``: 512 x 512, 0.75 mm pixels, 2.5 mm slices (``ct_slices`` of them), a 12 mm
  nodule in the right lung;
- ``good/ct-left-small/``: 256 x 256, 1.4 mm pixels, 2 mm slices, a 7 mm nodule in the left;
- ``good/ct-two-nodules/``: as the last, an 18 mm nodule in the right lung and a 9 mm one in
  the left;
- ``good/ct-normal/``: as the last, no nodule.

Every phantom has lung vessels (the candidates a nodule model must reject). Stored values are
12-bit unsigned with RescaleIntercept -1024, so HU = stored - 1024.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

from acme.samples._common import (
    Patient,
    SamplesError,
    StudyIdentity,
    WriteContext,
    base_dataset,
    file_meta,
    record,
    write_part10,
)
from acme.samples.ct_model import ChestPhantom, Nodule, random_vessels
from acme.samples.manifest import CtChestTruth, CtNoduleTruth, Pipeline, SampleStudy

MIN_CT_SLICES = 100
NODULE_HU = 40.0

Grid = NDArray[np.float32]


@dataclass(frozen=True)
class _NoduleAt:
    """A nodule placed relative to the phantom: (x, y) mm and a fraction of the z range."""

    x: float
    y: float
    height: float
    diameter_mm: float


@dataclass(frozen=True)
class _ChestSpec:
    name: str
    folder: str
    patient: Patient
    number: int
    matrix: int
    pixel_mm: float
    slice_mm: float
    slices: int | None
    """None: ``ct_slices``."""
    nodules: tuple[_NoduleAt, ...]
    vessels: int = 8


_SPECS = (
    _ChestSpec("ct", "ct", Patient("SYNTHETIC^CT^ONE", "SYN-0005", "19621111", "M"), 5,
               512, 0.75, 2.5, None, (_NoduleAt(-80.0, -10.0, 0.65, 12.0),)),
    _ChestSpec("ct-left-small", "ct-left-small",
               Patient("SYNTHETIC^CT^TWO", "SYN-0008", "19550405", "F"), 8,
               256, 1.4, 2.0, 80, (_NoduleAt(85.0, 20.0, 0.55, 7.0),)),
    _ChestSpec("ct-two-nodules", "ct-two-nodules",
               Patient("SYNTHETIC^CT^THREE", "SYN-0009", "19480917", "M"), 9,
               256, 1.4, 2.0, 80,
               (_NoduleAt(-70.0, 25.0, 0.4, 18.0), _NoduleAt(70.0, -30.0, 0.7, 9.0))),
    _ChestSpec("ct-normal", "ct-normal",
               Patient("SYNTHETIC^CT^FOUR", "SYN-0010", "19710302", "F"), 10,
               256, 1.4, 2.0, 80, ()),
)  # fmt: skip
CHEST_CT_STUDIES = len(_SPECS)


def extra_ct_files() -> int:
    """Slices of the chest CTs beyond ``good/ct/`` (their count does not depend on ct_slices)."""
    return sum(spec.slices or 0 for spec in _SPECS)


def stored_values(hu: Grid) -> NDArray[np.uint16]:
    """HU as 12-bit stored values (RescaleIntercept -1024)."""
    values: NDArray[np.uint16] = np.clip(np.rint(hu + 1024.0), 0, 4095).astype(np.uint16)
    return values


def ct_slice_dataset(
    identity: StudyIdentity,
    *,
    sop_uid: UID,
    frame_of_reference: UID,
    phantom: ChestPhantom,
    index: int,
    values: NDArray[np.uint16],
    body_part: str = "CHEST",
) -> Dataset:
    """One axial CT slice of ``phantom`` (position, orientation, spacing, 12-bit HU - 1024)."""
    ds = base_dataset(
        identity, sop_class=CTImageStorage, sop_uid=sop_uid, modality="CT",
        instance_number=index + 1,
    )  # fmt: skip
    z = phantom.z(index)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.BodyPartExamined = body_part
    ds.PatientPosition = "HFS"
    ds.FrameOfReferenceUID = frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.AcquisitionNumber = 1
    ds.KVP = 120
    ds.ConvolutionKernel = "STANDARD"
    ds.GantryDetectorTilt = 0
    ds.SliceThickness = phantom.slice_mm
    ds.SpacingBetweenSlices = phantom.slice_mm
    ds.ImagePositionPatient = [phantom.origin_mm, phantom.origin_mm, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = z
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = phantom.matrix
    ds.PixelSpacing = [phantom.pixel_mm, phantom.pixel_mm]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter = [40, -600]
    ds.WindowWidth = [400, 1500]
    ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
    ds.PixelData = values.tobytes()
    ds.file_meta = file_meta(ds, ExplicitVRLittleEndian)
    return ds


def _phantom(spec: _ChestSpec, slices: int, ctx: WriteContext) -> ChestPhantom:
    grid = ChestPhantom(slices=slices, matrix=spec.matrix, pixel_mm=spec.pixel_mm,
                        slice_mm=spec.slice_mm)  # fmt: skip
    nodules = tuple(
        Nodule(
            grid.snap((at.x, at.y, grid.first_z + at.height * (slices - 1) * spec.slice_mm)),
            at.diameter_mm,
            NODULE_HU,
        )
        for at in spec.nodules
    )
    vessels = random_vessels(ctx.rng(spec.name, "vessels"), grid, spec.vessels, nodules, 12.0)
    return ChestPhantom(
        slices=slices, matrix=spec.matrix, pixel_mm=spec.pixel_mm, slice_mm=spec.slice_mm,
        nodules=nodules, vessels=vessels,
    )  # fmt: skip


def _truth(phantom: ChestPhantom) -> CtChestTruth:
    nodules = []
    for nodule in phantom.nodules:
        k, row, column = phantom.index_of(nodule.centre_mm)
        nodules.append(
            CtNoduleTruth(
                center_mm=nodule.centre_mm,
                radius_mm=nodule.diameter_mm / 2,
                hu=nodule.hu,
                side="left" if nodule.side == "left" else "right",
                instance_number=k + 1,
                row=row,
                column=column,
            )
        )
    return CtChestTruth(nodules=tuple(nodules))


def write_ct_series(ctx: WriteContext, *, slices: int) -> list[SampleStudy]:
    """Write the chest CT studies (``good/ct/`` with ``slices`` slices), one file per slice."""
    if slices < MIN_CT_SLICES:
        raise SamplesError(f"ct_slices: expected at least {MIN_CT_SLICES}, got {slices}")
    return [_write_chest(ctx, spec, spec.slices or slices) for spec in _SPECS]


def _write_chest(ctx: WriteContext, spec: _ChestSpec, slices: int) -> SampleStudy:
    phantom = _phantom(spec, slices, ctx)
    rng = ctx.rng(spec.name, "noise")
    identity = StudyIdentity.make(ctx.uids, spec.name, spec.patient, spec.number,
                                  "CT CHEST (SYNTHETIC)")  # fmt: skip
    frame_of_reference = ctx.uids.uid(spec.name, "frame-of-reference")
    for index in range(slices):
        ds = ct_slice_dataset(
            identity,
            sop_uid=ctx.uids.uid(spec.name, "sop", str(index)),
            frame_of_reference=frame_of_reference,
            phantom=phantom,
            index=index,
            values=stored_values(phantom.hu(index, rng)),
        )
        path = ctx.root / "good" / spec.folder / f"CT{index + 1:06d}.dcm"
        write_part10(ds, path)
        record(
            ctx, path, category=spec.folder, ds=ds, pipeline=Pipeline.CT,
            description=f"Synthetic chest CT slice {index + 1} of {slices}, "
            f"z = {phantom.z(index)} mm.",
        )  # fmt: skip
    return SampleStudy(
        study_uid=identity.study_uid,
        series_uid=identity.series_uid,
        patient_id=spec.patient.patient_id,
        modality="CT",
        description=identity.description,
        instances=slices,
        expected_pipeline=Pipeline.CT,
        truth=_truth(phantom),
    )
