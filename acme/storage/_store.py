"""The object-store interface functions use, and the value it returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from acme.errors import StorageError


class ObjectNotFoundError(StorageError):
    """The object (or its bucket) does not exist."""

    def __init__(self, bucket: str, key: str, operation: str) -> None:
        self.bucket = bucket
        self.key = key
        self.operation = operation
        super().__init__(f"{operation} s3://{bucket}/{key}: no such object")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What the store knows about one object (never its content).

    ``content_type`` and ``metadata`` are only filled by :meth:`ObjectStore.head`; a listing
    does not return them.
    """

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fetched:
    """One object read in one request: what the store knows of it and its content."""

    info: ObjectInfo
    data: bytes | None
    """The content; None when it is larger than the reader's limit (and was not read)."""


class ObjectStore(Protocol):
    """Object storage as functions see it: whole objects addressed by bucket and key.

    Every failure raises :class:`~acme.errors.StorageError` naming the operation, bucket and
    key; a missing object raises its subclass :class:`ObjectNotFoundError`.
    """

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` (replacing what was there) and describe the result."""
        ...

    def write(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """:meth:`put` without describing the result: on S3 one round trip instead of two."""
        ...

    def get(self, bucket: str, key: str) -> bytes:
        """The whole content of an object."""
        ...

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """Describe an object, or ``None`` when it does not exist."""
        ...

    def fetch(self, bucket: str, key: str, *, max_bytes: int) -> Fetched | None:
        """Describe and read an object in one request (:meth:`head` and :meth:`get` in one),
        or ``None`` when it does not exist. An object over ``max_bytes`` is described but not
        read (``data`` is None)."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object; removing an absent object is not an error."""
        ...

    def list(
        self, bucket: str, prefix: str = "", *, older_than: datetime | None = None
    ) -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order.

        With ``older_than`` (a timezone-aware instant) only objects last modified strictly
        before it are returned.
        """
        ...

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> ObjectInfo:
        """Copy an object server-side, keeping its content type and metadata."""
        ...
