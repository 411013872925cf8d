"""Each event type as a FHIR R4 AuditEvent: codes from one table, valid, round-tripping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cloudevents.http import CloudEvent
from fhir.resources.R4B.auditevent import AuditEvent

from acme.audit import GENESIS_HASH, AuditRow, Entry, audit_bundle, audit_event, bundle_json
from acme.events import EventType

EXPECTED = {
    EventType.INSTANCE_STORED: ("110104", "C", "0"),
    EventType.INSTANCE_REJECTED: ("110104", "C", "4"),
    EventType.SERIES_COMPLETED: ("110100", "E", "0"),
    EventType.SERIES_REOPENED: ("110100", "E", "0"),
    EventType.INFERENCE_COMPLETED: ("110100", "E", "0"),
    EventType.INFERENCE_FAILED: ("110100", "E", "8"),
    EventType.REPORT_DRAFTED: ("110110", "C", "0"),
    EventType.REPORT_SIGNED: ("110110", "U", "0"),
    EventType.DISPATCH_REQUESTED: ("110100", "E", "0"),
    EventType.DISPATCH_DELIVERED: ("110104", "R", "0"),
    EventType.DISPATCH_FAILED: ("110104", "R", "8"),
    EventType.ACCESS_RECORDED: ("110103", "R", "0"),
    EventType.TICK: ("110100", "E", "0"),
    "com.amazonaws.s3.ObjectCreated:Put": ("110104", "C", "0"),
}


def row_of(event: CloudEvent, row_id: int = 1) -> AuditRow:
    entry = Entry.from_cloudevent(event)
    return AuditRow(
        id=row_id, event_id=entry.event_id, event_type=entry.event_type,
        occurred_at=entry.occurred_at, recorded_at=datetime(2025, 3, 4, 6, tzinfo=UTC),
        study_uid=entry.study_uid, actor=entry.actor, payload=entry.payload,
        prev_hash=GENESIS_HASH, hash="a" * 64,
    )  # fmt: skip


def test_every_type_maps_to_its_codes(every_type: list[CloudEvent]) -> None:
    assert {str(e["type"]) for e in every_type} == set(EXPECTED)
    for event in every_type:
        resource = audit_event(row_of(event))
        coding = resource.type
        assert coding.system == "http://dicom.nema.org/resources/ontology/DCM"
        assert (coding.code, resource.action, resource.outcome) == EXPECTED[str(event["type"])]
        assert resource.source.type[0].code == "4" and resource.agent
        assert AuditEvent.model_validate_json(resource.model_dump_json()) == resource


@pytest.mark.parametrize(
    ("action", "outcome", "expected"),
    [("search", "success", ("110112", "E", "0")), ("export", "denied", ("110106", "R", "4")),
     ("sign", "error", ("110110", "U", "8")), ("read", "success", ("110110", "R", "0"))],
)  # fmt: skip
def test_access_records_map_by_action_and_outcome(
    access_event: Callable[..., CloudEvent],
    action: str,
    outcome: str,
    expected: tuple[str, str, str],
) -> None:
    resource = audit_event(row_of(access_event(action=action, outcome=outcome)))
    assert (resource.type.code, resource.action, resource.outcome) == expected


def test_failures_carry_their_reason(every_type: list[CloudEvent]) -> None:
    failed = next(e for e in every_type if e["type"] == EventType.INFERENCE_FAILED)
    assert audit_event(row_of(failed)).outcomeDesc == (
        "model-unavailable; models/ct-lesion/2.0.0/model.onnx not found"
    )


def test_the_bundle_round_trips(every_type: list[CloudEvent]) -> None:
    rows = [row_of(event, n) for n, event in enumerate(every_type, start=1)]
    bundle = audit_bundle(rows, next_url="/function/audit/export?study=1.2&cursor=10")
    parsed = type(bundle).model_validate_json(bundle_json(bundle))
    assert parsed == bundle and len(parsed.entry) == len(rows)
    assert len({entry.fullUrl for entry in parsed.entry}) == len(rows)
    assert parsed.link[0].relation == "next"
