"""The running stack's state file (``<home>/stack.json``): who runs it and where each server is.

Other commands (``acme status``, ``acme send``...) read it to reach the servers that
``acme up`` started. It holds the embedded PostgreSQL password, so it is written mode 0600.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from acme.settings import Settings
from acme.stack.process import is_alive

URL_FIELDS = {"nats": "nats_url", "postgres": "database_url", "redis": "redis_url", "s3": "s3_url"}
"""Each server's name in the state file -> the setting holding its URL."""


class ServerState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    managed: bool
    pid: int | None = None
    log: str | None = None
    restarts: int = 0
    """Times the supervisor of ``acme up`` started the server again after it exited."""


class ReceiverState(BaseModel):
    """Where the DICOM receiver of a running ``acme up`` listens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ae_title: str
    host: str
    port: int


class StackState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pid: int
    started_at: datetime
    servers: dict[str, ServerState]
    webhook_url: str
    ready_seconds: float
    gateway_url: str | None = None
    receiver: ReceiverState | None = None

    def is_running(self) -> bool:
        """True when the ``acme up`` that wrote this file is still alive."""
        return is_alive(self.pid)


def state_path(home: Path) -> Path:
    return home / "stack.json"


def write_state(home: Path, state: StackState) -> None:
    path = state_path(home)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(state.model_dump_json(indent=2))
    tmp.replace(path)


def read_state(home: Path) -> StackState | None:
    path = state_path(home)
    if not path.exists():
        return None
    return StackState.model_validate_json(path.read_text())


def record_gateway(home: Path, url: str) -> None:
    """Add the gateway's URL to the running stack's state (once the runtime listens)."""
    state = read_state(home)
    if state is not None:
        write_state(home, state.model_copy(update={"gateway_url": url}))


def record_receiver(home: Path, receiver: ReceiverState) -> None:
    """Add the DICOM receiver's address to the running stack's state."""
    state = read_state(home)
    if state is not None:
        write_state(home, state.model_copy(update={"receiver": receiver}))


def clear_state(home: Path) -> None:
    state_path(home).unlink(missing_ok=True)


def connect_settings(settings: Settings) -> Settings:
    """``settings`` with each unset server URL taken from the running stack's state file."""
    state = read_state(settings.home.resolve())
    if state is None or not state.is_running():
        return settings
    updates = {
        field: state.servers[name].url
        for name, field in URL_FIELDS.items()
        if getattr(settings, field) is None and name in state.servers
    }
    return settings.model_copy(update=updates)
