"""Pick the bus the settings call for."""

from __future__ import annotations

from acme.auth import sink_tokens
from acme.bus._http import HttpSinkBus
from acme.bus._nats import NatsBus
from acme.bus._protocol import Bus
from acme.settings import Settings


def make_bus(settings: Settings, *, name: str = "acme") -> Bus:
    """``HttpSinkBus`` when ``K_SINK`` is set (Knative SinkBinding), else ``NatsBus``.

    Towards ``K_SINK`` the sender authenticates with ``ACME_EVENTS_TOKEN_FILE`` (the token
    Knative mounts for a SinkBinding, ``/oidc/token``), else a token signed with the delivery
    key for ``ACME_EVENTS_SINK_AUDIENCE``.
    """
    if settings.k_sink:
        tokens, audience = sink_tokens(settings, subject=name)
        return HttpSinkBus(settings.k_sink, tokens=tokens, audience=audience)
    return NatsBus(settings, name=name)
