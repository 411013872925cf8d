"""The audit HTTP API: auditors query, verify and export; every use is itself recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import flask
import psycopg
from cloudevents.http import CloudEvent
from fhir.resources.R4B.bundle import Bundle
from jetstream import published

from acme.audit import AuditQuery, append_event, audit_bundle, bundle_json, query_rows
from acme.auth import policy_from_settings
from acme.events import EventType
from acme.function import Context
from acme.http import dispatcher_for

STUDY = "1.2.826.0.1.3680043.8.498.1"
OTHER = "1.2.826.0.1.3680043.8.498.99"


def call(
    ctx: Context, main: ModuleType, path: str, token: str | None, **query: Any
) -> flask.Response:
    headers = {"Authorization": token} if token else {}
    dispatch = dispatcher_for(main.routes, policy_from_settings(ctx.settings))
    with flask.Flask("t").test_request_context(path, headers=headers, query_string=query or None):
        return dispatch(ctx, flask.request)


def _trail(ctx: Context, make: Callable[..., CloudEvent], every_type: list[CloudEvent]) -> None:
    for event in every_type:
        append_event(ctx.db, event)
    base = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)
    for n in range(5):
        study = STUDY if n % 2 == 0 else OTHER
        actor = "dr.house" if n < 3 else "dr.cuddy"
        append_event(
            ctx.db, make(actor=actor, study_uid=study, when=base + timedelta(hours=n),
                         resource=f"GET /function/worklist/studies/{study}", request_id=f"q{n}")
        )  # fmt: skip


def test_routes_need_a_token_and_the_auditor_role(
    ctx: Context, main: ModuleType, token: Callable[..., str]
) -> None:
    for path in ("/records", "/records/1", "/verify", "/export?study=1.2.3"):
        assert call(ctx, main, path, None).status_code == 401
        assert call(ctx, main, path, token("radiologist", "admin")).status_code == 403
    assert call(ctx, main, "/records", token("auditor")).status_code == 200
    doc = call(ctx, main, "/openapi.json", None).get_json()
    operations = [op for item in doc["paths"].values() for op in item.values()]
    assert len(operations) == 4 and all(op["x-acme-phi"] for op in operations)
    assert {op["x-acme-permission"] for op in operations} == {"audit:read", "audit:export"}


def test_query_filters_and_pages(
    ctx: Context,
    main: ModuleType,
    token: Callable[..., str],
    access_event: Callable[..., CloudEvent],
    every_type: list[CloudEvent],
) -> None:
    _trail(ctx, access_event, every_type)
    auditor = token("auditor")

    def records(**query: Any) -> list[dict[str, Any]]:
        answer = call(ctx, main, "/records", auditor, **query)
        assert answer.status_code == 200, answer.get_json()
        return list(answer.get_json()["records"])

    by_study = records(study=OTHER)
    assert [r["data"]["request_id"] for r in by_study] == ["q3", "q1"]  # newest first
    assert [r["id"] for r in records(actor="dr.cuddy", order="asc")] == [
        len(every_type) + 4, len(every_type) + 5,
    ]  # fmt: skip
    assert {r["type"] for r in records(type="com.amazonaws.s3.*")} == {
        "com.amazonaws.s3.ObjectCreated:Put"
    }
    window = records(
        type=EventType.ACCESS_RECORDED, since="2025-03-05T09:00:00Z", until="2025-03-05T11:00:00Z"
    )
    assert [r["data"]["request_id"] for r in window] == ["q2", "q1"]

    first = call(ctx, main, "/records", auditor, limit=4).get_json()
    second = call(ctx, main, "/records", auditor, limit=4, cursor=first["next_cursor"]).get_json()
    ids = [r["id"] for r in first["records"] + second["records"]]
    total = len(every_type) + 5
    assert ids == list(range(total, total - 8, -1))
    one = call(ctx, main, "/records/2", auditor).get_json()
    assert one["id"] == 2 and one["hash"] and one["prev_hash"]
    assert call(ctx, main, "/records/999", auditor).status_code == 404
    assert call(ctx, main, "/records/0", auditor).status_code == 404

    for bad, field in (({"colour": "red"}, "colour"), ({"since": "yesterday"}, "since"),
                       ({"limit": "0"}, "limit"), ({"study": "x"}, "study")):  # fmt: skip
        answer = call(ctx, main, "/records", auditor, **bad)
        assert answer.status_code == 422 and field in answer.get_json()["detail"], bad


def test_verify_endpoint_names_the_broken_row(
    ctx: Context,
    main: ModuleType,
    token: Callable[..., str],
    access_event: Callable[..., CloudEvent],
    every_type: list[CloudEvent],
    superuser: psycopg.Connection[Any],
) -> None:
    _trail(ctx, access_event, every_type)
    intact = call(ctx, main, "/verify", token("auditor")).get_json()
    assert intact["intact"] is True and intact["broken"] is None
    head = f"{intact['head_id']}:{intact['head_hash']}"
    assert call(ctx, main, "/verify", token("auditor"), head=head).get_json()["intact"]
    with superuser.transaction():
        superuser.execute("SET LOCAL session_replication_role = replica")
        superuser.execute("UPDATE audit_events SET study_uid = NULL WHERE id = 7")
    broken = call(ctx, main, "/verify", token("auditor")).get_json()
    assert broken["intact"] is False
    assert broken["broken"]["id"] == 7 and broken["broken"]["problem"] == "altered"
    bad = call(ctx, main, "/verify", token("auditor"), head="7")
    assert bad.status_code == 422 and "expected ID:HASH" in bad.get_json()["detail"]


def test_export_is_a_valid_fhir_bundle_of_audit_events(
    ctx: Context,
    main: ModuleType,
    token: Callable[..., str],
    access_event: Callable[..., CloudEvent],
    every_type: list[CloudEvent],
) -> None:
    _trail(ctx, access_event, every_type)
    answer = call(ctx, main, "/export", token("auditor", user="aud-7"), study=STUDY)
    assert answer.status_code == 200 and answer.mimetype == "application/fhir+json"
    bundle = Bundle.model_validate_json(answer.data)  # validates every AuditEvent
    assert bundle.type == "collection" and bundle.entry
    events = [entry.resource for entry in bundle.entry]
    assert all(event.get_resource_type() == "AuditEvent" for event in events)
    codes = {(e.type.code, e.action, e.outcome) for e in events}
    assert ("110104", "C", "0") in codes  # instance stored: DICOM Instances Transferred
    assert ("110103", "R", "0") in codes  # a render: DICOM Instances Accessed
    study_refs = {
        entity.what.identifier.value
        for event in events
        for entity in event.entity
        if entity.what.identifier and entity.what.identifier.system == "urn:dicom:uid"
    }
    assert study_refs == {f"urn:oid:{STUDY}"}
    access = next(e for e in events if e.type.code == "110103")
    person = access.agent[0]
    assert person.requestor and person.who.identifier.value == "dr.house"
    assert person.network.address == "10.1.2.3"
    details = {d.type: d for d in access.entity[-1].detail}
    data = json.loads(details["cloudevent.data"].valueBase64Binary)  # decoded by fhir.resources
    assert data["actor"] == "dr.house" and details["audit.hash"].valueString

    rows = query_rows(ctx.db, AuditQuery(limit=1000)).rows
    built = audit_bundle(rows)
    assert Bundle.model_validate_json(bundle_json(built)) == built  # round trip

    records = [e.data for e in published(ctx.settings, EventType.ACCESS_RECORDED)]
    assert records[-1]["actor"] == "aud-7" and records[-1]["action"] == "export"
    assert records[-1]["study_uid"] == STUDY and records[-1]["outcome"] == "success"


def test_export_by_time_range_pages_with_next_links(
    ctx: Context,
    main: ModuleType,
    token: Callable[..., str],
    access_event: Callable[..., CloudEvent],
    every_type: list[CloudEvent],
) -> None:
    _trail(ctx, access_event, every_type)
    range_ = {"since": "2025-03-05T08:00:00Z", "until": "2025-03-05T13:00:00Z"}
    first = Bundle.model_validate_json(
        call(ctx, main, "/export", token("auditor"), limit=3, **range_).data
    )
    assert len(first.entry) == 3 and first.link[0].relation == "next"
    assert first.link[0].url.startswith("/function/audit/export?")
    cursor = first.link[0].url.rsplit("cursor=", 1)[1]
    rest = Bundle.model_validate_json(
        call(ctx, main, "/export", token("auditor"), limit=3, cursor=cursor, **range_).data
    )
    assert len(rest.entry) == 2 and not rest.link
    everything = call(ctx, main, "/export", token("auditor"))  # no filter: the whole trail
    assert everything.status_code == 200
    whole = query_rows(ctx.db, AuditQuery(limit=10_000)).rows
    assert len(Bundle.model_validate_json(everything.data).entry) == len(whole)
