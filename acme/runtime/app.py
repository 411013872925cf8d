"""The runtime: functions, event sources, router and gateway, started and stopped together.

``async with Runtime(settings, stack, ...) as runtime:`` starts the always-on functions and
the platform services (the bucket-events adapter and the tick source, each its own process),
the gateway (``runtime.url``) and the event router; on exit it stops them in the reverse
order: router (no new deliveries), gateway (in-flight requests finish), functions and
services. ``settings`` must hold the URLs of running servers (what
:meth:`acme.stack.EmbeddedStack.start` returns); every process gets them as ``ACME_*``
variables in its own environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import uvicorn
from pydantic import SecretStr

from acme.auth import DeliverySigner, ensure_delivery_key, served_jwks_file
from acme.errors import ConfigError, ServerError
from acme.runtime.forked import Prefork
from acme.runtime.forwarding import Forwarding
from acme.runtime.functions import (
    FunctionLaunch,
    FunctionOutput,
    FunctionPool,
    ProcessLaunch,
    ServiceLaunch,
)
from acme.runtime.gateway import Gateway, ServerProbe
from acme.runtime.login import WebLogin
from acme.runtime.metrics import RuntimeMetrics
from acme.runtime.router import Router, TriggerSpec
from acme.runtime.stackfile import Stack
from acme.settings import Settings, env_name
from acme.stack.ports import claim_port
from acme.stack.state import ReceiverState, read_state
from acme.stack.status import ServerHealth, stack_health

__all__ = [
    "PrefixedLines",
    "Runtime",
    "function_launches",
    "prefork_log",
    "router_triggers",
    "service_launches",
    "settings_environment",
]


def settings_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as the ``ACME_*`` variables that reproduce them in a child process."""
    env: dict[str, str] = {}
    for field in Settings.model_fields:
        value: object = getattr(settings, field)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Path):
            value = value.resolve()
        env[env_name(field)] = str(value)
    return env


def _base_environment(settings: Settings, inherited: Mapping[str, str]) -> dict[str, str]:
    """``inherited`` without any ``ACME_*``/``K_SINK`` variable, then the settings."""
    base = {k: v for k, v in inherited.items() if not k.startswith("ACME_") and k != "K_SINK"}
    base["PYTHONUNBUFFERED"] = "1"
    base.update(settings_environment(settings))
    return base


def function_launches(
    stack: Stack, settings: Settings, *, inherited: Mapping[str, str], names: Iterable[str]
) -> list[FunctionLaunch]:
    """How to run each of ``names``: its stack.yml entry plus the running stack's settings.

    The environment is ``inherited`` without any ``ACME_*``/``K_SINK`` variable, then the
    settings, then the function's own ``environment`` from the stack file, then ``K_SERVICE``.
    """
    base = _base_environment(settings, inherited)
    launches = []
    for name in names:
        spec = stack.functions[name]
        launches.append(
            FunctionLaunch(
                name=name,
                main=stack.source(name) / "main.py",
                target=spec.annotations.target,
                signature=spec.signature,
                env={**base, **spec.environment, "K_SERVICE": name},
                cwd=stack.path.resolve().parent,
                log_path=settings.home.resolve() / "functions" / f"{name}.log",
                scale_to_zero=spec.scale_to_zero,
                idle_seconds=spec.labels.zero_duration,
            )
        )
    return launches


def service_launches(
    settings: Settings, *, inherited: Mapping[str, str], cwd: Path
) -> list[ServiceLaunch]:
    """The bucket-events adapter, the tick source and (``ACME_DICOM_RECEIVER``) the DICOM
    receiver, as the cluster runs them: processes."""
    env = _base_environment(settings, inherited)
    logs = settings.home.resolve() / "functions"
    modules = [("bucket-events", "acme.runtime.bucket_events"), ("tick", "acme.runtime.tick")]
    if settings.dicom_receiver:
        modules.append(("dicom-receiver", "acme.runtime.dicom_receiver"))
    return [
        ServiceLaunch(
            name=name,
            command=(sys.executable, "-m", module),
            env=env,
            cwd=cwd,
            log_path=logs / f"{name}.log",
        )
        for name, module in modules
    ]


