"""The router against the test stack's real NATS JetStream and real HTTP servers.

Each test runs a :class:`Router` on its own stream (the ``settings`` fixture) with a static
activator pointing at a small threaded HTTP server that answers from a script and records
every request, or at a real functions-framework process.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from cloudevents.http import CloudEvent
from delivery import throwaway_signer
from prometheus_client import CollectorRegistry
from psycopg import sql

from acme.bus import connect, subject_for, to_nats_message
from acme.events.cloudevents import new_event
from acme.events.models import SeriesCompleted, Tick
from acme.events.types import EventType
from acme.runtime.dlq import DeadLetterEntry, DeadLetterQueue
from acme.runtime.router import Router, TriggerSpec
from acme.settings import Settings

RECORD_ONCE = Path(__file__).resolve().parents[2] / "fixtures/functions/router/record_once"
SIGNER = throwaway_signer()


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0
    body: str = "ok"


@dataclass(frozen=True)
class Request:
    path: str
    at: float
    headers: dict[str, str]
    body: bytes


class Recorder:
    """A real HTTP server on a thread: answers POSTs from a script, records each request."""

    def __init__(self, *script: Answer, then: Answer | None = None) -> None:
        self.script = list(script)
        self.then = then or Answer()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                request = Request(self.path, time.monotonic(), dict(self.headers), body)
                answer = recorder.record(request)
                time.sleep(answer.delay)
                payload = answer.body.encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    # the router may have given up on a slow answer (a timeout test)
                    self.send_response(answer.status)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def record(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            return self.script.pop(0) if self.script else self.then

    def to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class StaticActivator:
    """Every function is always running at a fixed URL."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    @contextlib.asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[str]:
        yield self.urls[name]


def _tick(sequence: int = 1) -> CloudEvent:
    return new_event(
        EventType.TICK, Tick(at=datetime.now(UTC), sequence=sequence), source="/tests/router"
    )


def _series(pipeline: str) -> CloudEvent:
    data = SeriesCompleted.model_validate(
        {
            "study_uid": "1.2.3",
            "series_uid": f"1.2.3.{len(pipeline)}",
            "modality": "CT" if pipeline == "ct" else "CR",
            "pipeline": pipeline,
            "instance_count": 1,
            "completed_at": datetime.now(UTC),
        }
    )
    return new_event(EventType.SERIES_COMPLETED, data, source="/tests/router")


async def _publish(settings: Settings, *events: CloudEvent) -> None:
    client = await nats.connect(settings.nats_url)
    try:
        js = client.jetstream()
        for event in events:
            headers, body = to_nats_message(event)
            subject = subject_for(settings, str(event["type"]))
            await js.publish(subject, body, headers=headers, stream=settings.stream)
    finally:
        await client.close()


async def _dead_letters(settings: Settings) -> list[DeadLetterEntry]:
    client = await connect(settings, "tests")
    try:
        return await DeadLetterQueue(client.jetstream(), settings).entries()
    finally:
        await client.close()


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _claims(authorization: str) -> dict[str, Any]:
    scheme, _, token = authorization.partition(" ")
    assert scheme == "Bearer"
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def _router(
    settings: Settings, triggers: list[TriggerSpec], urls: dict[str, str]
) -> tuple[Router, CollectorRegistry]:
    registry = CollectorRegistry()
    router = Router(settings, triggers, StaticActivator(urls), tokens=SIGNER, registry=registry)
    return router, registry


