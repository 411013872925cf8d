from __future__ import annotations

import acme.events
from acme.events import EventType, is_object_created, s3_event_type


def test_the_thirteen_platform_types() -> None:
    assert [str(t) for t in EventType] == [
        "org.acme.imaging.instance.stored",
        "org.acme.imaging.instance.rejected",
        "org.acme.imaging.series.completed",
        "org.acme.imaging.series.reopened",
        "org.acme.imaging.inference.completed",
        "org.acme.imaging.inference.failed",
        "org.acme.imaging.report.drafted",
        "org.acme.imaging.report.signed",
        "org.acme.imaging.dispatch.requested",
        "org.acme.imaging.dispatch.delivered",
        "org.acme.imaging.dispatch.failed",
        "org.acme.imaging.access.recorded",
        "org.acme.imaging.tick",
    ]


def test_s3_event_type_strips_the_minio_prefix() -> None:
    assert s3_event_type("s3:ObjectCreated:Put") == "com.amazonaws.s3.ObjectCreated:Put"
    assert s3_event_type("ObjectCreated:Put") == "com.amazonaws.s3.ObjectCreated:Put"


def test_is_object_created() -> None:
    assert is_object_created("com.amazonaws.s3.ObjectCreated:CompleteMultipartUpload")
    assert not is_object_created("com.amazonaws.s3.ObjectRemoved:Delete")
    assert not is_object_created(EventType.INSTANCE_STORED)


def test_public_names_are_pinned() -> None:
    assert set(acme.events.__all__) == {
        "ACME_TYPE_PREFIX",
        "DEFAULT_REGION",
        "EVENT_MODELS",
        "S3_TYPE_PREFIX",
        "AccessRecorded",
        "Coding",
        "DispatchDelivered",
        "DispatchFailed",
        "DispatchRequested",
        "EventData",
        "EventType",
        "fact_id",
        "Finding",
        "Heatmap",
        "InferenceCompleted",
        "InferenceFailed",
        "InstanceRejected",
        "InstanceStored",
        "ModelRef",
        "NoduleMeasurement",
        "QaItem",
        "QaResult",
        "ReportArtifacts",
        "ReportDrafted",
        "ReportSigned",
        "S3Object",
        "SeriesCompleted",
        "SeriesReopened",
        "StudySubject",
        "Tick",
        "Timings",
        "canonical_archive_key",
        "data_as",
        "event_data",
        "from_minio",
        "from_s3_records",
        "from_seaweedfs_webhook",
        "from_sqs_body",
        "is_object_created",
        "is_traceparent",
        "model_for",
        "new_event",
        "new_traceparent",
        "parse_data",
        "parse_http",
        "parse_study_subject",
        "s3_event_type",
        "study_subject",
        "to_binary_http",
        "to_structured_http",
        "trace_id",
        "traceparent_of",
    }
    for name in acme.events.__all__:
        assert hasattr(acme.events, name), name
