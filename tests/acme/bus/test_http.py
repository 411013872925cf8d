"""HttpSinkBus against a local threaded HTTP server standing in for K_SINK."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cloudevents.http import CloudEvent

from acme.bus import HttpSinkBus
from acme.errors import BusError
from acme.events import EventType, Tick, new_event

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


def test_posts_binary_mode_cloudevent(sink: Sink) -> None:
    event = _event()
    with HttpSinkBus(sink.url) as bus:
        bus.publish(event)

    [(headers, body)] = sink.received
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
    with HttpSinkBus(sink.url) as bus, pytest.raises(BusError, match="answered HTTP 500"):
        bus.publish(_event())


def test_unreachable_sink_raises(sink: Sink) -> None:
    with (
        HttpSinkBus("http://127.0.0.1:9/", timeout=2) as bus,
        pytest.raises(BusError, match=r"K_SINK http://127\.0\.0\.1:9/ failed: ConnectError"),
    ):
        bus.publish(_event())
