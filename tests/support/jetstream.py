"""Read back what was published to a test's JetStream stream."""

from __future__ import annotations

import asyncio

import nats
from cloudevents.http import CloudEvent
from nats.js.errors import NotFoundError

from acme.bus import from_nats_message
from acme.settings import Settings


def published(settings: Settings, event_type: str | None = None) -> list[CloudEvent]:
    """Every CloudEvent in the settings' stream, oldest first (optionally of one type)."""

    async def read() -> list[CloudEvent]:
        assert settings.nats_url is not None
        conn = await nats.connect(settings.nats_url)
        try:
            js = conn.jetstream()
            try:
                info = await js.stream_info(settings.stream)
            except NotFoundError:
                return []
            events: list[CloudEvent] = []
            if info.state.messages == 0:  # an empty stream's first_seq is 0, which get_msg refuses
                return events
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    msg = await js.get_msg(settings.stream, seq=seq)
                except NotFoundError:
                    continue
                events.append(from_nats_message(msg.headers, msg.data or b""))
            return events
        finally:
            await conn.close()

    events = asyncio.run(read())
    return [e for e in events if event_type is None or e["type"] == event_type]
