"""SeaweedFS filer webhook -> CloudEvents: an HTTP server on the webhook port.

The embedded stack configures SeaweedFS's webhook notifier to POST every filer event to
``http://<host>:<webhook port>/seaweedfs`` (:mod:`acme.stack.servers.seaweedfs`), with
``Authorization: Bearer`` and the token of ``<home>/auth/webhook-token``; a POST without it is
a ``401``. Each POST is answered ``200`` only after its CloudEvents (zero or one: folders,
multipart parts, deletes give none) are published; ``503`` when publishing failed, so
SeaweedFS retries; ``400`` for a body that is not a filer event (retrying would not help).
"""

from __future__ import annotations

import asyncio
import hmac
import socket
from typing import Final
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from acme.bus import Bus
from acme.errors import BusError, ConfigError, EventError
from acme.events.notifications import from_seaweedfs_webhook
from acme.log import get_logger
from acme.runtime.bucket_events import error_field, publish_all
from acme.settings import Settings
from acme.stack.state import read_state

__all__ = ["WEBHOOK_PATH", "SeaweedfsWebhook", "webhook_address"]

WEBHOOK_PATH: Final = "/seaweedfs"

_logger = get_logger(__name__)


def webhook_address(settings: Settings) -> tuple[str, int]:
    """Where to listen: ``ACME_WEBHOOK_PORT``, else the port the running stack gave SeaweedFS."""
    if settings.webhook_port:
        return settings.host, settings.webhook_port
    state = read_state(settings.home.resolve())
    if state is not None and state.is_running():
        parts = urlsplit(state.webhook_url)
        if parts.hostname and parts.port:
            return parts.hostname, parts.port
    raise ConfigError(
        "ACME_WEBHOOK_PORT",
        "not set, and no running stack in ACME_HOME names the webhook URL (expected a port)",
    )


class SeaweedfsWebhook:
    """The webhook receiver; :meth:`app` is the ASGI app, :meth:`run` serves it."""

    def __init__(
        self, bus: Bus, *, region: str, token: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._bus = bus
        self._expected = f"Bearer {token}".encode()
        self._region = region
        self.host = host
        self.port = port

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(WEBHOOK_PATH, self._receive, methods=["POST"]),
                Route("/healthz", _healthy, methods=["GET"]),
            ]
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Serve on ``host:port`` until ``stop`` is set."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
        except OSError as exc:
            listener.close()
            raise ConfigError(
                "ACME_WEBHOOK_PORT", f"cannot listen on {self.host}:{self.port} ({exc.strerror})"
            ) from None
        config = uvicorn.Config(self.app(), log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            stopping.cancel()
            await serving
            listener.close()

    async def _receive(self, request: Request) -> Response:
        given = request.headers.get("authorization", "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self._expected):
            _logger.warning("webhook POST refused: no valid token")
            return PlainTextResponse("a valid bearer token is required\n", status_code=401)
        body = await request.body()
        try:
            events = from_seaweedfs_webhook(body, default_region=self._region)
        except EventError as exc:
            _logger.warning("webhook body is not a filer event", field=error_field(exc))
            return PlainTextResponse(f"{exc}\n", status_code=400)
        try:
            await asyncio.to_thread(publish_all, self._bus, events)
        except BusError as exc:
            _logger.error("publishing failed; SeaweedFS will retry", error=str(exc))
            return PlainTextResponse("publishing failed, retry later\n", status_code=503)
        return JSONResponse({"published": [str(event["id"]) for event in events]})


async def _healthy(_request: Request) -> Response:
    return PlainTextResponse("ok\n")
