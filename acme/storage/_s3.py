"""The boto3 adapter of :class:`~acme.storage.ObjectStore`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from acme.errors import StorageError
from acme.storage._client import error_code, storage_error
from acme.storage._store import Fetched, ObjectInfo, ObjectNotFoundError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef, HeadObjectOutputTypeDef

_R = TypeVar("_R")
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


class S3ObjectStore:
    """Objects in any S3-compatible server, through a client from :func:`make_s3_client`."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        self.write(bucket, key, data, content_type=content_type, metadata=metadata)
        info = self.head(bucket, key)
        if info is None:
            raise StorageError(f"put_object s3://{bucket}/{key}: object missing right after put")
        return info

    def write(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self._client.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                Metadata=dict(metadata or {}),
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._error("put_object", bucket, key, exc) from exc

    def get(self, bucket: str, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
            with response["Body"] as body:
                return body.read()
        except (ClientError, BotoCoreError) as exc:
            raise self._error("get_object", bucket, key, exc) from exc

    def fetch(self, bucket: str, key: str, *, max_bytes: int) -> Fetched | None:
        response = _unless_missing(
            "get_object", bucket, key, lambda: self._client.get_object(Bucket=bucket, Key=key)
        )
        if response is None:
            return None
        info = _info(bucket, key, response)
        try:
            with response["Body"] as body:  # closed unread when over the limit
                data = body.read() if info.size <= max_bytes else None
        except (ClientError, BotoCoreError) as exc:
            raise storage_error("get_object", bucket, key, exc) from exc
        return Fetched(info, data)

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        response = _unless_missing(
            "head_object", bucket, key, lambda: self._client.head_object(Bucket=bucket, Key=key)
        )
        return None if response is None else _info(bucket, key, response)

    def delete(self, bucket: str, key: str) -> None:
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and error_code(exc) in {"NoSuchKey", "404"}:
                return
            raise self._error("delete_object", bucket, key, exc) from exc

    def list(
        self, bucket: str, prefix: str = "", *, older_than: datetime | None = None
    ) -> Iterator[ObjectInfo]:
        if older_than is not None and older_than.tzinfo is None:
            raise StorageError("list: older_than must be timezone-aware")
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    modified = item["LastModified"]
                    if older_than is not None and modified >= older_than:
                        continue
                    yield ObjectInfo(
                        bucket=bucket,
                        key=item["Key"],
                        size=item["Size"],
                        etag=item.get("ETag", "").strip('"'),
                        last_modified=modified,
                    )
        except (ClientError, BotoCoreError) as exc:
            raise storage_error("list_objects_v2", bucket, prefix, exc) from exc

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        try:
            self._client.copy_object(
                Bucket=dst_bucket,
                Key=dst_key,
                CopySource={"Bucket": src_bucket, "Key": src_key},
                MetadataDirective="COPY",
            )
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                raise ObjectNotFoundError(src_bucket, src_key, "copy_object") from exc
            error = storage_error("copy_object", src_bucket, src_key, exc)
            raise StorageError(f"{error} (to s3://{dst_bucket}/{dst_key})") from exc
        except BotoCoreError as exc:
            error = storage_error("copy_object", src_bucket, src_key, exc)
            raise StorageError(f"{error} (to s3://{dst_bucket}/{dst_key})") from exc
        info = self.head(dst_bucket, dst_key)
        if info is None:
            raise StorageError(
                f"copy_object s3://{dst_bucket}/{dst_key}: object missing right after copy"
            )
        return info

    @staticmethod
    def _error(
        operation: str, bucket: str, key: str, exc: ClientError | BotoCoreError
    ) -> StorageError:
        if isinstance(exc, ClientError) and error_code(exc) in _NOT_FOUND:
            return ObjectNotFoundError(bucket, key, operation)
        return storage_error(operation, bucket, key, exc)


def _unless_missing(operation: str, bucket: str, key: str, call: Callable[[], _R]) -> _R | None:
    """``call()``'s response, or None when the object (or its bucket) does not exist."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise storage_error(operation, bucket, key, exc) from exc
    except BotoCoreError as exc:
        raise storage_error(operation, bucket, key, exc) from exc


def _info(
    bucket: str, key: str, response: HeadObjectOutputTypeDef | GetObjectOutputTypeDef
) -> ObjectInfo:
    """What a HEAD or a GET response says of the object."""
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=response["ContentLength"],
        etag=response["ETag"].strip('"'),
        last_modified=response["LastModified"],
        content_type=response.get("ContentType"),
        metadata=dict(response.get("Metadata", {})),
    )
