"""Publishing events: one :class:`Bus` interface, one adapter per transport.

``NatsBus`` (JetStream, the default), ``HttpSinkBus`` (``K_SINK``, Knative SinkBinding) and
the test double ``InMemoryBus``; :func:`make_bus` picks one from the settings.
:func:`to_nats_message` / :func:`from_nats_message` define the message format on NATS
(docs/decisions/0003-nats-message-format.md); :func:`ensure_stream` creates the stream.
"""

from acme.bus._factory import make_bus
from acme.bus._http import HttpSinkBus
from acme.bus._memory import InMemoryBus
from acme.bus._nats import NatsBus, connect, ensure_stream, stream_config
from acme.bus._protocol import Bus
from acme.bus._wire import MSG_ID_HEADER, from_nats_message, subject_for, to_nats_message

__all__ = [
    "MSG_ID_HEADER",
    "Bus",
    "HttpSinkBus",
    "InMemoryBus",
    "NatsBus",
    "connect",
    "ensure_stream",
    "from_nats_message",
    "make_bus",
    "stream_config",
    "subject_for",
    "to_nats_message",
]
