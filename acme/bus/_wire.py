"""How a CloudEvent is carried in a NATS JetStream message (docs/decisions/0003-*).

Binary content mode on NATS 2.2+ headers, as the CloudEvents Go SDK does for NATS/JetStream:
every attribute is a ``ce-<name>`` header whose value is percent-encoded exactly as in
binary-mode HTTP, ``content-type`` gives the data's media type, and the body is the JSON
data. ``Nats-Msg-Id`` is the event ``id`` so JetStream drops a republished event inside the
stream's duplicate window. The headers are those of binary-mode HTTP, so a router forwards a
message to a function by copying them (all but ``Nats-*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cloudevents.exceptions import GenericException
from cloudevents.http import CloudEvent

from acme.errors import BusError
from acme.events import parse_http, to_binary_http
from acme.settings import Settings

MSG_ID_HEADER: Final = "Nats-Msg-Id"
_SUBJECT_FORBIDDEN: Final = frozenset(" \t\r\n*>")


def binary_http(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Binary-mode headers and JSON body of ``event``; :class:`BusError` if it cannot be sent."""
    what = f"{event['type']} {event['id']}"
    try:
        headers, body = to_binary_http(event)
    except GenericException as exc:
        raise BusError(f"cannot serialise event {what}: {exc}") from exc
    # the SDK hands back data it could not serialise as-is instead of raising
    if not isinstance(body, bytes):
        raise BusError(f"cannot serialise event {what}: its data is not JSON-serialisable")
    return headers, body


def to_nats_message(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """The NATS headers and body that carry ``event``."""
    headers, body = binary_http(event)
    headers[MSG_ID_HEADER] = str(event["id"])
    return headers, body


def from_nats_message(headers: Mapping[str, str] | None, body: bytes) -> CloudEvent:
    """The CloudEvent a NATS message carries.

    Raises :class:`~acme.errors.EventError` naming the missing or malformed part.
    """
    return parse_http(dict(headers or {}), body)


def subject_for(settings: Settings, event_type: str) -> str:
    """The subject ``event_type`` is published on, checked to be a literal NATS subject."""
    subject = settings.subject_for(event_type)
    tokens = subject.split(".")
    if any(not token for token in tokens) or any(ch in _SUBJECT_FORBIDDEN for ch in subject):
        raise BusError(
            f"event type {event_type!r} does not make a valid NATS subject ({subject!r}): "
            "expected dot-separated non-empty tokens without spaces, '*' or '>'"
        )
    return subject
