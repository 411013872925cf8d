"""One adapter per embedded server; each knows how to launch and probe its program."""

from acme.stack.servers.base import EmbeddedServer, Launch, binary
from acme.stack.servers.nats import NatsServer
from acme.stack.servers.postgres import PostgresServer
from acme.stack.servers.redis import RedisServer
from acme.stack.servers.seaweedfs import SeaweedfsServer

__all__ = [
    "EmbeddedServer",
    "Launch",
    "NatsServer",
    "PostgresServer",
    "RedisServer",
    "SeaweedfsServer",
    "binary",
]
