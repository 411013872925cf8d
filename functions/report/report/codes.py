"""Every coded concept the reports use, in one table: LOINC, SNOMED CT, DICOM (DCM), UCUM, HL7.

A :class:`Code` carries both faces of a concept: its DICOM coding scheme designator (PS3.16
Section 8, for the SR) and its FHIR ``system`` URI (for the DiagnosticReport). The SR builder
and the FHIR builder take their codes from here and nowhere else.

A model label is coded by :func:`finding_code`: the model card's own coding when it has one,
else :data:`FINDING_CODES` (chest findings, keyed by the label in lower case), else a code of
the platform's private scheme :data:`LOCAL_SCHEME` (``99ACME``, PS3.16 8.2: private schemes
begin with ``99``) whose value is the label's slug.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from acme.events import Coding, Finding

LOCAL_SCHEME: Final = "99ACME"
"""The platform's private coding scheme designator (model labels without a standard code)."""

SCHEME_SYSTEMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "SCT": "http://snomed.info/sct",
        "LN": "http://loinc.org",
        "DCM": "http://dicom.nema.org/resources/ontology/DCM",
        "UCUM": "http://unitsofmeasure.org",
        "UMLS": "http://www.nlm.nih.gov/research/umls",
        LOCAL_SCHEME: "urn:acme-imaging:finding",
        # FHIR-only code systems (no DICOM designator of their own)
        "HL7-0074": "http://terminology.hl7.org/CodeSystem/v2-0074",
        "HL7-OBSCAT": "http://terminology.hl7.org/CodeSystem/observation-category",
        "HL7-INTERP": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    }
)
"""DICOM coding scheme designator -> FHIR code system URI."""

SCHEME_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {LOCAL_SCHEME: "Acme Imaging model finding labels"}
)
"""Names of private schemes, for the SR's Coding Scheme Identification Sequence."""


@dataclass(frozen=True, slots=True)
class Code:
    """One coded concept: ``scheme`` (DICOM designator), ``value`` and ``meaning``."""

    scheme: str
    value: str
    meaning: str

    def __post_init__(self) -> None:
        if self.scheme not in SCHEME_SYSTEMS:
            raise ValueError(f"Code scheme {self.scheme!r}: expected one of {list(SCHEME_SYSTEMS)}")
        if not self.value or not self.meaning:
            raise ValueError("Code: value and meaning must be non-empty")

    @property
    def system(self) -> str:
        """The FHIR ``Coding.system`` of this code."""
        return SCHEME_SYSTEMS[self.scheme]

    @property
    def is_dicom(self) -> bool:
        """True when the code may appear in a DICOM SR (FHIR-only systems may not)."""
        return not self.scheme.startswith("HL7-")

    def coding(self) -> Coding:
        """This code as stored on a finding (FHIR system, code, display)."""
        return Coding(system=self.system, code=self.value, display=self.meaning)

    @classmethod
    def of(cls, coding: Coding) -> Code:
        """A stored finding code back as a :class:`Code`; its system must be in the table."""
        scheme = scheme_of_system(coding.system)
        if scheme is None:
            raise ValueError(f"code system {coding.system!r} is not one the reports know")
        return cls(scheme, coding.code, coding.display)


# --- Report and document ------------------------------------------------------------------
DIAGNOSTIC_IMAGING_REPORT: Final = Code("LN", "18748-4", "Diagnostic imaging study")
RADIOLOGY: Final = Code("HL7-0074", "RAD", "Radiology")
IMAGING: Final = Code("HL7-OBSCAT", "imaging", "Imaging")
IMPRESSION: Final = Code("DCM", "121073", "Impression")
QUALITATIVE_EVALUATIONS: Final = Code("UMLS", "C0034375", "Qualitative Evaluations")
COMMENT: Final = Code("DCM", "121106", "Comment")
OBSERVER_DEVICE: Final = Code("DCM", "121007", "Device")
OBSERVER_PERSON: Final = Code("DCM", "121006", "Person")

# --- Procedures reported (SR TID 1500), by inference pipeline ------------------------------
IMAGING_PROCEDURE: Final = Code("SCT", "363679005", "Imaging procedure")
PROCEDURES: Final[Mapping[str, Code]] = MappingProxyType(
    {
        "cxr": Code("SCT", "399208008", "Plain chest X-ray"),
        "ct": Code("SCT", "77477000", "Computerized axial tomography"),
        "ct-qa": Code("SCT", "77477000", "Computerized axial tomography"),
    }
)

