"""A report version as a FHIR R4 (R4B 4.3.0 classes of ``fhir.resources``) collection Bundle.

The bundle holds, each with a ``urn:uuid`` fullUrl the others reference:

- ``Patient``: identifier (PatientID within its issuer), name, birth date, gender, as the
  study's own images give them; a ``meta.tag`` per attribute on which instances filed under
  the same patient record disagree (system :data:`CONFLICT_SYSTEM`): verify identity;
- ``ImagingStudy``: the Study Instance UID (``urn:dicom:uid``), the source images (SOP Class
  and Instance UIDs) the findings were made on, and every routed series without findings,
  its ``description`` saying whether its result is pending or why inference failed;
- one ``Observation`` per finding: the label's code, the probability as ``valueQuantity``
  (UCUM ``1``), the decision threshold as a component, ``interpretation`` POS/NEG, ``method``
  the model name and version, a note that the result is not for diagnostic use, and
  ``derivedFrom`` the ImagingStudy; a CT lesion's observation adds its diameter (mm) and
  volume (mm3) as components, and its place (side, slices, centre) in ``bodySite`` text;
- one ``Observation`` per CT QA check item: the measurement in HU (UCUM ``[hnsf'U]``), its
  tolerance as ``referenceRange``, ``interpretation`` N (within) or A (out of tolerance);
- the ``DiagnosticReport`` (LOINC 18748-4): status ``partial`` while a routed series has no
  result yet, then preliminary, final or amended; the observations as ``result``, the
  impression as ``conclusion``, the signer as ``resultsInterpreter``.

Resource ids derive from the report id and version, so one version always renders the same.
:func:`build_bundle` constructs the classes (each validates) and :func:`parse_bundle` reads
the JSON back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.imagingstudy import (
    ImagingStudy,
    ImagingStudySeries,
    ImagingStudySeriesInstance,
)
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.observation import (
    Observation,
    ObservationComponent,
    ObservationReferenceRange,
)
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference

from acme.events import Finding, QaItem
from acme.patients import Patient, PatientAttribute
from report import codes
from report.codes import Code
from report.content import ReportContent, ReportedSeries
from report.view import finding_text

DICOM_UID_SYSTEM = "urn:dicom:uid"
CONFLICT_SYSTEM = "urn:acme-imaging:patient-record-conflict"
"""``Patient.meta.tag`` system: the code is the attribute instances disagree on."""
URI_SYSTEM = "urn:ietf:rfc:3986"
"""FHIR's system for identifiers and codes that are URIs (urn:uuid:, urn:oid:)."""
_GENDERS = {"M": "male", "F": "female", "O": "other"}


def _coding(code: Code) -> Coding:
    return Coding(system=code.system, code=code.value, display=code.meaning)


def _concept(code: Code, text: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[_coding(code)], text=text or code.meaning)


def _uuid(content: ReportContent, *parts: str) -> str:
    return str(uuid.uuid5(content.report_id, "/".join((str(content.version), *parts))))


def _patient(
    patient: Patient, conflicts: tuple[PatientAttribute, ...], resource_id: str
) -> FhirPatient:
    names = []
    if patient.name:
        family, _, rest = patient.name.partition("^")
        given: list[str | None] = [part for part in rest.split("^")[:2] if part]
        names.append(
            HumanName(
                text=patient.name.replace("^", " ").strip(),
                family=family or None,
                given=given or None,
            )
        )
    identifiers = []
    if patient.patient_id:
        issuer = patient.issuer
        identifiers.append(
            Identifier(
                value=patient.patient_id,
                system=f"urn:acme-imaging:issuer:{quote(issuer)}" if issuer else None,
                assigner=Reference(display=issuer) if issuer else None,
            )
        )
    tags = [
        Coding(
            system=CONFLICT_SYSTEM,
            code=attribute,
            display=f"{attribute.replace('_', ' ')} differs between instances of this patient "
            "record: verify identity",
        )
        for attribute in conflicts
    ]
    return FhirPatient(
        id=resource_id,
        meta=Meta(tag=tags) if tags else None,
        identifier=identifiers or None,
        name=names or None,
        birthDate=patient.birth_date,
        gender=_GENDERS.get(patient.sex or "", "unknown"),
    )


