from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from acme.errors import EventError
from acme.events import (
    S3Object,
    data_as,
    from_minio,
    from_s3_records,
    from_seaweedfs_webhook,
    from_sqs_body,
    is_traceparent,
    parse_http,
    to_binary_http,
)


def _summary(event: CloudEvent) -> tuple[str, str, str]:
    return event["type"], event["subject"], event["source"]


def _bodies(directory: Path, name: str) -> list[str]:
    bodies: list[str] = json.loads((directory / name).read_text(encoding="utf-8"))
    assert all(isinstance(body, str) for body in bodies)
    return bodies


def _seaweed_lines(directory: Path) -> list[dict[str, Any]]:
    text = (directory / "seaweedfs-webhook-multipart.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


# --- AWS / LocalStack / moto over SQS -------------------------------------------------------


def test_moto_sqs_bodies(notifications_dir: Path) -> None:
    bodies = _bodies(notifications_dir, "moto-sqs-bodies.json")
    assert json.loads(bodies[0])["Event"] == "s3:TestEvent"
    assert from_sqs_body(bodies[0]) == []
    events = [event for body in bodies for event in from_sqs_body(body)]
    source = "aws:s3.us-east-1.dicom-inbox"
    assert [_summary(event) for event in events] == [
        ("com.amazonaws.s3.ObjectCreated:Put", "series 1/img+1.dcm", source),
        ("com.amazonaws.s3.ObjectCreated:Put", "Müller/检查 é.dcm", source),
        ("com.amazonaws.s3.ObjectCreated:Put", "literal%20percent & amp=1.dcm", source),
        ("com.amazonaws.s3.ObjectCreated:Put", "mp/series 2/big+file.dcm", source),
        (
            "com.amazonaws.s3.ObjectCreated:CompleteMultipartUpload",
            "mp/series 2/big+file.dcm",
            source,
        ),
        ("com.amazonaws.s3.ObjectRemoved:Delete", "series 1/img+1.dcm", source),
    ]
    first = json.loads(bodies[1])["Records"][0]
    data = data_as(events[0], S3Object)
    assert data == S3Object(
        event_name="ObjectCreated:Put",
        bucket="dicom-inbox",
        key="series 1/img+1.dcm",
        size=256,
        etag=first["s3"]["object"]["eTag"],
    )
    assert datetime.fromisoformat(events[0]["time"]) == datetime.fromisoformat(first["eventTime"])
    assert is_traceparent(events[0]["traceparent"])
    assert len({event["id"] for event in events}) == len(events)


def test_redelivery_keeps_the_event_id(notifications_dir: Path) -> None:
    body = _bodies(notifications_dir, "moto-sqs-bodies.json")[1]
    assert from_sqs_body(body)[0]["id"] == from_sqs_body(body)[0]["id"]


def test_sns_wrapped_bodies(notifications_dir: Path) -> None:
    test_event, put = _bodies(notifications_dir, "moto-sns-sqs-bodies.json")
    assert json.loads(test_event)["Type"] == "Notification"
    assert from_sqs_body(test_event) == []
    [event] = from_sqs_body(put)
    assert _summary(event) == (
        "com.amazonaws.s3.ObjectCreated:Put",
        "series 1/img+1.dcm",
        "aws:s3.us-east-1.dicom-inbox-sns",
    )


def test_aws_documented_messages(notifications_dir: Path) -> None:
    assert from_sqs_body((notifications_dir / "aws-sqs-test-event.json").read_bytes()) == []
    [event] = from_sqs_body((notifications_dir / "aws-sqs-object-created-put.json").read_bytes())
    assert _summary(event) == (
        "com.amazonaws.s3.ObjectCreated:Put",
        "HappyFace.jpg",
        "aws:s3.us-west-2.mybucket",
    )
    assert (
        event["id"]
        == "C3D13FE58DE4C810.FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
    )
    assert datetime.fromisoformat(event["time"]) == datetime(1970, 1, 1, tzinfo=UTC)
    data = data_as(event, S3Object)
    assert (data.size, data.version_id, data.sequencer) == (
        1024,
        "096fKKXTRTtl3on89fVO.nfljtsv6qko",
        "0055AED6DCD90281E5",
    )


def test_events_survive_binary_http(notifications_dir: Path) -> None:
    for body in _bodies(notifications_dir, "moto-sqs-bodies.json"):
        for event in from_sqs_body(body):
            assert parse_http(*to_binary_http(event)) == event


# --- MinIO ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "request_id"),
    [
        ("minio-nats-docs.json", "myphoto.jpg", "14CF20BD1EFD5B93"),
        ("minio-eventlog-docs.json", "gopher.jpg", "1562A792DAA53426"),
    ],
)
def test_minio_documented_messages(
    notifications_dir: Path, name: str, key: str, request_id: str
) -> None:
    body = (notifications_dir / name).read_text(encoding="utf-8")
    [event] = from_minio(body)
    assert _summary(event) == (
        "com.amazonaws.s3.ObjectCreated:Put",
        key,
        "minio:s3.us-east-1.images",
    )
    assert event["id"] == request_id
    assert data_as(event, S3Object).content_type == "image/jpeg"
    [regional] = from_minio(body, default_region="eu-central-1")
    assert regional["source"] == "minio:s3.eu-central-1.images"


