"""Drafting on the real servers, each function's handler fed what the others published: a
report never shows another patient's name, covers every routed series, and follows late
instances with a new version."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import flask
import pypdfium2 as pdfium
import pytest
from dbrows import rows, study_state
from dicom_ingest.ingest import ingest_object
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.patient import Patient as FhirPatient
from jetstream import published
from pydicom import dcmread
from pydicom.uid import generate_uid
from report.fhir import parse_bundle
from report.review import AmendRequest, Signer, SignRequest, get_report, read_form, sign
from report.sr import read_sr
from report.store import VersionRow, report_of_study

from acme.auth import ensure_local_key, mint_token, policy_from_settings
from acme.events import EventType, Tick, new_event
from acme.function import Context
from acme.http import dispatcher_for
from acme.lifecycle import StudyConflict
from acme.samples import SampleManifest

Main = Callable[[str], ModuleType]
RADIOLOGIST = Signer(user="dr.who", role="radiologist", name="Who^Doctor")
ROUTING = """
stable_age_seconds: {default: 0.001}
default_pipeline: none
rules:
  - name: chest-radiograph
    pipeline: cxr
    when: [{tag: Modality, op: in, value: [CR, DX]}]
  - name: chest-ct
    pipeline: ct
    when: [{tag: Modality, op: equals, value: CT}]