# --- A lesion's measurements (CT) and a QA phantom check's ---------------------------------
DIAMETER: Final = Code("SCT", "81827009", "Diameter")
VOLUME: Final = Code("SCT", "118565006", "Volume")
MILLIMETRE: Final = Code("UCUM", "mm", "millimeter")
CUBIC_MILLIMETRE: Final = Code("UCUM", "mm3", "cubic millimeter")
HOUNSFIELD: Final = Code("UCUM", "[hnsf'U]", "Hounsfield unit")
QA_PHANTOM: Final = Code(LOCAL_SCHEME, "ct-qa-water-phantom", "CT QA water phantom check")
QA_ITEMS: Final[Mapping[str, Code]] = MappingProxyType(
    {
        "water-mean": Code(LOCAL_SCHEME, "ct-qa-water-mean", "Water mean CT number"),
        "noise": Code(LOCAL_SCHEME, "ct-qa-noise", "Noise (standard deviation)"),
        "uniformity": Code(LOCAL_SCHEME, "ct-qa-uniformity", "Uniformity (edge minus centre)"),
    }
)
PASS: Final = Code(LOCAL_SCHEME, "qa-pass", "Within tolerance")
FAIL: Final = Code(LOCAL_SCHEME, "qa-fail", "Out of tolerance")
NORMAL: Final = Code("HL7-INTERP", "N", "Normal")
ABNORMAL: Final = Code("HL7-INTERP", "A", "Abnormal")

# --- One finding: its probability, threshold and presence ----------------------------------
PROBABILITY: Final = Code("DCM", "122157", "Probability")
DECISION_THRESHOLD: Final = Code(LOCAL_SCHEME, "decision-threshold", "Decision threshold")
NO_UNITS: Final = Code("UCUM", "1", "no units")
PRESENT: Final = Code("SCT", "52101004", "Present")
ABSENT: Final = Code("SCT", "272519000", "Absent")
POSITIVE: Final = Code("HL7-INTERP", "POS", "Positive")
NEGATIVE: Final = Code("HL7-INTERP", "NEG", "Negative")

FINDING_CODES: Final[Mapping[str, Code]] = MappingProxyType(
    {
        "lung opacity": Code("DCM", "112033", "Abnormal opacity"),
        "pleural effusion": Code("SCT", "60046008", "Pleural effusion"),
        "effusion": Code("SCT", "60046008", "Pleural effusion"),
        "cardiomegaly": Code("SCT", "287272002", "Cardiomegaly"),
        "pneumothorax": Code("SCT", "36118008", "Pneumothorax"),
        "atelectasis": Code("SCT", "46621007", "Atelectasis"),
        "pneumonia": Code("SCT", "233604007", "Pneumonia"),
        "edema": Code("SCT", "19242006", "Pulmonary edema"),
        "pulmonary edema": Code("SCT", "19242006", "Pulmonary edema"),
        "nodule": Code("SCT", "27925004", "Nodule"),
        "lung nodule": Code("SCT", "27925004", "Nodule"),
        "mass": Code("SCT", "4147007", "Mass"),
        "fibrosis": Code("SCT", "112674009", "Fibrosis"),
    }
)
"""Standard codes of common chest findings, keyed by the model label in lower case."""

_SYSTEM_SCHEMES: Final = {system: scheme for scheme, system in SCHEME_SYSTEMS.items()}


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "finding"


def finding_code(label: str, card_coding: Coding | None = None) -> Code:
    """The code of a model label; ``card_coding`` is the model card's, when it has one."""
    if card_coding is not None:
        scheme = _SYSTEM_SCHEMES.get(card_coding.system)
        if scheme is not None and not scheme.startswith("HL7-"):
            return Code(scheme, card_coding.code, card_coding.display)
    key = re.sub(r"[\s_]+", " ", label.strip().lower())
    return FINDING_CODES.get(key) or Code(LOCAL_SCHEME, _slug(label), label)


def code_of(finding: Finding) -> Code:
    """The code a report shows for ``finding``: the one stored on it when it was drafted,
    else its label's."""
    return Code.of(finding.code) if finding.code else finding_code(finding.label)


MODALITY_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "CR": "Computed Radiography",
        "DX": "Digital Radiography",
        "CT": "Computed Tomography",
        "MR": "Magnetic Resonance",
        "SR": "SR Document",
    }
)
"""Code meanings of the modalities the platform sees (CID 29)."""


def modality_code(modality: str) -> Code:
    """A DICOM modality (CID 29) as a DCM code, e.g. ``CR`` (Computed Radiography)."""
    return Code("DCM", modality, MODALITY_NAMES.get(modality, modality))


def scheme_of_system(system: str) -> str | None:
    """The DICOM designator of a FHIR code system URI, or None when the table lacks it."""
    return _SYSTEM_SCHEMES.get(system)