def router_triggers(
    stack: Stack, names: Iterable[str], settings: Settings | None = None
) -> list[TriggerSpec]:
    """The stack file's triggers of ``names`` as the event router takes them.

    Each names the audience its function verifies delivery tokens for: the function's
    ``ACME_EVENTS_AUDIENCE`` (its stack.yml environment, else the settings), else the default.
    """
    return [
        TriggerSpec(
            function=name,
            type=trigger.event_type,
            filters=trigger.attributes,
            attempts=trigger.retry + 1,
            backoff_base=trigger.backoff,
            backoff_max=max(60.0, trigger.backoff),
            timeout=trigger.timeout,
            concurrency=stack.functions[name].in_flight(trigger),
            audience=stack.functions[name].environment.get("ACME_EVENTS_AUDIENCE")
            or (settings.events_audience if settings is not None else None)
            or "",
        )
        for name in names
        for trigger in stack.functions[name].triggers
    ]


def prefork_log(settings: Settings) -> Path:
    return settings.home.resolve() / "functions" / "prefork.log"


class PrefixedLines:
    """A :class:`FunctionOutput` writing ``name | line`` to a stream, one whole line at a time."""

    def __init__(self, stream: TextIO, width: int = 14) -> None:
        self._stream = stream
        self._width = width
        self._lock = threading.Lock()

    def __call__(self, function: str, line: str) -> None:
        with self._lock:
            self._stream.write(f"{function:<{self._width}}| {line}\n")
            self._stream.flush()


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Signals belong to whoever runs the runtime (``acme up``), not to uvicorn."""
        yield


class Runtime:
    """Functions, services, gateway and router of one running platform."""

    def __init__(
        self,
        settings: Settings,
        stack: Stack,
        *,
        output: FunctionOutput,
        inherited_env: Mapping[str, str],
        with_events: bool = True,
        servers: ServerProbe | None = None,
        prefork: Prefork | None = None,
    ) -> None:
        """``with_events=False`` leaves out what needs NATS: router, bucket events, tick.
        ``prefork``: one forked already (:meth:`Prefork.forked`), used where ``ACME_PREFORK``
        is on; otherwise the runtime starts its own."""
        self.settings = settings
        self.stack = stack
        self.skipped = stack.missing()
        chosen = settings.function_names
        if chosen is not None and (unknown := chosen - set(stack.functions)):
            raise ConfigError(
                "ACME_FUNCTIONS", f"not in {stack.path}: {', '.join(sorted(unknown))}"
            )
        self.deployed = [
            name
            for name in stack.functions
            if name not in self.skipped and (chosen is None or name in chosen)
        ]
        self.metrics = RuntimeMetrics()
        launches: list[ProcessLaunch] = [
            *function_launches(stack, settings, inherited=inherited_env, names=self.deployed)
        ]
        self.receiver: ReceiverState | None = None
        if with_events:
            cwd = stack.path.resolve().parent
            services = self._with_receiver_port(settings)
            launches += service_launches(services, inherited=inherited_env, cwd=cwd)
        if not settings.prefork:
            prefork = None
        elif prefork is None:
            prefork = Prefork(
                env=_base_environment(settings, inherited_env),
                cwd=stack.path.resolve().parent,
                log_path=prefork_log(settings),
                on_output=lambda line: output("prefork", line),
            )
        self.pool = FunctionPool(
            launches,
            host=settings.host,
            metrics=self.metrics,
            output=output,
            start_timeout=settings.function_start_timeout,
            prefork=prefork,
        )
        ensure_delivery_key(settings)  # the router and gateway sign with it, functions verify
        tokens = DeliverySigner.from_settings(settings, subject="acme-runtime")
        self.gateway = Gateway(
            self.pool,
            metrics=self.metrics,
            web_dir=settings.web_dir,
            servers=servers if servers is not None else self._probe_servers,
            function_timeout=settings.function_timeout,
            jwks_file=served_jwks_file(settings),
            login=WebLogin(settings),
            forwarding=Forwarding(settings.trusted_networks, tokens),
            ready=lambda: self.ready,
        )
        triggers = router_triggers(stack, self.deployed, settings)
        self.router = (
            Router(settings, triggers, self.pool, tokens=tokens, registry=self.metrics.registry)
            if with_events
            else None
        )
        self.url = ""
        self.ready = False
        """Started, with every service listening: the gateway's /healthz says so (200)."""
        self._exits = contextlib.AsyncExitStack()

    def _with_receiver_port(self, settings: Settings) -> Settings:
        """``settings`` with the DICOM receiver's port chosen (checked free, picked when 0)."""
        if not settings.dicom_receiver:
            return settings
        from acme.dicomnet.receiver import ReceiverConfig  # pynetdicom: only when it runs

        ReceiverConfig.from_settings(settings)  # a bad SOP class or syntax fails here, early
        port = claim_port(settings.dicom_host, settings.dicom_port, "ACME_DICOM_PORT")
        self.receiver = ReceiverState(
            ae_title=settings.dicom_ae_title, host=settings.dicom_host, port=port
        )
        return settings.model_copy(update={"dicom_port": port})

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start functions, services, gateway and router, and wait until the services listen;
        on failure, stop what was started."""
        try:
            await self.pool.start()
            self._exits.push_async_callback(self.pool.stop)
            await self._serve_gateway()
            if self.router is not None:
                await self._exits.enter_async_context(self.router.serving())
                await self._services_listening()
        except BaseException:
            await self._exits.aclose()
            raise
        self.ready = True

    async def _services_listening(self) -> None:
        """Until then the platform is not ready: SeaweedFS drops the notifications it cannot
        post (so an upload would wait for the inbox sweep), and a modality would be refused."""
        limit = self.settings.startup_timeout
        if self.settings.bucket_events_transport == "seaweedfs":
            port = _webhook_port(self.settings)
            await _wait_listening("bucket-events", self.settings.host, port, limit)
        if self.receiver is not None:
            receiver = self.receiver
            await _wait_listening("dicom-receiver", receiver.host, receiver.port, limit)

    async def stop(self) -> None:
        """Stop router, gateway, then functions (the reverse of :meth:`start`)."""
        await self._exits.aclose()

    async def _serve_gateway(self) -> None:
        sock = _listen(self.settings.gateway_host, self.settings.gateway_port)
        config = uvicorn.Config(
            self.gateway.app,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            # uvicorn would otherwise believe X-Forwarded-For from loopback peers: who the
            # client is, the gateway decides (ACME_TRUSTED_PROXIES, acme.clientaddr).
            proxy_headers=False,
            server_header=False,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="acme-gateway")

        async def shut_down() -> None:
            server.should_exit = True
            await asyncio.wait([task])
            sock.close()
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error

        while not server.started:
            if task.done():
                sock.close()
                task.result()  # raises what stopped it, if anything did
                raise ConfigError("ACME_GATEWAY_PORT", "the gateway stopped while starting")
            await asyncio.sleep(0.01)
        self._exits.push_async_callback(shut_down)
        host, port = sock.getsockname()[:2]
        shown = "127.0.0.1" if host == "0.0.0.0" else host
        self.url = f"http://{shown}:{port}"

    async def _probe_servers(self) -> Sequence[ServerHealth]:
        return await asyncio.to_thread(stack_health, self.settings, 2.0)


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            "ACME_GATEWAY_PORT", f"port {port} on {host} is already in use ({exc.strerror})"
        ) from None
    return sock


def _webhook_port(settings: Settings) -> int:
    state = read_state(settings.home.resolve())
    if settings.webhook_port or state is None:
        return settings.webhook_port
    return urlsplit(state.webhook_url).port or 0


async def _wait_listening(name: str, host: str, port: int, limit: float) -> None:
    """Return once something accepts connections on ``port`` (service ``name``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        try:
            _reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise ServerError(name, f"not listening on port {port} after {limit:.0f}s")
