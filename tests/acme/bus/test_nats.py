"""NatsBus against the real NATS JetStream server of the test stack."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import nats
import pytest
from cloudevents.http import CloudEvent
from nats.aio.client import Client
from nats.aio.msg import Msg

from acme.bus import MSG_ID_HEADER, NatsBus, ensure_stream, from_nats_message, stream_config
from acme.errors import BusError, ConfigError
from acme.events import EventType, Tick, new_event
from acme.settings import Settings

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _tick(sequence: int = 1) -> CloudEvent:
    return new_event(
        EventType.TICK,
        Tick(at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), sequence=sequence),
        source="/acme/tests",
        traceparent=TRACEPARENT,
    )


async def _connect(settings: Settings) -> Client:
    assert settings.nats_url is not None
    return await nats.connect(settings.nats_url)


async def _fetch_all(settings: Settings, expected: int) -> list[Msg]:
    client = await _connect(settings)
    try:
        js = client.jetstream()
        subscription = await js.pull_subscribe(
            f"{settings.subject_prefix}.>", stream=settings.stream
        )
        messages = await subscription.fetch(expected, timeout=5)
        for message in messages:
            await message.ack()
        return messages
    finally:
        await client.close()


async def _message_count(settings: Settings) -> int:
    client = await _connect(settings)
    try:
        info = await client.jetstream().stream_info(settings.stream)
        return info.state.messages
    finally:
        await client.close()


def test_publish_round_trips_through_jetstream(settings: Settings) -> None:
    event = _tick()
    with NatsBus(settings) as bus:
        bus.publish(event)

    [message] = asyncio.run(_fetch_all(settings, 1))

    assert message.subject == settings.subject_for(EventType.TICK)
    assert message.headers is not None
    assert message.headers[MSG_ID_HEADER] == event["id"]
    assert message.headers["ce-id"] == event["id"]
    assert message.headers["content-type"] == "application/json"
    received = from_nats_message(message.headers, message.data)
    assert received["id"] == event["id"]
    assert received["type"] == EventType.TICK
    assert received["source"] == "/acme/tests"
    assert received["traceparent"] == TRACEPARENT
    assert received.get_data() == event.get_data()


def test_publishing_the_same_event_twice_stores_one_message(settings: Settings) -> None:
    event = _tick()
    with NatsBus(settings) as bus:
        bus.publish(event)
        bus.publish(event)
        bus.publish(_tick(sequence=2))

    assert asyncio.run(_message_count(settings)) == 2


def test_stream_is_created_once_with_the_configured_subjects(settings: Settings) -> None:
    with NatsBus(settings), NatsBus(settings):
        pass

    async def info() -> tuple[list[str], float, str]:
        client = await _connect(settings)
        try:
            stream = await client.jetstream().stream_info(settings.stream)
            return (
                list(stream.config.subjects or []),
                stream.config.duplicate_window,
                str(stream.config.storage),
            )
        finally:
            await client.close()

    subjects, window, storage = asyncio.run(info())
    assert subjects == [f"{settings.subject_prefix}.>"]
    assert window == stream_config(settings).duplicate_window
    assert "file" in storage


def test_existing_stream_with_other_subjects_is_refused(settings: Settings) -> None:
    async def squat() -> None:
        client = await _connect(settings)
        try:
            await client.jetstream().add_stream(name=settings.stream, subjects=["elsewhere.>"])
        finally:
            await client.close()

    asyncio.run(squat())

    with pytest.raises(BusError, match=rf"stream {settings.stream} exists with subjects"):
        NatsBus(settings)


def test_ensure_stream_is_idempotent(settings: Settings) -> None:
    async def twice() -> tuple[str, str]:
        client = await _connect(settings)
        try:
            js = client.jetstream()
            first = await ensure_stream(js, settings)
            second = await ensure_stream(js, settings)
            return str(first.config.name), str(second.config.name)
        finally:
            await client.close()

    assert asyncio.run(twice()) == (settings.stream, settings.stream)


def test_event_type_that_is_no_subject_is_refused(settings: Settings) -> None:
    event = CloudEvent({"type": "bad type>", "source": "/t"}, {"x": 1})
    with NatsBus(settings) as bus, pytest.raises(BusError, match="valid NATS subject"):
        bus.publish(event)


def test_unreachable_nats_names_the_setting(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"nats_url": "nats://127.0.0.1:9", "startup_timeout": 1.0}
    )

    with pytest.raises(
        ConfigError, match=r"ACME_NATS_URL: cannot reach NATS at nats://127\.0\.0\.1:9"
    ):
        NatsBus(unreachable)
