"""Where the servers are and whether they answer (``acme status`` and client commands)."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, ConfigDict

from acme.settings import Settings
from acme.stack.health import (
    ProbeFailure,
    probe_nats,
    probe_postgres,
    probe_redis,
    redact,
    s3_prober,
)
from acme.stack.state import URL_FIELDS, connect_settings, read_state


class ServerHealth(BaseModel):
    """One server as ``acme status --json`` reports it (the URL never carries a password)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str | None
    managed: bool
    healthy: bool
    detail: str
    pid: int | None = None
    probe_ms: float | None = None
    restarts: int = 0
    """Times ``acme up`` started the (embedded) server again after it exited."""
    ae_title: str | None = None
    """The DICOM receiver's AE title (only on its row)."""
    port: int | None = None
    """The DICOM receiver's port (only on its row)."""


def stack_health(settings: Settings, timeout: float = 3.0) -> list[ServerHealth]:
    """Probe the four servers (configured URLs first, else those of the running stack)."""
    state = read_state(settings.home.resolve())
    running = state is not None and state.is_running()
    resolved = connect_settings(settings)
    s3 = s3_prober(
        settings.s3_access_key, settings.s3_secret_key.get_secret_value(), settings.s3_region
    )
    probes = {"nats": probe_nats, "postgres": probe_postgres, "redis": probe_redis, "s3": s3}

    def check(name: str) -> ServerHealth:
        url: str | None = getattr(resolved, URL_FIELDS[name])
        known = state.servers.get(name) if (state is not None and running) else None
        managed = known.managed if known is not None else False
        pid = known.pid if known is not None else None
        restarts = known.restarts if known is not None else 0
        if url is None:
            return ServerHealth(
                name=name, url=None, managed=False, healthy=False, detail="not running"
            )
        target = url
        if name == "postgres" and managed:
            target = url.rsplit("/", 1)[0] + "/postgres"
        began = time.monotonic()
        try:
            probes[name](target, timeout)
        except ProbeFailure as exc:
            return ServerHealth(
                name=name, url=redact(url), managed=managed, healthy=False,
                detail=f"{exc.kind}: {exc.detail}", pid=pid, restarts=restarts,
            )  # fmt: skip
        return ServerHealth(
            name=name, url=redact(url), managed=managed, healthy=True, detail="ok", pid=pid,
            probe_ms=round((time.monotonic() - began) * 1000, 1), restarts=restarts,
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        return list(pool.map(check, list(probes)))


RECEIVER = "dicom-receiver"


def receiver_health(settings: Settings, timeout: float = 3.0) -> ServerHealth | None:
    """The DICOM receiver of the running ``acme up`` (None when ``ACME_DICOM_RECEIVER`` is
    off): listening means it accepts connections on its port."""
    if not settings.dicom_receiver:
        return None
    state = read_state(settings.home.resolve())
    known = state.receiver if state is not None and state.is_running() else None
    if known is None:
        return ServerHealth(
            name=RECEIVER, url=None, managed=True, healthy=False, detail="not running",
            ae_title=settings.dicom_ae_title, port=settings.dicom_port or None,
        )  # fmt: skip
    began = time.monotonic()
    address = f"{known.host}:{known.port}"
    try:
        with socket.create_connection((known.host, known.port), timeout=timeout):
            pass
    except OSError as exc:
        return ServerHealth(
            name=RECEIVER, url=address, managed=True, healthy=False,
            detail=f"unreachable: {exc.strerror or type(exc).__name__}",
            ae_title=known.ae_title, port=known.port,
        )  # fmt: skip
    return ServerHealth(
        name=RECEIVER, url=address, managed=True, healthy=True, detail="listening",
        probe_ms=round((time.monotonic() - began) * 1000, 1),
        ae_title=known.ae_title, port=known.port,
    )  # fmt: skip
