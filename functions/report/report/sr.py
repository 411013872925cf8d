"""A report version as a DICOM Comprehensive SR: TID 1500 Measurement Report, via highdicom.

Content tree (PS3.16 TID 1500)::

    Imaging Measurement Report
    ├── Language, Observation Context (TID 1001): the model as device observer, the signer as
    │   person observer once signed
    ├── Procedure Reported: the plain chest X-ray (or the pipeline's procedure)
    ├── Imaging Measurements
    │   ├── per finding, a Measurement Group (TID 1501): tracking id = label, finding type =
    │   │   the label's code, algorithm = model name and version, source image = the image
    │   │   the probability came from; measurements Probability and Decision threshold
    │   │   (UCUM 1); qualitative evaluation label = Present/Absent. A CT lesion's group is
    │   │   tracked as "<label> <number>", references every slice it lies on, and adds its
    │   │   Diameter (mm) and Volume (mm3)
    │   └── per CT QA check item, a group: finding type = the QA check, the measurement in
    │       HU (UCUM [hnsf'U]), evaluated Within / Out of tolerance
    └── Qualitative Evaluations: Impression (TEXT) and Comments: the intended-use warning,
        each routed series without findings (pending, or why inference failed), and each
        patient attribute the study's patient record has conflicting values for

Patient and study modules are copied from the source images (``evidence``, read from the
archive), which the SR lists in its Current Requested Procedure Evidence Sequence. A version
with a pending series is PARTIAL, else COMPLETE; a signed version is VERIFIED and FINAL, and
lists the earlier versions' SRs as predecessors. UIDs are
derived from the report id and version, so one version always has the same SOP Instance UID.
:func:`read_sr` is the inverse, for the round trip.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

import highdicom as hd
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from pydicom.dataset import Dataset

from acme.events import Finding, QaResult
from report import codes
from report.codes import Code
from report.content import ReportContent, ReportedSeries
from report.view import conflict_note, qa_text, series_note

MANUFACTURER = "Acme Imaging"
SR_SERIES_NUMBER = 9001


def dicom_uid(namespace: uuid.UUID, *parts: str) -> str:
    """A UID under 2.25 (PS3.5 B.2) derived from ``namespace`` and ``parts``."""
    return f"2.25.{uuid.uuid5(namespace, '/'.join(parts)).int}"


def _concept(code: Code) -> hd.sr.CodedConcept:
    if not code.is_dicom:
        raise ValueError(f"code {code.value} of {code.scheme} has no DICOM coding scheme")
    return hd.sr.CodedConcept(value=code.value, scheme_designator=code.scheme, meaning=code.meaning)


def _observation_context(content: ReportContent) -> hd.sr.ObservationContext:
    model = content.models[0]
    device = hd.sr.ObserverContext(
        observer_type=_concept(codes.OBSERVER_DEVICE),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=dicom_uid(uuid.NAMESPACE_URL, "acme-model", model.name, model.version),
            name=model.name,
            manufacturer_name=MANUFACTURER,
            model_name=model.ref,
        ),
    )
    person = None
    if content.signature is not None:
        person = hd.sr.ObserverContext(
            observer_type=_concept(codes.OBSERVER_PERSON),
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=person_name(content.signature.name), login_name=content.signature.user
            ),
        )
    return hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device)


def person_name(name: str) -> str:
    """``name`` as a DICOM PN: kept when it has components, else ``Family^Given``-shaped."""
    cleaned = name.replace("\\", " ").strip()[:64] or "Unknown"
    return cleaned if "^" in cleaned else f"{cleaned}^"


def _source_images(
    content: ReportContent, sop_uids: Sequence[str]
) -> list[hd.sr.SourceImageForMeasurementGroup] | None:
    by_uid = {image.sop_uid: image for image in content.source_images}
    found = [
        hd.sr.SourceImageForMeasurementGroup(by_uid[uid].sop_class_uid, uid)
        for uid in sop_uids
        if uid in by_uid
    ]
    return found or None


def _algorithm(series: ReportedSeries) -> hd.sr.AlgorithmIdentification:
    return hd.sr.AlgorithmIdentification(
        name=series.model or "unknown", version=series.model_version or "unknown"
    )


def _group(
    content: ReportContent, series: ReportedSeries, finding: Finding
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    code = _concept(codes.code_of(finding))
    algorithm = _algorithm(series)
    unit = _concept(codes.NO_UNITS)
    measured = finding.measurement
    referenced = list(measured.sop_uids) if measured else [finding.sop_uid or ""]
    name = f"{finding.label} {measured.number}" if measured else finding.label
    lesion = [
        hd.sr.Measurement(name=_concept(codes.DIAMETER), value=measured.diameter_mm,
                          unit=_concept(codes.MILLIMETRE), algorithm_id=algorithm),
        hd.sr.Measurement(name=_concept(codes.VOLUME), value=measured.volume_mm3,
                          unit=_concept(codes.CUBIC_MILLIMETRE), algorithm_id=algorithm),
    ] if measured else []  # fmt: skip
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=dicom_uid(content.report_id, "finding", series.series_uid, name),
            identifier=name,
        ),
        finding_type=code,
        algorithm_id=algorithm,
        source_images=_source_images(content, referenced),
        measurements=[
            *lesion,
            hd.sr.Measurement(
                name=_concept(codes.PROBABILITY),
                value=finding.probability,
                unit=unit,
                algorithm_id=algorithm,
            ),
            hd.sr.Measurement(
                name=_concept(codes.DECISION_THRESHOLD), value=finding.threshold, unit=unit
            ),
        ],
        qualitative_evaluations=[
            hd.sr.QualitativeEvaluation(
                name=code, value=_concept(codes.PRESENT if finding.positive else codes.ABSENT)
            )
        ],
    )


def _qa_groups(
    content: ReportContent, series: ReportedSeries, check: QaResult
) -> list[hd.sr.MeasurementsAndQualitativeEvaluations]:
    algorithm = _algorithm(series)
    kind = _concept(codes.QA_PHANTOM)
    return [
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=dicom_uid(content.report_id, "qa", series.series_uid, item.name),
                identifier=f"QA {item.name}",
            ),
            finding_type=kind,
            algorithm_id=algorithm,
            source_images=_source_images(content, [check.sop_uid]),
            measurements=[
                hd.sr.Measurement(
                    name=_concept(codes.QA_ITEMS[item.name]),
                    value=item.value,
                    unit=_concept(codes.HOUNSFIELD),
                    algorithm_id=algorithm,
                )
            ],
            qualitative_evaluations=[
                hd.sr.QualitativeEvaluation(
                    name=kind, value=_concept(codes.PASS if item.passed else codes.FAIL)
                )
            ],
        )
        for item in check.items
    ]


def _evaluations(content: ReportContent) -> hd.sr.ContainerContentItem:
    contains = hd.sr.RelationshipTypeValues.CONTAINS
    container = hd.sr.ContainerContentItem(
        name=_concept(codes.QUALITATIVE_EVALUATIONS), relationship_type=contains
    )
    items = [
        hd.sr.TextContentItem(
            name=_concept(codes.IMPRESSION), value=content.impression, relationship_type=contains
        )
    ]
    comments = [
        ("" if model.diagnostic_use else "NOT FOR DIAGNOSTIC USE. ")
        + f"{model.ref}: {model.intended_use}"
        for model in content.models
    ]
    comments += [series_note(series) for series in content.series if not series.findings]
    comments += [qa_text(check) for _, check in content.qa_checks]
    comments += [conflict_note(attribute) for attribute in content.patient_conflicts]
    for comment in comments:
        items.append(
            hd.sr.TextContentItem(
                name=_concept(codes.COMMENT), value=comment[: 1024 * 64], relationship_type=contains
            )
        )
    container.ContentSequence = hd.sr.ContentSequence(items)
    return container


def build_sr(
    content: ReportContent,
    evidence: Sequence[Dataset],
    *,
    previous: Sequence[Dataset] = (),
    organization: str = MANUFACTURER,
) -> hd.sr.ComprehensiveSR:
    """The SR of ``content``; ``evidence``: the source images' headers (first gives the
    patient and study); ``previous``: the SRs of the earlier versions."""
    if not evidence:
        raise ValueError("build_sr: evidence is empty; the SR copies patient and study from it")
    if not content.results and not content.qa_checks:
        raise ValueError("build_sr: a measurement report needs at least one finding")
    report = hd.sr.MeasurementReport(
        observation_context=_observation_context(content),
        procedure_reported=[
            _concept(codes.PROCEDURES.get(pipeline, codes.IMAGING_PROCEDURE))
            for pipeline in content.pipelines
        ]
        or [_concept(codes.IMAGING_PROCEDURE)],
        imaging_measurements=[
            *(_group(content, series, f) for series, f in content.results),
            *(g for series, check in content.qa_checks for g in _qa_groups(content, series, check)),
        ],
    )
    report[0].ContentSequence.append(_evaluations(content))
    signature = content.signature
    schemes = [
        CodingSchemeIdentificationItem(designator=scheme, name=name)
        for scheme, name in codes.SCHEME_NAMES.items()
    ]
    sr = hd.sr.ComprehensiveSR(
        evidence=[_with_type2_patient_and_study(evidence[0]), *evidence[1:]],
        content=report,
        series_instance_uid=dicom_uid(content.report_id, "sr-series"),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=sr_uid(content),
        instance_number=content.version,
        manufacturer=MANUFACTURER,
        is_complete=content.complete,
        is_final=content.status != "preliminary",
        is_verified=signature is not None,
        verifying_observer_name=person_name(signature.name) if signature else None,
        verifying_organization=organization if signature else None,
        previous_versions=list(previous) or None,
        coding_schemes=schemes,
        series_description="AI findings report"
        + (" - NOT FOR DIAGNOSTIC USE" if content.not_for_diagnosis else ""),
        specific_character_set="ISO_IR 192",
    )
    _complete_deidentification(sr)
    return sr


TYPE2_PATIENT_AND_STUDY = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
    "ReferringPhysicianName", "StudyID", "AccessionNumber",
)  # fmt: skip
"""Type 2 attributes of the Patient and General Study modules (PS3.3 C.7.1.1, C.7.2.1): present
in every image, but a modality may leave them out; the SR copies them from the first image."""


def _with_type2_patient_and_study(first: Dataset) -> Dataset:
    """``first``, or a copy of it given the Type 2 attributes it lacks, empty: highdicom
    copies each of them and fails on one that is absent."""
    missing = [keyword for keyword in TYPE2_PATIENT_AND_STUDY if keyword not in first]
    if not missing:
        return first
    filled = copy.deepcopy(first)  # a shallow copy would share its elements
    for keyword in missing:
        setattr(filled, keyword, "")
    return filled


def _complete_deidentification(sr: Dataset) -> None:
    """Source images that say PatientIdentityRemoved YES but not how (Type 1C, PS3.3
    C.7.1.1) would make the copy invalid: the SR states that the method is unknown."""
    method = ("DeidentificationMethod", "DeidentificationMethodCodeSequence")
    if sr.get("PatientIdentityRemoved") == "YES" and not any(k in sr for k in method):
        sr.DeidentificationMethod = "Not stated by the source images"


def sr_uid(content: ReportContent) -> str:
    """The SOP Instance UID of a version's SR."""
    return dicom_uid(content.report_id, "sr", str(content.version))


