"""Build CloudEvents 1.0 and move them over HTTP with the ``cloudevents`` SDK (1.x API).

docs/architecture.md §3: JSON data validated by the type's model, delivered in binary mode;
extension attributes ``pipeline``, ``modality``, ``bodypart`` (lower-case names and values, for
broker filters) and ``traceparent`` (W3C trace context, carried end to end). Structured mode is
produced and accepted too, for tools that only speak it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, TypeVar

from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from acme.errors import EventError
from acme.events._http import encode_header_value, parse_http
from acme.events.models import EventData, model_for, parse_data
from acme.events.subjects import StudySubject, parse_study_subject, study_subject
from acme.events.tracing import check_traceparent, new_traceparent

__all__ = [
    "JSON_CONTENT_TYPE",
    "StudySubject",
    "data_as",
    "event_data",
    "new_event",
    "parse_http",
    "parse_study_subject",
    "study_subject",
    "to_binary_http",
    "to_structured_http",
    "traceparent_of",
]

JSON_CONTENT_TYPE: Final = "application/json"
_FILTER_EXTENSIONS: Final = ("pipeline", "modality", "bodypart")
_DATA_FIELDS: Final = {"pipeline": "pipeline", "modality": "modality", "bodypart": "body_part"}

M = TypeVar("M", bound=EventData)


def new_event(
    event_type: str,
    data: EventData,
    *,
    source: str,
    subject: str | None = None,
    traceparent: str | None = None,
    pipeline: str | None = None,
    modality: str | None = None,
    bodypart: str | None = None,
    time: datetime | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """A CloudEvent of ``event_type`` carrying ``data`` (which must be that type's model).

    ``id`` defaults to a uuid4, ``time`` to now (UTC), ``traceparent`` to a fresh trace.
    ``subject`` defaults to ``studies/...`` from the data's UIDs, and the ``pipeline``,
    ``modality`` and ``bodypart`` extensions are taken from the data's fields when it has them;
    an explicit value that disagrees with the data is an :class:`EventError`.
    """
    expected = model_for(event_type)
    if type(data) is not expected:
        raise EventError(
            f"data: {event_type} carries {expected.__name__}, got {type(data).__name__}"
        )
    if not source:
        raise EventError("source: expected a non-empty URI reference")
    when = time or datetime.now(UTC)
    if when.tzinfo is None:
        raise EventError("time: expected a timezone-aware datetime")
    attributes: dict[str, str] = {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "type": str(event_type),
        "time": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": JSON_CONTENT_TYPE,
        "traceparent": check_traceparent(traceparent) if traceparent else new_traceparent(),
    }
    if subject == "":
        raise EventError("subject: expected a non-empty string or None")
    subject = subject if subject is not None else _default_subject(data)
    if subject is not None:
        attributes["subject"] = subject
    given = {"pipeline": pipeline, "modality": modality, "bodypart": bodypart}
    attributes.update(_filter_extensions(data, given))
    return CloudEvent(attributes, data.model_dump(mode="json"))


def _default_subject(data: EventData) -> str | None:
    study = getattr(data, "study_uid", None)
    if not isinstance(study, str):
        return None
    series = getattr(data, "series_uid", None)
    sop = getattr(data, "sop_uid", None) if series is not None else None
    return study_subject(study, series, sop)


def _filter_extensions(data: EventData, given: Mapping[str, str | None]) -> dict[str, str]:
    extensions: dict[str, str] = {}
    for name in _FILTER_EXTENSIONS:
        from_data = getattr(data, _DATA_FIELDS[name], None)
        explicit = given[name]
        if explicit is not None and from_data is not None and explicit.lower() != from_data.lower():
            raise EventError(f"{name}: {explicit!r} disagrees with the data's {from_data!r}")
        value = explicit if explicit is not None else from_data
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise EventError(f"{name}: expected a non-empty string, got {value!r}")
        extensions[name] = value.strip().lower()
    return extensions


def to_binary_http(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Binary-mode HTTP (headers, body): ``ce-*`` headers (values percent-encoded as the HTTP
    binding requires), JSON body, plus the W3C ``traceparent`` header for HTTP-level tracing."""
    raw_headers, body = to_binary(event)
    headers = {
        name: encode_header_value(value) if name.startswith("ce-") else value
        for name, value in raw_headers.items()
    }
    headers.setdefault("content-type", JSON_CONTENT_TYPE)
    trace = traceparent_of(event)
    if trace is not None:
        headers["traceparent"] = trace
    return headers, body


def to_structured_http(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Structured-mode HTTP (headers, body): the whole event as one JSON document."""
    return to_structured(event)


def traceparent_of(event: CloudEvent) -> str | None:
    """The event's ``traceparent`` extension, if any."""
    value = event.get("traceparent")
    return value if isinstance(value, str) else None


def event_data(event: CloudEvent) -> EventData:
    """The event's data validated by its type's model (:func:`~acme.events.parse_data`)."""
    return parse_data(str(event["type"]), event.get_data())


def data_as(event: CloudEvent, model: type[M]) -> M:
    """The event's data as ``model``; :class:`EventError` when the type carries another model."""
    expected = model_for(str(event["type"]))
    if expected is not model:
        raise EventError(f"type: {event['type']} carries {expected.__name__}, not {model.__name__}")
    data = event_data(event)
    if not isinstance(data, model):  # model_for() said so; kept for the type checker
        raise EventError(f"data: expected {model.__name__}, got {type(data).__name__}")
    return data
