"""HttpSinkBus against a local threaded HTTP server standing in for K_SINK."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent
from delivery import throwaway_signer

from acme.auth import TokenFile
from acme.bus import HttpSinkBus, make_bus
from acme.errors import BusError, ConfigError
from acme.events import EventType, Tick, new_event
from acme.settings import Settings

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Sink:
    url: str
    status: int = 202
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def sink() -> Iterator[Sink]:
    state = Sink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _event() -> CloudEvent:
    return new_event(
        EventType.TICK,
        Tick(at=datetime(2026, 1, 2, tzinfo=UTC), sequence=7),
        source="/acme/tests",
        subject="ticks/a b",
        traceparent=TRACEPARENT,
    )


SIGNER = throwaway_signer()
AUDIENCE = "eventing.knative.dev/broker/acme/default"


def _bus(url: str, **options: float) -> HttpSinkBus:
    return HttpSinkBus(url, tokens=SIGNER, audience=AUDIENCE, **options)


def test_posts_binary_mode_cloudevent_with_a_token_for_the_sinks_audience(sink: Sink) -> None:
    event = _event()
    with _bus(sink.url) as bus:
        bus.publish(event)

    [(headers, body)] = sink.received
    scheme, _, token = headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == AUDIENCE and claims["acme_use"] == "delivery"
    assert headers["ce-id"] == event["id"]
    assert headers["ce-type"] == EventType.TICK
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-source"] == "/acme/tests"
    assert headers["ce-subject"] == "ticks/a%20b"
    assert headers["ce-traceparent"] == TRACEPARENT
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"at": "2026-01-02T00:00:00Z", "sequence": 7}


def test_server_error_raises_with_status(sink: Sink) -> None:
    sink.status = 500
    with _bus(sink.url) as bus, pytest.raises(BusError, match="answered HTTP 500"):
        bus.publish(_event())


def test_unreachable_sink_raises(sink: Sink) -> None:
    with (
        _bus("http://127.0.0.1:9/", timeout=2) as bus,
        pytest.raises(BusError, match=r"K_SINK http://127\.0\.0\.1:9/ failed: ConnectError"),
    ):
        bus.publish(_event())


def test_a_projected_token_file_is_read_for_every_post(sink: Sink, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first.token.value\n")
    with HttpSinkBus(sink.url, tokens=TokenFile(token_file), audience=AUDIENCE) as bus:
        bus.publish(_event())
        token_file.write_text("rotated.token.value")  # the kubelet renews the file
        bus.publish(_event())
    assert [h["authorization"] for h, _ in sink.received] == [
        "Bearer first.token.value", "Bearer rotated.token.value"
    ]  # fmt: skip


def test_k_sink_without_a_way_to_authenticate_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError) as caught:
        make_bus(settings.model_copy(update={"k_sink": "http://broker.example/"}))
    assert caught.value.setting == "ACME_EVENTS_SINK_AUDIENCE"