def sr_bytes(sr: Dataset) -> bytes:
    """The SR as a DICOM Part 10 file."""
    out = BytesIO()
    sr.save_as(out, enforce_file_format=True)
    return out.getvalue()


@dataclass(frozen=True)
class SrFinding:
    label: str
    code: Code
    probability: float
    threshold: float
    present: bool
    source_sop_uid: str | None
    diameter_mm: float | None = None
    source_sop_uids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SrSummary:
    """What :func:`read_sr` finds in an SR: the parts :func:`build_sr` wrote."""

    sop_uid: str
    study_uid: str
    patient_id: str
    patient_name: str
    preliminary: bool
    complete: bool
    verified: bool
    findings: tuple[SrFinding, ...]
    impression: str
    comments: tuple[str, ...]
    predecessors: tuple[str, ...]


def _code_of(item: Dataset) -> Code:
    return Code(str(item.CodingSchemeDesignator), str(item.CodeValue), str(item.CodeMeaning))


def _finding(group: hd.sr.MeasurementsAndQualitativeEvaluations) -> SrFinding | None:
    values = {m.name.value: float(m.value) for m in group.get_measurements()}
    if codes.PROBABILITY.value not in values:
        return None  # a QA check item
    [evaluation] = group.get_qualitative_evaluations()
    images = group.source_images
    finding_type = group.finding_type
    if finding_type is None:
        raise ValueError("SR measurement group without a finding type")
    return SrFinding(
        label=str(group.tracking_identifier),
        code=Code(finding_type.scheme_designator, finding_type.value, finding_type.meaning),
        probability=values[codes.PROBABILITY.value],
        threshold=values[codes.DECISION_THRESHOLD.value],
        present=evaluation.value == _concept(codes.PRESENT),
        source_sop_uid=str(images[0].referenced_sop_instance_uid) if images else None,
        diameter_mm=values.get(codes.DIAMETER.value),
        source_sop_uids=tuple(str(image.referenced_sop_instance_uid) for image in images)
        if codes.DIAMETER.value in values
        else (),
    )


