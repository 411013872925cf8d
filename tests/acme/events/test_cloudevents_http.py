from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest

from acme.errors import EventError
from acme.events import (
    EventData,
    EventType,
    InstanceStored,
    S3Object,
    SeriesCompleted,
    Tick,
    data_as,
    event_data,
    is_traceparent,
    new_event,
    new_traceparent,
    parse_http,
    parse_study_subject,
    study_subject,
    to_binary_http,
    to_structured_http,
    trace_id,
    traceparent_of,
)

SOURCE = "/functions/dicom-ingest"
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_subject_helper() -> None:
    assert study_subject("1.2.3") == "studies/1.2.3"
    assert study_subject("1.2.3", "1.2.3.4") == "studies/1.2.3/series/1.2.3.4"
    assert study_subject("1.2.3", "1.2.3.4", "1.2.3.4.5") == (
        "studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5"
    )
    assert parse_study_subject("studies/1.2.3/series/1.2.3.4") == ("1.2.3", "1.2.3.4", None)
    with pytest.raises(EventError, match="series_uid: required when sop_uid is given"):
        study_subject("1.2.3", None, "1.2.3.4.5")
    with pytest.raises(EventError, match="study_uid: expected a DICOM UID"):
        study_subject("../etc")
    with pytest.raises(EventError, match="subject: expected studies/<StudyUID>"):
        parse_study_subject("studies/1.2.3/instances/4")


def test_new_event_defaults(samples: dict[str, EventData]) -> None:
    data = samples[EventType.INSTANCE_STORED]
    assert isinstance(data, InstanceStored)
    event = new_event(EventType.INSTANCE_STORED, data, source=SOURCE)
    assert uuid.UUID(event["id"]).version == 4
    assert event["specversion"] == "1.0"
    assert event["source"] == SOURCE
    assert event["type"] == "org.acme.imaging.instance.stored"
    assert event["datacontenttype"] == "application/json"
    assert event["subject"] == study_subject(data.study_uid, data.series_uid, data.sop_uid)
    assert datetime.fromisoformat(event["time"]).tzinfo is not None
    assert is_traceparent(event["traceparent"])
    assert event["modality"] == "cr"
    assert event["bodypart"] == "chest"
    assert "pipeline" not in event
    assert (
        new_event(EventType.INSTANCE_STORED, data, source=SOURCE)["traceparent"]
        != (event["traceparent"])
    )


def test_new_event_extensions_and_trace(samples: dict[str, EventData]) -> None:
    data = samples[EventType.SERIES_COMPLETED]
    event = new_event(
        EventType.SERIES_COMPLETED, data, source=SOURCE, traceparent=TRACE, pipeline="CXR"
    )
    assert (event["pipeline"], event["modality"], event["bodypart"]) == ("cxr", "cr", "chest")
    assert traceparent_of(event) == TRACE
    assert trace_id(TRACE) == "4bf92f3577b34da6a3ce929d0e0e4736"
    with pytest.raises(EventError, match="pipeline: 'ct' disagrees with the data's 'cxr'"):
        new_event(EventType.SERIES_COMPLETED, data, source=SOURCE, pipeline="ct")
    with pytest.raises(EventError, match="traceparent: expected W3C trace context"):
        new_event(EventType.SERIES_COMPLETED, data, source=SOURCE, traceparent="00-abc")


def test_new_event_refuses_the_wrong_model(samples: dict[str, EventData]) -> None:
    with pytest.raises(
        EventError, match=re.escape("data: org.acme.imaging.tick carries Tick, got SeriesCompleted")
    ):
        new_event(EventType.TICK, samples[EventType.SERIES_COMPLETED], source=SOURCE)
    with pytest.raises(EventError, match="subject: expected a non-empty string or None"):
        new_event(EventType.TICK, samples[EventType.TICK], source=SOURCE, subject="")
    with pytest.raises(EventError, match="source: expected a non-empty URI reference"):
        new_event(EventType.TICK, samples[EventType.TICK], source="")
    with pytest.raises(EventError, match="time: expected a timezone-aware datetime"):
        new_event(EventType.TICK, samples[EventType.TICK], source=SOURCE, time=datetime(2025, 1, 1))


def test_traceparent_generation() -> None:
    value = new_traceparent()
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", value)
    assert not is_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01")
    assert not is_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")


def test_binary_round_trip(samples: dict[str, EventData]) -> None:
    for event_type, data in samples.items():
        subject = "Müller/检查 é+1.dcm" if isinstance(data, S3Object) else None
        event = new_event(event_type, data, source=SOURCE, subject=subject, traceparent=TRACE)
        headers, body = to_binary_http(event)
        assert headers["content-type"] == "application/json"
        assert headers["ce-type"] == event_type
        assert headers["ce-traceparent"] == TRACE
        assert headers["traceparent"] == TRACE
        assert all(value.isascii() and " " not in value for value in headers.values())
        parsed = parse_http(headers, body)
        assert parsed == event
        assert event_data(parsed) == data
        assert type(data_as(parsed, type(data))) is type(data)


def test_binary_headers_are_percent_encoded(samples: dict[str, EventData]) -> None:
    event = new_event(
        "com.amazonaws.s3.ObjectCreated:Put",
        samples["com.amazonaws.s3.ObjectCreated:Put"],
        source="aws:s3.us-east-1.dicom-inbox",
        subject='Müller/a "b" 100%.dcm',
    )
    headers, body = to_binary_http(event)
    assert headers["ce-subject"] == "M%C3%BCller/a%20%22b%22%20100%25.dcm"
    assert parse_http(headers, body)["subject"] == 'Müller/a "b" 100%.dcm'