def test_minio_keys_are_url_decoded(notifications_dir: Path) -> None:
    message = json.loads((notifications_dir / "minio-eventlog-docs.json").read_text("utf-8"))
    message["Key"] = "images/series 1/a+b é.dcm"
    message["Records"][0]["s3"]["object"]["key"] = "series+1%2Fa%2Bb+%C3%A9.dcm"
    message["Records"][0]["awsRegion"] = "hospital-1"
    [event] = from_minio(json.dumps(message))
    assert event["subject"] == "series 1/a+b é.dcm"
    assert event["source"] == "minio:s3.hospital-1.images"


# --- SeaweedFS -----------------------------------------------------------------------------


def test_seaweedfs_capture_yields_only_the_completed_upload(notifications_dir: Path) -> None:
    lines = _seaweed_lines(notifications_dir)
    results = [from_seaweedfs_webhook(json.dumps(line)) for line in lines]
    produced = [(index, events) for index, events in enumerate(results) if events]
    assert len(produced) == 1
    index, [event] = produced[0]
    assert lines[index]["key"] == "/buckets/dicom-inbox/mp/series 1/big+file.dcm"
    assert _summary(event) == (
        "com.amazonaws.s3.ObjectCreated:CompleteMultipartUpload",
        "mp/series 1/big+file.dcm",
        "seaweedfs:s3.us-east-1.dicom-inbox",
    )
    data = data_as(event, S3Object)
    assert data.size == 6291456
    assert data.etag == "93ed904f6e5079065fad23eacec4fc01-2"
    mtime = lines[index]["message"]["new_entry"]["attributes"]["mtime"]
    assert datetime.fromisoformat(event["time"]) == datetime.fromtimestamp(mtime, UTC)
    assert from_seaweedfs_webhook(json.dumps(lines[index]))[0]["id"] == event["id"]


def test_seaweedfs_filtered_entries(notifications_dir: Path) -> None:
    lines = _seaweed_lines(notifications_dir)
    kinds: dict[str, Callable[[dict[str, Any]], bool]] = {
        "folder": lambda line: line["message"].get("new_entry", {}).get("is_directory") is True,
        "part": lambda line: "/.uploads/" in line["key"] and line["event_type"] == "create",
        "delete": lambda line: line["event_type"] == "delete",
    }
    for kind, matches in kinds.items():
        chosen = [line for line in lines if matches(line)]
        assert chosen, kind
        for line in chosen:
            assert from_seaweedfs_webhook(line) == [], (kind, line["key"])


def _completed(notifications_dir: Path) -> dict[str, Any]:
    [line] = [
        line
        for line in _seaweed_lines(notifications_dir)
        if line["key"].endswith("big+file.dcm") and line["event_type"] == "create"
    ]
    return line


def test_seaweedfs_plain_put_and_internal_paths(notifications_dir: Path) -> None:
    line = _completed(notifications_dir)
    plain = copy.deepcopy(line)
    plain["message"]["new_entry"]["extended"] = {}
    plain["message"]["new_entry"]["attributes"]["md5"] = "aaQd/1BejDawNz5wDiyHXQ=="
    [event] = from_seaweedfs_webhook(plain)
    assert event["type"] == "com.amazonaws.s3.ObjectCreated:Put"
    assert data_as(event, S3Object).etag == "69a41dff505e8c36b0373e700e2c875d"
    system = copy.deepcopy(line)
    system["key"] = "/buckets/.system/config.json"
    system["message"]["new_parent_path"] = "/buckets/.system"
    system["message"]["new_entry"]["name"] = "config.json"
    assert from_seaweedfs_webhook(system) == []
    outside = copy.deepcopy(line)
    outside["key"] = "/etc/x.dcm"
    outside["message"]["new_parent_path"] = "/etc"
    outside["message"]["new_entry"]["name"] = "x.dcm"
    assert from_seaweedfs_webhook(outside) == []


def test_seaweedfs_updates_and_renames(notifications_dir: Path) -> None:
    line = _completed(notifications_dir)
    entry = line["message"]["new_entry"]
    # An overwrite in place: the filer reports it as "rename" (new_parent_path is always set).
    overwrite = copy.deepcopy(line)
    overwrite["event_type"] = "rename"
    overwrite["message"]["old_entry"] = dict(entry, chunks=entry["chunks"][:1])
    assert len(from_seaweedfs_webhook(overwrite)) == 1
    metadata_only = copy.deepcopy(line)
    metadata_only["event_type"] = "update"
    metadata_only["message"]["old_entry"] = dict(
        entry, attributes=dict(entry["attributes"], file_mode=420)
    )
    assert from_seaweedfs_webhook(metadata_only) == []
    renamed = copy.deepcopy(line)
    renamed["event_type"] = "rename"
    renamed["key"] = "/buckets/dicom-inbox/old-name.dcm"
    renamed["message"]["old_entry"] = dict(entry, name="old-name.dcm")
    assert from_seaweedfs_webhook(renamed) == []


