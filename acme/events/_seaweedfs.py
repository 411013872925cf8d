"""SeaweedFS filer webhook -> ``com.amazonaws.s3.ObjectCreated:*`` CloudEvents.

The filer's webhook notifier (``weed/notification/webhook``) posts every filer change as
``{"event_type": ..., "key": "/buckets/<bucket>/<key>", "message": {"old_entry", "new_entry",
"new_parent_path", ...}}``, for folders and multipart part files too. Only a new file, or a file
whose content changed, inside ``/buckets/<bucket>/`` becomes an event; these give none:

- directories (S3 "folders" and the multipart staging folders),
- anything under ``/buckets/<bucket>/.uploads/`` (multipart parts) or ``/buckets/.<name>/``
  (``.system`` and other internal folders),
- deletes, renames and moves, and updates that change only metadata.

The key is the filer path, not URL-encoded: it is used as is (a ``+`` stays a ``+``).
``event_type`` is checked but not trusted: the filer sets ``new_parent_path`` on every update,
so an overwrite in place arrives as ``rename``; what happened is read from the entries.

The CloudEvent follows the S3 adapter with ``eventSource`` ``seaweedfs:s3``; its time and
sequencer come from the entry's mtime; the event name is ``ObjectCreated:CompleteMultipartUpload``
for a completed multipart upload and ``ObjectCreated:Put`` otherwise.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from cloudevents.http import CloudEvent

from acme.errors import EventError
from acme.events._adapter import DEFAULT_REGION, s3_cloudevent
from acme.events._json import JsonObject, join, load_object, opt_int, opt_obj, opt_str, req_str

EVENT_SOURCE: Final = "seaweedfs:s3"
BUCKETS_DIR: Final = "/buckets/"
EVENT_TYPES: Final = ("create", "update", "delete", "rename")
_ETAG: Final = "seaweed-x-amz-etag"
_UPLOAD_ID: Final = "x-seaweedfs-upload-id"
_PATHS: Final = {
    "bucket": "key",
    "key": "key",
    "size": "message.new_entry.attributes.file_size",
    "etag": f"message.new_entry.extended.{_ETAG}",
}


def from_seaweedfs_webhook(
    body: bytes | str | JsonObject, *, default_region: str = DEFAULT_REGION
) -> list[CloudEvent]:
    """The CloudEvents (zero or one) of one SeaweedFS filer webhook POST body."""
    document = load_object(body)
    key = req_str(document, "key", "")
    event_type = req_str(document, "event_type", "")
    if event_type not in EVENT_TYPES:
        raise EventError(
            f"event_type: expected one of {', '.join(EVENT_TYPES)}, got {event_type!r}"
        )
    message_name = "message" if "message" in document else "message_data"
    message = opt_obj(document, message_name, "")
    if message is None:
        raise EventError("message: required field is missing")
    new = opt_obj(message, "new_entry", message_name)
    old = opt_obj(message, "old_entry", message_name)
    if new is None:
        return []  # a delete
    new_path = _new_path(key, message, new)
    if old is not None and new_path != key:
        return []  # a rename or move
    location = _bucket_and_key(new_path)
    if location is None or new.get("is_directory") is True:
        return []
    if old is not None and _content(old, "message.old_entry") == _content(new, "message.new_entry"):
        return []  # metadata only
    return [_event(location, new, default_region)]


def _new_path(key: str, message: JsonObject, new: JsonObject) -> str:
    parent = opt_str(message, "new_parent_path", "message")
    name = req_str(new, "name", "message.new_entry")
    return f"{parent.rstrip('/')}/{name}" if parent else key


def _bucket_and_key(path: str) -> tuple[str, str] | None:
    """(bucket, object key) of a path inside a bucket, None for everything else."""
    if not path.startswith(BUCKETS_DIR):
        return None
    bucket, _, object_key = path.removeprefix(BUCKETS_DIR).partition("/")
    if not bucket or bucket.startswith(".") or not object_key:
        return None
    if object_key == ".uploads" or object_key.startswith(".uploads/"):
        return None
    return bucket, object_key


def _content(entry: JsonObject, path: str) -> str:
    """What identifies an entry's bytes: chunks, size, md5 and S3 ETag."""
    attributes = entry.get("attributes") or {}
    identity = {
        "chunks": entry.get("chunks"),
        "content": entry.get("content"),
        "size": attributes.get("file_size") if isinstance(attributes, Mapping) else None,
        "md5": attributes.get("md5") if isinstance(attributes, Mapping) else None,
        "etag": _extended(entry, path).get(_ETAG),
    }
    return json.dumps(identity, sort_keys=True, default=str)


