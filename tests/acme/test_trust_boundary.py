"""The event trust boundary on the running platform: only the platform delivers events.

A valid CloudEvent posted by anyone else, through the gateway or straight to a function's
port, changes nothing: no audit row, no database row, no event. Only a delivery token signed
for the function's audience, not expired, gets it in.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest
from acme_platform import REPO, running_platform, wait_until
from cloudevents.http import CloudEvent
from delivery import throwaway_signer

from acme.auth import DeliverySigner, delivery_key_path, mint_token
from acme.auth._keyfile import load_private_key
from acme.db import make_pool
from acme.events import EventType, S3Object, new_event, to_binary_http
from acme.events.models import (
    DispatchRequested,
    InferenceCompleted,
    ReportSigned,
    SeriesCompleted,
    Timings,
)
from acme.runtime.stackfile import load_stack
from acme.settings import Settings

STUDY, SERIES = "1.2.826.0.1.3680043.8.498.77", "1.2.826.0.1.3680043.8.498.77.1"
NOW = datetime.now(UTC)
FORGED: dict[str, CloudEvent] = {
    "audit-events": new_event(
        EventType.REPORT_SIGNED,
        ReportSigned(
            report_id=uuid.uuid4(),
            version=2,
            status="final",
            study_uid=STUDY,
            signed_by="dr.evil",
            signer_role="radiologist",
            content_sha256="0" * 64,
            signed_at=NOW,
        ),
        source="/acme/functions/report",
    ),
    "dispatch": new_event(
        EventType.DISPATCH_REQUESTED,
        DispatchRequested(
            report_id=uuid.uuid4(),
            version=1,
            study_uid=STUDY,
            destination="pacs",
            cause="manual",
            requested_at=NOW,
        ),
        source="/acme/cli",
    ),
    "dicom-ingest": new_event(
        "com.amazonaws.s3.ObjectCreated:Put",
        S3Object(event_name="ObjectCreated:Put", bucket="dicom-inbox", key="forged/x.dcm", size=1),
        source="aws:s3.us-east-1.dicom-inbox",
    ),
    "infer-cxr": new_event(
        EventType.SERIES_COMPLETED,
        SeriesCompleted(
            study_uid=STUDY,
            series_uid=SERIES,
            modality="CR",
            pipeline="cxr",
            instance_count=1,
            completed_at=NOW,
        ),
        source="/acme/functions/dicom-ingest",
    ),
    "infer-ct": new_event(
        EventType.SERIES_COMPLETED,
        SeriesCompleted(
            study_uid=STUDY,
            series_uid=SERIES,
            modality="CT",
            pipeline="ct",
            instance_count=1,
            completed_at=NOW,
        ),
        source="/acme/functions/dicom-ingest",
    ),
    "report-events": new_event(
        EventType.INFERENCE_COMPLETED,
        InferenceCompleted.model_validate(
            {
                "study_uid": STUDY,
                "series_uid": SERIES,
                "run_id": str(uuid.uuid4()),
                "pipeline": "cxr",
                "model": {"name": "cxr-synthetic", "version": "1.0.0"},
                "device": "cpu",
                "execution_provider": "CPUExecutionProvider",
                "findings": [],
                "results_bucket": "results",
                "not_for_diagnosis": True,
                "completed_at": NOW,
                "timings": Timings(
                    preprocess_ms=1, inference_ms=1, postprocess_ms=1, total_ms=3
                ).model_dump(),
            }
        ),
        source="/acme/functions/infer-cxr",
    ),
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """``acme up`` with every function always on, so each has a port to knock at."""
    folder = tmp_path_factory.mktemp("trust")
    text = (REPO / "stack.yml").read_text()
    text = text.replace('com.openfaas.scale.zero: "true"', 'com.openfaas.scale.zero: "false"')
    (folder / "functions").symlink_to(REPO / "functions")  # handlers are relative to the file
    stack_file = folder / "stack.yml"
    stack_file.write_text(text)
    with running_platform(folder / "home", extra={"ACME_STACK_FILE": str(stack_file)}) as up:
        yield up


def _gateway(settings: Settings) -> str:
    from acme.stack.state import read_state

    state = read_state(settings.home.resolve())
    assert state is not None and state.gateway_url
    return state.gateway_url


def _ports(settings: Settings) -> dict[str, str]:
    def ready() -> dict[str, str]:
        health = httpx.get(f"{_gateway(settings)}/healthz", timeout=5).json()
        return {f["name"]: f["url"] for f in health["functions"] if f["state"] == "ready"}

    wait_until(lambda: set(FORGED) <= set(ready()), 120, "every CloudEvent function ready")
    return ready()


def _footprint(settings: Settings) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per table (ticks left out of the trail) and events per subject (ticks left out)."""
    pool = make_pool(settings, application_name="test")
    try:
        with pool.connection() as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'schema_migrations'").fetchall()]  # fmt: skip
            rows = {}
            for table in tables:
                where = (
                    " WHERE event_type <> 'org.acme.imaging.tick'"
                    if table == "audit_events"
                    else ""
                )
                row = conn.execute(f"SELECT count(*) FROM {table}{where}").fetchone()
                rows[table] = int(row[0]) if row else 0
    finally:
        pool.close()

    async def subjects() -> dict[str, int]:
        client = await nats.connect(settings.nats_url)
        try:
            info = await client.jetstream().stream_info(settings.stream, subjects_filter=">")
            return {s: n for s, n in (info.state.subjects or {}).items() if not s.endswith(".tick")}
        finally:
            await client.close()

    return rows, asyncio.run(subjects())