"""


@dataclass
class Flow:
    """dicom-ingest, infer-cxr and report-events on the test servers, and a router between
    them (there is no CT function: CT series stay pending)."""

    ingest: Context
    infer: Context
    report: Context
    main: Main
    handled: set[str] = field(default_factory=set)

    def send(self, data: bytes) -> None:
        key = f"modality/{uuid.uuid4().hex}.dcm"
        self.ingest.store.put(self.ingest.settings.buckets.inbox, key, data)
        assert ingest_object(self.ingest, self.ingest.settings.buckets.inbox, key, None) == "stored"

    def tick(self) -> None:
        time.sleep(0.01)  # older than the stable age
        tick = new_event(EventType.TICK, Tick(at=datetime.now(UTC), sequence=1), source="/t")
        self.main("dicom-ingest").handler.handle(self.ingest, tick)

    def deliver(self) -> None:
        """Every new event to the function its trigger names, until nothing new is left."""
        while fresh := [e for e in published(self.ingest.settings) if e["id"] not in self.handled]:
            for event in fresh:
                self.handled.add(event["id"])
                kind = event["type"]
                if kind == EventType.SERIES_COMPLETED and event["pipeline"] == "cxr":
                    self.main("infer-cxr").handler.handle(self.infer, event)
                elif kind in (EventType.INFERENCE_COMPLETED, EventType.INFERENCE_FAILED):
                    self.main("report").handler.handle(self.report, event)

    def versions(self, study_uid: str) -> list[VersionRow]:
        with self.report.db.connection() as conn:
            found = report_of_study(conn, study_uid)
        assert found is not None
        return get_report(self.report, found.id)[1]


@pytest.fixture
def flow(open_context: Callable[..., Context], main: Main, tmp_path: Path) -> Flow:
    routing = tmp_path / "routing-ct.yml"
    routing.write_text(ROUTING)
    return Flow(
        ingest=open_context("dicom-ingest", routing_file=routing),
        infer=open_context("infer-cxr"),
        report=open_context("report-events"),
        main=main,
    )


def _copy(path: Path, **attributes: Any) -> tuple[bytes, dict[str, str]]:
    """``path`` with a new SOP Instance UID and ``attributes``; its bytes and UIDs."""
    ds = dcmread(path)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    out = BytesIO()
    ds.save_as(out)
    keywords = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
    uids = {keyword: str(ds[keyword].value) for keyword in keywords}
    return out.getvalue(), uids


def _pdf_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    try:
        return " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_studies_without_a_patient_id_keep_their_own_names_in_fhir_sr_and_pdf(
    flow: Flow, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    film = cxr_samples[0] / "good/cxr/opacity-cr-rle.dcm"
    people = {"Alpha^Anna": ("19500101", "F"), "Beta^Bert": ("19600202", "M")}
    studies = {}
    for name, (born, sex) in people.items():
        data, uids = _copy(film, StudyInstanceUID=generate_uid(),
                           SeriesInstanceUID=generate_uid(), PatientID="", PatientName=name,
                           PatientBirthDate=born, PatientSex=sex)  # fmt: skip
        flow.send(data)
        studies[name] = uids["StudyInstanceUID"]
    flow.tick()
    flow.deliver()

    for name, study_uid in studies.items():
        other = next(n for n in people if n != name)
        [version] = flow.versions(study_uid)
        assert version.content.patient.name == name
        bundle = parse_bundle(read_form(flow.report, version, "fhir")[0])
        [patient] = [e.resource for e in bundle.entry if isinstance(e.resource, FhirPatient)]
        assert patient.name[0].text == name.replace("^", " ")
        assert (patient.birthDate.strftime("%Y%m%d"), patient.gender) == (
            people[name][0], {"F": "female", "M": "male"}[people[name][1]],
        )  # fmt: skip
        assert read_sr(read_form(flow.report, version, "sr")[0]).patient_name == name
        pdf = _pdf_text(read_form(flow.report, version, "pdf")[0])
        assert name.replace("^", " ") in pdf and other.replace("^", " ") not in pdf
    assert rows(flow.report, "SELECT 1 FROM patient_conflicts") == []


def test_a_cxr_and_ct_study_is_drafted_with_the_ct_series_pending_and_cannot_be_signed(
    flow: Flow, cxr_samples: tuple[Path, SampleManifest], main: Main
) -> None:
    folder, _ = cxr_samples
    cxr, study = _copy(folder / "good/cxr/opacity-cr-rle.dcm")
    study_uid = study["StudyInstanceUID"]
    ct, ct_uids = _copy(folder / "good/ct/CT000001.dcm", StudyInstanceUID=study_uid)
    flow.send(cxr)
    flow.send(ct)
    flow.tick()
    flow.deliver()

    [version] = flow.versions(study_uid)
    content = version.content
    assert [(s.modality, s.pipeline, s.outcome) for s in content.pending] == [
        ("CT", "ct", "pending")
    ]
    assert content.pending[0].series_uid == ct_uids["SeriesInstanceUID"]
    assert not content.complete and content.positive  # the CXR's findings are there
    pending = f"Pending: CT series {ct_uids['SeriesInstanceUID']} (ct) has no AI result yet."
    assert pending in content.impression
    bundle = parse_bundle(read_form(flow.report, version, "fhir")[0])
    [report] = [e.resource for e in bundle.entry if isinstance(e.resource, DiagnosticReport)]
    assert report.status == "partial"
    assert not read_sr(read_form(flow.report, version, "sr")[0]).complete
    assert pending in read_form(flow.report, version, "html")[0].decode()
    assert study_state(flow.report, study_uid) == ("inferring", None)

    with pytest.raises(StudyConflict, match=r"is inferring \(a routed series has no AI result"):
        sign(flow.report, version.report_id, SignRequest(version=1), RADIOLOGIST)
    api = flow.report.settings
    ensure_local_key(api)
    dispatch = dispatcher_for(main("report").routes, policy_from_settings(api))
    token = "Bearer " + mint_token(api, user="dr.who", roles=("radiologist",))
    path = f"/reports/{version.report_id}/sign"
    with flask.Flask("t").test_request_context(
        path, method="POST", json={"version": 1}, headers={"Authorization": token}
    ):
        answer = dispatch(flow.report, flask.request)
    assert (answer.status_code, answer.get_json()["error"]) == (409, "study-state")
    assert "is inferring" in answer.get_json()["detail"]
    assert [v.version for v in flow.versions(study_uid)] == [1]


def test_a_late_instance_yields_a_new_report_version_and_earlier_ones_stay(
    flow: Flow, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    film = cxr_samples[0] / "good/cxr/opacity-cr-rle.dcm"
    first, uids = _copy(film)
    study_uid = uids["StudyInstanceUID"]
    flow.send(first)
    flow.tick()
    flow.deliver()
    [drafted] = flow.versions(study_uid)
    signed = sign(flow.report, drafted.report_id, SignRequest(version=1), RADIOLOGIST)
    assert study_state(flow.report, study_uid) == ("signed", None)

    late, late_uids = _copy(film, InstanceNumber=2)  # same study and series, after sign-off
    flow.send(late)
    assert study_state(flow.report, study_uid) == ("receiving", None)
    fix = AmendRequest(version=2, impression="Opacity.", reason="Reworded")
    with pytest.raises(StudyConflict, match=r"is receiving \(images are still arriving"):
        sign(flow.report, drafted.report_id, fix, RADIOLOGIST)  # not before the new images
    flow.tick()
    flow.deliver()

    versions = flow.versions(study_uid)
    assert [(v.version, v.status) for v in versions] == [
        (1, "preliminary"), (2, "final"), (3, "preliminary"),
    ]  # fmt: skip
    assert versions[1].content == signed.content  # earlier versions stay as they were
    newest = versions[2].content
    assert newest.complete and newest.run_ids != drafted.content.run_ids
    [series] = newest.series
    assert series.run_id == newest.run_ids[0]
    assert rows(flow.report, "SELECT series_completion, images_used FROM inference_runs"
                " ORDER BY started_at") == [(1, 1), (2, 2)]  # fmt: skip
    assert study_state(flow.report, study_uid) == ("reported", None)
    [reopened] = published(flow.report.settings, EventType.SERIES_REOPENED)
    assert reopened.data["sop_uid"] == late_uids["SOPInstanceUID"]
    assert len(published(flow.report.settings, EventType.REPORT_DRAFTED)) == 2
    again = sign(flow.report, drafted.report_id, SignRequest(version=3), RADIOLOGIST)
    assert again.version == 4 and study_state(flow.report, study_uid) == ("signed", None)
