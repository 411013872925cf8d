"""report end to end on the real servers: ingest -> tick -> infer-cxr -> report, each function's
handler fed the event the previous one published; then sign and amend."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cloudevents.http import CloudEvent
from dbrows import rows, study_state
from dciodvfy import dciodvfy_errors
from jetstream import published
from report.draft import draft_report
from report.errors import NotReady, VersionConflict
from report.fhir import parse_bundle
from report.review import (
    AmendRequest,
    Signer,
    SignRequest,
    get_report,
    get_version,
    read_form,
    sign,
)
from report.sr import read_sr
from werkzeug.exceptions import BadRequest

from acme.events import EventType, InferenceCompleted, Tick, Timings, new_event
from acme.function import Context
from acme.lifecycle import Step, advance

Main = Callable[[str], ModuleType]
RADIOLOGIST = Signer(user="dr.who", role="radiologist", name="Who^Doctor")


def test_a_scored_study_is_reported_once_in_every_form(
    drafted: Any, main: Main, tmp_path: Path
) -> None:
    ctx, inferred, report_id = drafted.ctx, drafted.inferred, drafted.report_id
    study_uid = inferred.data["study_uid"]
    assert study_state(ctx, study_uid) == ("reported", None)

    report, [version] = get_report(ctx, report_id)
    assert (report.status, report.current_version, report.study_uid) == (
        "preliminary", 1, study_uid,
    )  # fmt: skip
    content = version.content
    assert version.run_ids == (uuid.UUID(inferred.data["run_id"]),)
    assert version.content_sha256 == content.sha256()
    assert {f.label: f.positive for _, f in content.results} == {
        "Lung Opacity": True, "Pleural Effusion": False,
    }  # fmt: skip
    assert content.not_for_diagnosis and "NOT FOR DIAGNOSTIC USE" in content.impression
    assert content.patient.patient_id and content.key_image_key

    prefix = f"reports/{study_uid}/{report_id}/v1/"
    drafted = published(ctx.settings, EventType.REPORT_DRAFTED)[0]
    assert drafted.data["artifacts"] == {
        "bucket": ctx.settings.buckets.results, "fhir_key": prefix + "report.fhir.json",
        "html_key": prefix + "report.html", "pdf_key": prefix + "report.pdf",
        "sr_key": prefix + "report.sr.dcm",
    }  # fmt: skip
    assert drafted.data["status"] == "draft" and drafted.data["not_for_diagnosis"] is True
    assert drafted["traceparent"].split("-")[1] == inferred["traceparent"].split("-")[1]

    bundle = parse_bundle(read_form(ctx, version, "fhir")[0])
    assert {e.resource.get_resource_type() for e in bundle.entry} == {
        "DiagnosticReport", "Patient", "ImagingStudy", "Observation",
    }  # fmt: skip
    sr_path = tmp_path / "report.sr.dcm"
    sr_path.write_bytes(read_form(ctx, version, "sr")[0])
    assert dciodvfy_errors(sr_path) == []
    summary = read_sr(sr_path.read_bytes())
    assert summary.study_uid == study_uid and summary.preliminary
    [sop_uid] = {f.sop_uid for _, f in content.results}
    assert {f.source_sop_uid for f in summary.findings} == {sop_uid}
    html = read_form(ctx, version, "html")[0].decode()
    assert "NOT FOR DIAGNOSTIC USE" in html and html.count("data:image/png;base64,") == 2
    assert read_form(ctx, version, "pdf")[0].startswith(b"%PDF-")

    # Redelivered: the same run finds its version; nothing new is written or announced.
    main("report").handler.handle(ctx, inferred)
    data = InferenceCompleted.model_validate(inferred.data)
    outcome = draft_report(ctx, data.study_uid, data.run_id, None)
    assert (outcome.status, outcome.version) == ("unchanged", 1)
    assert len(rows(ctx, "SELECT 1 FROM report_versions")) == 1
    assert len(published(ctx.settings, EventType.REPORT_DRAFTED)) == 1


def test_signing_and_amending_add_versions_and_stale_versions_conflict(drafted: Any) -> None:
    ctx, inferred, report_id = drafted.ctx, drafted.inferred, drafted.report_id
    study_uid = inferred.data["study_uid"]

    signed = sign(ctx, report_id, SignRequest(version=1, impression="Opacity RUL."), RADIOLOGIST)
    assert (signed.version, signed.status, signed.author) == (2, "final", "dr.who")
    assert signed.content.impression == "Opacity RUL." and signed.content.signature
    assert study_state(ctx, study_uid) == ("signed", None)
    [event] = published(ctx.settings, EventType.REPORT_SIGNED)
    assert (event.data["status"], event.data["version"], event.data["signed_by"]) == (
        "final", 2, "dr.who",
    )  # fmt: skip
    assert event.data["content_sha256"] == signed.content.sha256() == signed.content_sha256

    with pytest.raises(
        VersionConflict, match="at version 2; the request was made against version 1"
    ):
        sign(ctx, report_id, SignRequest(version=1), RADIOLOGIST)  # the same click again
    with pytest.raises(VersionConflict, match="already final; amend it"):
        sign(ctx, report_id, SignRequest(), RADIOLOGIST, version=2)
    fix = AmendRequest(impression="No opacity; artefact.", reason="Misread")
    with pytest.raises(VersionConflict, match="at version 2"):
        sign(ctx, report_id, fix, RADIOLOGIST, version=1)

    amended = sign(ctx, report_id, fix, RADIOLOGIST, version=2)
    assert (amended.version, amended.status, amended.reason) == (3, "amended", "Misread")
    assert published(ctx.settings, EventType.REPORT_SIGNED)[-1].data["status"] == "amended"
    assert read_sr(read_form(ctx, amended, "sr")[0]).predecessors == (
        read_sr(read_form(ctx, signed, "sr")[0]).sop_uid,
    )  # fmt: skip

    report, versions = get_report(ctx, report_id)
    assert (report.status, report.current_version, report.signed_by) == ("amended", 3, "dr.who")
    assert [(v.version, v.status) for v in versions] == [
        (1, "preliminary"), (2, "final"), (3, "amended"),
    ]  # fmt: skip
    for version in versions:  # every version stays retrievable, in every form
        again = get_version(ctx, report_id, version.version)
        assert again.content == version.content
        assert read_form(ctx, again, "pdf")[0].startswith(b"%PDF-")
    assert get_version(ctx, report_id, 1).content.impression != amended.content.impression


def test_a_failed_inference_shows_on_the_study_and_drafts_nothing(
    score: Callable[..., tuple[Context, CloudEvent]], main: Main
) -> None:
    ctx, failed = score("good/cxr/opacity-cr-rle.dcm", cxr_model="no-such-model")
    assert failed["type"] == EventType.INFERENCE_FAILED
    study_uid = failed.data["study_uid"]
    failure = ("failed", "inference failed: model-unavailable")
    assert study_state(ctx, study_uid) == failure  # infer-cxr settled it already
    run_id = uuid.UUID(failed.data["run_id"])
    assert draft_report(ctx, study_uid, run_id, None).status == "waiting"  # nothing to report

    # A pipeline whose function leaves the state alone: the report function settles it.
    with ctx.db.connection() as conn:
        assert advance(conn, study_uid, Step.INFERENCE_STARTED)
    main("report").handler.handle(ctx, failed)
    assert study_state(ctx, study_uid) == failure
    assert rows(ctx, "SELECT 1 FROM reports") == []
    assert published(ctx.settings, EventType.REPORT_DRAFTED) == []


def test_an_event_for_a_run_not_yet_committed_is_retried_and_other_types_rejected(
    open_context: Callable[..., Context], main: Main
) -> None:
    ctx = open_context("report-events")
    data = InferenceCompleted(
        study_uid="1.2.3", series_uid="1.2.3.4", run_id=uuid.uuid4(), pipeline="cxr",
        model={"name": "cxr-synthetic", "version": "1.0.0"}, device="cpu",
        execution_provider="CPUExecutionProvider", findings=(), results_bucket="results",
        timings=Timings(preprocess_ms=1, inference_ms=1, postprocess_ms=1, total_ms=3),
        not_for_diagnosis=True, completed_at=datetime.now(UTC),
    )  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(NotReady, match="not committed"):
        main("report").handler.handle(
            ctx, new_event(EventType.INFERENCE_COMPLETED, data, source="/test")
        )
    tick = new_event(EventType.TICK, Tick(at=datetime.now(UTC), sequence=1), source="/test")
    with pytest.raises(BadRequest, match=r"inference\.completed/failed"):
        main("report").handler.handle(ctx, tick)
