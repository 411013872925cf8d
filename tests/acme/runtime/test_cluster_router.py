"""The cluster router: the real router, fixed addresses, its own key, health and metrics.

Against the test stack's NATS JetStream and a real HTTP server standing in for a Knative
Service: a published event arrives at the function's address, signed so that a function
configured as the generated manifests configure it accepts it, and is retried on a 503.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry

from acme.auth import DeliveryVerifier, Unauthenticated
from acme.bus import NatsBus
from acme.cli.main import cli
from acme.errors import ConfigError
from acme.events.cloudevents import new_event
from acme.events.models import Tick
from acme.events.types import EventType
from acme.runtime.cluster_router import SUBJECT, FixedAddresses, cluster_router, serve
from acme.runtime.functions import UnknownFunction
from acme.runtime.stackfile import Stack, load_stack
from acme.settings import Settings, load_settings
from acme.stack.ports import free_port

STACK = """\
version: 1.0
provider: {name: openfaas}
functions:
  recorder:
    lang: python3-functions-framework
    handler: ./recorder
    image: acme-test/recorder:dev
    annotations:
      com.acme.signature: cloudevent
      com.acme.trigger.tick: "type=org.acme.imaging.tick"
      com.acme.trigger.tick.retry: "2"
      com.acme.trigger.tick.backoff: 100ms
  other:
    lang: python3-functions-framework
    handler: ./other
    image: acme-test/other:dev
    annotations:
      com.acme.signature: cloudevent
      com.acme.trigger.tick: "type=org.acme.imaging.tick"
"""


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


class Function:
    """An HTTP server on a thread standing in for the function: 503 first, then 204."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                owner.seen.append(Seen(self.path, dict(self.headers)))
                self.send_response(503 if len(owner.seen) == 1 else 204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture
def function() -> Iterator[Function]:
    serving = Function()
    serving.thread.start()
    yield serving
    serving.server.shutdown()
    serving.server.server_close()


def _stack(tmp_path: Path) -> Stack:
    path = tmp_path / "stack.yml"
    path.write_text(STACK)
    return load_stack(path)


def _keys(tmp_path: Path) -> Path:
    """The key pair as the operator makes it for the cluster: acme render delivery-key."""
    result = CliRunner().invoke(cli, ["render", "delivery-key", "--out", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    return tmp_path / "keys"


def test_events_reach_the_function_address_signed_for_it_and_are_retried(
    settings: Settings, tmp_path: Path, function: Function
) -> None:
    keys = _keys(tmp_path)
    port = free_port("127.0.0.1")
    routing = settings.model_copy(
        update={
            "functions": "recorder",
            "events_issuer": "acme-router",
            "events_signing_key": keys / "events-key.json",
            "router_function_url": f"http://127.0.0.1:{function.port}/fn/{{name}}",
            "router_port": port,
        }
    )
    health: list[int] = []
    metrics: list[str] = []

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(routing, _stack(tmp_path), stop))
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    answer = await client.get(f"http://127.0.0.1:{port}/healthz")
                except httpx.ConnectError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    health.append(200)
                    break
                await asyncio.sleep(0.05)
            tick = new_event(
                EventType.TICK, Tick(at=datetime.now(UTC), sequence=7), source="/tests/cluster"
            )
            bus = NatsBus(settings, name="test")
            await asyncio.to_thread(bus.publish, tick)
            bus.close()
            for _ in range(200):
                if len(function.seen) >= 2:
                    break
                await asyncio.sleep(0.05)
            metrics.append((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
        stop.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(scenario())
    assert health == [200]
    assert [seen.path for seen in function.seen] == ["/fn/recorder", "/fn/recorder"]
    assert [seen.headers["Acme-Delivery-Attempt"] for seen in function.seen] == ["1", "2"]
    assert {seen.headers["Acme-Delivery-Attempts"] for seen in function.seen} == {"3"}
    assert 'acme_router_retries_total{function="recorder"} 1.0' in metrics[0]
    # the function's side, configured as infra/knative/router/events.yaml configures it
    receiving = settings.model_copy(
        update={
            "events_issuer": "acme-router",
            "events_subjects": SUBJECT,
            "events_jwks_file": keys / "events-jwks.json",
        }
    )
    verifier = DeliveryVerifier.from_settings(receiving, "recorder")
    for seen in function.seen:
        claims = verifier.verify(seen.headers["Authorization"])
        assert claims["sub"] == SUBJECT and claims["aud"] == "acme/functions/recorder"
    with pytest.raises(Unauthenticated):  # another function's audience is refused
        DeliveryVerifier.from_settings(receiving, "other").verify(
            function.seen[0].headers["Authorization"]
        )


def test_the_router_needs_the_function_address(settings: Settings, tmp_path: Path) -> None:
    keys = _keys(tmp_path)
    unset = settings.model_copy(update={"events_signing_key": keys / "events-key.json"})
    with pytest.raises(ConfigError, match="ACME_ROUTER_FUNCTION_URL"):
        cluster_router(unset, _stack(tmp_path), CollectorRegistry())
    unknown = unset.model_copy(
        update={"router_function_url": "http://{name}.acme.svc", "functions": "recorder,nope"}
    )
    with pytest.raises(ConfigError, match=r"ACME_FUNCTIONS: not in .*: nope"):
        cluster_router(unknown, _stack(tmp_path), CollectorRegistry())


def test_fixed_addresses_fill_in_the_name_and_know_only_the_routed_functions() -> None:
    addresses = FixedAddresses("http://{name}.acme.svc.cluster.local", ["infer-cxr"])
    assert addresses.url("infer-cxr") == "http://infer-cxr.acme.svc.cluster.local"
    with pytest.raises(UnknownFunction):
        addresses.url("report")


def test_a_function_url_without_the_name_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"ACME_ROUTER_FUNCTION_URL: .*\{name\}"):
        load_settings(router_function_url="http://functions.acme.svc")