def _imaging_study(content: ReportContent, resource_id: str, patient_ref: str) -> ImagingStudy:
    by_series: dict[str, list[ImagingStudySeriesInstance]] = {}
    modality: dict[str, str] = {}
    for image in content.source_images:
        modality[image.series_uid] = image.modality
        by_series.setdefault(image.series_uid, []).append(
            ImagingStudySeriesInstance(
                uid=image.sop_uid,
                sopClass=Coding(system=URI_SYSTEM, code=f"urn:oid:{image.sop_class_uid}"),
            )
        )
    series = [
        ImagingStudySeries(
            uid=series_uid,
            modality=_coding(codes.modality_code(modality[series_uid])),
            instance=instances,
        )
        for series_uid, instances in by_series.items()
    ]
    series += [
        ImagingStudySeries(
            uid=item.series_uid,
            modality=_coding(codes.modality_code(item.modality)),
            description=_without_result(item),
        )
        for item in content.series
        if item.series_uid not in by_series and not item.findings
    ]
    study = content.study
    return ImagingStudy(
        id=resource_id,
        status="available",
        identifier=[Identifier(system=DICOM_UID_SYSTEM, value=f"urn:oid:{study.study_uid}")],
        subject=Reference(reference=patient_ref),
        description=study.description or None,
        series=series or None,
        numberOfSeries=len(series),
        numberOfInstances=len(content.source_images),
    )


def _without_result(series: ReportedSeries) -> str:
    if series.outcome == "failed":
        return f"AI ({series.pipeline}): inference failed ({series.reason})"
    if series.outcome == "pending":
        return f"AI ({series.pipeline}): result pending"
    return f"AI ({series.pipeline}): no findings"


def _observation(
    content: ReportContent,
    series: ReportedSeries,
    finding: Finding,
    resource_id: str,
    patient_ref: str,
    study_ref: str,
) -> Observation:
    model = next(m for m in content.models if m.name == series.model)
    method = series.model_ref
    code = codes.code_of(finding)
    warning = "NOT FOR DIAGNOSTIC USE. " if not model.diagnostic_use else ""
    measured = finding.measurement
    lesion = [
        ObservationComponent(code=_concept(codes.DIAMETER),
                             valueQuantity=_measure(measured.diameter_mm, codes.MILLIMETRE)),
        ObservationComponent(code=_concept(codes.VOLUME),
                             valueQuantity=_measure(measured.volume_mm3, codes.CUBIC_MILLIMETRE)),
    ] if measured else []  # fmt: skip
    place = None
    if measured is not None:
        x, y, z = measured.centre_mm
        first, last = measured.slices
        place = CodeableConcept(
            text=f"{measured.side} lung, slices {first}-{last}, centre (LPS) "
            f"{x:.1f}, {y:.1f}, {z:.1f} mm"
        )
    return Observation(
        id=resource_id,
        status=content.status,
        category=[_concept(codes.IMAGING)],
        code=_concept(code, finding_text(finding)),
        bodySite=place,
        subject=Reference(reference=patient_ref),
        derivedFrom=[Reference(reference=study_ref)],
        issued=content.issued,
        valueQuantity=_quantity(finding.probability),
        interpretation=[_concept(codes.POSITIVE if finding.positive else codes.NEGATIVE)],
        method=CodeableConcept(
            coding=[
                Coding(
                    system="urn:acme-imaging:model",
                    code=f"{series.model}/{series.model_version}",
                    display=method,
                )
            ],
            text=method,
        ),
        component=[
            *lesion,
            ObservationComponent(
                code=_concept(codes.DECISION_THRESHOLD), valueQuantity=_quantity(finding.threshold)
            ),
        ],
        note=[Annotation(text=f"{warning}AI result of {method}: {model.intended_use}")],
    )


def _measure(value: float, unit: Code) -> Quantity:
    return Quantity(value=Decimal(f"{value:.3f}"), unit=unit.meaning, system=unit.system,
                    code=unit.value)  # fmt: skip


