"""The bucket-events adapter: bucket notifications -> CloudEvents on the bus (its own process).

``python -m acme.runtime.bucket_events`` runs the transport ``ACME_BUCKET_EVENTS_TRANSPORT``
names (docs/decisions/0022-bucket-events-adapter.md):

- ``seaweedfs`` (local default): an HTTP server on ``ACME_WEBHOOK_PORT`` receiving the
  SeaweedFS filer webhook (:mod:`acme.runtime.notify_seaweedfs`);
- ``minio``: MinIO's notifications on the NATS subject ``ACME_MINIO_SUBJECT``, kept in the
  stream ``ACME_MINIO_STREAM`` until republished (:mod:`acme.runtime.notify_minio`);
- ``sqs``: S3 notifications polled from ``ACME_SQS_QUEUE_URL`` (AWS, LocalStack, moto)
  (:mod:`acme.runtime.notify_sqs`).

Each transport turns a notification into CloudEvents with the pure functions of
:mod:`acme.events.notifications` and publishes them through :func:`acme.bus.make_bus`
(JetStream, or ``K_SINK`` under Knative). It acknowledges the notification to its sender only
after every event was accepted, so delivery is at least once; the event ids are derived from
the notification, so JetStream drops a redelivered notification's events as duplicates.
Logs name event ids, types and buckets, never object keys (they may hold patient names).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import Protocol

from cloudevents.http import CloudEvent

from acme.bus import Bus, make_bus
from acme.errors import EventError
from acme.log import configure_logging, get_logger
from acme.settings import Settings, load_settings
from acme.stack.state import connect_settings

__all__ = ["NotificationSource", "error_field", "main", "make_source", "publish_all", "run"]

_logger = get_logger(__name__)


class NotificationSource(Protocol):
    """One notification transport; :meth:`run` returns once ``stop`` is set."""

    async def run(self, stop: asyncio.Event) -> None: ...


def publish_all(bus: Bus, events: Sequence[CloudEvent]) -> None:
    """Publish ``events`` in order; raises :class:`~acme.errors.BusError` at the first failure."""
    for event in events:
        bus.publish(event)


def error_field(exc: EventError) -> str:
    """The field an :class:`EventError` names, without the value (which may be a key)."""
    return str(exc).split(":", 1)[0]


class WatchedBuckets:
    """The bus the transports publish through, passing on only events of watched buckets.

    S3 and MinIO send notifications only for buckets configured to send them; SeaweedFS's
    filer webhook reports every bucket, archive and results included. Only dicom-inbox
    starts the workflow, so only its events are published, and only they are logged as such.
    """

    def __init__(self, bus: Bus, buckets: frozenset[str]) -> None:
        self._bus = bus
        self._buckets = buckets

    def publish(self, event: CloudEvent) -> None:
        data = event.get_data()
        bucket = data.get("bucket") if isinstance(data, dict) else None
        if bucket in self._buckets:
            self._bus.publish(event)
            _logger.info(
                "bucket event published", event_id=event["id"], type=event["type"], bucket=bucket
            )

    def close(self) -> None:
        self._bus.close()


class NoNotifications:
    """Transport ``none``: bucket notifications are off; dicom-ingest's inbox sweep on
    ``tick`` is then the only way objects are found (after ``ACME_INBOX_GRACE_SECONDS``)."""

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()


def make_source(settings: Settings, bus: Bus) -> NotificationSource:
    """The transport ``settings.bucket_events_transport`` names."""
    if settings.bucket_events_transport == "none":
        return NoNotifications()
    bus = WatchedBuckets(bus, frozenset({settings.buckets.inbox}))
    if settings.bucket_events_transport == "minio":
        from acme.runtime.notify_minio import MinioNatsSource

        return MinioNatsSource(settings, bus)
    if settings.bucket_events_transport == "sqs":
        from acme.runtime.notify_sqs import SqsSource

        return SqsSource(settings, bus)
    from acme.auth._keyfile import shared_secret
    from acme.runtime.notify_seaweedfs import SeaweedfsWebhook, webhook_address
    from acme.stack.servers.seaweedfs import webhook_token_path

    host, port = webhook_address(settings)
    token = shared_secret(webhook_token_path(settings))
    return SeaweedfsWebhook(bus, region=settings.s3_region, token=token, host=host, port=port)


async def run(settings: Settings, bus: Bus) -> None:
    """Run the configured transport until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    source = make_source(settings, bus)
    _logger.info("bucket-events adapter running", transport=settings.bucket_events_transport)
    await source.run(stop)


def main() -> None:
    """Entry point of ``python -m acme.runtime.bucket_events``."""
    settings = connect_settings(load_settings())
    configure_logging(settings, service="bucket-events")
    bus = make_bus(settings, name="acme-bucket-events")
    try:
        asyncio.run(run(settings, bus))
    finally:
        bus.close()


if __name__ == "__main__":
    main()
