"""The project's exceptions, all derived from :class:`AcmeError`.

::

    AcmeError
    ├── ConfigError          a setting is wrong (names the ACME_* variable)
    ├── ServerError          an embedded or external server failed to start or answer
    ├── EventError           a CloudEvent or bucket notification is malformed
    ├── StorageError         object storage refused an operation
    ├── DatabaseError        PostgreSQL refused an operation or a migration failed
    └── BusError             publishing to NATS JetStream or K_SINK failed
"""

from __future__ import annotations


class AcmeError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(AcmeError):
    """A setting is wrong. The message names the environment variable and what was expected."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {message}")


class ServerError(AcmeError):
    """A server (embedded or external) could not be started or did not answer."""

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        super().__init__(f"{server}: {message}")


class EventError(AcmeError):
    """A CloudEvent or a bucket notification is malformed; the message says which field."""


class StorageError(AcmeError):
    """Object storage refused an operation."""


class DatabaseError(AcmeError):
    """PostgreSQL refused an operation, or a migration could not be applied."""


class BusError(AcmeError):
    """An event could not be published."""
