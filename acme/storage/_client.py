"""Build the boto3 S3 client from the settings, and create the buckets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from acme.errors import ConfigError, StorageError
from acme.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_OWNED_ALREADY = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_MISSING_BUCKET = frozenset({"404", "NoSuchBucket", "NotFound"})


MAX_POOL_CONNECTIONS = 32
"""Connections one S3 client keeps open (botocore's default is 10)."""


def make_s3_client(settings: Settings) -> S3Client:
    """An S3 client for ``settings.s3_url`` that works with SeaweedFS, MinIO, AWS and LocalStack.

    Path-style addressing (no bucket DNS names), SigV4, standard retry mode, bounded
    timeouts, and checksums only where the API requires them (the newer default CRC
    trailers are not understood by every S3-compatible server).
    """
    if not settings.s3_url:
        raise ConfigError("ACME_S3_URL", "no S3 endpoint is set (expected http(s)://host:port)")
    config = Config(
        region_name=settings.s3_region,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=60,
        tcp_keepalive=True,
        # a function's concurrent requests and infer-ct's parallel reads share one client:
        # beyond the pool, urllib3 discards connections and the next request opens one anew
        max_pool_connections=MAX_POOL_CONNECTIONS,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    try:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=settings.s3_url,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
            config=config,
        )
    except ValueError as exc:
        raise ConfigError("ACME_S3_URL", f"not a usable endpoint URL: {exc}") from exc


def ensure_buckets(client: S3Client, names: Iterable[str]) -> list[str]:
    """Create the buckets that do not exist yet; return the names created by this call.

    Safe to call again and from several processes at once: a bucket that exists and is
    reachable with these credentials is left alone.
    """
    created: list[str] = []
    for name in names:
        if _bucket_exists(client, name):
            continue
        if _create_bucket(client, name):
            created.append(name)
    return created


def _bucket_exists(client: S3Client, name: str) -> bool:
    try:
        client.head_bucket(Bucket=name)
    except ClientError as exc:
        if error_code(exc) in _MISSING_BUCKET:
            return False
        raise storage_error("head_bucket", name, None, exc) from exc
    except BotoCoreError as exc:
        raise storage_error("head_bucket", name, None, exc) from exc
    return True


def _create_bucket(client: S3Client, name: str) -> bool:
    region = client.meta.region_name
    try:
        if region and region != "us-east-1":
            client.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
        else:
            client.create_bucket(Bucket=name)
    except ClientError as exc:
        if error_code(exc) in _OWNED_ALREADY and _bucket_exists(client, name):
            return False
        raise storage_error("create_bucket", name, None, exc) from exc
    except BotoCoreError as exc:
        raise storage_error("create_bucket", name, None, exc) from exc
    return True


def error_code(exc: ClientError) -> str:
    """The S3 error code of a ``ClientError`` (``NoSuchKey``, ``404``, ...)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def storage_error(
    operation: str, bucket: str, key: str | None, exc: ClientError | BotoCoreError
) -> StorageError:
    """A :class:`StorageError` naming the operation, bucket and key (never object content)."""
    where = f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = f"{error.get('Code', 'error')} (HTTP {status}): {error.get('Message', '')}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    return StorageError(f"{operation} {where} failed: {detail.strip()}")
