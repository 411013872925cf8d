"""Synthetic chest radiographs as DICOM: three single-image studies under ``good/cxr/`` (one per
finding, in DX and CR, MONOCHROME2 and MONOCHROME1, uncompressed, RLE and JPEG 2000 lossless)
and one raw dataset without preamble or file meta under ``good/no-preamble/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydicom import dcmwrite
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    RLELossless,
)

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
from acme.samples.cxr_model import CxrImage, render_cxr
from acme.samples.manifest import CxrFinding, Pipeline, SampleStudy

Photometric = Literal["MONOCHROME1", "MONOCHROME2"]
BITS_STORED = 12
PIXEL_SPACING_MM = 0.35


@dataclass(frozen=True)
class _CxrSpec:
    name: str
    finding: CxrFinding
    modality: Literal["DX", "CR"]
    photometric: Photometric
    transfer_syntax: UID
    patient: Patient
    number: int


_SPECS = (
    _CxrSpec(
        "normal-dx",
        CxrFinding.NORMAL,
        "DX",
        "MONOCHROME2",
        ExplicitVRLittleEndian,
        Patient("SYNTHETIC^CHEST^ONE", "SYN-0002", "19700101", "F"),
        2,
    ),
    _CxrSpec(
        "opacity-cr-rle",
        CxrFinding.OPACITY,
        "CR",
        "MONOCHROME1",
        RLELossless,
        Patient("SYNTHETIC^CHEST^TWO", "SYN-0003", "19650312", "M"),
        3,
    ),
    _CxrSpec(
        "effusion-dx-j2k",
        CxrFinding.EFFUSION,
        "DX",
        "MONOCHROME2",
        JPEG2000Lossless,
        Patient("SYNTHETIC^CHEST^THREE", "SYN-0004", "19580723", "F"),
        4,
    ),
)
CXR_FILE_COUNT = len(_SPECS) + 1
_RAW_PATIENT = Patient("SYNTHETIC^RAW^DATASET", "SYN-0006", "19800229", "M")


def stored_values(pixels: NDArray[np.float32], photometric: Photometric) -> NDArray[np.uint16]:
    """Rendered [0, 1] pixels as 12-bit stored values; MONOCHROME1 stores white as 0."""
    top = (1 << BITS_STORED) - 1
    values = np.rint(np.clip(pixels, 0.0, 1.0) * top).astype(np.uint16)
    return (top - values).astype(np.uint16) if photometric == "MONOCHROME1" else values


def radiograph_dataset(
    identity: StudyIdentity,
    *,
    sop_uid: UID,
    image: CxrImage,
    modality: Literal["DX", "CR"],
    photometric: Photometric,
) -> Dataset:
    """A PA chest DX (for presentation) or CR instance, uncompressed explicit VR little endian."""
    sop_class = (
        DigitalXRayImageStorageForPresentation
        if modality == "DX"
        else ComputedRadiographyImageStorage
    )
    ds = base_dataset(
        identity, sop_class=sop_class, sop_uid=sop_uid, modality=modality, instance_number=1
    )
    values = stored_values(image.pixels, photometric)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = values.shape
    ds.BitsAllocated = 16
    ds.BitsStored = BITS_STORED
    ds.HighBit = BITS_STORED - 1
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [PIXEL_SPACING_MM, PIXEL_SPACING_MM]
    ds.ImagerPixelSpacing = [PIXEL_SPACING_MM, PIXEL_SPACING_MM]
    ds.WindowCenter = 2048
    ds.WindowWidth = 4096
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    if modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.ImageLaterality = "U"
        ds.DetectorType = "SCINTILLATOR"
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.RescaleType = "US"
        ds.PixelIntensityRelationship = "LOG"
        ds.PixelIntensityRelationshipSign = 1
        ds.PresentationLUTShape = "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"
    ds.PixelData = values.tobytes()
    ds.file_meta = file_meta(ds, ExplicitVRLittleEndian)
    return ds


def compress(ds: Dataset, transfer_syntax: UID) -> None:
    """Compress ``ds`` in place, keeping its SOP Instance UID; same input, same bytes."""
    if transfer_syntax == ExplicitVRLittleEndian:
        return
    try:
        ds.compress(transfer_syntax, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    except (RuntimeError, ValueError) as exc:
        raise SamplesError(f"cannot encode {transfer_syntax.name} here: {exc}") from exc


def _study(identity: StudyIdentity, modality: str, image: CxrImage) -> SampleStudy:
    return SampleStudy(
        study_uid=identity.study_uid,
        series_uid=identity.series_uid,
        patient_id=identity.patient.patient_id,
        modality=modality,
        description=identity.description,
        instances=1,
        expected_pipeline=Pipeline.CXR,
        truth=image.truth,
    )


def write_cxr_studies(ctx: WriteContext, *, size: int = 1024) -> list[SampleStudy]:
    """Write the three synthetic chest radiographs, each its own study."""
    studies = []
    for spec in _SPECS:
        identity = StudyIdentity.make(
            ctx.uids, f"cxr-{spec.name}", spec.patient, spec.number, "CHEST PA (SYNTHETIC)"
        )
        image = render_cxr(spec.finding, rng=ctx.rng("cxr", spec.name), size=size)
        ds = radiograph_dataset(
            identity,
            sop_uid=ctx.uids.uid(f"cxr-{spec.name}", "sop"),
            image=image,
            modality=spec.modality,
            photometric=spec.photometric,
        )
        compress(ds, spec.transfer_syntax)
        path = ctx.root / "good" / "cxr" / f"{spec.name}.dcm"
        write_part10(ds, path)
        description = (
            f"Synthetic PA chest {spec.modality}, {spec.photometric}, "
            f"{spec.transfer_syntax.name}; carries '{spec.finding}'."
        )
        record(ctx, path, category="cxr", description=description, ds=ds, pipeline=Pipeline.CXR)
        studies.append(_study(identity, spec.modality, image))
    return studies


def raw_dataset_bytes(ds: Dataset) -> bytes:
    """``ds`` encoded as a bare implicit VR little endian dataset: no preamble, no file meta."""
    buffer = BytesIO()
    bare = Dataset(ds)
    dcmwrite(buffer, bare, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return buffer.getvalue()


def write_raw_dataset(ctx: WriteContext, *, size: int = 512) -> SampleStudy:
    """Write one normal DX as a raw dataset, the way pre-Part-10 devices stored files.

    The platform accepts it: ingest reads it with ``force=True``, takes implicit VR little
    endian as its transfer syntax and archives it as a proper Part 10 file.
    """
    identity = StudyIdentity.make(
        ctx.uids, "raw-dataset", _RAW_PATIENT, 6, "CHEST PA (SYNTHETIC, RAW DATASET)"
    )
    image = render_cxr(CxrFinding.NORMAL, rng=ctx.rng("cxr", "raw-dataset"), size=size)
    ds = radiograph_dataset(
        identity,
        sop_uid=ctx.uids.uid("raw-dataset", "sop"),
        image=image,
        modality="DX",
        photometric="MONOCHROME2",
    )
    path = ctx.root / "good" / "no-preamble" / "raw-dataset.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw_dataset_bytes(ds))
    ds.file_meta = file_meta(ds, ImplicitVRLittleEndian)
    description = (
        "A bare implicit VR little endian dataset: no 128-byte preamble, no 'DICM', no file "
        "meta. Accepted: read with force=True and archived as Part 10."
    )
    record(ctx, path, category="no-preamble", description=description, ds=ds, pipeline=Pipeline.CXR)
    return _study(identity, "DX", image)
