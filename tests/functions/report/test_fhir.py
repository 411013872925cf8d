"""The FHIR R4 bundle: built from the classes, round-tripped through JSON, references resolve."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from report.content import ReportContent, ReportedSeries, Signature
from report.fhir import build_bundle, bundle_json, parse_bundle

MakeContent = Callable[..., ReportContent]


def test_the_bundle_round_trips_through_json(make_content: MakeContent) -> None:
    bundle = build_bundle(make_content())
    text = bundle_json(bundle)
    assert parse_bundle(text) == bundle
    assert json.loads(text)["type"] == "collection"
    assert build_bundle(make_content()) == bundle  # one version always renders the same


def test_the_report_holds_an_observation_per_finding_with_its_model_and_warning(
    make_content: MakeContent,
) -> None:
    content = make_content()
    bundle = parse_bundle(bundle_json(build_bundle(content)))
    resources = {entry.fullUrl: entry.resource for entry in bundle.entry}
    [report] = [r for r in resources.values() if isinstance(r, DiagnosticReport)]
    [patient] = [r for r in resources.values() if isinstance(r, Patient)]
    [study] = [r for r in resources.values() if isinstance(r, ImagingStudy)]

    assert report.status == "preliminary"
    assert (report.code.coding[0].system, report.code.coding[0].code) == (
        "http://loinc.org", "18748-4",
    )  # fmt: skip
    assert report.conclusion == content.impression
    assert resources[report.subject.reference] is patient
    assert [resources[ref.reference] for ref in report.imagingStudy] == [study]
    assert patient.identifier[0].value == content.patient.patient_id
    assert (patient.name[0].family, patient.name[0].given) == ("Müller", ["Anna", "Maria"])
    assert study.identifier[0].value == f"urn:oid:{content.study.study_uid}"
    [series] = study.series
    assert series.instance[0].uid == content.source_images[0].sop_uid
    assert series.instance[0].sopClass.code == "urn:oid:1.2.840.10008.5.1.4.1.1.1"

    observations = [resources[ref.reference] for ref in report.result]
    assert all(isinstance(o, Observation) for o in observations)
    by_label = {o.code.text: o for o in observations}
    assert set(by_label) == {"Lung Opacity", "Pleural Effusion"}
    opacity, effusion = by_label["Lung Opacity"], by_label["Pleural Effusion"]
    assert float(opacity.valueQuantity.value) == 0.91
    assert opacity.valueQuantity.system == "http://unitsofmeasure.org"
    assert opacity.interpretation[0].coding[0].code == "POS"
    assert effusion.interpretation[0].coding[0].code == "NEG"
    assert float(opacity.component[0].valueQuantity.value) == 0.5
    assert effusion.code.coding[0].code == "60046008"  # SNOMED CT pleural effusion
    assert opacity.method.text == "cxr-synthetic 1.0.0"
    assert "NOT FOR DIAGNOSTIC USE" in opacity.note[0].text
    assert resources[opacity.subject.reference] is patient
    assert resources[opacity.derivedFrom[0].reference] is study


def test_a_signed_version_is_final_and_names_its_interpreter(make_content: MakeContent) -> None:
    signed = make_content(
        version=2, status="final", impression="Right upper lobe opacity.",
        signature=Signature(user="dr.who", role="radiologist", name="Who^Doctor",
                            at=datetime(2024, 5, 7, tzinfo=UTC)),
    )  # fmt: skip
    bundle = parse_bundle(bundle_json(build_bundle(signed)))
    [report] = [e.resource for e in bundle.entry if isinstance(e.resource, DiagnosticReport)]
    assert (report.status, report.conclusion) == ("final", "Right upper lobe opacity.")
    assert report.resultsInterpreter[0].display == "Who^Doctor"
    observations = [e.resource for e in bundle.entry if isinstance(e.resource, Observation)]
    assert {o.status for o in observations} == {"final"}


def test_a_pending_series_makes_the_report_partial_and_conflicts_tag_the_patient(
    make_content: MakeContent,
) -> None:
    base = make_content()
    ct = ReportedSeries(series_uid="1.2.3.9", modality="CT", pipeline="ct", outcome="pending")
    content = make_content(series=(*base.series, ct), patient_conflicts=("birth_date",))
    bundle = parse_bundle(bundle_json(build_bundle(content)))
    resources = [entry.resource for entry in bundle.entry]
    [report] = [r for r in resources if isinstance(r, DiagnosticReport)]
    [study] = [r for r in resources if isinstance(r, ImagingStudy)]
    [patient] = [r for r in resources if isinstance(r, Patient)]
    assert report.status == "partial"
    assert [(s.uid, s.modality.code, s.description) for s in study.series][1:] == [
        ("1.2.3.9", "CT", "AI (ct): result pending")
    ]
    assert [(t.system, t.code) for t in patient.meta.tag] == [
        ("urn:acme-imaging:patient-record-conflict", "birth_date")
    ]
    assert build_bundle(base).entry[1].resource.meta is None