def _texts(report: hd.sr.MeasurementReport, name: Code) -> tuple[str, ...]:
    container = next(
        item
        for item in report[0].ContentSequence
        if item.name == _concept(codes.QUALITATIVE_EVALUATIONS)
    )
    return tuple(
        str(item.value) for item in container.ContentSequence if item.name == _concept(name)
    )


def read_sr(data: bytes) -> SrSummary:
    """Parse an SR written by :func:`build_sr` back into its parts."""
    sr = hd.sr.srread(BytesIO(data))
    report = sr.content
    if not isinstance(report, hd.sr.MeasurementReport):
        raise ValueError("not a TID 1500 Measurement Report")
    predecessors = tuple(
        str(instance.ReferencedSOPInstanceUID)
        for study in sr.get("PredecessorDocumentsSequence", [])
        for series in study.ReferencedSeriesSequence
        for instance in series.ReferencedSOPSequence
    )
    return SrSummary(
        sop_uid=str(sr.SOPInstanceUID),
        study_uid=str(sr.StudyInstanceUID),
        patient_id=str(sr.PatientID),
        patient_name=str(sr.PatientName),
        preliminary=sr.PreliminaryFlag == "PRELIMINARY",
        complete=sr.CompletionFlag == "COMPLETE",
        verified=sr.VerificationFlag == "VERIFIED",
        findings=tuple(
            found
            for group in report.get_image_measurement_groups()
            if (found := _finding(group)) is not None
        ),
        impression=_texts(report, codes.IMPRESSION)[0],
        comments=_texts(report, codes.COMMENT),
        predecessors=predecessors,
    )
