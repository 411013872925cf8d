"""Per-test (or per-module) isolation on the session's servers: a database, bucket prefix,
JetStream stream and subject prefix of their own, all removed afterwards.

Buckets are deleted, objects first: SeaweedFS gives every bucket volumes of its own and has a
bounded number of them (free disk / volume size), so a session that left each test's buckets
behind would run out after about two hundred and answer every later put with a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from botocore.exceptions import ClientError
from psycopg import sql

from acme.settings import Settings
from acme.storage import make_s3_client
from acme.storage._client import _MISSING_BUCKET, error_code


@contextmanager
def isolated(stack_settings: Settings, home: Path) -> Iterator[Settings]:
    """Settings of a fresh empty database and unique bucket, stream and subject names."""
    token = uuid.uuid4().hex[:10]
    admin_url = stack_settings.database_url
    assert admin_url is not None
    database = f"test_{token}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    mine = stack_settings.model_copy(
        update={
            "home": home,
            "database_url": admin_url.rsplit("/", 1)[0] + "/" + database,
            "bucket_prefix": f"t{token}-",
            "stream": f"TEST_{token}",
            "subject_prefix": f"t{token}.events",
        }
    )
    try:
        yield mine
    finally:
        drop_buckets(mine)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


def drop_buckets(settings: Settings) -> list[str]:
    """Delete the platform's buckets of ``settings.bucket_prefix``, objects first; the names
    of those that existed. (By name: SeaweedFS lists no buckets to these credentials.)"""
    client = make_s3_client(settings)
    pages = client.get_paginator("list_objects_v2")
    dropped: list[str] = []
    for name in settings.buckets.all():
        try:
            for page in pages.paginate(Bucket=name):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
            client.delete_bucket(Bucket=name)
        except ClientError as exc:
            if error_code(exc) not in _MISSING_BUCKET:
                raise
            continue
        dropped.append(name)
    return dropped