def _qa_observation(
    content: ReportContent, series: ReportedSeries, item: QaItem, patient_ref: str,
    study_ref: str,
) -> Observation:  # fmt: skip
    code = codes.QA_ITEMS[item.name]
    return Observation(
        id=_uuid(content, "qa", series.series_uid, item.name),
        status=content.status,
        category=[_concept(codes.IMAGING)],
        code=_concept(code),
        subject=Reference(reference=patient_ref),
        derivedFrom=[Reference(reference=study_ref)],
        issued=content.issued,
        valueQuantity=_measure(item.value, codes.HOUNSFIELD),
        referenceRange=[
            ObservationReferenceRange(
                low=_measure(item.lower, codes.HOUNSFIELD),
                high=_measure(item.upper, codes.HOUNSFIELD),
                text="tolerance",
            )
        ],
        interpretation=[_concept(codes.NORMAL if item.passed else codes.ABNORMAL)],
        method=CodeableConcept(text=f"{series.model_ref} ({codes.QA_PHANTOM.meaning})"),
    )


def _quantity(value: float) -> Quantity:
    unit = codes.NO_UNITS
    return Quantity(
        value=Decimal(f"{value:.6f}"), unit="probability", system=unit.system, code=unit.value
    )


def _report(
    content: ReportContent, resource_id: str, patient_ref: str, study_ref: str, results: list[str]
) -> DiagnosticReport:
    signature = content.signature
    effective = content.issued
    if content.study.study_date is not None:
        effective = datetime.combine(
            content.study.study_date, content.study.study_time or datetime.min.time()
        ).replace(tzinfo=content.issued.tzinfo)
    partial = content.status == "preliminary" and not content.complete
    return DiagnosticReport(
        id=resource_id,
        identifier=[Identifier(system=URI_SYSTEM, value=f"urn:uuid:{content.report_id}")],
        status="partial" if partial else content.status,
        category=[_concept(codes.RADIOLOGY)],
        code=_concept(codes.DIAGNOSTIC_IMAGING_REPORT),
        subject=Reference(reference=patient_ref),
        effectiveDateTime=effective,
        issued=content.issued,
        resultsInterpreter=[Reference(display=signature.name)] if signature else None,
        result=[Reference(reference=ref) for ref in results] or None,
        imagingStudy=[Reference(reference=study_ref)],
        conclusion=content.impression,
    )


def build_bundle(content: ReportContent) -> Bundle:
    """The collection Bundle of one report version (see the module docstring)."""
    patient_id = _uuid(content, "patient")
    study_id = _uuid(content, "imaging-study")
    patient_ref, study_ref = f"urn:uuid:{patient_id}", f"urn:uuid:{study_id}"
    observations = [
        _observation(
            content,
            series,
            finding,
            _uuid(content, "observation", series.series_uid, *map(str, finding.key)),
            patient_ref,
            study_ref,
        )
        for series, finding in content.results
    ] + [
        _qa_observation(content, series, item, patient_ref, study_ref)
        for series, check in content.qa_checks
        for item in check.items
    ]
    report_id = _uuid(content, "diagnostic-report")
    report = _report(
        content, report_id, patient_ref, study_ref, [f"urn:uuid:{o.id}" for o in observations]
    )
    resources = [
        report,
        _patient(content.patient, content.patient_conflicts, patient_id),
        _imaging_study(content, study_id, patient_ref),
        *observations,
    ]
    return Bundle(
        id=_uuid(content, "bundle"),
        type="collection",
        timestamp=content.issued,
        identifier=Identifier(
            system=URI_SYSTEM, value=f"urn:uuid:{_uuid(content, 'bundle-identifier')}"
        ),
        entry=[BundleEntry(fullUrl=f"urn:uuid:{r.id}", resource=r) for r in resources],
    )


def bundle_json(bundle: Bundle) -> bytes:
    """The bundle as FHIR JSON (UTF-8)."""
    return bundle.model_dump_json(indent=2).encode("utf-8")


def parse_bundle(data: bytes | str) -> Bundle:
    """A bundle from FHIR JSON; the classes validate every element."""
    return Bundle.model_validate_json(data)