def test_structured_round_trip(samples: dict[str, EventData]) -> None:
    data = samples[EventType.SERIES_COMPLETED]
    event = new_event(EventType.SERIES_COMPLETED, data, source=SOURCE, traceparent=TRACE)
    headers, body = to_structured_http(event)
    assert headers["content-type"] == "application/cloudevents+json"
    document = json.loads(body)
    assert document["traceparent"] == TRACE
    assert document["pipeline"] == "cxr"
    assert document["data"]["series_uid"] == data.series_uid  # type: ignore[attr-defined]
    parsed = parse_http({"Content-Type": "application/cloudevents+json; charset=utf-8"}, body)
    assert parsed == event
    assert data_as(parsed, SeriesCompleted) == data


def test_plain_traceparent_header_is_adopted(samples: dict[str, EventData]) -> None:
    event = new_event(EventType.TICK, samples[EventType.TICK], source="/tick")
    headers, body = to_binary_http(event)
    del headers["ce-traceparent"]
    headers["traceparent"] = TRACE
    assert traceparent_of(parse_http(headers, body)) == TRACE


def test_data_as_refuses_another_model(samples: dict[str, EventData]) -> None:
    event = new_event(EventType.TICK, samples[EventType.TICK], source="/tick")
    with pytest.raises(
        EventError, match=re.escape("type: org.acme.imaging.tick carries Tick, not SeriesCompleted")
    ):
        data_as(event, SeriesCompleted)


def _binary(**overrides: str | None) -> dict[str, str]:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "/tick",
        "ce-type": "org.acme.imaging.tick",
        "ce-time": "2025-03-04T05:06:07Z",
        "content-type": "application/json",
    }
    for name, value in overrides.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return headers


TICK_BODY = json.dumps(
    Tick(at=datetime(2025, 3, 4, tzinfo=UTC), sequence=1).model_dump(mode="json")
)


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        (_binary(ce_type=None), TICK_BODY, "ce-type: required header is missing or empty"),
        (_binary(ce_id=""), TICK_BODY, "ce-id: required header is missing or empty"),
        (_binary(ce_specversion=None), TICK_BODY, "ce-specversion: required header is missing"),
        (
            _binary(ce_specversion="0.3"),
            TICK_BODY,
            "ce-specversion: unsupported '0.3'; expected '1.0'",
        ),
        (_binary(), '{"at": ', "body: not valid JSON (Expecting value at line 1 column 8)"),
        (_binary(), b'{"at": "\xff"}', "body: not UTF-8 text"),
        (_binary(), "", "org.acme.imaging.tick data: expected a JSON object, got no data"),
        (_binary(content_type="text/plain"), TICK_BODY, "content-type: expected application/json"),
        (
            _binary(),
            '{"at": "2025-03-04T05:06:07Z"}',
            "tick data: field 'sequence': Field required",
        ),
        (_binary(), '{"at": "yesterday", "sequence": 1}', "tick data: field 'at'"),
        (_binary(ce_type="org.acme.imaging.nope"), TICK_BODY, "type: unknown event type"),
        (_binary(ce_time="yesterday"), TICK_BODY, "time: expected an RFC 3339 timestamp"),
        (_binary(ce_traceparent="abc"), TICK_BODY, "traceparent: expected W3C trace context"),
        (
            _binary(ce_subject="%C0%A0"),
            TICK_BODY,
            "ce-subject: percent-encoding is not valid UTF-8",
        ),
        (
            {"content-type": "application/json"},
            TICK_BODY,
            "not a CloudEvent: expected ce-specversion",
        ),
        (
            {"content-type": "application/cloudevents-batch+json"},
            "[]",
            "content-type: application/cloudevents-batch+json is not accepted",
        ),
    ],
)
def test_malformed_binary_events(headers: dict[str, str], body: str | bytes, message: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_http(headers, body)
    assert message in str(caught.value)


def _structured(**changes: object) -> str:
    document: dict[str, object] = {
        "specversion": "1.0",
        "id": "1",
        "source": "/tick",
        "type": "org.acme.imaging.tick",
        "datacontenttype": "application/json",
        "data": json.loads(TICK_BODY),
    }
    for name, value in changes.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return json.dumps(document)


STRUCTURED = {"content-type": "application/cloudevents+json"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "body: empty; expected the event as a JSON object"),
        ("[1]", "body: expected a JSON object (structured CloudEvent), got list"),
        ("{", "body: not valid JSON"),
        (_structured(type=None), "type: required attribute is missing"),
        (_structured(source=3), "source: required attribute is missing or not a non-empty string"),
        (_structured(specversion="2.0"), "specversion: unsupported '2.0'; expected '1.0'"),
        (_structured(data=None, data_base64="AAAA"), "data_base64: binary data is not accepted"),
        (_structured(datacontenttype="text/xml"), "datacontenttype: expected application/json"),
        (_structured(Bodypart="chest"), "attribute 'Bodypart': CloudEvents attribute names"),
        (_structured(data={"at": "2025-03-04T05:06:07Z", "sequence": "x"}), "field 'sequence'"),
        (_structured(data=None), "tick data: expected a JSON object, got no data"),
    ],
)
def test_malformed_structured_events(body: str, message: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_http(STRUCTURED, body)
    assert message in str(caught.value)
