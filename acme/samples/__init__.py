"""The sample and test studies: real and synthetic chest radiographs, four synthetic chest CTs
(nodules of known size and place, one without), two CT QA water phantom scans (one passes,
one fails) and a corpus of bad input, each with what the platform must do with it
(``manifest.json``).

``write_samples(directory)`` writes the set (``acme samples DIR``); ``write_oversized`` writes
the one bad file too large to keep around; ``render_cxr`` is the parametric chest radiograph
model, also usable to generate training images. Everything is synthetic or from pydicom-data,
deterministic for a seed, and not for diagnostic use.
"""

from acme.samples._common import SamplesError
from acme.samples.bad import TOO_LARGE_PATH, write_oversized
from acme.samples.ct import MIN_CT_SLICES
from acme.samples.ct_model import ChestPhantom, Nodule
from acme.samples.cxr_model import CxrImage, render_cxr
from acme.samples.manifest import (
    MANIFEST_NAME,
    CtChestTruth,
    CtNoduleTruth,
    CtQaTruth,
    CxrFinding,
    CxrTruth,
    Kind,
    Pipeline,
    PixelBox,
    Reason,
    SampleFile,
    SampleManifest,
    SampleStudy,
)
from acme.samples.writer import write_samples

__all__ = [
    "MANIFEST_NAME",
    "MIN_CT_SLICES",
    "TOO_LARGE_PATH",
    "ChestPhantom",
    "CtChestTruth",
    "CtNoduleTruth",
    "CtQaTruth",
    "CxrFinding",
    "CxrImage",
    "CxrTruth",
    "Kind",
    "Nodule",
    "Pipeline",
    "PixelBox",
    "Reason",
    "SampleFile",
    "SampleManifest",
    "SampleStudy",
    "SamplesError",
    "render_cxr",
    "write_oversized",
    "write_samples",
]
