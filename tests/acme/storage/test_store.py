"""The ObjectStore contract, run against the boto3 adapter (real server) and the test double."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from acme.errors import StorageError
from acme.settings import Settings
from acme.storage import (
    InMemoryObjectStore,
    ObjectNotFoundError,
    ObjectStore,
    S3ObjectStore,
    ensure_buckets,
    make_s3_client,
)

DICOM_ISH = b"DICM" + bytes(range(256)) * 40


@pytest.fixture(params=["s3", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[tuple[ObjectStore, str, str]]:
    if request.param == "memory":
        yield InMemoryObjectStore(("inbox", "archive")), "inbox", "archive"
        return
    settings: Settings = request.getfixturevalue("settings")
    client = make_s3_client(settings)
    buckets = settings.buckets
    ensure_buckets(client, [buckets.inbox, buckets.archive])
    yield S3ObjectStore(client), buckets.inbox, buckets.archive


def test_put_get_head_list_copy_delete_round_trip(store: tuple[ObjectStore, str, str]) -> None:
    objects, inbox, archive = store

    put = objects.put(
        inbox,
        "modality/a b+c.dcm",
        DICOM_ISH,
        content_type="application/dicom",
        metadata={"sha256": "abc"},
    )
    assert put.size == len(DICOM_ISH)
    assert objects.get(inbox, "modality/a b+c.dcm") == DICOM_ISH

    head = objects.head(inbox, "modality/a b+c.dcm")
    assert head is not None
    assert head.content_type == "application/dicom"
    assert head.metadata == {"sha256": "abc"}
    assert head.etag == put.etag

    objects.put(inbox, "modality/z.dcm", b"z")
    objects.put(inbox, "other/y.dcm", b"y")
    assert [o.key for o in objects.list(inbox, "modality/")] == [
        "modality/a b+c.dcm",
        "modality/z.dcm",
    ]

    copied = objects.copy(inbox, "modality/a b+c.dcm", archive, "studies/1.2/series/3/4.dcm")
    assert copied.size == len(DICOM_ISH)
    assert objects.get(archive, "studies/1.2/series/3/4.dcm") == DICOM_ISH
    copied_head = objects.head(archive, "studies/1.2/series/3/4.dcm")
    assert copied_head is not None
    assert copied_head.metadata == {"sha256": "abc"}

    objects.delete(inbox, "modality/a b+c.dcm")
    objects.delete(inbox, "modality/a b+c.dcm")
    assert objects.head(inbox, "modality/a b+c.dcm") is None
    assert [o.key for o in objects.list(inbox)] == ["modality/z.dcm", "other/y.dcm"]


def test_write_stores_like_put_without_describing(store: tuple[ObjectStore, str, str]) -> None:
    objects, inbox, _ = store
    objects.write(
        inbox, "w/a.dcm", DICOM_ISH, content_type="application/dicom", metadata={"k": "v"}
    )
    assert objects.get(inbox, "w/a.dcm") == DICOM_ISH
    head = objects.head(inbox, "w/a.dcm")
    assert head is not None and head.size == len(DICOM_ISH)
    assert head.content_type == "application/dicom" and head.metadata == {"k": "v"}
    objects.write(inbox, "w/a.dcm", b"replaced")
    assert objects.get(inbox, "w/a.dcm") == b"replaced"


def test_fetch_describes_and_reads_in_one_and_leaves_what_is_too_large_unread(
    store: tuple[ObjectStore, str, str],
) -> None:
    objects, inbox, _ = store
    put = objects.put(inbox, "f/a.dcm", DICOM_ISH, content_type="application/dicom")
    fetched = objects.fetch(inbox, "f/a.dcm", max_bytes=len(DICOM_ISH))
    assert fetched is not None and fetched.data == DICOM_ISH
    described = fetched.info
    assert (described.size, described.etag, described.last_modified) == (
        put.size, put.etag, put.last_modified,
    )  # fmt: skip
    assert described.content_type == "application/dicom"
    too_large = objects.fetch(inbox, "f/a.dcm", max_bytes=len(DICOM_ISH) - 1)
    assert too_large is not None and too_large.data is None
    assert too_large.info.size == len(DICOM_ISH)
    assert objects.get(inbox, "f/a.dcm") == DICOM_ISH  # the store still answers after that
    assert objects.fetch(inbox, "f/nope.dcm", max_bytes=10) is None


def test_list_older_than(store: tuple[ObjectStore, str, str]) -> None:
    objects, inbox, _ = store
    objects.put(inbox, "fresh.dcm", b"x")

    future = datetime.now(UTC) + timedelta(minutes=5)
    past = datetime.now(UTC) - timedelta(minutes=5)
    assert [o.key for o in objects.list(inbox, older_than=future)] == ["fresh.dcm"]
    assert list(objects.list(inbox, older_than=past)) == []

    with pytest.raises(StorageError, match="timezone-aware"):
        list(objects.list(inbox, older_than=datetime.now()))


def test_missing_objects(store: tuple[ObjectStore, str, str]) -> None:
    objects, inbox, archive = store

    assert objects.head(inbox, "nope.dcm") is None
    with pytest.raises(ObjectNotFoundError, match=rf"get_object s3://{inbox}/nope.dcm"):
        objects.get(inbox, "nope.dcm")
    with pytest.raises(ObjectNotFoundError, match=rf"copy_object s3://{inbox}/nope.dcm"):
        objects.copy(inbox, "nope.dcm", archive, "x.dcm")


def test_errors_name_bucket_and_key_but_never_content(store: tuple[ObjectStore, str, str]) -> None:
    objects, _, _ = store
    secret = b"PATIENT^SECRET"

    with pytest.raises(StorageError) as caught:
        objects.put("no-such-bucket-acme", "k/1.dcm", secret)

    assert "s3://no-such-bucket-acme/k/1.dcm" in str(caught.value)
    assert "put_object" in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_listing_a_missing_bucket_names_it(store: tuple[ObjectStore, str, str]) -> None:
    objects, _, _ = store

    with pytest.raises(StorageError, match="list_objects_v2 s3://no-such-bucket-acme/p"):
        list(objects.list("no-such-bucket-acme", "p"))
