"""One audit row, what of it is hashed, and how its hash links it to the row before.

``hash = sha256_hex(prev_hash + sha256_hex(canonical JSON of the row's content))`` where the
content is every column but the two hashes, and canonical JSON is UTF-8 with sorted keys and
no whitespace. The first row's ``prev_hash`` is :data:`GENESIS_HASH` (64 zeros). Row ids are
1, 2, 3... without gaps, so a removed row leaves a hole the verifier names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, LiteralString

from cloudevents.http import CloudEvent

from acme.errors import EventError
from acme.events import parse_study_subject

GENESIS_HASH = "0" * 64
"""``prev_hash`` of row 1."""

_ACTOR_FIELDS = ("actor", "signed_by")
"""Data fields naming the person behind an event (access.recorded, report.signed)."""


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept: the text that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The hash of a row with ``content`` following a row whose hash is ``prev_hash``."""
    digest = hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
    return hashlib.sha256((prev_hash + digest).encode("ascii")).hexdigest()


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Entry:
    """What an event adds to the trail, before it has a place in the chain."""

    event_id: str
    event_type: str
    occurred_at: datetime | None
    study_uid: str | None
    actor: str
    payload: dict[str, Any]
    """The whole CloudEvent: its attributes and ``data``."""

    @classmethod
    def from_cloudevent(cls, event: CloudEvent) -> Entry:
        attributes = {k: v for k, v in event.get_attributes().items() if v is not None}
        data = event.get_data()
        if isinstance(data, bytes | bytearray):
            raise EventError(f"data: the audit trail records JSON data, got {len(data)} bytes")
        data_fields = data if isinstance(data, dict) else {}
        return cls(
            event_id=str(attributes["id"]),
            event_type=str(attributes["type"]),
            occurred_at=_event_time(attributes.get("time")),
            study_uid=_study_of(data_fields, attributes.get("subject")),
            actor=_actor_of(data_fields, str(attributes["source"])),
            payload={**{k: str(v) for k, v in attributes.items()}, "data": data},
        )


@dataclass(frozen=True)
class AuditRow:
    """One row of ``audit_events``."""

    id: int
    event_id: str
    event_type: str
    occurred_at: datetime | None
    recorded_at: datetime
    study_uid: str | None
    actor: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    COLUMNS: ClassVar[LiteralString] = (
        "id, event_id, event_type, occurred_at, recorded_at, study_uid, actor, payload, "
        "prev_hash, hash"
    )
    """The SELECT list :meth:`from_record` reads."""

    @classmethod
    def from_record(cls, record: tuple[Any, ...]) -> AuditRow:
        return cls(*record)

    def content(self) -> dict[str, Any]:
        """Everything the hash covers (every column but the hashes)."""
        return content_of(
            self.id, self.event_id, self.event_type, self.occurred_at, self.recorded_at,
            self.study_uid, self.actor, self.payload,
        )  # fmt: skip

    def recomputed_hash(self) -> str:
        return chain_hash(self.prev_hash, self.content())

    @property
    def data(self) -> Any:
        return self.payload.get("data")


def content_of(
    row_id: int,
    event_id: str,
    event_type: str,
    occurred_at: datetime | None,
    recorded_at: datetime,
    study_uid: str | None,
    actor: str | None,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "id": row_id,
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": _instant(occurred_at),
        "recorded_at": _instant(recorded_at),
        "study_uid": study_uid,
        "actor": actor,
        "payload": payload,
    }


def _event_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _study_of(data: Mapping[str, Any], subject: object) -> str | None:
    study = data.get("study_uid")
    if isinstance(study, str) and study:
        return study
    if isinstance(subject, str):
        try:
            return parse_study_subject(subject).study_uid
        except EventError:
            return None
    return None


def _actor_of(data: Mapping[str, Any], source: str) -> str:
    for name in _ACTOR_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return source
