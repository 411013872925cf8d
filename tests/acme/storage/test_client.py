"""make_s3_client and ensure_buckets against the real S3 server of the test stack."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.awsrequest import AWSPreparedRequest

import acme.storage
from acme.errors import ConfigError, StorageError
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client


def test_ensure_buckets_twice_creates_once(settings: Settings) -> None:
    client = make_s3_client(settings)
    names = settings.buckets.all()

    assert ensure_buckets(client, names) == list(names)
    assert ensure_buckets(client, names) == []

    for name in names:
        client.head_bucket(Bucket=name)


def test_requests_use_path_style_and_the_configured_region(settings: Settings) -> None:
    client = make_s3_client(settings)
    urls: list[str] = []

    def record(request: AWSPreparedRequest, **_: object) -> None:
        urls.append(request.url)

    client.meta.events.register("before-send.s3.HeadBucket", record)
    ensure_buckets(client, [settings.buckets.inbox])

    assert urls[0] == f"{settings.s3_url}/{settings.buckets.inbox}"
    assert client.meta.region_name == settings.s3_region


def test_two_dozen_concurrent_requests_keep_their_connections(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_s3_client(settings)
    bucket = settings.buckets.archive
    ensure_buckets(client, [bucket])
    client.put_object(Bucket=bucket, Key="one", Body=b"x" * 1024)
    together = threading.Barrier(24)

    def read(_: int) -> int:
        together.wait(10)  # all 24 in flight at once
        return len(client.get_object(Bucket=bucket, Key="one")["Body"].read())

    quiet = caplog.at_level(logging.WARNING, logger="urllib3.connectionpool")
    with quiet, ThreadPoolExecutor(24) as pool:
        assert list(pool.map(read, range(24))) == [1024] * 24
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_missing_endpoint_names_the_setting(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="ACME_S3_URL"):
        make_s3_client(settings.model_copy(update={"s3_url": None}))


def test_unreachable_endpoint_is_a_storage_error_naming_the_bucket(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"s3_url": "http://127.0.0.1:9"})
    client = make_s3_client(unreachable)

    with pytest.raises(StorageError, match=r"head_bucket s3://nowhere-bucket failed"):
        ensure_buckets(client, ["nowhere-bucket"])


def test_public_names() -> None:
    assert sorted(acme.storage.__all__) == [
        "ArchiveSpace",
        "Fetched",
        "InMemoryObjectStore",
        "ObjectInfo",
        "ObjectNotFoundError",
        "ObjectStore",
        "S3ObjectStore",
        "archive_space",
        "ensure_buckets",
        "make_s3_client",
    ]
