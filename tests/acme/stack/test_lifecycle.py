"""``acme up``: start, report health, stop cleanly, restart with data kept, never orphan."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import boto3
import nats
import psycopg
import redis
from stackprocs import (
    alive,
    clean_env,
    processes_using,
    server_pids,
    start_up,
    status_json,
    wait_for_state,
)

from acme.stack.state import StackState


def _write_data(state: StackState) -> None:
    urls = {name: s.url for name, s in state.servers.items()}
    with psycopg.connect(urls["postgres"], autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives restarts')")
    s3 = boto3.client("s3", endpoint_url=urls["s3"], aws_access_key_id="acme",
                      aws_secret_access_key="acme-secret", region_name="us-east-1")  # fmt: skip
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key="a/b.txt", Body=b"object survives")
    redis.Redis.from_url(urls["redis"]).set("kept", "cache entry")

    async def publish() -> None:
        conn = await nats.connect(urls["nats"])
        js = conn.jetstream()
        await js.add_stream(name="KEPT", subjects=["kept.>"])
        await js.publish("kept.one", b"message survives")
        await conn.close()

    asyncio.run(publish())


def _read_data(state: StackState) -> dict[str, object]:
    urls = {name: s.url for name, s in state.servers.items()}
    with psycopg.connect(urls["postgres"]) as conn:
        row = conn.execute("SELECT v FROM kept").fetchone()
    s3 = boto3.client("s3", endpoint_url=urls["s3"], aws_access_key_id="acme",
                      aws_secret_access_key="acme-secret", region_name="us-east-1")  # fmt: skip
    body = s3.get_object(Bucket="kept", Key="a/b.txt")["Body"].read()

    async def fetch() -> bytes:
        conn = await nats.connect(urls["nats"])
        msg = await conn.jetstream().get_msg("KEPT", seq=1)
        await conn.close()
        return bytes(msg.data or b"")

    return {
        "postgres": row[0] if row else None,
        "s3": body,
        "redis": redis.Redis.from_url(urls["redis"]).get("kept"),
        "nats": asyncio.run(fetch()),
    }


def test_up_reports_healthy_stops_cleanly_and_keeps_data(
    tmp_path: Path, acme_up: list[subprocess.Popen[str]]
) -> None:
    home = tmp_path / "home"
    env = clean_env(ACME_HOME=str(home), ACME_GATEWAY_PORT="0")

    first = start_up(acme_up, env)
    state = wait_for_state(home, first)
    report = status_json(env)
    servers = {s["name"]: s for s in report["servers"]}  # type: ignore[attr-defined]
    receiver = servers.pop("dicom-receiver")  # listed too, once acme up's runtime runs
    assert receiver["ae_title"] == "ACME"
    assert set(servers) == {"nats", "postgres", "redis", "s3"}
    assert all(s["healthy"] and s["managed"] for s in servers.values()), report
    assert "***" in servers["postgres"]["url"], "the password must never be printed"
    _write_data(state)

    pids = server_pids(state)
    assert len(pids) == 4 and alive(pids) == pids
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0
    assert alive(pids) == []
    assert processes_using(home) == []
    assert not (home / "stack.json").exists()
    assert all(not s["healthy"] for s in status_json(env)["servers"])  # type: ignore[index]

    second = start_up(acme_up, env)
    restarted = wait_for_state(home, second)
    assert _read_data(restarted) == {
        "postgres": "survives restarts",
        "s3": b"object survives",
        "redis": b"cache entry",
        "nats": b"message survives",
    }
    second.send_signal(signal.SIGINT)
    assert second.wait(60) == 0
    assert processes_using(home) == []


def test_killed_up_leaves_no_orphan_servers(
    tmp_path: Path, acme_up: list[subprocess.Popen[str]]
) -> None:
    home = tmp_path / "home"
    proc = start_up(acme_up, clean_env(ACME_HOME=str(home), ACME_GATEWAY_PORT="0"))
    state = wait_for_state(home, proc)
    pids = server_pids(state)
    # a client still connected: PostgreSQL must not wait for it (a smart shutdown would, for
    # ever, and keep the next acme up from its port and data)
    with psycopg.connect(state.servers["postgres"].url, autocommit=True) as client:
        proc.kill()  # SIGKILL: no chance to clean up; the servers must still go
        proc.wait(10)
        deadline = time.monotonic() + 30
        while alive(pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert alive(pids) == []
        assert client.closed or client.broken or _dropped(client)
    assert processes_using(home) == []


def _dropped(client: psycopg.Connection[tuple[object, ...]]) -> bool:
    try:
        client.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False