def _acme_dlq(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
    env.update(
        ACME_HOME=str(settings.home),
        ACME_NATS_URL=settings.nats_url or "",
        ACME_STREAM=settings.stream,
        ACME_SUBJECT_PREFIX=settings.subject_prefix,
    )
    return subprocess.run(
        [sys.executable, "-m", "acme.cli.dlq_commands", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_retries_back_off_exponentially_until_a_2xx(settings: Settings) -> None:
    trigger = TriggerSpec(function="fn", type=EventType.TICK, attempts=5, backoff_base=0.3)
    event = _tick()

    async def scenario(server: Recorder) -> CollectorRegistry:
        router, registry = _router(settings, [trigger], {"fn": server.url})
        async with router.serving():
            await _publish(settings, event)

            async def four() -> bool:
                return len(server.requests) >= 4

            await _eventually(four, "four attempts")
            await asyncio.sleep(1.0)  # no fifth attempt after the 2xx
        return registry

    with Recorder(Answer(503), Answer(429), Answer(500)) as server:
        registry = asyncio.run(scenario(server))

    assert len(server.requests) == 4
    first = server.requests[0]
    assert first.headers["ce-id"] == event["id"]
    assert first.headers["ce-type"] == EventType.TICK
    assert first.headers["content-type"] == "application/json"
    assert not [name for name in first.headers if name.lower().startswith("nats-")]
    assert json.loads(first.body) == event.get_data()
    claims = [_claims(r.headers["Authorization"]) for r in server.requests]
    assert {c["aud"] for c in claims} == {"acme/functions/fn"}
    assert {c["acme_use"] for c in claims} == {"delivery"}
    assert all(0 < c["exp"] - c["iat"] <= 60 for c in claims)
    assert len({c["jti"] for c in claims}) == 4  # a fresh token for every attempt
    assert [r.headers["Acme-Delivery-Attempt"] for r in server.requests] == ["1", "2", "3", "4"]
    assert {r.headers["Acme-Delivery-Attempts"] for r in server.requests} == {"5"}
    gaps = [b.at - a.at for a, b in zip(server.requests, server.requests[1:], strict=False)]
    assert gaps[0] >= 0.3 * 0.9
    assert gaps[0] < gaps[1] < gaps[2], gaps
    assert _sample(registry, "acme_router_retries_total", function="fn") == 3
    assert _sample(registry, "acme_router_deliveries_total", function="fn", outcome="retry") == 3
    assert (
        _sample(registry, "acme_router_deliveries_total", function="fn", outcome="delivered") == 1
    )
    assert _sample(registry, "acme_router_delivery_seconds_count", function="fn") == 4
    assert asyncio.run(_dead_letters(settings)) == []


def test_a_timeout_is_retried(settings: Settings) -> None:
    trigger = TriggerSpec(function="fn", type=EventType.TICK, attempts=3, timeout=0.5)

    async def scenario(server: Recorder) -> None:
        router, _registry = _router(settings, [trigger], {"fn": server.url})
        async with router.serving():
            await _publish(settings, _tick())

            async def answered() -> bool:
                return len(server.requests) >= 2

            await _eventually(answered, "a second attempt")
            await asyncio.sleep(0.5)

    with Recorder(Answer(delay=3.0)) as server:
        asyncio.run(scenario(server))
    assert len(server.requests) == 2
    assert asyncio.run(_dead_letters(settings)) == []


def test_a_4xx_is_not_retried_and_is_dead_lettered_as_rejected(settings: Settings) -> None:
    trigger = TriggerSpec(function="fn", type=EventType.TICK, attempts=5, backoff_base=0.1)
    event = _tick()

    async def scenario(server: Recorder) -> list[DeadLetterEntry]:
        router, registry = _router(settings, [trigger], {"fn": server.url})
        async with router.serving():
            await _publish(settings, event)

            async def lettered() -> bool:
                return bool(await _dead_letters(settings))

            await _eventually(lettered, "a dead letter")
            await asyncio.sleep(1.0)  # time for a retry, if there were one
            assert (
                _sample(registry, "acme_router_dead_letters_total", function="fn", kind="rejected")
                == 1
            )
        return await _dead_letters(settings)

    with Recorder(Answer(404, body="no such study")) as server:
        [entry] = asyncio.run(scenario(server))
    assert len(server.requests) == 1
    letter = entry.letter
    assert (letter.kind, letter.reason, letter.attempts) == ("rejected", "rejected: http 404", 1)
    assert letter.last_status == 404
    assert letter.last_body == "no such study"
    assert (letter.event_id, letter.event_type) == (event["id"], EventType.TICK)
    assert (letter.function, letter.trigger) == ("fn", "fn-0")


def test_dead_letter_after_the_last_attempt_and_replay_to_the_same_trigger(
    settings: Settings,
) -> None:
    failing = TriggerSpec(function="fn", type=EventType.TICK, attempts=3, backoff_base=0.1)
    other = TriggerSpec(function="other", type=EventType.TICK)
    event = _tick()

    async def scenario(server: Recorder, bystander: Recorder) -> None:
        urls = {"fn": f"{server.url}/fn", "other": f"{bystander.url}/other"}
        router, _registry = _router(settings, [failing, other], urls)
        async with router.serving():
            await _publish(settings, event)

            async def lettered() -> bool:
                return bool(await _dead_letters(settings))

            await _eventually(lettered, "a dead letter")
            [entry] = await _dead_letters(settings)
            letter = entry.letter
            assert (letter.kind, letter.reason) == ("exhausted", "http 500 after 3 attempts")
            assert (letter.attempts, letter.last_status, letter.last_body) == (3, 500, "boom")
            assert letter.message.headers["ce-id"] == event["id"]
            assert letter.dead_lettered_at >= letter.published_at
            assert len(server.to("/fn")) == 3

            listed = await asyncio.to_thread(_acme_dlq, settings, "list", "--json")
            assert listed.returncode == 0, listed.stderr
            [row] = json.loads(listed.stdout)
            assert (row["id"], row["function"], row["type"]) == (entry.id, "fn", EventType.TICK)
            assert row["reason"] == "http 500 after 3 attempts"

            server.then = Answer(200)
            replayed = await asyncio.to_thread(_acme_dlq, settings, "replay", str(entry.id))
            assert replayed.returncode == 0, replayed.stderr
            assert f"replayed {entry.id} -> fn-0" in replayed.stdout

            async def delivered() -> bool:
                return len(server.to("/fn")) == 4

            await _eventually(delivered, "the replayed delivery")
            await asyncio.sleep(0.5)

    with Recorder(then=Answer(500, body="boom")) as server, Recorder() as bystander:
        asyncio.run(scenario(server, bystander))

    assert server.to("/fn")[-1].headers["ce-id"] == event["id"]
    assert len(bystander.to("/other")) == 1  # the replay went to the failing trigger only
    listed = _acme_dlq(settings, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_extension_filters_route_pipelines_to_their_functions(settings: Settings) -> None:
    completed = EventType.SERIES_COMPLETED
    triggers = [
        TriggerSpec(function="infer-cxr", type=completed, filters={"pipeline": "cxr"}),
        TriggerSpec(function="infer-ct", type=completed, filters={"pipeline": "ct"}),
    ]
    cxr, ct, none = _series("cxr"), _series("ct"), _series("none")

    async def scenario(server: Recorder) -> None:
        urls = {"infer-cxr": f"{server.url}/cxr", "infer-ct": f"{server.url}/ct"}
        router, registry = _router(settings, triggers, urls)
        async with router.serving():
            await _publish(settings, cxr, ct, none)

            async def settled() -> bool:
                return (
                    all(
                        _sample(
                            registry, "acme_router_deliveries_total", function=f, outcome="filtered"
                        )
                        == 2
                        for f in ("infer-cxr", "infer-ct")
                    )
                    and len(server.requests) == 2
                )

            await _eventually(settled, "every event routed or skipped")

    with Recorder() as server:
        asyncio.run(scenario(server))
    assert [r.headers["ce-id"] for r in server.to("/cxr")] == [cxr["id"]]
    assert [r.headers["ce-id"] for r in server.to("/ct")] == [ct["id"]]
    assert server.to("/cxr")[0].headers["ce-pipeline"] == "cxr"


def test_a_trigger_keeps_its_own_number_of_deliveries_in_flight(settings: Settings) -> None:
    """Three at a time (the trigger's setting, not the router's default of four): the fourth
    event goes out only once one of the first three is answered."""
    assert settings.router_concurrency == 4
    trigger = TriggerSpec(function="fn", type=EventType.TICK, concurrency=3)
    hold = 2.0
    events = [_tick(sequence) for sequence in range(1, 7)]

    async def scenario(server: Recorder) -> None:
        router, _registry = _router(settings, [trigger], {"fn": server.url})
        async with router.serving():
            await _publish(settings, *events)

            async def all_answered() -> bool:
                return len(server.requests) == len(events)

            await _eventually(all_answered, "every event delivered")
            await asyncio.sleep(hold + 0.5)

    with Recorder(then=Answer(delay=hold)) as server:
        asyncio.run(scenario(server))
    arrivals = sorted(request.at for request in server.requests)
    # the first three were sent together, before any answer came back
    assert arrivals[2] - arrivals[0] < hold
    # every later one waited for a free slot: at most three open at any time
    for index in range(3, len(arrivals)):
        assert arrivals[index] - arrivals[index - 3] >= hold * 0.9, arrivals
    assert sorted(r.headers["ce-id"] for r in server.requests) == sorted(e["id"] for e in events)


class RestartingActivator:
    """Runs a real functions-framework process; starts a new one when it has died."""

    def __init__(self, source: Path, env: dict[str, str], log: Path) -> None:
        self.source = source
        self.env = env
        self.log = log
        self.processes: list[subprocess.Popen[bytes]] = []
        self.url = ""

    @contextlib.asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[str]:
        if not self.processes or self.processes[-1].poll() is not None:
            await self._start()
        yield self.url

    async def _start(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        argv = [
            str(Path(sys.executable).parent / "functions-framework"),
            f"--source={self.source / 'main.py'}",
            "--target=handler",
            "--signature-type=cloudevent",
            "--host=127.0.0.1",
            f"--port={port}",
        ]
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)
        self.url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    await client.get(self.url)
                    return
                await asyncio.sleep(0.05)
        raise AssertionError(f"functions-framework did not start; see {self.log}")

    def kill_current(self) -> None:
        os.killpg(self.processes[-1].pid, signal.SIGKILL)
        self.processes[-1].wait(10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@pytest.fixture
def record_once(settings: Settings, tmp_path: Path) -> Iterator[RestartingActivator]:
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE deliveries (n serial PRIMARY KEY, event_id text NOT NULL)")
        conn.execute("CREATE TABLE effects (event_id text PRIMARY KEY)")
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "RECORD_DATABASE_URL": settings.database_url,
        "RECORD_MARKER_DIR": str(markers),
    }
    activator = RestartingActivator(RECORD_ONCE, env, tmp_path / "function.log")
    try:
        yield activator
    finally:
        activator.stop()


def test_a_function_killed_mid_request_gets_the_event_again_and_acts_once(
    settings: Settings, record_once: RestartingActivator, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    trigger = TriggerSpec(function="record", type=EventType.TICK, backoff_base=0.2)
    event = _tick()
    marker = tmp_path / "markers" / str(event["id"])

    def rows(table: str) -> int:
        with psycopg.connect(str(settings.database_url)) as conn:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            count = conn.execute(query).fetchone()
        return int(count[0]) if count else 0

    async def scenario() -> None:
        router = Router(
            settings, [trigger], record_once, tokens=SIGNER, registry=CollectorRegistry()
        )
        async with router.serving():
            await _publish(settings, event)

            async def hanging() -> bool:
                return marker.exists()

            await _eventually(hanging, "the first delivery to hang")
            record_once.kill_current()

            async def redelivered() -> bool:
                return await asyncio.to_thread(rows, "deliveries") == 2

            await _eventually(redelivered, "the redelivery")
            await asyncio.sleep(1.0)

    asyncio.run(scenario())
    assert len(record_once.processes) == 2
    assert rows("deliveries") == 2
    assert rows("effects") == 1
