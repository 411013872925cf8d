"""MinIO bucket notifications on NATS -> CloudEvents: the cluster transport.

See docs/architecture.md §8.

MinIO's NATS target publishes each notification (``event.Log`` JSON) on one subject
(``ACME_MINIO_SUBJECT``). A JetStream stream (``ACME_MINIO_STREAM``, created here unless it
exists) captures that subject whether MinIO publishes with JetStream or plain NATS, so
notifications published while the adapter is down wait for it. A durable consumer reads them;
each is acked only after its CloudEvents are published, NAKed with a delay when publishing
fails, and terminated when it is not a MinIO notification (it stays in the stream).
"""

from __future__ import annotations

import asyncio
from typing import Final

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from acme.bus import Bus, connect
from acme.errors import BusError, EventError
from acme.events.notifications import from_minio
from acme.log import get_logger
from acme.runtime.bucket_events import error_field, publish_all
from acme.settings import Settings

__all__ = ["DURABLE", "MinioNatsSource", "ensure_minio_stream"]

DURABLE: Final = "acme-bucket-events"
RETRY_DELAY: Final = 2.0
"""Seconds before a notification whose events could not be published is tried again."""
MAX_AGE: Final = 7 * 24 * 3600.0

_logger = get_logger(__name__)


async def ensure_minio_stream(js: JetStreamContext, settings: Settings) -> None:
    """Create the stream capturing ``settings.minio_subject`` unless it exists."""
    try:
        await js.stream_info(settings.minio_stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=settings.minio_stream,
                description="MinIO bucket notifications for the acme bucket-events adapter",
                subjects=[settings.minio_subject],
                storage=StorageType.FILE,
                max_age=MAX_AGE,
            )
        )


class MinioNatsSource:
    """Reads MinIO's notifications from JetStream and republishes them as CloudEvents."""

    def __init__(self, settings: Settings, bus: Bus, *, fetch_timeout: float = 1.0) -> None:
        self._settings = settings
        self._bus = bus
        self._fetch_timeout = fetch_timeout

    async def run(self, stop: asyncio.Event) -> None:
        client = await connect(self._settings, "acme-bucket-events-minio")
        try:
            js = client.jetstream()
            await ensure_minio_stream(js, self._settings)
            await js.add_consumer(
                self._settings.minio_stream,
                ConsumerConfig(
                    name=DURABLE,
                    durable_name=DURABLE,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=60,
                    max_deliver=-1,
                    filter_subject=self._settings.minio_subject,
                ),
            )
            subscription = await js.pull_subscribe_bind(
                durable=DURABLE, stream=self._settings.minio_stream
            )
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(10, timeout=self._fetch_timeout)
                except TimeoutError:  # nats-py's own or asyncio's, as the wait expired
                    continue
                except nats.errors.Error as exc:
                    _logger.warning("fetch failed", error=type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                for message in messages:
                    await self._handle(message)
        finally:
            await client.close()

    async def _handle(self, msg: Msg) -> None:
        try:
            events = from_minio(msg.data, default_region=self._settings.s3_region)
        except EventError as exc:
            _logger.error(
                "not a MinIO notification; left in the stream",
                stream_sequence=msg.metadata.sequence.stream,
                field=error_field(exc),
            )
            await msg.term()
            return
        try:
            await asyncio.to_thread(publish_all, self._bus, events)
        except BusError as exc:
            _logger.error("publishing failed; retrying", error=str(exc))
            await msg.nak(delay=RETRY_DELAY)
            return
        await msg.ack()
