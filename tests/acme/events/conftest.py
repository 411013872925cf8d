"""Shared fixtures: a valid data sample of every event type, and the notification samples."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from acme.events import (
    AccessRecorded,
    Coding,
    DispatchDelivered,
    DispatchFailed,
    DispatchRequested,
    EventData,
    EventType,
    Finding,
    Heatmap,
    InferenceCompleted,
    InferenceFailed,
    InstanceRejected,
    InstanceStored,
    ModelRef,
    ReportArtifacts,
    ReportDrafted,
    ReportSigned,
    S3Object,
    SeriesCompleted,
    SeriesReopened,
    Tick,
    Timings,
    canonical_archive_key,
)

STUDY = "1.2.826.0.1.3680043.8.498.1"
SERIES = "1.2.826.0.1.3680043.8.498.1.2"
SOP = "1.2.826.0.1.3680043.8.498.1.2.3"
WHEN = datetime(2025, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)
RUN = uuid.UUID("8f7c9a4e-2b1d-4c3e-9f00-0123456789ab")
REPORT = uuid.UUID("0d9e8f7a-6b5c-4d3e-8f21-fedcba987654")
SHA = "ab" * 32


def _samples() -> dict[str, EventData]:
    model = ModelRef(name="cxr-densenet121-synthetic", version="1.0.0")
    return {
        EventType.INSTANCE_STORED: InstanceStored(
            study_uid=STUDY,
            series_uid=SERIES,
            sop_uid=SOP,
            sop_class_uid="1.2.840.10008.5.1.4.1.1.1",
            modality="CR",
            body_part="CHEST",
            transfer_syntax="1.2.840.10008.1.2.1",
            archive_bucket="dicom-archive",
            archive_key=canonical_archive_key(STUDY, SERIES, SOP),
            source_bucket="dicom-inbox",
            source_key="modality-1/series 1/img+1.dcm",
            sha256=SHA,
            size=7_340_032,
            received_at=WHEN,
        ),
        EventType.INSTANCE_REJECTED: InstanceRejected(
            bucket="dicom-inbox",
            key="incoming/report.pdf",
            reason_code="missing-attribute:SOPInstanceUID",
            detail="(0008,0018) SOP Instance UID is absent",
            quarantine_bucket="dicom-quarantine",
            quarantine_key="2025/03/04/incoming/report.pdf",
            size=1234,
            sha256=SHA,
            rejected_at=WHEN,
        ),
        EventType.SERIES_COMPLETED: SeriesCompleted(
            study_uid=STUDY,
            series_uid=SERIES,
            modality="CR",
            body_part="CHEST",
            pipeline="cxr",
            rule="chest-radiograph",
            instance_count=2,
            completed_at=WHEN,
        ),
        EventType.SERIES_REOPENED: SeriesReopened(
            study_uid=STUDY,
            series_uid=SERIES,
            sop_uid=SOP,
            modality="CR",
            body_part="CHEST",
            pipeline="cxr",
            completion=1,
            reopened_at=WHEN,
        ),
        EventType.INFERENCE_COMPLETED: InferenceCompleted(
            study_uid=STUDY,
            series_uid=SERIES,
            run_id=RUN,
            pipeline="cxr",
            modality="CR",
            body_part="CHEST",
            model=model,
            device="cpu",
            execution_provider="CPUExecutionProvider",
            findings=(
                Finding(
                    label="Cardiomegaly",
                    probability=0.81,
                    threshold=0.5,
                    positive=True,
                    sop_uid=SOP,
                    heatmap_key=f"heatmaps/{RUN}/Cardiomegaly.png",
                    code=Coding(
                        system="http://snomed.info/sct", code="287272002", display="Cardiomegaly"
                    ),
                ),
                Finding(label="Effusion", probability=0.12, threshold=0.5, positive=False),
            ),
            results_bucket="results",
            heatmaps=(Heatmap(label="Cardiomegaly", key=f"heatmaps/{RUN}/Cardiomegaly.png"),),
            timings=Timings(preprocess_ms=12.5, inference_ms=80.25, postprocess_ms=3, total_ms=96),
            not_for_diagnosis=True,
            completed_at=WHEN,
        ),
        EventType.INFERENCE_FAILED: InferenceFailed(
            study_uid=STUDY,
            series_uid=SERIES,
            run_id=RUN,
            pipeline="ct",
            model=None,
            reason_code="model-unavailable",
            detail="models/ct-lesion/2.0.0/model.onnx not found",
            attempts=3,
            retryable=True,
            failed_at=WHEN,
        ),
        EventType.REPORT_DRAFTED: ReportDrafted(
            report_id=REPORT,
            version=1,
            study_uid=STUDY,
            run_ids=(RUN,),
            artifacts=ReportArtifacts(
                bucket="results",
                fhir_key=f"reports/{REPORT}/1/report.fhir.json",
                html_key=f"reports/{REPORT}/1/report.html",
                pdf_key=f"reports/{REPORT}/1/report.pdf",
            ),
            not_for_diagnosis=True,
            drafted_at=WHEN,
        ),
        EventType.REPORT_SIGNED: ReportSigned(
            report_id=REPORT,
            version=2,
            status="final",
            study_uid=STUDY,
            signed_by="dr.house",
            signer_role="radiologist",
            content_sha256=SHA,
            signed_at=WHEN,
        ),
        EventType.DISPATCH_REQUESTED: DispatchRequested(
            report_id=REPORT,
            version=1,
            study_uid=STUDY,
            destination="pacs-main",
            cause="report.drafted",
            requested_at=WHEN,
        ),
        EventType.DISPATCH_DELIVERED: DispatchDelivered(
            report_id=REPORT,
            version=1,
            study_uid=STUDY,
            destination="pacs-main",
            protocol="dimse",
            sop_uids=(SOP, SOP + ".1"),
            attempts=2,
            delivered_at=WHEN,
        ),
        EventType.DISPATCH_FAILED: DispatchFailed(
            report_id=REPORT,
            version=1,
            study_uid=STUDY,
            destination="pacs-main",
            protocol="dicomweb",
            attempt=1,
            detail="connection refused",
            failed_at=WHEN,
        ),
        EventType.ACCESS_RECORDED: AccessRecorded(
            actor="dr.house",
            role="radiologist",
            action="render",
            resource=f"/function/worklist/studies/{STUDY}/rendered",
            study_uid=STUDY,
            when=WHEN,
            source_ip=ipaddress.ip_address("10.1.2.3"),
            outcome="success",
            request_id="req-42",
        ),
        EventType.TICK: Tick(at=WHEN, sequence=17),
        "com.amazonaws.s3.ObjectCreated:Put": S3Object(
            event_name="ObjectCreated:Put",
            bucket="dicom-inbox",
            key="Müller/检查 é+1.dcm",
            size=256,
            etag="cb5a3adbb70396b299b94c5ae7462d40",
            sequencer="0055AED6DCD90281E5",
        ),
    }


@pytest.fixture
def samples() -> dict[str, EventData]:
    """A valid data model of every event type (and one bucket-notification type)."""
    return _samples()


@pytest.fixture
def notifications_dir() -> Path:
    """tests/fixtures/notifications."""
    return Path(__file__).resolve().parents[2] / "fixtures" / "notifications"
