"""The dead-letter stream and ``acme dlq``: storage, listing, replay and its fallbacks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import nats
import pytest
from click.testing import CliRunner

from acme.bus import MSG_ID_HEADER, connect, to_nats_message
from acme.cli.dlq_commands import dlq
from acme.events.cloudevents import new_event
from acme.events.models import Tick
from acme.events.types import EventType
from acme.runtime.dlq import DeadLetter, DeadLetterQueue, StoredMessage
from acme.settings import Settings


def test_stored_message_keeps_any_body_verbatim() -> None:
    text = StoredMessage.of("s", {"ce-id": "1"}, '{"a": "é"}'.encode())
    binary = StoredMessage.of("s", None, b"\xff\x00DICM")
    assert (text.body_encoding, text.body_bytes()) == ("utf-8", '{"a": "é"}'.encode())
    assert (binary.body_encoding, binary.body_bytes()) == ("base64", b"\xff\x00DICM")
    assert StoredMessage.model_validate_json(binary.model_dump_json()) == binary


def _letter(settings: Settings, trigger: str) -> tuple[DeadLetter, str]:
    event = new_event(EventType.TICK, Tick(at=datetime.now(UTC), sequence=7), source="/tests")
    headers, body = to_nats_message(event)
    now = datetime.now(UTC)
    letter = DeadLetter(
        message=StoredMessage.of(settings.subject_for(EventType.TICK), headers, body),
        event_id=str(event["id"]),
        event_type=EventType.TICK,
        event_subject=None,
        function=trigger.rsplit("-", 1)[0],
        trigger=trigger,
        kind="exhausted",
        reason="http 503 after 5 attempts",
        attempts=5,
        last_status=503,
        last_body="busy",
        stream=settings.stream,
        stream_sequence=1,
        published_at=now,
        dead_lettered_at=now,
    )
    return letter, str(event["id"])


def test_replay_without_the_trigger_goes_back_to_the_bus(settings: Settings) -> None:
    letter, event_id = _letter(settings, "retired-0")

    async def scenario() -> tuple[list[int], str, dict[str, str], str]:
        client = await connect(settings, "tests")
        try:
            js = client.jetstream()
            await js.add_stream(name=settings.stream, subjects=[f"{settings.subject_prefix}.>"])
            queue = DeadLetterQueue(js, settings)
            await queue.ensure()
            await queue.put(letter)
            await queue.put(letter)  # a second write of the same failure is deduplicated
            entries = await queue.entries()
            target = await queue.replay(entries[0])
            sub = await js.pull_subscribe(f"{settings.subject_prefix}.>", stream=settings.stream)
            [message] = await sub.fetch(1, timeout=5)
            left = await queue.entries()
            return (
                [e.id for e in entries + left],
                target,
                dict(message.headers or {}),
                message.subject,
            )
        finally:
            await client.close()

    ids, target, headers, subject = asyncio.run(scenario())
    assert len(ids) == 1  # one entry, and none left after the replay
    assert target == "bus"
    assert subject == settings.subject_for(EventType.TICK)
    assert headers["ce-id"] == event_id
    assert headers[MSG_ID_HEADER] == f"{event_id}.replay.{ids[0]}"


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    return {
        "ACME_HOME": str(settings.home),
        "ACME_NATS_URL": settings.nats_url or "",
        "ACME_STREAM": settings.stream,
        "ACME_SUBJECT_PREFIX": settings.subject_prefix,
    }


def test_cli_lists_as_a_table_and_refuses_unclear_replays(
    settings: Settings, cli_env: dict[str, str]
) -> None:
    letter, _event_id = _letter(settings, "dicom-ingest-0")
    runner = CliRunner()
    empty = runner.invoke(dlq, ["list", "--json"], env=cli_env)
    assert (empty.exit_code, empty.output.strip()) == (0, "[]")  # no DLQ stream yet

    async def store() -> None:
        client = await nats.connect(settings.nats_url)
        try:
            queue = DeadLetterQueue(client.jetstream(), settings)
            await queue.ensure()
            await queue.put(letter)
        finally:
            await client.close()

    asyncio.run(store())

    listed = runner.invoke(dlq, ["list"], env={**cli_env, "COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "dicom-ingest" in listed.output
    assert "http 503 after 5 attempts" in listed.output

    neither = runner.invoke(dlq, ["replay"], env=cli_env)
    both = runner.invoke(dlq, ["replay", "1", "--all"], env=cli_env)
    missing = runner.invoke(dlq, ["replay", "99"], env=cli_env)
    assert neither.exit_code == both.exit_code == 2
    assert "give the ids to replay, or --all" in neither.output
    assert missing.exit_code == 1
    assert f"no dead letter 99 in stream {settings.dead_letter_stream}" in missing.output
