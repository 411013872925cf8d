"""The bucket-events adapter: SeaweedFS webhook, SQS polling and MinIO-over-NATS transports.

The webhook runs as a real process on the session stack's webhook port and sees a real S3
put into SeaweedFS; SQS runs against a real moto server; MinIO (no server can be installed
here) is fed its documented message on the test stack's real NATS.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import nats
import pytest
import structlog
from cloudevents.http import CloudEvent

from acme.bus import InMemoryBus, NatsBus, from_nats_message
from acme.errors import BusError
from acme.runtime.bucket_events import WatchedBuckets, publish_all
from acme.runtime.notify_minio import DURABLE, MinioNatsSource
from acme.runtime.notify_seaweedfs import SeaweedfsWebhook
from acme.runtime.notify_sqs import SqsSource
from acme.settings import Settings
from acme.stack.servers.seaweedfs import webhook_token_path
from acme.stack.state import read_state

NOTIFICATIONS = Path(__file__).resolve().parents[2] / "fixtures/notifications"
SEAWEEDFS_LINES = (NOTIFICATIONS / "seaweedfs-webhook-multipart.jsonl").read_text().splitlines()
PUT_TYPE = "com.amazonaws.s3.ObjectCreated:Put"
KEY = "study 1/Doe^John+1.dcm"


class FlakyBus(InMemoryBus):
    """Fails the first ``failures`` publishes, then keeps events like InMemoryBus."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def publish(self, event: CloudEvent) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise BusError("broker unavailable")
        super().publish(event)


TOKEN = "webhook-secret"


