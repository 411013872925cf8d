"""Events: the contract between the platform's functions (docs/architecture.md §3).

- :mod:`acme.events.types`: the event ``type`` values.
- :mod:`acme.events.models`: one frozen pydantic model per type's data; :func:`parse_data`.
- :mod:`acme.events.schema`: JSON Schemas under ``events/``, generated from the models.
- :mod:`acme.events.cloudevents`: build events, binary/structured HTTP in and out.
- :mod:`acme.events.notifications`: bucket notifications (MinIO, SeaweedFS, S3/SQS) ->
  CloudEvents, per the CloudEvents AWS S3 adapter.

Every malformed event or notification raises :class:`acme.errors.EventError`, whose message
names the field and what was expected.
"""

from __future__ import annotations

from acme.events.cloudevents import (
    data_as,
    event_data,
    new_event,
    parse_http,
    to_binary_http,
    to_structured_http,
    traceparent_of,
)
from acme.events.ids import fact_id
from acme.events.models import (
    EVENT_MODELS,
    AccessRecorded,
    Coding,
    DispatchDelivered,
    DispatchFailed,
    DispatchRequested,
    EventData,
    Finding,
    Heatmap,
    InferenceCompleted,
    InferenceFailed,
    InstanceRejected,
    InstanceStored,
    ModelRef,
    NoduleMeasurement,
    QaItem,
    QaResult,
    ReportArtifacts,
    ReportDrafted,
    ReportSigned,
    S3Object,
    SeriesCompleted,
    SeriesReopened,
    Tick,
    Timings,
    canonical_archive_key,
    model_for,
    parse_data,
)
from acme.events.notifications import (
    DEFAULT_REGION,
    from_minio,
    from_s3_records,
    from_seaweedfs_webhook,
    from_sqs_body,
)
from acme.events.subjects import StudySubject, parse_study_subject, study_subject
from acme.events.tracing import is_traceparent, new_traceparent, trace_id
from acme.events.types import (
    ACME_TYPE_PREFIX,
    S3_TYPE_PREFIX,
    EventType,
    is_object_created,
    s3_event_type,
)

__all__ = [
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
    "fact_id",
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
]
