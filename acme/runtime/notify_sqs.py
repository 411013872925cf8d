"""S3 bucket notifications in SQS -> CloudEvents (AWS, LocalStack, moto).

Long-polls ``ACME_SQS_QUEUE_URL`` and deletes a message only after every CloudEvent it
carries was published, so a crash or a publishing failure leaves it in the queue and SQS
delivers it again after its visibility timeout (at least once). A message that is not an S3
notification is logged and left too: configure a redrive policy on the queue so SQS moves it
to a dead-letter queue after a few receives. The SQS client uses ``ACME_S3_REGION`` and the S3
credentials (one key pair, as on AWS), and ``ACME_SQS_ENDPOINT_URL`` when set.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

import boto3
import botocore.exceptions

from acme.bus import Bus
from acme.errors import BusError, ConfigError, EventError
from acme.events.notifications import from_sqs_body
from acme.log import get_logger
from acme.runtime.bucket_events import error_field, publish_all
from acme.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = ["SqsSource", "sqs_client"]

RETRY_DELAY: Final = 1.0
"""Seconds to wait after SQS itself failed before polling again."""

_logger = get_logger(__name__)


def sqs_client(settings: Settings) -> SQSClient:
    """An SQS client for the settings' region, credentials and endpoint."""
    return boto3.client(
        "sqs",
        endpoint_url=settings.sqs_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
    )


class SqsSource:
    """Polls the queue; :meth:`poll_once` handles one batch, :meth:`run` loops until stopped."""

    def __init__(self, settings: Settings, bus: Bus, *, client: SQSClient | None = None) -> None:
        if not settings.sqs_queue_url:
            raise ConfigError("ACME_SQS_QUEUE_URL", "the sqs transport needs the queue's URL")
        self._queue = settings.sqs_queue_url
        self._wait = settings.sqs_wait_seconds
        self._region = settings.s3_region
        self._bus = bus
        self._client = client or sqs_client(settings)

    def poll_once(self) -> int:
        """Receive up to 10 messages and handle each; returns how many were deleted."""
        received = self._client.receive_message(
            QueueUrl=self._queue, MaxNumberOfMessages=10, WaitTimeSeconds=self._wait
        )
        return sum(self._handle(message) for message in received.get("Messages", []))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.poll_once)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                _logger.warning("polling SQS failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(RETRY_DELAY)

    def _handle(self, message: MessageTypeDef) -> bool:
        message_id = message.get("MessageId")
        try:
            events = from_sqs_body(message.get("Body", ""), default_region=self._region)
        except EventError as exc:
            _logger.error(
                "not an S3 notification; left in the queue",
                message_id=message_id,
                field=error_field(exc),
            )
            return False
        try:
            publish_all(self._bus, events)
        except BusError as exc:
            _logger.error(
                "publishing failed; SQS will redeliver", message_id=message_id, error=str(exc)
            )
            return False
        self._client.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])
        return True
