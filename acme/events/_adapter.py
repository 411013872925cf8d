"""One S3 object event -> one CloudEvent, per the CloudEvents AWS S3 adapter.

https://github.com/cloudevents/spec/blob/main/cloudevents/adapters/aws-s3.md, as
docs/architecture.md §3 adopts it:

=========  ====================================================================
id         ``x-amz-request-id`` + ``.`` + ``x-amz-id-2`` when the record has them;
           else a UUID derived from source, event name, key, sequencer, etag and
           time, so a redelivered notification keeps its id
source     ``<eventSource>.<awsRegion>.<bucket>``, e.g. ``aws:s3.us-east-1.dicom-inbox``
type       ``com.amazonaws.s3.<eventName>``, MinIO's ``s3:`` prefix stripped
subject    the object key, URL-decoded
time       ``eventTime``
data       :class:`~acme.events.models.S3Object` (not the raw record: consumers get the
           decoded key and typed fields)
=========  ====================================================================
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from cloudevents.http import CloudEvent
from pydantic import ValidationError

from acme.errors import EventError
from acme.events.cloudevents import new_event
from acme.events.models import S3Object, describe_validation_error
from acme.events.types import s3_event_type

DEFAULT_REGION: Final = "us-east-1"
"""Region used in ``source`` when a record has none (MinIO sends ``awsRegion: ""`` unless a
region is configured; SeaweedFS has none): us-east-1 is the S3 API's own default region and
MinIO's. Callers pass the configured region (``ACME_S3_REGION``) instead when they have it."""


def parse_event_time(value: str, path: str) -> datetime:
    """An RFC 3339 ``eventTime`` as an aware datetime; :class:`EventError` naming ``path``."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise EventError(f"{path}: expected an RFC 3339 timestamp with offset, got {value!r}")
    return parsed.astimezone(UTC)


def s3_cloudevent(
    *,
    event_source: str,
    region: str,
    event_time: datetime,
    fields: Mapping[str, object],
    field_paths: Mapping[str, str],
    request_id: str | None = None,
) -> CloudEvent:
    """Build the CloudEvent of one S3 object event.

    ``fields`` are :class:`S3Object` fields (``event_name`` without ``s3:``); ``field_paths``
    name where each came from in the notification, for error messages.
    """
    try:
        data = S3Object.model_validate(fields)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
        where = field_paths.get(field, "record")
        message = describe_validation_error(exc, name_field=False)
        raise EventError(f"{where}: {message}") from None
    source = f"{event_source}.{region or DEFAULT_REGION}.{data.bucket}"
    event_id = request_id or str(
        uuid.uuid5(
            uuid.NAMESPACE_URL,
            "|".join(
                (
                    source,
                    data.event_name,
                    data.key,
                    data.sequencer or "",
                    data.etag or "",
                    event_time.isoformat(),
                )
            ),
        )
    )
    return new_event(
        s3_event_type(data.event_name),
        data,
        source=source,
        subject=data.key,
        time=event_time,
        event_id=event_id,
    )
