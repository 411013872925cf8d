"""The bucket-events adapter: bucket notifications -> CloudEvents, as pure functions.

docs/architecture.md §2, §3, §8: MinIO publishes to NATS, SeaweedFS posts to a webhook,
AWS S3 / LocalStack / moto send to SQS (directly or through SNS). Each function takes one
message body exactly as the transport delivered it and returns its CloudEvents (possibly none),
built per the CloudEvents AWS S3 adapter (see :mod:`acme.events._adapter`). Malformed input
raises :class:`~acme.errors.EventError` naming the offending field.

Every record becomes an event, whatever its ``eventName``: brokers filter on ``type`` and
dicom-ingest triggers only on ``com.amazonaws.s3.ObjectCreated:*``.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import unquote_plus

from cloudevents.http import CloudEvent

from acme.errors import EventError
from acme.events._adapter import DEFAULT_REGION, parse_event_time, s3_cloudevent
from acme.events._json import (
    JsonObject,
    join,
    load_object,
    opt_int,
    opt_obj,
    opt_str,
    req_obj,
    req_objects,
    req_str,
)
from acme.events._seaweedfs import from_seaweedfs_webhook

__all__ = [
    "DEFAULT_REGION",
    "from_minio",
    "from_s3_records",
    "from_seaweedfs_webhook",
    "from_sqs_body",
]

_TEST_EVENT: Final = "s3:TestEvent"


def from_s3_records(
    body: bytes | str | JsonObject, *, default_region: str = DEFAULT_REGION
) -> list[CloudEvent]:
    """CloudEvents of an S3 event message ``{"Records": [...]}`` (AWS, LocalStack, moto, MinIO).

    Object keys arrive URL-encoded (``red+flower.jpg``) and are decoded with ``unquote_plus``.
    """
    message = load_object(body)
    records = req_objects(message, "Records", "")
    return [
        _record_event(record, join("Records", index), default_region)
        for index, record in enumerate(records)
    ]


def from_minio(
    body: bytes | str | JsonObject, *, default_region: str = DEFAULT_REGION
) -> list[CloudEvent]:
    """CloudEvents of a MinIO notification (NATS, webhook, Kafka...: ``event.Log`` JSON).

    MinIO sends ``{"EventName": "s3:ObjectCreated:Put", "Key": "<bucket>/<key>", "Records":
    [...]}`` (older releases and its docs say ``EventType``); the records are S3 records with
    ``s3:``-prefixed event names and, unless a region is configured, ``awsRegion: ""``.
    """
    message = load_object(body)
    for name in ("EventName", "EventType"):
        if name in message:
            req_str(message, name, "")
    return from_s3_records(message, default_region=default_region)


def from_sqs_body(
    body: bytes | str | JsonObject, *, default_region: str = DEFAULT_REGION
) -> list[CloudEvent]:
    """CloudEvents of an SQS message body from S3 (AWS, LocalStack, moto).

    Accepts the S3 event message, the ``s3:TestEvent`` S3 sends when a notification is
    configured (no events), and both wrapped in an SNS ``Notification`` envelope (S3 -> SNS ->
    SQS without raw message delivery).
    """
    message = load_object(body)
    if message.get("Type") == "Notification" and "Message" in message:
        inner = req_str(message, "Message", "")
        return _from_sqs_message(load_object(inner, "Message"), default_region, "Message")
    return _from_sqs_message(message, default_region, "")


def _from_sqs_message(message: JsonObject, default_region: str, path: str) -> list[CloudEvent]:
    if message.get("Event") == _TEST_EVENT:
        return []
    if "Records" not in message:
        raise EventError(
            f"{join(path, 'Records')}: required field is missing (expected an S3 event "
            f"message or {_TEST_EVENT})"
        )
    return from_s3_records(message, default_region=default_region)


def _record_event(record: JsonObject, path: str, default_region: str) -> CloudEvent:
    s3_path = join(path, "s3")
    s3 = req_obj(record, "s3", path)
    bucket_path = join(s3_path, "bucket")
    object_path = join(s3_path, "object")
    s3_object = req_obj(s3, "object", s3_path)
    raw_key = req_str(s3_object, "key", object_path)
    try:
        key = unquote_plus(raw_key, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise EventError(f"{join(object_path, 'key')}: URL-encoding is not UTF-8") from None
    fields = {
        "event_name": req_str(record, "eventName", path).removeprefix("s3:"),
        "bucket": req_str(req_obj(s3, "bucket", s3_path), "name", bucket_path),
        "key": key,
        "size": opt_int(s3_object, "size", object_path),
        "etag": opt_str(s3_object, "eTag", object_path),
        "version_id": opt_str(s3_object, "versionId", object_path),
        "sequencer": opt_str(s3_object, "sequencer", object_path),
        "content_type": opt_str(s3_object, "contentType", object_path),
    }
    paths = {
        "event_name": join(path, "eventName"),
        "bucket": join(bucket_path, "name"),
        "key": join(object_path, "key"),
        "size": join(object_path, "size"),
        "etag": join(object_path, "eTag"),
        "version_id": join(object_path, "versionId"),
        "sequencer": join(object_path, "sequencer"),
        "content_type": join(object_path, "contentType"),
    }
    return s3_cloudevent(
        event_source=req_str(record, "eventSource", path),
        region=opt_str(record, "awsRegion", path) or default_region,
        event_time=parse_event_time(req_str(record, "eventTime", path), join(path, "eventTime")),
        fields=fields,
        field_paths=paths,
        request_id=_request_id(record, path),
    )


def _request_id(record: JsonObject, path: str) -> str | None:
    """The adapter spec's id: ``x-amz-request-id`` + ``.`` + ``x-amz-id-2``, when present."""
    elements = opt_obj(record, "responseElements", path)
    if elements is None:
        return None
    elements_path = join(path, "responseElements")
    request = opt_str(elements, "x-amz-request-id", elements_path)
    if request is None:
        return None
    host = opt_str(elements, "x-amz-id-2", elements_path)
    return f"{request}.{host}" if host else request
