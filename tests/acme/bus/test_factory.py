"""make_bus picks the adapter from the settings."""

from __future__ import annotations

import acme.bus
from acme.auth import ensure_delivery_key
from acme.bus import HttpSinkBus, NatsBus, make_bus
from acme.settings import Settings


def test_k_sink_selects_http(settings: Settings) -> None:
    ensure_delivery_key(settings)
    update = {"k_sink": "http://127.0.0.1:9/", "events_sink_audience": "broker"}
    bus = make_bus(settings.model_copy(update=update))
    try:
        assert isinstance(bus, HttpSinkBus)
    finally:
        bus.close()


def test_default_is_nats(settings: Settings) -> None:
    bus = make_bus(settings)
    try:
        assert isinstance(bus, NatsBus)
    finally:
        bus.close()


def test_public_names() -> None:
    assert sorted(acme.bus.__all__) == [
        "Bus",
        "HttpSinkBus",
        "InMemoryBus",
        "MSG_ID_HEADER",
        "NatsBus",
        "connect",
        "ensure_stream",
        "from_nats_message",
        "make_bus",
        "stream_config",
        "subject_for",
        "to_nats_message",
    ]
