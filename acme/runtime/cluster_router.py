"""The event router as its own process: how the cluster deployment delivers events.

``python -m acme.runtime.cluster_router`` runs :class:`~acme.runtime.router.Router` (the same
one ``acme up`` runs: one durable JetStream consumer per trigger, retries, dead letters) for
the triggers of the stack file's functions ``ACME_FUNCTIONS`` (all of them when unset). It
delivers to each function at ``ACME_ROUTER_FUNCTION_URL`` with ``{name}`` replaced (a Knative
Service's cluster-local address, which also wakes a function scaled to zero, or an OpenFaaS
gateway's ``/function/{name}``), every attempt signed with the delivery key
``ACME_EVENTS_SIGNING_KEY`` (sub ``acme-router``) and carrying ``Acme-Delivery-Attempt`` and
``Acme-Delivery-Attempts`` (docs/decisions/0070-cluster-delivery.md). It serves ``/healthz``
(200 once every consumer is set up, 503 before) and ``/metrics`` on ``ACME_ROUTER_PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Iterable
from typing import Final

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from acme.auth import DeliverySigner
from acme.errors import ConfigError
from acme.log import configure_logging, get_logger
from acme.runtime.app import router_triggers
from acme.runtime.functions import UnknownFunction
from acme.runtime.router import Router
from acme.runtime.stackfile import Stack, load_stack
from acme.settings import Settings, load_settings

__all__ = ["SUBJECT", "FixedAddresses", "cluster_router", "main", "serve"]

SUBJECT: Final = "acme-router"
"""``sub`` of the delivery tokens this router signs (functions may require it)."""

_logger = get_logger(__name__)


class FixedAddresses:
    """The :class:`~acme.runtime.functions.Activator` of a cluster: each function at a fixed
    address the platform (Knative, OpenFaaS) keeps reachable and scales."""

    def __init__(self, template: str, names: Iterable[str]) -> None:
        self._template = template
        self._names = frozenset(names)

    def url(self, name: str) -> str:
        if name not in self._names:
            raise UnknownFunction(name, self._names)
        return self._template.replace("{name}", name)

    @contextlib.asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[str]:
        yield self.url(name)


def _chosen(settings: Settings, stack: Stack) -> list[str]:
    chosen = settings.function_names
    if chosen is None:
        return list(stack.functions)
    if unknown := chosen - set(stack.functions):
        raise ConfigError("ACME_FUNCTIONS", f"not in {stack.path}: {', '.join(sorted(unknown))}")
    return [name for name in stack.functions if name in chosen]


def cluster_router(settings: Settings, stack: Stack, registry: CollectorRegistry) -> Router:
    """The router for ``settings`` (which must name ``ACME_ROUTER_FUNCTION_URL``)."""
    if settings.router_function_url is None:
        raise ConfigError(
            "ACME_ROUTER_FUNCTION_URL",
            "the cluster router needs the functions' address, e.g. "
            "http://{name}.acme.svc.cluster.local",
        )
    names = _chosen(settings, stack)
    return Router(
        settings,
        router_triggers(stack, names, settings),
        FixedAddresses(settings.router_function_url, names),
        tokens=DeliverySigner.from_settings(settings, subject=SUBJECT),
        registry=registry,
    )


def _app(registry: CollectorRegistry, ready: asyncio.Event) -> Starlette:
    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ready": ready.is_set()}, status_code=200 if ready.is_set() else 503)

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


async def serve(settings: Settings, stack: Stack, stop: asyncio.Event) -> None:
    """Route events and serve ``/healthz`` and ``/metrics`` until ``stop`` is set."""
    registry = CollectorRegistry()
    router = cluster_router(settings, stack, registry)
    ready = asyncio.Event()
    config = uvicorn.Config(
        _app(registry, ready),
        host="0.0.0.0",  # every address of the pod: the kubelet probes it
        port=settings.router_port,
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    web = asyncio.create_task(server.serve(), name="acme-router-http")
    try:
        async with router.serving():
            ready.set()
            _logger.info("cluster router ready", url=settings.router_function_url)
            await stop.wait()
    finally:
        ready.clear()
        server.should_exit = True
        await asyncio.wait([web])


async def _run(settings: Settings, stack: Stack) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stack, stop)


def main() -> None:
    """Entry point of ``python -m acme.runtime.cluster_router``."""
    settings = load_settings()
    configure_logging(settings, service="router")
    asyncio.run(_run(settings, load_stack(settings.stack_file)))


if __name__ == "__main__":
    main()
