"""Object storage: the boto3 client, the buckets, and the :class:`ObjectStore` functions use.

``S3ObjectStore`` is the adapter for every S3-compatible server (SeaweedFS, MinIO, AWS S3,
LocalStack); ``InMemoryObjectStore`` is its test double. Every failure is a
:class:`~acme.errors.StorageError` naming the operation, bucket and key.

The client type is ``mypy_boto3_s3.S3Client`` (from ``boto3-stubs[s3]``, a development
dependency): import it under ``typing.TYPE_CHECKING``.

``archive_space`` measures the free space of the volume that holds the archive.
"""

from acme.storage._client import ensure_buckets, make_s3_client
from acme.storage._memory import InMemoryObjectStore
from acme.storage._s3 import S3ObjectStore
from acme.storage._space import ArchiveSpace, archive_space
from acme.storage._store import Fetched, ObjectInfo, ObjectNotFoundError, ObjectStore

__all__ = [
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
