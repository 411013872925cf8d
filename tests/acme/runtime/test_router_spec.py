"""Triggers, subjects, retry classification and backoff: the router's pure parts."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import httpx
import pytest
from cloudevents.http import CloudEvent
from pydantic import ValidationError

from acme.events.cloudevents import new_event
from acme.events.models import S3Object, Tick
from acme.events.types import EventType
from acme.runtime.delivery import Outcome, backoff_delay, classify, deliver
from acme.runtime.router import TriggerSpec, durable_names
from acme.settings import load_settings

SETTINGS = load_settings(subject_prefix="acme.events")


def _s3(event_name: str) -> CloudEvent:
    data = S3Object(event_name=event_name, bucket="dicom-inbox", key="a/b.dcm")
    return new_event(f"com.amazonaws.s3.{event_name}", data, source="aws:s3.us-east-1.dicom-inbox")


def _tick() -> CloudEvent:
    return new_event(EventType.TICK, Tick(at=datetime.now(UTC), sequence=1), source="/t")


def test_exact_type_matches_only_that_type() -> None:
    trigger = TriggerSpec(function="dicom-ingest", type=EventType.TICK)
    assert trigger.matches(_tick())
    assert not trigger.matches(_s3("ObjectCreated:Put"))
    assert trigger.filter_subjects(SETTINGS, "dicom-ingest-1") == [
        "acme.events.org.acme.imaging.tick",
        "acme.events._replay.dicom-ingest-1",
    ]


def test_prefix_type_matches_by_prefix_and_narrows_the_subject() -> None:
    trigger = TriggerSpec(function="dicom-ingest", type="com.amazonaws.s3.ObjectCreated:*")
    assert trigger.matches(_s3("ObjectCreated:Put"))
    assert trigger.matches(_s3("ObjectCreated:CompleteMultipartUpload"))
    assert not trigger.matches(_s3("ObjectRemoved:Delete"))
    assert trigger.filter_subjects(SETTINGS, "dicom-ingest-0") == [
        "acme.events.com.amazonaws.s3.>",
        "acme.events._replay.dicom-ingest-0",
    ]


def test_catch_all_trigger_listens_to_everything() -> None:
    trigger = TriggerSpec(function="audit")
    assert trigger.matches(_tick()) and trigger.matches(_s3("ObjectRemoved:Delete"))
    assert trigger.filter_subjects(SETTINGS, "audit-0") == ["acme.events.>"]


def test_extension_filters_must_all_equal() -> None:
    trigger = TriggerSpec(function="infer-cxr", type="*", filters={"pipeline": "cxr"})
    event = _tick()
    assert not trigger.matches(event)
    event["pipeline"] = "ct"
    assert not trigger.matches(event)
    event["pipeline"] = "cxr"
    assert trigger.matches(event)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("type", "com.*.ObjectCreated", "prefix ending in '*'"),
        ("type", "org.acme.>", "prefix ending in '*'"),
        ("function", "Infer_CXR", "should match pattern"),
        ("filters", {"Pipeline": "cxr"}, "lower-case"),
        ("attempts", 0, "greater than or equal to 1"),
        ("backoff_max", 0.1, "backoff_max must be at least backoff_base"),
    ],
)
def test_invalid_trigger_names_the_field(field: str, value: object, message: str) -> None:
    fields: dict[str, object] = {"function": "fn", "backoff_base": 0.2, field: value}
    with pytest.raises(ValidationError) as caught:
        TriggerSpec.model_validate(fields)
    assert message in str(caught.value)


def test_durable_names_count_each_functions_triggers() -> None:
    triggers = [
        TriggerSpec(function="dicom-ingest", type="com.amazonaws.s3.ObjectCreated:*"),
        TriggerSpec(function="audit"),
        TriggerSpec(function="dicom-ingest", type=EventType.TICK),
    ]
    assert durable_names(triggers) == ["dicom-ingest-0", "audit-0", "dicom-ingest-1"]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (202, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (400, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (409, Outcome.REJECTED),
        (302, Outcome.REJECTED),
    ],
)
def test_status_classification(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


def test_backoff_doubles_with_small_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, base=0.5, maximum=10, rng=rng) for n in range(1, 9)]
    for attempt, delay in enumerate(delays[:5], start=1):
        assert 0.9 * 0.5 * 2 ** (attempt - 1) <= delay <= 1.1 * 0.5 * 2 ** (attempt - 1)
    assert delays[:5] == sorted(delays[:5])
    assert all(delay <= 10 for delay in delays)
    assert delays[-1] >= 9


def _answer(handler: httpx.MockTransport) -> tuple[Outcome, str]:
    async def attempt() -> tuple[Outcome, str]:
        async with httpx.AsyncClient(transport=handler) as client:
            result = await deliver(client, "http://fn", {"ce-id": "1"}, b"{}", timeout=5)
        return result.outcome, result.describe()

    return asyncio.run(attempt())


def test_deliver_reports_status_or_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert _answer(httpx.MockTransport(lambda _r: httpx.Response(204))) == (
        Outcome.DELIVERED,
        "http 204",
    )
    assert _answer(httpx.MockTransport(lambda _r: httpx.Response(422))) == (
        Outcome.REJECTED,
        "http 422",
    )
    assert _answer(httpx.MockTransport(refuse)) == (
        Outcome.RETRY,
        "connection error (ConnectError)",
    )
