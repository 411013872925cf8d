"""A synthetic chest CT series: an axial phantom (body, fat, lungs, heart, aorta, spine, sternum,
ribs) with one nodule at a known place, one 512x512 slice per file under ``good/ct/``.

Stored values are 12-bit unsigned with RescaleIntercept -1024, so HU = stored - 1024.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

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
from acme.samples.manifest import CtNoduleTruth, Pipeline, SampleStudy

MIN_CT_SLICES = 100
MATRIX = 512
PIXEL_SPACING_MM = 0.75
SLICE_MM = 2.5
ORIGIN_MM = -(MATRIX - 1) / 2 * PIXEL_SPACING_MM
NODULE_RADIUS_MM = 6.0
NODULE_HU = 40.0
NOISE_HU = 10.0
_PATIENT = Patient("SYNTHETIC^CT^ONE", "SYN-0005", "19621111", "M")

Grid = NDArray[np.float32]
Mask = NDArray[np.bool_]


def _ellipse(x: Grid, y: Grid, cx: float, cy: float, ax: float, ay: float) -> Grid:
    """The squared normalised radius: < 1 inside the ellipse."""
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2


def _profile(t: float, centre: float, half: float) -> float:
    """How much of a structure spanning ``centre ± half`` (in t) is present at ``t``."""
    return float(np.sqrt(max(0.0, 1.0 - ((t - centre) / half) ** 2)))


@dataclass(frozen=True)
class CtPhantom:
    """The phantom for a series of ``slices`` slices; ``t`` runs from -1 (feet) to 1 (head)."""

    slices: int

    @property
    def first_z(self) -> float:
        return -(self.slices - 1) / 2 * SLICE_MM

    def z(self, index: int) -> float:
        return self.first_z + index * SLICE_MM

    def t(self, z: float) -> float:
        return z / (-self.first_z)

    def nodule(self) -> CtNoduleTruth:
        """The nodule: in the right lung, centred on a voxel a little above the middle."""
        index = round((self.slices - 1) * 0.65)
        row = round((-10.0 - ORIGIN_MM) / PIXEL_SPACING_MM)
        column = round((-80.0 - ORIGIN_MM) / PIXEL_SPACING_MM)
        x = ORIGIN_MM + column * PIXEL_SPACING_MM
        y = ORIGIN_MM + row * PIXEL_SPACING_MM
        return CtNoduleTruth(
            center_mm=(x, y, self.z(index)),
            radius_mm=NODULE_RADIUS_MM,
            hu=NODULE_HU,
            instance_number=index + 1,
            row=row,
            column=column,
        )


@dataclass(frozen=True)
class _Slab:
    """The slice-independent geometry, computed once per series."""

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

    @classmethod
    def build(cls) -> _Slab:
        axis = ORIGIN_MM + np.arange(MATRIX, dtype=np.float32) * np.float32(PIXEL_SPACING_MM)
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
            lungs=(_ellipse(x, y, -75.0, 0.0, 55.0, 80.0), _ellipse(x, y, 75.0, 0.0, 52.0, 78.0)),
            heart=_ellipse(x, y, 25.0, -35.0, 60.0, 50.0),
            liver=_ellipse(x, y, -45.0, 5.0, 100.0, 80.0) < 1,
            bone=(vertebra | arch) & ~canal,
            canal=canal,
            aorta=_ellipse(x, y, 15.0, 40.0, 12.0, 12.0) < 1,
            sternum=_ellipse(x, y, 0.0, -104.0, 14.0, 6.0) < 1,
            ring=(body > 0.80**2) & (body < 0.86**2) & ((np.abs(x) > 25) | (y > 0)),
            rib_phase=(np.abs(angle) * np.float32(40.0)).astype(np.float32),
        )

    def hu(self, phantom: CtPhantom, index: int, rng: np.random.Generator) -> Grid:
        """One slice in HU, with noise."""
        z = phantom.z(index)
        t = phantom.t(z)
        image = np.full((MATRIX, MATRIX), -1000.0, dtype=np.float32)
        image[self.body < 1] = 0.0
        image[(self.body >= 0.9**2) & (self.body < 1)] = -100.0
        if t < -0.55:
            image[self.liver & (self.body < 0.85**2)] = 60.0
        lung = _profile(t, 0.1, 0.85)
        for shape in self.lungs:
            image[shape < lung**2] = -820.0
        heart = _profile(t, -0.15, 0.4)
        image[self.heart < heart**2] = 40.0
        if t > -0.6:
            image[self.aorta] = 45.0
        if t > -0.5:
            image[self.sternum] = 500.0
        image[self.canal] = 20.0
        image[self.bone] = 700.0
        image[self.ring & (np.mod(self.rib_phase + z, 30.0) < 8.0)] = 700.0
        nodule = phantom.nodule()
        nx, ny, nz = nodule.center_mm
        r2 = nodule.radius_mm**2 - (z - nz) ** 2
        if r2 > 0:
            image[(self.x - nx) ** 2 + (self.y - ny) ** 2 < r2] = nodule.hu
        image += rng.standard_normal((MATRIX, MATRIX), dtype=np.float32) * np.float32(NOISE_HU)
        return image


def stored_values(hu: Grid) -> NDArray[np.uint16]:
    """HU as 12-bit stored values (RescaleIntercept -1024)."""
    values: NDArray[np.uint16] = np.clip(np.rint(hu + 1024.0), 0, 4095).astype(np.uint16)
    return values


def write_ct_series(ctx: WriteContext, *, slices: int) -> SampleStudy:
    """Write the CT series, one file per slice, InstanceNumber 1 the most inferior slice."""
    if slices < MIN_CT_SLICES:
        raise SamplesError(f"ct_slices: expected at least {MIN_CT_SLICES}, got {slices}")
    phantom = CtPhantom(slices)
    slab = _Slab.build()
    rng = ctx.rng("ct", "noise")
    identity = StudyIdentity.make(ctx.uids, "ct", _PATIENT, 5, "CT CHEST (SYNTHETIC)")
    frame_of_reference = ctx.uids.uid("ct", "frame-of-reference")
    for index in range(slices):
        ds = base_dataset(
            identity,
            sop_class=CTImageStorage,
            sop_uid=ctx.uids.uid("ct", "sop", str(index)),
            modality="CT",
            instance_number=index + 1,
        )
        z = phantom.z(index)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.BodyPartExamined = "CHEST"
        ds.PatientPosition = "HFS"
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.AcquisitionNumber = 1
        ds.KVP = 120
        ds.ConvolutionKernel = "STANDARD"
        ds.SliceThickness = SLICE_MM
        ds.SpacingBetweenSlices = SLICE_MM
        ds.ImagePositionPatient = [ORIGIN_MM, ORIGIN_MM, z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceLocation = z
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = MATRIX
        ds.PixelSpacing = [PIXEL_SPACING_MM, PIXEL_SPACING_MM]
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
        ds.PixelData = stored_values(slab.hu(phantom, index, rng)).tobytes()
        ds.file_meta = file_meta(ds, ExplicitVRLittleEndian)
        path = ctx.root / "good" / "ct" / f"CT{index + 1:06d}.dcm"
        write_part10(ds, path)
        record(
            ctx,
            path,
            category="ct",
            description=f"Synthetic chest CT slice {index + 1} of {slices}, z = {z} mm.",
            ds=ds,
            pipeline=Pipeline.CT,
        )
    return SampleStudy(
        study_uid=identity.study_uid,
        series_uid=identity.series_uid,
        patient_id=_PATIENT.patient_id,
        modality="CT",
        description=identity.description,
        instances=slices,
        expected_pipeline=Pipeline.CT,
        truth=phantom.nodule(),
    )
