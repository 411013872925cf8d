"""The embedded stack: NATS (JetStream), PostgreSQL, Redis and SeaweedFS as real servers.

``EmbeddedStack(settings).start()`` starts every server whose ``ACME_*_URL`` is unset, each
on a free (or the configured) loopback port with its data under ``ACME_HOME``, probes the
configured external ones, waits until all are healthy and returns the settings with every
URL filled in. ``stop()`` shuts them down and leaves no process behind.

``revive()`` is the supervisor's step (``acme up`` calls it twice a second): a server that
exited is started again with the same command line, so on the same ports and with the same
data, and clients reconnect to it as they would after a network blip. One that keeps dying
is started again after a growing delay (0.5 s doubling, at most 30 s). One that runs but cannot
bind a port of its own (another process took it while the server was down) is asked to stop
and started on its client port and new other ports. Its restarts are
recorded in the state file (``acme status``). Call it from the thread that started the
stack: a server dies with the thread that started it (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO
from urllib.parse import urlsplit

from acme.errors import ConfigError, ServerError
from acme.settings import Settings, env_name
from acme.stack.health import ProbeFailure, redact
from acme.stack.ports import claim_port, held_ports
from acme.stack.servers.base import EmbeddedServer, Launch
from acme.stack.servers.nats import NatsServer
from acme.stack.servers.postgres import PostgresServer
from acme.stack.servers.redis import RedisServer
from acme.stack.servers.seaweedfs import SeaweedfsServer, webhook_url
from acme.stack.state import ServerState, StackState, clear_state, read_state, write_state

_POLL_SECONDS = 0.2
_LAUNCH_ATTEMPTS = 3
_LISTEN_GRACE = 10.0
"""How long a server that answers may take to bind the rest of its ports."""
_STABLE_SECONDS = 30.0
"""A server that ran this long before exiting is started again at once."""
_MAX_DELAY = 30.0


@dataclass(frozen=True)
class Revival:
    """A server :meth:`EmbeddedStack.revive` started again: it had exited with
    ``exit_code``, or it ran without ``lost_ports`` (ports of its own it could not bind)."""

    name: str
    exit_code: int | None
    restarts: int
    lost_ports: tuple[int, ...] = ()


@dataclass
class _Watch:
    started: float
    failures: int = 0
    due: float | None = None
    listening: bool = True
    """It listens on every port it was given (checked after each restart)."""
    answered: float | None = None
    lost: tuple[int, ...] = ()
    """Ports it could not bind: asked to stop, to be started on new ones."""


class _EarlyExit(ServerError):
    """A server exited while starting (often: a port it was given was taken meanwhile)."""


class _PortLost(_EarlyExit):
    """A server runs and answers but cannot bind a port it was given: another socket took
    it after it was chosen (``weed mini`` then runs on without that gRPC listener)."""


class EmbeddedStack:
    """Start, health-check and stop the platform's servers. Use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        *,
        servers: Callable[[str], list[EmbeddedServer]] | None = None,
    ) -> None:
        """``servers`` (tests) builds the server adapters from the webhook URL."""
        self.settings = settings
        self._servers = servers
        self.home = settings.home.resolve()
        self._launches: dict[str, Launch] = {}
        self._adapters: dict[str, EmbeddedServer] = {}
        self._watches: dict[str, _Watch] = {}
        self._lock: IO[str] | None = None
        self.state: StackState | None = None

    def __enter__(self) -> Settings:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> Settings:
        """Start what is not configured, probe what is; return settings with all URLs set."""
        started = time.monotonic()
        self._prepare_home()
        webhook_port = claim_port(
            self.settings.host, self.settings.webhook_port, "ACME_WEBHOOK_PORT"
        )
        webhook = webhook_url(self.settings, webhook_port)
        servers = self._servers(webhook) if self._servers else self._default_servers(webhook)
        try:
            urls = self._start_all(servers)
        except BaseException:
            self.stop()
            raise
        self.state = StackState(
            pid=os.getpid(),
            started_at=datetime.now(UTC),
            webhook_url=webhook,
            ready_seconds=round(time.monotonic() - started, 3),
            servers={
                server.name: ServerState(
                    name=server.name,
                    url=urls[server.name],
                    managed=server.name in self._launches,
                    pid=self._launches[server.name].process.pid
                    if server.name in self._launches
                    else None,
                    log=str(self._launches[server.name].process.log_path)
                    if server.name in self._launches
                    else None,
                )
                for server in servers
            },
        )
        write_state(self.home, self.state)
        began = time.monotonic()
        self._watches = {name: _Watch(started=began) for name in self._launches}
        return self.settings.model_copy(
            update={server.url_field: urls[server.name] for server in servers}
        )

    def revive(self, now: float | None = None) -> list[Revival]:
        """Start again every server that exited (see the module docstring)."""
        clock = time.monotonic() if now is None else now
        revived = []
        for name, launch in list(self._launches.items()):
            watch = self._watches.setdefault(name, _Watch(started=-_STABLE_SECONDS))
            code = launch.process.exit_code()
            if code is None:
                if not watch.lost:
                    watch.lost = self._lost_ports(launch, watch, clock)
                    if watch.lost:  # without blocking: started anew once it has exited
                        launch.process.request_stop()
                continue
            if watch.due is None:
                ran = clock - watch.started
                watch.failures = 0 if ran >= _STABLE_SECONDS else watch.failures + 1
                delay = min(0.5 * 2 ** (watch.failures - 1), _MAX_DELAY) if watch.failures else 0
                watch.due = clock + delay
            if clock < watch.due:
                continue
            lost = watch.lost
            if lost:  # on its client port and new other ports, with its data
                self._launch(self._adapters[name], urlsplit(launch.url).port)
                launch = self._launches[name]
            else:
                launch.process.start()
            watch.started, watch.due, watch.lost = clock, None, ()
            watch.listening, watch.answered = not launch.listeners, None
            restarts = self._restarted(name, launch)
            revived.append(Revival(name, None if lost else code, restarts, lost))
        return revived

    def _lost_ports(self, launch: Launch, watch: _Watch, clock: float) -> tuple[int, ...]:
        """The ports a restarted server could not bind (:func:`_unbound_and_lost`), counting
        its grace from when it listens on its client port."""
        if watch.listening:
            return ()
        listening = launch.process.listening_ports()
        if urlsplit(launch.url).port in listening:
            watch.answered = watch.answered or clock
        unbound, lost = _unbound_and_lost(launch, listening, watch.answered, clock)
        watch.listening = not unbound
        return lost

    def _restarted(self, name: str, launch: Launch) -> int:
        assert self.state is not None
        server = self.state.servers[name]
        server = server.model_copy(update={"restarts": server.restarts + 1,
                                           "pid": launch.process.pid})  # fmt: skip
        self.state = self.state.model_copy(update={"servers": {**self.state.servers, name: server}})
        current = read_state(self.home)  # keep what others added (gateway, receiver)
        if current is not None and current.pid == self.state.pid:
            self.state = self.state.model_copy(
                update={"gateway_url": current.gateway_url, "receiver": current.receiver}
            )
        write_state(self.home, self.state)
        return server.restarts

    def stop(self) -> dict[str, float]:
        """Stop every server this stack started, all at once (their clients are gone by then);
        idempotent. The seconds each took, by name."""
        names = list(reversed(list(self._launches)))
        launches = [self._launches.pop(name) for name in names]
        took: dict[str, float] = {}
        if launches:

            def stop_one(launch: Launch) -> float:
                began = time.monotonic()
                launch.process.stop()
                return time.monotonic() - began

            with ThreadPoolExecutor(max_workers=len(launches)) as pool:
                took = dict(zip(names, pool.map(stop_one, launches), strict=True))
        if self._lock is not None:
            clear_state(self.home)
            self._lock.close()
            self._lock = None
        return took

    def _default_servers(self, webhook: str) -> list[EmbeddedServer]:
        return [
            NatsServer(),
            PostgresServer(),
            RedisServer(),
            SeaweedfsServer(self.settings, webhook),
        ]

    def _prepare_home(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            probe = self.home / ".write-test"
            probe.write_text("ok")
            probe.unlink()
            lock = (self.home / "stack.lock").open("a+")
        except OSError as exc:
            raise ConfigError(
                "ACME_HOME", f"{self.home} is not a writable folder ({exc.strerror})"
            ) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise ConfigError(
                "ACME_HOME", f"{self.home} is in use by a running stack (pid {holder})"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock

    def _start_all(self, servers: list[EmbeddedServer]) -> dict[str, str]:
        timeout = self.settings.startup_timeout
        # a configured port that is taken fails before anything starts
        checked = {
            s.name: self._claim(s)
            for s in servers
            if getattr(self.settings, s.url_field) is None and getattr(self.settings, s.port_field)
        }
        self._adapters = {server.name: server for server in servers}
        urls: dict[str, str] = {}
        for server in servers:
            configured: str | None = getattr(self.settings, server.url_field)
            urls[server.name] = configured or self._launch(server, checked.get(server.name))
        pending = list(servers)
        for attempt in range(1, _LAUNCH_ATTEMPTS + 1):
            # Launch on this thread, wait on others: PR_SET_PDEATHSIG follows the thread
            # that started a child, so children must not be started by short-lived threads.
            with ThreadPoolExecutor(max_workers=len(pending)) as pool:
                futures = {s.name: pool.submit(self._wait_healthy, s, urls[s.name], timeout)
                           for s in pending}  # fmt: skip
            exited = [s for s in pending if isinstance(futures[s.name].exception(), _EarlyExit)]
            for server in pending:
                error = futures[server.name].exception()
                if error is not None and not isinstance(error, _EarlyExit):
                    raise error
            # a configured port is retried only when the server held it (a lost other port)
            retryable = all(
                getattr(self.settings, s.port_field) == 0
                or isinstance(futures[s.name].exception(), _PortLost)
                for s in exited
            )
            if exited and (attempt == _LAUNCH_ATTEMPTS or not retryable):
                raise futures[exited[0].name].exception() or AssertionError("unreachable")
            for server in exited:
                # Most likely a free port was taken by another program before the server
                # bound it: start it again on new ports.
                self._launches.pop(server.name).process.stop()
                urls[server.name] = self._launch(server)
            pending = exited
            if not pending:
                break
        for server in servers:
            if server.name in self._launches:
                server.ready(urls[server.name])
        return urls

    def _claim(self, server: EmbeddedServer) -> int:
        """The configured port of ``server`` when it is free (a free one when it is 0)."""
        port_field = server.port_field
        return claim_port(
            self.settings.host, getattr(self.settings, port_field), env_name(port_field)
        )

    def _launch(self, server: EmbeddedServer, port: int | None = None) -> str:
        """Start ``server`` on ``port`` (already claimed), else on the port it claims now."""
        launch = server.launch(self.settings, self.home / server.name, port or self._claim(server))
        self._launches[server.name] = launch
        return launch.url

    def _wait_healthy(self, server: EmbeddedServer, url: str, timeout: float) -> None:
        launch = self._launches.get(server.name)
        if launch is None:  # an external server: one probe, a clear error naming the setting
            try:
                server.probe(url, min(timeout, 5.0))
            except ProbeFailure as exc:
                raise ConfigError(
                    env_name(server.url_field), f"{redact(url)}: {exc.kind}: {exc.detail}"
                ) from None
            return
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        answered: float | None = None
        while time.monotonic() < deadline:
            code = launch.process.exit_code()
            if code is not None:
                raise _EarlyExit(
                    server.name,
                    f"exited with code {code} during start; log {launch.process.log_path}:\n"
                    + launch.process.log_tail(),
                )
            try:
                server.probe(url, 2.0)
            except ProbeFailure as exc:
                last = exc.detail
            else:
                answered = answered or time.monotonic()
                listening = launch.process.listening_ports()
                unbound, lost = _unbound_and_lost(launch, listening, answered, time.monotonic())
                if not unbound:
                    return
                last = f"answers, but does not listen yet on ports {sorted(unbound)}"
                if lost:
                    raise _PortLost(
                        server.name,
                        f"answers, but cannot listen on ports {list(lost)} (taken by another "
                        f"process, or still unbound {_LISTEN_GRACE:.0f}s after its first "
                        f"answer); log {launch.process.log_path}",
                    )
            time.sleep(_POLL_SECONDS)
        if answered is not None:
            raise _PortLost(server.name, f"{last} after {timeout:.0f}s")
        raise ServerError(
            server.name,
            f"not healthy after {timeout:.0f}s (ACME_STARTUP_TIMEOUT): {last}; "
            f"log {launch.process.log_path}",
        )


def _unbound_and_lost(
    launch: Launch, listening: set[int], answered: float | None, now: float
) -> tuple[set[int], tuple[int, ...]]:
    """The ports ``launch`` was given that its process does not listen on, and those of them
    it will not get: held by another process, or all of them once it answered
    :data:`_LISTEN_GRACE` seconds ago (``weed mini`` runs on without a gRPC port it lost)."""
    unbound = set(launch.listeners) - listening
    if not unbound:
        return unbound, ()
    held = held_ports(unbound, launch.process.pid)
    waited = answered is not None and now - answered > _LISTEN_GRACE
    return unbound, tuple(sorted(held or unbound)) if held or waited else ()
