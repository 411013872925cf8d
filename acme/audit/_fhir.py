"""Audit rows as FHIR R4 AuditEvent resources, and a Bundle of them (fhir.resources, R4B).

fhir.resources 8 ships R5 as its default and R4B (4.3, whose AuditEvent is R4's) under
``fhir.resources.R4B``; the report function uses the same module. One row becomes one
AuditEvent: ``type``/``action``/``outcome`` from :mod:`acme.audit._codes`; ``recorded`` is
when the trail recorded it, ``period`` when it happened; ``agent`` the person (access and
sign-off) and the function that emitted the event; ``entity`` the study (by its DICOM UID)
and the event itself, whose details carry the CloudEvent id, type, source and the chain
hashes, and its data as base64 JSON so the export is complete.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle

from acme.audit._chain import AuditRow, canonical_json
from acme.audit._codes import (
    APPLICATION,
    APPLICATION_SERVER,
    DICOM_UID_SYSTEM,
    DOMAIN_RESOURCE,
    JOB_ROLE,
    OTHER_ENTITY,
    SYSTEM_OBJECT,
    codes_for,
)
from acme.events import EventType

OBSERVER = "Acme Imaging Functions audit trail"
_IDS = uuid.UUID("5b0e8a4c-3f7d-4c2a-9d61-7a0c2e9f4b13")
_FAILURE_FIELDS = ("reason_code", "detail")


def resource_id(row: AuditRow) -> str:
    """The AuditEvent id of a row: a UUID derived from the CloudEvent id (stable)."""
    return str(uuid.uuid5(_IDS, row.event_id))


def audit_event(row: AuditRow) -> AuditEvent:
    """The AuditEvent of one row, validated by fhir.resources."""
    data = row.data if isinstance(row.data, Mapping) else {}
    codes = codes_for(row.event_type, data)
    when = _instant(row.occurred_at or row.recorded_at)
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": resource_id(row),
        "type": codes.type.coding(),
        "action": codes.action,
        "period": {"start": when, "end": when},
        "recorded": _instant(row.recorded_at),
        "outcome": codes.outcome,
        "agent": _agents(row, data),
        "source": {"observer": {"display": OBSERVER}, "type": [APPLICATION_SERVER.coding()]},
        "entity": _entities(row, data),
    }
    failure = "; ".join(str(data[f]) for f in _FAILURE_FIELDS if isinstance(data.get(f), str))
    if codes.outcome != "0" and failure:
        resource["outcomeDesc"] = failure
    return AuditEvent.model_validate(resource)


def audit_bundle(rows: Sequence[AuditRow], *, next_url: str | None = None) -> Bundle:
    """A ``collection`` Bundle of the rows' AuditEvents; ``next_url`` links the next page."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": _instant(datetime.now(UTC)),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource_id(row)}", "resource": audit_event(row)}
            for row in rows
        ],
    }
    if next_url is not None:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return Bundle.model_validate(bundle)


def bundle_json(bundle: Bundle) -> bytes:
    """The Bundle as FHIR JSON (``application/fhir+json``)."""
    return bundle.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8")


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _agents(row: AuditRow, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    source = str(row.payload.get("source", ""))
    function = {
        "type": {"coding": [APPLICATION.coding()]},
        "who": {"display": source or "unknown"},
        "requestor": False,
    }
    if row.event_type == EventType.ACCESS_RECORDED:
        person: dict[str, Any] = {
            "who": {"identifier": {"value": str(data.get("actor"))}},
            "requestor": True,
            "role": [{"text": str(data.get("role"))}],
        }
        if isinstance(data.get("source_ip"), str):
            person["network"] = {"address": data["source_ip"], "type": "2"}
        return [person, function]
    if row.event_type == EventType.REPORT_SIGNED:
        signer = {
            "who": {"identifier": {"value": str(data.get("signed_by"))}},
            "requestor": True,
            "role": [{"text": str(data.get("signer_role"))}],
        }
        return [signer, function]
    return [{**function, "requestor": True}]


def _entities(row: AuditRow, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    if row.study_uid:
        entities.append({
            "what": {
                "type": "ImagingStudy",
                "identifier": {"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{row.study_uid}"},
            },
            "type": SYSTEM_OBJECT.coding(),
            "role": DOMAIN_RESOURCE.coding(),
        })  # fmt: skip
    if isinstance(data.get("resource"), str):
        entities.append({
            "what": {"display": data["resource"]},
            "type": SYSTEM_OBJECT.coding(),
            "role": JOB_ROLE.coding(),
            "description": "the requested resource",
        })  # fmt: skip
    details = [
        ("cloudevent.id", row.event_id),
        ("cloudevent.type", row.event_type),
        ("cloudevent.source", str(row.payload.get("source", ""))),
        ("cloudevent.subject", str(row.payload.get("subject", ""))),
        ("audit.row", str(row.id)),
        ("audit.prev_hash", row.prev_hash),
        ("audit.hash", row.hash),
    ]
    encoded = base64.b64encode(canonical_json(row.data).encode("utf-8")).decode("ascii")
    entities.append({
        "what": {"identifier": {"value": row.event_id}},
        "type": OTHER_ENTITY.coding(),
        "name": row.event_type,
        "detail": [
            *({"type": name, "valueString": value} for name, value in details if value),
            {"type": "cloudevent.data", "valueBase64Binary": encoded},
        ],
    })  # fmt: skip
    return entities