def _extended(entry: JsonObject, path: str = "message.new_entry") -> dict[str, object]:
    extended = entry.get("extended") or {}
    if not isinstance(extended, Mapping):
        raise EventError(f"{path}.extended: expected an object, got {extended!r}")
    return {str(name).lower(): value for name, value in extended.items()}


def _event(location: tuple[str, str], entry: JsonObject, region: str) -> CloudEvent:
    path = "message.new_entry"
    attributes = opt_obj(entry, "attributes", path) or {}
    attributes_path = join(path, "attributes")
    mtime = opt_int(attributes, "mtime", attributes_path)
    if mtime is None:
        raise EventError(f"{join(attributes_path, 'mtime')}: required field is missing")
    nanos = opt_int(attributes, "mtime_ns", attributes_path) or 0
    extended = _extended(entry)
    bucket, object_key = location
    fields = {
        "event_name": (
            "ObjectCreated:CompleteMultipartUpload"
            if _UPLOAD_ID in extended
            else "ObjectCreated:Put"
        ),
        "bucket": bucket,
        "key": object_key,
        "size": _size(entry, attributes, path),
        "etag": _etag(extended, attributes, attributes_path),
        "sequencer": f"{mtime * 1_000_000_000 + nanos:016X}",
        "content_type": opt_str(attributes, "mime", attributes_path),
    }
    return s3_cloudevent(
        event_source=EVENT_SOURCE,
        region=region,
        event_time=datetime.fromtimestamp(mtime + nanos / 1e9, UTC),
        fields=fields,
        field_paths=_PATHS,
    )


def _size(entry: JsonObject, attributes: JsonObject, path: str) -> int:
    """``file_size``, or the end of the last chunk (protobuf JSON omits zero sizes)."""
    size = opt_int(attributes, "file_size", join(path, "attributes"))
    if size is not None:
        return size
    chunks = entry.get("chunks") or []
    if not isinstance(chunks, list):
        raise EventError(f"{join(path, 'chunks')}: expected an array, got {chunks!r}")
    ends = [0]
    for index, chunk in enumerate(chunks):
        chunk_path = join(join(path, "chunks"), index)
        if not isinstance(chunk, Mapping):
            raise EventError(f"{chunk_path}: expected an object, got {chunk!r}")
        offset = opt_int(chunk, "offset", chunk_path) or 0
        ends.append(offset + (opt_int(chunk, "size", chunk_path) or 0))
    return max(ends)


def _etag(extended: Mapping[str, object], attributes: JsonObject, path: str) -> str | None:
    """The S3 ETag SeaweedFS stored (base64 in ``extended``), else the hex of ``md5``."""
    stored = extended.get(_ETAG)
    if stored is not None:
        etag = _b64(stored, f"message.new_entry.extended.{_ETAG}")
        return etag.decode("utf-8", "replace").strip('"')
    md5 = opt_str(attributes, "md5", path)
    return _b64(md5, join(path, "md5")).hex() if md5 is not None else None


def _b64(value: object, path: str) -> bytes:
    if not isinstance(value, str):
        raise EventError(f"{path}: expected a base64 string, got {value!r}")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise EventError(f"{path}: not valid base64: {value!r}") from None
