"""The per-test isolation itself: what a test stored is gone after it."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from isolation import isolated

from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client


def test_buckets_with_objects_are_deleted_after_the_test(
    stack_settings: Settings, tmp_path: Path
) -> None:
    with isolated(stack_settings, tmp_path / "home") as mine:
        client = make_s3_client(mine)
        ensure_buckets(client, mine.buckets.all())
        for bucket in (mine.buckets.inbox, mine.buckets.archive):
            client.put_object(Bucket=bucket, Key="a/1.dcm", Body=b"x" * 1000)
            client.put_object(Bucket=bucket, Key="a/2.dcm", Body=b"y")
    for bucket in mine.buckets.all():
        with pytest.raises(ClientError) as gone:
            client.head_bucket(Bucket=bucket)
        assert gone.value.response["Error"]["Code"] in ("404", "NoSuchBucket")