def _post(url: str, event: CloudEvent, token: str | None) -> httpx.Response:
    headers, body = to_binary_http(event)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url, headers=headers, content=body, timeout=30)


def test_nobody_but_the_platform_can_deliver_an_event(platform: Settings) -> None:
    ports = _ports(platform)
    assert set(FORGED) == {
        n for n, f in load_stack(REPO / "stack.yml").functions.items()
        if f.signature == "cloudevent" and n in ports
    }  # fmt: skip
    key = DeliverySigner.from_settings(platform, subject="intruder")
    private = load_private_key(delivery_key_path(platform), setting="ACME_EVENTS_SIGNING_KEY")
    past = DeliverySigner(
        private, issuer=platform.events_issuer, subject="intruder", ttl=60,
        clock=lambda: time.time() - 3600,
    )  # fmt: skip
    before = _footprint(platform)
    for name, event in FORGED.items():
        through_gateway = _post(f"{_gateway(platform)}/function/{name}/", event, None)
        assert through_gateway.status_code == 404, name
        assert through_gateway.json()["function"] == name
        other = next(n for n in FORGED if n != name)
        attempts = {
            "no token": None,
            "another function's audience": key.token(f"acme/functions/{other}"),
            "an expired token": past.token(f"acme/functions/{name}"),
            "a key the platform does not know": throwaway_signer().token(f"acme/functions/{name}"),
            "a user's token": mint_token(platform, user="dr.evil", roles=["radiologist"]),
            "the gateway's client token": key.token(f"acme/functions/{name}", use="forwarded"),
        }
        for what, token in attempts.items():
            answer = _post(ports[name], event, token)
            assert answer.status_code == 401, f"{name}: {what}: {answer.status_code}"
            assert answer.json()["error"] == "unauthenticated"
    time.sleep(2)  # anything an event might have set off has happened by now
    assert _footprint(platform) == before

    # The same forged sign-off with a delivery token for the trail's audience gets in: the
    # refusals above were the token's doing, not the event's.
    signed = _post(
        ports["audit-events"], FORGED["audit-events"], key.token("acme/functions/audit-events")
    )
    assert signed.status_code == 200
    assert signed.headers.get("connection") != "close"  # the router's connection is kept
    rows, _ = _footprint(platform)
    assert rows["audit_events"] == before[0]["audit_events"] + 1


def _recorded_sources(settings: Settings, request_id: str) -> list[str]:
    pool = make_pool(settings, application_name="test")
    try:
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT payload->'data'->>'source_ip' FROM audit_events"
                " WHERE event_type = %s AND payload->'data'->>'request_id' = %s",
                (EventType.ACCESS_RECORDED, request_id),
            ).fetchall()
    finally:
        pool.close()
    return [str(row[0]) for row in rows]


def _read_trail_as(settings: Settings, request_id: str, forwarded_for: str) -> list[str]:
    token = mint_token(settings, user="auditor-1", roles=["auditor"])
    answer = httpx.get(
        f"{_gateway(settings)}/function/audit/records",
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id,
                 "X-Forwarded-For": forwarded_for, "Forwarded": f"for={forwarded_for}"},
        timeout=60,
    )  # fmt: skip
    assert answer.status_code == 200
    wait_until(lambda: bool(_recorded_sources(settings, request_id)), 60, "the access record")
    return _recorded_sources(settings, request_id)


def test_a_forged_forwarded_for_records_the_real_peer(platform: Settings) -> None:
    assert _read_trail_as(platform, "forged-xff-1", "10.66.66.66") == ["127.0.0.1"]


def test_a_trusted_proxy_records_the_client_it_forwards_for(tmp_path: Path) -> None:
    extra = {"ACME_TRUSTED_PROXIES": "127.0.0.1/32", "ACME_FUNCTIONS": "audit,audit-events"}
    with running_platform(tmp_path / "home", extra=extra) as settings:
        assert _read_trail_as(settings, "proxied-1", "10.66.66.66") == ["10.66.66.66"]