def _post(
    webhook: SeaweedfsWebhook, body: str | bytes, token: str | None = TOKEN
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=webhook.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://adapter") as client:
            return await client.post("/seaweedfs", content=body, headers=headers)

    return asyncio.run(post())


def test_webhook_publishes_then_answers_200_with_stable_ids() -> None:
    bus = InMemoryBus()
    webhook = SeaweedfsWebhook(bus, region="us-east-1", token=TOKEN)
    completed, folder = SEAWEEDFS_LINES[7], SEAWEEDFS_LINES[5]

    first = _post(webhook, completed)
    again = _post(webhook, completed)
    nothing = _post(webhook, folder)

    assert (first.status_code, again.status_code, nothing.status_code) == (200, 200, 200)
    assert first.json()["published"] == again.json()["published"]  # same id: JetStream dedupes
    assert nothing.json() == {"published": []}
    [event, repeat] = bus.published
    assert event["type"] == "com.amazonaws.s3.ObjectCreated:CompleteMultipartUpload"
    assert event["subject"] == "mp/series 1/big+file.dcm"
    assert repeat["id"] == event["id"]


def test_only_events_of_watched_buckets_are_published_and_logged_as_published() -> None:
    bus = InMemoryBus()
    watched = WatchedBuckets(bus, frozenset({"dicom-inbox"}))
    events = [
        CloudEvent({"type": PUT_TYPE, "source": "s3", "id": bucket}, {"bucket": bucket, "key": "k"})
        for bucket in ("dicom-inbox", "dicom-archive", "results")
    ]
    with structlog.testing.capture_logs() as logs:
        publish_all(watched, events)
    assert bus.published == events[:1]
    said = [e for e in logs if e["event"] == "bucket event published"]
    assert [e["bucket"] for e in said] == ["dicom-inbox"]


def test_webhook_refuses_a_post_without_the_token() -> None:
    bus = InMemoryBus()
    webhook = SeaweedfsWebhook(bus, region="us-east-1", token=TOKEN)
    assert _post(webhook, SEAWEEDFS_LINES[7], token=None).status_code == 401
    assert _post(webhook, SEAWEEDFS_LINES[7], token="guessed").status_code == 401
    assert bus.published == []


def test_webhook_answers_503_when_publishing_fails_and_400_for_garbage() -> None:
    webhook = SeaweedfsWebhook(FlakyBus(failures=1), region="us-east-1", token=TOKEN)
    assert _post(webhook, SEAWEEDFS_LINES[7]).status_code == 503
    garbage = _post(webhook, b'{"event_type": "explode"}')
    assert garbage.status_code == 400
    assert "key" in garbage.text


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
    env.update(
        ACME_HOME=str(settings.home),
        ACME_NATS_URL=settings.nats_url or "",
        ACME_STREAM=settings.stream,
        ACME_BUCKET_PREFIX=settings.bucket_prefix,
        ACME_SUBJECT_PREFIX=settings.subject_prefix,
        ACME_LOG_FORMAT="json",
        **extra,
    )
    return env


async def _events_of(settings: Settings, event_type: str, want: int) -> list[CloudEvent]:
    """The first ``want`` events of ``event_type`` in the test's stream (waits up to 60 s)."""
    client = await nats.connect(settings.nats_url)
    try:
        js = client.jetstream()
        subscription = await js.pull_subscribe(
            settings.subject_for(event_type), stream=settings.stream
        )
        found: list[CloudEvent] = []
        deadline = time.monotonic() + 60
        while len(found) < want and time.monotonic() < deadline:
            try:
                messages = await subscription.fetch(want - len(found), timeout=1)
            except nats.errors.TimeoutError:
                continue
            found += [from_nats_message(m.headers, m.data) for m in messages]
        return found
    finally:
        await client.close()


def test_webhook_process_turns_a_real_put_into_a_cloudevent(
    settings: Settings, stack_settings: Settings, tmp_path: Path
) -> None:
    state = read_state(stack_settings.home.resolve())
    assert state is not None
    port = str(httpx.URL(state.webhook_url).port)
    # the adapter expects the token the session's SeaweedFS was configured with
    token = webhook_token_path(settings)
    token.parent.mkdir(parents=True, exist_ok=True)
    token.write_text(webhook_token_path(stack_settings).read_text())
    log = tmp_path / "adapter.log"
    with log.open("wb") as out:
        adapter = subprocess.Popen(
            [sys.executable, "-m", "acme.runtime.bucket_events"],
            env=_env(settings, ACME_WEBHOOK_PORT=port),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", adapter)
        s3 = boto3.client(
            "s3",
            endpoint_url=settings.s3_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        )
        bucket = settings.buckets.inbox
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=KEY, Body=b"DICM" * 64)

        events = asyncio.run(_events_of(settings, PUT_TYPE, 1))
        assert [event["subject"] for event in events] == [KEY]
        assert events[0]["source"] == f"seaweedfs:s3.{settings.s3_region}.{bucket}"
        assert events[0].get_data()["size"] == 256
    finally:
        adapter.send_signal(signal.SIGTERM)
        code = adapter.wait(20)
    assert code == 0, log.read_text()
    output = log.read_text()
    assert events[0]["id"] in output
    assert "Doe" not in output  # object keys may hold patient names: never logged


def _wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if process.poll() is not None:
            raise AssertionError(f"the process exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def moto_url(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/moto-api/", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def test_sqs_message_is_deleted_only_after_its_events_are_published(
    settings: Settings, moto_url: str
) -> None:
    common = {
        "endpoint_url": moto_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    s3, sqs = boto3.client("s3", **common), boto3.client("sqs", **common)
    queue = sqs.create_queue(QueueName="inbox", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    s3.create_bucket(Bucket="dicom-inbox")
    s3.put_bucket_notification_configuration(
        Bucket="dicom-inbox",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket="dicom-inbox", Key=KEY, Body=b"DICM")
    polling = settings.model_copy(
        update={"sqs_queue_url": queue, "sqs_endpoint_url": moto_url, "sqs_wait_seconds": 1}
    )

    def left() -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
        return sum(int(counts[name]) for name in names)

    failing = SqsSource(polling, FlakyBus(failures=100), client=sqs)
    for _ in range(3):  # the s3:TestEvent (no events) goes; the put's message stays
        failing.poll_once()
    assert left() == 1

    time.sleep(1.2)  # the visibility timeout
    with NatsBus(settings) as bus:
        working = SqsSource(polling, bus, client=sqs)
        deadline = time.monotonic() + 30
        while left() and time.monotonic() < deadline:
            working.poll_once()
    assert left() == 0
    [event] = asyncio.run(_events_of(settings, PUT_TYPE, 1))
    assert (event["subject"], event["source"]) == (KEY, "aws:s3.us-east-1.dicom-inbox")


def test_minio_notifications_on_nats_are_republished_at_least_once(settings: Settings) -> None:
    minio = settings.model_copy(
        update={
            "minio_subject": f"{settings.subject_prefix}-minio",
            "minio_stream": f"{settings.stream}_MINIO",
        }
    )
    body = (NOTIFICATIONS / "minio-eventlog-docs.json").read_bytes()
    bus = FlakyBus(failures=1)

    async def scenario() -> int:
        client = await nats.connect(minio.nats_url)
        js = client.jetstream()
        stop = asyncio.Event()
        source = asyncio.create_task(MinioNatsSource(minio, bus, fetch_timeout=0.2).run(stop))
        try:
            while True:  # MinIO publishes with plain NATS; the adapter's stream keeps it
                try:
                    await js.stream_info(minio.minio_stream)
                    await js.consumer_info(minio.minio_stream, DURABLE)
                    break
                except nats.js.errors.NotFoundError:
                    await asyncio.sleep(0.05)
            await client.publish(minio.minio_subject, b"not json")
            await client.publish(minio.minio_subject, body)
            deadline = time.monotonic() + 30
            while not bus.published and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            info = await js.consumer_info(minio.minio_stream, DURABLE)
            return info.num_ack_pending + info.num_pending
        finally:
            stop.set()
            await source
            await js.delete_stream(minio.minio_stream)
            await client.close()

    unfinished = asyncio.run(scenario())
    assert unfinished == 0
    [event] = bus.published
    assert event["type"] == PUT_TYPE
    assert event["source"] == "minio:s3.us-east-1.images"
    assert event.get_data()["key"] == "gopher.jpg"
