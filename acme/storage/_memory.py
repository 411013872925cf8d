"""An in-memory :class:`~acme.storage.ObjectStore` for tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from acme.errors import StorageError
from acme.storage._store import Fetched, ObjectInfo, ObjectNotFoundError


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Stored:
    data: bytes
    info: ObjectInfo


class InMemoryObjectStore:
    """Buckets as dictionaries. Buckets must be created first, as on a real server.

    ``clock`` decides ``last_modified``, so tests can age objects for ``list(older_than=)``.
    """

    def __init__(
        self, buckets: tuple[str, ...] = (), *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._clock = clock
        self._buckets: dict[str, dict[str, _Stored]] = {name: {} for name in buckets}

    def create_bucket(self, name: str) -> None:
        self._buckets.setdefault(name, {})

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        objects = self._bucket("put_object", bucket, key)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            last_modified=self._clock(),
            content_type=content_type,
            metadata=dict(metadata or {}),
        )
        objects[key] = _Stored(bytes(data), info)
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
        self.put(bucket, key, data, content_type=content_type, metadata=metadata)

    def get(self, bucket: str, key: str) -> bytes:
        return self._object("get_object", bucket, key).data

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        stored = self._bucket("head_object", bucket, key).get(key)
        return stored.info if stored else None

    def fetch(self, bucket: str, key: str, *, max_bytes: int) -> Fetched | None:
        stored = self._bucket("get_object", bucket, key).get(key)
        if stored is None:
            return None
        return Fetched(stored.info, stored.data if stored.info.size <= max_bytes else None)

    def delete(self, bucket: str, key: str) -> None:
        self._bucket("delete_object", bucket, key).pop(key, None)

    def list(
        self, bucket: str, prefix: str = "", *, older_than: datetime | None = None
    ) -> Iterator[ObjectInfo]:
        if older_than is not None and older_than.tzinfo is None:
            raise StorageError("list: older_than must be timezone-aware")
        if bucket not in self._buckets:
            raise StorageError(f"list_objects_v2 s3://{bucket}/{prefix} failed: NoSuchBucket")
        objects = self._buckets[bucket]
        for key in sorted(objects):
            info = objects[key].info
            if not key.startswith(prefix):
                continue
            if older_than is not None and info.last_modified >= older_than:
                continue
            yield ObjectInfo(
                bucket=bucket,
                key=key,
                size=info.size,
                etag=info.etag,
                last_modified=info.last_modified,
            )

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        source = self._object("copy_object", src_bucket, src_key)
        return self.put(
            dst_bucket,
            dst_key,
            source.data,
            content_type=source.info.content_type or "application/octet-stream",
            metadata=source.info.metadata,
        )

    def _bucket(self, operation: str, bucket: str, key: str) -> dict[str, _Stored]:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise ObjectNotFoundError(bucket, key, operation) from None

    def _object(self, operation: str, bucket: str, key: str) -> _Stored:
        try:
            return self._bucket(operation, bucket, key)[key]
        except KeyError:
            raise ObjectNotFoundError(bucket, key, operation) from None
