"""CloudEvents over HTTP: header value encoding and a strict parser with precise errors.

Follows the CloudEvents HTTP protocol binding 1.0 (cloudevents/spec
``cloudevents/bindings/http-protocol-binding.md``): binary mode maps attributes to ``ce-*``
headers whose values are percent-encoded (section 3.1.3.2), structured mode carries the event as
``application/cloudevents+json``. The SDK builds the event; this module first checks everything
the SDK would accept silently or report vaguely (docs/architecture.md §9: malformed CloudEvents
get a clear, specific error).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote, unquote

from cloudevents import exceptions as ce_exceptions
from cloudevents.http import CloudEvent, from_http
from cloudevents.sdk import exceptions as sdk_exceptions

from acme.errors import EventError
from acme.events.models import parse_data
from acme.events.tracing import check_traceparent

SPECVERSION: Final = "1.0"
STRUCTURED_MEDIA: Final = "application/cloudevents+json"
BATCH_MEDIA: Final = "application/cloudevents-batch+json"
REQUIRED: Final = ("specversion", "id", "source", "type")
_NAME: Final = re.compile(r"^[a-z0-9]{1,64}$")
_HEADER_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')
_SDK_ERRORS: Final = (ce_exceptions.GenericException, sdk_exceptions.UnsupportedEventConverter)


def encode_header_value(value: str) -> str:
    """Percent-encode an attribute value for a ``ce-*`` header (binding section 3.1.3.2)."""
    return quote(value, safe=_HEADER_SAFE, encoding="utf-8")


def decode_header_value(name: str, value: str) -> str:
    """Undo :func:`encode_header_value`, accepting legacy double-quoted values."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    try:
        return unquote(value, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise EventError(f"{name}: percent-encoding is not valid UTF-8: {value!r}") from None


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json_media(media: str) -> bool:
    return media in ("", "application/json", "text/json") or media.endswith("+json")


def _load_json(body: bytes | str, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except UnicodeDecodeError:
        raise EventError(f"{what}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise EventError(
            f"{what}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


def parse_http(headers: Mapping[str, str], body: bytes | str | None) -> CloudEvent:
    """Parse one CloudEvent from an HTTP request in binary or structured mode.

    The data is validated by its type's model. Raises :class:`EventError` naming what is wrong:
    a missing ``ce-type``, bad JSON, an unknown ``specversion``, a field failing its model...
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    media = _media_type(lowered.get("content-type", ""))
    if media == BATCH_MEDIA:
        raise EventError(f"content-type: {BATCH_MEDIA} is not accepted; send one event")
    if media == STRUCTURED_MEDIA:
        event = _parse_structured(body)
    elif any(key.startswith("ce-") for key in lowered):
        event = _parse_binary(lowered, media, body)
    else:
        raise EventError(
            "not a CloudEvent: expected ce-specversion, ce-id, ce-source and ce-type headers "
            f"(binary mode) or content-type {STRUCTURED_MEDIA} (structured mode)"
        )
    _check_context(event)
    return event


def _parse_binary(headers: Mapping[str, str], media: str, body: bytes | str | None) -> CloudEvent:
    attributes = {
        key[3:]: decode_header_value(key, value)
        for key, value in headers.items()
        if key.startswith("ce-")
    }
    for name in REQUIRED:
        if not attributes.get(name):
            raise EventError(f"ce-{name}: required header is missing or empty")
    if attributes["specversion"] != SPECVERSION:
        raise EventError(
            f"ce-specversion: unsupported {attributes['specversion']!r}; expected '{SPECVERSION}'"
        )
    if not _is_json_media(media):
        raise EventError(f"content-type: expected application/json data, got {media!r}")
    if "traceparent" not in attributes and "traceparent" in headers:
        attributes["traceparent"] = headers["traceparent"]
    if body:
        _load_json(body, "body")
    sdk_headers = {f"ce-{name}": value for name, value in attributes.items()}
    sdk_headers["content-type"] = headers.get("content-type", "application/json")
    return _sdk_event(sdk_headers, body)


def _parse_structured(body: bytes | str | None) -> CloudEvent:
    if not body:
        raise EventError("body: empty; expected the event as a JSON object (structured mode)")
    document = _load_json(body, "body")
    if not isinstance(document, dict):
        raise EventError(
            f"body: expected a JSON object (structured CloudEvent), got {type(document).__name__}"
        )
    for name in REQUIRED:
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise EventError(f"{name}: required attribute is missing or not a non-empty string")
    if document["specversion"] != SPECVERSION:
        raise EventError(
            f"specversion: unsupported {document['specversion']!r}; expected '{SPECVERSION}'"
        )
    for name in document:
        _check_name(name)
    if "data_base64" in document:
        raise EventError("data_base64: binary data is not accepted; expected JSON 'data'")
    content_type = document.get("datacontenttype", "")
    if not isinstance(content_type, str) or not _is_json_media(_media_type(content_type)):
        raise EventError(f"datacontenttype: expected application/json, got {content_type!r}")
    return _sdk_event({"content-type": STRUCTURED_MEDIA}, body)


def _json_or_none(raw: bytes | str | None) -> Any:
    return json.loads(raw) if raw else None


def _sdk_event(headers: dict[str, str], body: bytes | str | None) -> CloudEvent:
    try:
        return from_http(headers, body, data_unmarshaller=_json_or_none)
    except _SDK_ERRORS as exc:
        raise EventError(f"not a valid CloudEvent: {exc}") from None


def _check_name(name: str) -> None:
    if name not in ("data", "data_base64") and not _NAME.match(name):
        raise EventError(
            f"attribute {name!r}: CloudEvents attribute names are lower-case letters and digits"
        )


def _check_context(event: CloudEvent) -> None:
    for name in event:
        _check_name(name)
    time = event.get("time")
    if time is not None:
        try:
            parsed = datetime.fromisoformat(str(time))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise EventError(f"time: expected an RFC 3339 timestamp with offset, got {time!r}")
    if "traceparent" in event:
        check_traceparent(event["traceparent"])
    parse_data(str(event["type"]), event.get_data())
