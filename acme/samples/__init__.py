"""The sample and test studies: real and synthetic chest radiographs, a synthetic chest CT and
a corpus of bad input, each with what the platform must do with it (``manifest.json``).

``write_samples(directory)`` writes the set (``acme samples DIR``); ``write_oversized`` writes
the one bad file too large to keep around; ``render_cxr`` is the parametric chest radiograph
model, also usable to generate training images. Everything is synthetic or from pydicom-data,
deterministic for a seed, and not for diagnostic use.
"""

from acme.samples._common import SamplesError
from acme.samples.bad import TOO_LARGE_PATH, write_oversized
from acme.samples.ct import MIN_CT_SLICES, CtPhantom
from acme.samples.cxr_model import CxrImage, render_cxr
from acme.samples.manifest import (
    MANIFEST_NAME,
    CtNoduleTruth,
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
    "CtNoduleTruth",
    "CtPhantom",
    "CxrFinding",
    "CxrImage",
    "CxrTruth",
    "Kind",
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
