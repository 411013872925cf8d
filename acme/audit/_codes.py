"""The codes of the FHIR AuditEvent export, in one place.

Event ids are DICOM's audit event ids (PS3.15 Annex A.5, "Audit Message Schema"; CID 400
"Audit Event ID"), the value set FHIR R4 AuditEvent.type is bound to. Actions, outcomes,
entity types and source types are FHIR R4's own code systems.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from acme.events import S3_TYPE_PREFIX, EventType

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
DICOM_UID_SYSTEM = "urn:dicom:uid"

Action = Literal["C", "R", "U", "D", "E"]
Outcome = Literal["0", "4", "8", "12"]


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str

    def coding(self) -> dict[str, Any]:
        return {"system": self.system, "code": self.code, "display": self.display}


APPLICATION_ACTIVITY = Code(DCM, "110100", "Application Activity")
INSTANCES_ACCESSED = Code(DCM, "110103", "DICOM Instances Accessed")
INSTANCES_TRANSFERRED = Code(DCM, "110104", "DICOM Instances Transferred")
EXPORT = Code(DCM, "110106", "Export")
PATIENT_RECORD = Code(DCM, "110110", "Patient Record")
QUERY = Code(DCM, "110112", "Query")
APPLICATION = Code(DCM, "110150", "Application")
SYSTEM_OBJECT = Code(ENTITY_TYPE, "2", "System Object")
OTHER_ENTITY = Code(ENTITY_TYPE, "4", "Other")
DOMAIN_RESOURCE = Code(OBJECT_ROLE, "4", "Domain Resource")
REPORT_ROLE = Code(OBJECT_ROLE, "3", "Report")
JOB_ROLE = Code(OBJECT_ROLE, "20", "Job")
APPLICATION_SERVER = Code(SOURCE_TYPE, "4", "Application Server")


@dataclass(frozen=True)
class EventCodes:
    """How one event type reads as an AuditEvent: its type, action and default outcome."""

    type: Code
    action: Action
    outcome: Outcome = "0"


EVENT_CODES: Mapping[str, EventCodes] = MappingProxyType(
    {
        EventType.INSTANCE_STORED: EventCodes(INSTANCES_TRANSFERRED, "C"),
        EventType.INSTANCE_REJECTED: EventCodes(INSTANCES_TRANSFERRED, "C", "4"),
        EventType.SERIES_COMPLETED: EventCodes(APPLICATION_ACTIVITY, "E"),
        EventType.SERIES_REOPENED: EventCodes(APPLICATION_ACTIVITY, "E"),
        EventType.INFERENCE_COMPLETED: EventCodes(APPLICATION_ACTIVITY, "E"),
        EventType.INFERENCE_FAILED: EventCodes(APPLICATION_ACTIVITY, "E", "8"),
        EventType.REPORT_DRAFTED: EventCodes(PATIENT_RECORD, "C"),
        EventType.REPORT_SIGNED: EventCodes(PATIENT_RECORD, "U"),
        EventType.DISPATCH_REQUESTED: EventCodes(APPLICATION_ACTIVITY, "E"),
        EventType.DISPATCH_DELIVERED: EventCodes(INSTANCES_TRANSFERRED, "R"),
        EventType.DISPATCH_FAILED: EventCodes(INSTANCES_TRANSFERRED, "R", "8"),
        EventType.TICK: EventCodes(APPLICATION_ACTIVITY, "E"),
    }
)
"""Every type but ``access.recorded`` (see :data:`ACCESS_CODES`) and the S3 types."""

ACCESS_CODES: Mapping[str, EventCodes] = MappingProxyType(
    {
        "read": EventCodes(PATIENT_RECORD, "R"),
        "search": EventCodes(QUERY, "E"),
        "render": EventCodes(INSTANCES_ACCESSED, "R"),
        "download": EventCodes(INSTANCES_ACCESSED, "R"),
        "export": EventCodes(EXPORT, "R"),
        "sign": EventCodes(PATIENT_RECORD, "U"),
        "update": EventCodes(PATIENT_RECORD, "U"),
    }
)
"""``access.recorded`` by its ``action``."""

ACCESS_OUTCOMES: Mapping[str, Outcome] = MappingProxyType(
    {"success": "0", "denied": "4", "error": "8"}
)


def codes_for(event_type: str, data: Mapping[str, Any]) -> EventCodes:
    """The codes of one recorded event (an unknown type is Application Activity)."""
    if event_type == EventType.ACCESS_RECORDED:
        base = ACCESS_CODES.get(str(data.get("action")), EventCodes(PATIENT_RECORD, "R"))
        return EventCodes(
            base.type, base.action, ACCESS_OUTCOMES.get(str(data.get("outcome")), "8")
        )
    if event_type.startswith(S3_TYPE_PREFIX):
        name = event_type[len(S3_TYPE_PREFIX) :]
        if name.startswith("ObjectCreated:"):
            return EventCodes(INSTANCES_TRANSFERRED, "C")
        if name.startswith("ObjectRemoved:"):
            return EventCodes(INSTANCES_TRANSFERRED, "D")
    return EVENT_CODES.get(event_type, EventCodes(APPLICATION_ACTIVITY, "E"))
