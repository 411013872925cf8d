"""The CloudEvent ``type`` values of the platform (docs/architecture.md §3).

Every message between functions carries one of the :class:`EventType` values; bucket
notifications become ``com.amazonaws.s3.<eventName>`` following the CloudEvents AWS S3 adapter
(https://github.com/cloudevents/spec/blob/main/cloudevents/adapters/aws-s3.md).
"""

from __future__ import annotations

from enum import StrEnum

ACME_TYPE_PREFIX = "org.acme.imaging."
"""Prefix of every event type the platform's own functions publish."""

S3_TYPE_PREFIX = "com.amazonaws.s3."
"""Prefix of every bucket-notification event type (``com.amazonaws.s3.ObjectCreated:Put``...)."""

OBJECT_CREATED_PREFIX = f"{S3_TYPE_PREFIX}ObjectCreated:"
"""Prefix of the bucket-notification types that mean "a new object to ingest"."""


class EventType(StrEnum):
    """The ``org.acme.imaging.*`` event types, in the order of the flow
    (docs/architecture.md §2)."""

    INSTANCE_STORED = f"{ACME_TYPE_PREFIX}instance.stored"
    INSTANCE_REJECTED = f"{ACME_TYPE_PREFIX}instance.rejected"
    SERIES_COMPLETED = f"{ACME_TYPE_PREFIX}series.completed"
    SERIES_REOPENED = f"{ACME_TYPE_PREFIX}series.reopened"
    INFERENCE_COMPLETED = f"{ACME_TYPE_PREFIX}inference.completed"
    INFERENCE_FAILED = f"{ACME_TYPE_PREFIX}inference.failed"
    REPORT_DRAFTED = f"{ACME_TYPE_PREFIX}report.drafted"
    REPORT_SIGNED = f"{ACME_TYPE_PREFIX}report.signed"
    DISPATCH_REQUESTED = f"{ACME_TYPE_PREFIX}dispatch.requested"
    DISPATCH_DELIVERED = f"{ACME_TYPE_PREFIX}dispatch.delivered"
    DISPATCH_FAILED = f"{ACME_TYPE_PREFIX}dispatch.failed"
    ACCESS_RECORDED = f"{ACME_TYPE_PREFIX}access.recorded"
    TICK = f"{ACME_TYPE_PREFIX}tick"


def s3_event_type(event_name: str) -> str:
    """The CloudEvent type of an S3 ``eventName``: ``com.amazonaws.s3.`` + the name.

    MinIO's ``s3:`` prefix is stripped (``s3:ObjectCreated:Put`` -> ``ObjectCreated:Put``), as
    docs/architecture.md §3 requires.
    """
    name = event_name.removeprefix("s3:")
    return f"{S3_TYPE_PREFIX}{name}"


def is_object_created(event_type: str) -> bool:
    """True for ``com.amazonaws.s3.ObjectCreated:*``: the types dicom-ingest is triggered by."""
    return event_type.startswith(OBJECT_CREATED_PREFIX)