# --- malformed input -----------------------------------------------------------------------


def _put(notifications_dir: Path) -> dict[str, Any]:
    path = notifications_dir / "aws-sqs-object-created-put.json"
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.pop("Records"), "Records: required field is missing"),
        (lambda m: m.update(Records={}), "Records: expected an array, got {}"),
        (lambda m: m.update(Records=[1]), "Records[0]: expected an object, got 1"),
        (
            lambda m: m["Records"][0].pop("eventName"),
            "Records[0].eventName: required field is missing",
        ),
        (lambda m: m["Records"][0].pop("eventSource"), "Records[0].eventSource: required field"),
        (
            lambda m: m["Records"][0].update(eventTime="noon"),
            "Records[0].eventTime: expected an RFC 3339",
        ),
        (lambda m: m["Records"][0].pop("s3"), "Records[0].s3: required field is missing"),
        (
            lambda m: m["Records"][0]["s3"]["bucket"].pop("name"),
            "Records[0].s3.bucket.name: required",
        ),
        (
            lambda m: m["Records"][0]["s3"]["bucket"].update(name="Bad_Bucket"),
            "Records[0].s3.bucket.name: String should match pattern",
        ),
        (
            lambda m: m["Records"][0]["s3"]["object"].update(key=7),
            "Records[0].s3.object.key: expected a string, got 7",
        ),
        (
            lambda m: m["Records"][0]["s3"]["object"].update(key="%FF.dcm"),
            "Records[0].s3.object.key: URL-encoding is not UTF-8",
        ),
        (
            lambda m: m["Records"][0]["s3"]["object"].update(size=-1),
            "Records[0].s3.object.size: expected a non-negative integer",
        ),
        (
            lambda m: m["Records"][0]["s3"]["object"].update(size="1"),
            "Records[0].s3.object.size: expected a non-negative integer",
        ),
    ],
)
def test_malformed_s3_records(notifications_dir: Path, mutate: Any, message: str) -> None:
    document = _put(notifications_dir)
    mutate(document)
    with pytest.raises(EventError) as caught:
        from_s3_records(json.dumps(document))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "body: empty; expected a JSON object"),
        ("{oops", "body: not valid JSON (Expecting property name enclosed in double quotes"),
        ("[]", "body: expected a JSON object, got array"),
        ('{"Service": "Amazon S3"}', "Records: required field is missing (expected an S3 event"),
        ('{"Type": "Notification", "Message": "nope"}', "Message: not valid JSON"),
        ('{"Type": "Notification", "Message": 5}', "Message: expected a string, got 5"),
    ],
)
def test_malformed_sqs_bodies(body: str, message: str) -> None:
    with pytest.raises(EventError) as caught:
        from_sqs_body(body)
    assert message in str(caught.value)


def test_malformed_minio_message(notifications_dir: Path) -> None:
    message = json.loads((notifications_dir / "minio-eventlog-docs.json").read_text("utf-8"))
    message["EventName"] = 3
    with pytest.raises(EventError, match="EventName: expected a string, got 3"):
        from_minio(message)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("key"), "key: required field is missing"),
        (
            lambda d: d.update(event_type="moved"),
            "event_type: expected one of create, update, delete, rename, got 'moved'",
        ),
        (lambda d: d.pop("message"), "message: required field is missing"),
        (lambda d: d["message"].update(new_entry=[]), "message.new_entry: expected an object"),
        (
            lambda d: d["message"]["new_entry"].pop("name"),
            "message.new_entry.name: required field is missing",
        ),
        (
            lambda d: d["message"]["new_entry"]["attributes"].pop("mtime"),
            "message.new_entry.attributes.mtime: required",
        ),
        (
            lambda d: d["message"]["new_entry"]["attributes"].update(file_size="big"),
            "message.new_entry.attributes.file_size: expected a non-negative integer",
        ),
        (
            lambda d: d["message"]["new_entry"]["extended"].update({"Seaweed-X-Amz-ETag": "!!"}),
            "message.new_entry.extended.seaweed-x-amz-etag: not valid base64",
        ),
    ],
)
def test_malformed_seaweedfs_bodies(notifications_dir: Path, mutate: Any, message: str) -> None:
    document = _completed(notifications_dir)
    mutate(document)
    with pytest.raises(EventError) as caught:
        from_seaweedfs_webhook(json.dumps(document))
    assert message in str(caught.value)
