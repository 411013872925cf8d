"""Pick the bus the settings call for."""

from __future__ import annotations

from acme.bus._http import HttpSinkBus
from acme.bus._nats import NatsBus
from acme.bus._protocol import Bus
from acme.settings import Settings


def make_bus(settings: Settings, *, name: str = "acme") -> Bus:
    """``HttpSinkBus`` when ``K_SINK`` is set (Knative SinkBinding), else ``NatsBus``."""
    if settings.k_sink:
        return HttpSinkBus(settings.k_sink)
    return NatsBus(settings, name=name)
