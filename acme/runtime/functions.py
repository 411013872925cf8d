"""Function processes: the pool that starts, supervises and scales functions to zero.

Each function runs as its own process (:mod:`acme.runtime.serve`) on a free loopback port,
forked from the prefork (:mod:`acme.runtime.prefork`) where it can be, else exec'd. An
always-on function starts with the pool and is restarted with exponential backoff whenever it
exits. A scale-to-zero function has no process until :meth:`FunctionPool.lease` needs it;
concurrent leases share one start, and the process is stopped once no lease has been open for
its ``com.openfaas.scale.zero-duration``. Everything runs on the event loop's thread, so the
children (which die with the thread that spawned them, or with the prefork, which dies with
that thread) live exactly as long as the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from acme.errors import AcmeError
from acme.runtime.forked import ForkedProcess, Prefork, PreforkUnavailable
from acme.runtime.metrics import RuntimeMetrics
from acme.stack.ports import free_port
from acme.stack.process import ManagedProcess

__all__ = [
    "Activator",
    "FunctionLaunch",
    "FunctionOutput",
    "FunctionPool",
    "FunctionStartError",
    "FunctionStartTimeout",
    "FunctionStatus",
    "ProcessLaunch",
    "ServiceLaunch",
    "UnknownFunction",
]

State = Literal["stopped", "starting", "ready", "backoff", "stopping"]
_PROBE_INTERVAL = 0.02
_STABLE_SECONDS = 30.0
_MAX_BACKOFF = 30.0


class Activator(Protocol):
    """Gives callers a running function's base URL for the duration of a lease."""

    def lease(self, name: str) -> contextlib.AbstractAsyncContextManager[str]:
        """Start ``name`` if needed, wait until it is ready, yield ``"http://127.0.0.1:PORT"``."""
        ...


class FunctionOutput(Protocol):
    """Receives each output line of a function (called from reader threads too)."""

    def __call__(self, function: str, line: str) -> None: ...


class UnknownFunction(AcmeError):
    """No function of that name is deployed."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        super().__init__(f"no function named {name!r} (deployed: {', '.join(sorted(known))})")


class FunctionStartError(AcmeError):
    """A function's process could not be started or exited before it answered."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"function {name!r} {message}")


class FunctionStartTimeout(FunctionStartError):
    """A function did not answer within ``ACME_FUNCTION_START_TIMEOUT``."""


@dataclass(frozen=True, kw_only=True)
class ProcessLaunch:
    """How to run one supervised process: its environment, folder and log file."""

    name: str
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    scale_to_zero: bool = False
    idle_seconds: float = 0.0
    stop_signal: signal.Signals = signal.SIGTERM

    def argv(self, host: str, port: int) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class FunctionLaunch(ProcessLaunch):
    """A function: ``main.py``'s ``target`` served on a free port by :mod:`acme.runtime.serve`
    (functions-framework's app in one waitress process)."""

    main: Path
    target: str
    signature: Literal["cloudevent", "http"]
    # A function is stopped once nobody holds a lease on it (no request in flight): SIGINT
    # ends waitress's loop at once, rather than waiting on idle keep-alive connections.
    stop_signal: signal.Signals = signal.SIGINT

    def argv(self, host: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "acme.runtime.serve", "--source", str(self.main),
            "--target", self.target, "--signature-type", self.signature,
            "--host", host, "--port", str(port),
        ]  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ServiceLaunch(ProcessLaunch):
    """A platform process (the bucket-events adapter, the tick source): always on, never
    leased, counted as ready once started."""

    command: tuple[str, ...]

    def argv(self, host: str, port: int) -> list[str]:
        return list(self.command)


class FunctionStatus(BaseModel):
    """One function as ``/healthz`` reports it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["function", "service"]
    signature: str | None
    scale_to_zero: bool
    state: State
    pid: int | None
    url: str | None
    in_flight: int
    starts: int
    crashes: int
    last_exit_code: int | None
    cold_start_seconds: float | None


class _Supervisor:
    """At most one process of one function: starts, watches, restarts and stops it."""

    def __init__(
        self,
        launch: ProcessLaunch,
        *,
        host: str,
        metrics: RuntimeMetrics,
        output: FunctionOutput,
        start_timeout: float,
        prefork: Prefork | None,
        blocking: Executor,
    ) -> None:
        self.launch = launch
        self.prefork = prefork
        self.blocking = blocking
        """Where this supervisor's blocking calls run (a fork through the prefork, a stop)."""
        self.function = launch if isinstance(launch, FunctionLaunch) else None
        self.host = host
        self.metrics = metrics
        self.output = output
        self.start_timeout = start_timeout
        self.state: State = "stopped"
        self.in_flight = 0
        self.starts = 0
        self.crashes = 0
        self.last_exit_code: int | None = None
        self.cold_start_seconds: float | None = None
        self.closed = False
        self._url: str | None = None
        self._process: ManagedProcess | ForkedProcess | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._next: asyncio.Future[str] | None = None
        self._idle: asyncio.TimerHandle | None = None
        metrics.declare(launch.name)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def process(self) -> ManagedProcess | ForkedProcess | None:
        return self._process

    async def _blocking_call(self, call: Callable[[], None]) -> None:
        """``call()`` on one of the pool's process threads (a fork, a stop)."""
        await asyncio.get_running_loop().run_in_executor(self.blocking, call)

    def say(self, line: str) -> None:
        self.output(self.launch.name, f"[acme] {line}")

    def begin(self) -> None:
        """Start supervising (spawn the process now, restart it whenever it exits)."""
        self._new_attempt()
        self._task = asyncio.create_task(self._supervise(), name=f"function {self.launch.name}")
        self._task.add_done_callback(self._supervisor_ended)

    async def acquire(self) -> str:
        """Count one more user and return the URL once the function answers."""
        self._cancel_idle()
        self.in_flight += 1
        self.metrics.in_flight.labels(self.launch.name).inc()
        try:
            return await self._ready_url()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self.metrics.in_flight.labels(self.launch.name).dec()
        if self.in_flight == 0 and self.launch.scale_to_zero and not self.closed:
            self._cancel_idle()
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(self.launch.idle_seconds, self._idle_expired)

    async def close(self) -> None:
        """Stop for good (runtime shutdown): fail waiting callers, stop the process."""
        self.closed = True
        self._cancel_idle()
        await asyncio.shield(self._request_stop())

    def status(self) -> FunctionStatus:
        return FunctionStatus(
            name=self.launch.name, kind="function" if self.function else "service",
            signature=self.function.signature if self.function else None,
            scale_to_zero=self.launch.scale_to_zero, state=self.state,
            pid=self.pid, url=self._url,
            in_flight=self.in_flight, starts=self.starts, crashes=self.crashes,
            last_exit_code=self.last_exit_code, cold_start_seconds=self.cold_start_seconds,
        )  # fmt: skip

    async def _ready_url(self) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while True:
            if self._url is not None:
                return self._url
            if self.closed:
                raise FunctionStartError(self.launch.name, "is stopping with the runtime")
            if self._stopping is not None:
                await asyncio.shield(self._stopping)
                continue
            if self._task is None or self._task.done():
                self.begin()
            assert self._next is not None
            try:
                return await asyncio.wait_for(
                    asyncio.shield(self._next), max(0.0, deadline - loop.time())
                )
            except TimeoutError:
                raise FunctionStartTimeout(
                    self.launch.name,
                    f"did not answer within {self.start_timeout:.0f}s "
                    "(ACME_FUNCTION_START_TIMEOUT)",
                ) from None

    async def _supervise(self) -> None:
        failures = 0
        while True:
            port = free_port(self.host)
            began = time.monotonic()
            process = await self._spawn(self.launch.argv(self.host, port))
            self._process = process
            self.starts += 1
            self.state = "starting"
            self.metrics.starts.labels(self.launch.name).inc()
            code = await self._wait_ready(process, port)
            if code is None:
                self._became_ready(port, time.monotonic() - began)
                code = await _exit_code(process)
                self._url = None
                self.metrics.replicas.labels(self.launch.name).set(0)
                stable = time.monotonic() - began >= _STABLE_SECONDS
                failures = 0 if stable else failures + 1
            else:
                failures += 1
                self._fail_attempt(
                    f"exited with code {code} before answering; log {self.launch.log_path}"
                )
            if self.closed:  # asked to stop: not a crash, nothing to restart
                self.last_exit_code = code
                return
            self.crashes += 1
            self.last_exit_code = code
            self.metrics.crashes.labels(self.launch.name).inc()
            delay = min(0.5 * 2 ** (failures - 1), _MAX_BACKOFF) if failures else 0.0
            self.say(f"exited with code {code}; restarting in {delay:.1f}s")
            self.state = "backoff"
            self._process = None
            await asyncio.sleep(delay)

    async def _spawn(self, argv: list[str]) -> ManagedProcess | ForkedProcess:
        """The process running ``argv``: forked by the prefork where it can be, else exec'd."""
        launch = self.launch

        def on_output(line: str) -> None:
            self.output(launch.name, line)

        forked = self.prefork.process(
            launch.name, argv, log_path=launch.log_path, cwd=launch.cwd, env=launch.env,
            stop_signal=launch.stop_signal, stop_timeout=10.0, on_output=on_output,
        ) if self.prefork is not None else None  # fmt: skip
        if forked is not None:
            started = asyncio.ensure_future(self._blocking_call(forked.start))
            try:
                await asyncio.shield(started)  # waits while the prefork still imports
                return forked
            except PreforkUnavailable as exc:
                self.say(f"{exc}; starting it as its own interpreter")
            except asyncio.CancelledError:  # stopped while starting: leave no child behind
                with contextlib.suppress(PreforkUnavailable):
                    await started
                await self._blocking_call(forked.stop)
                raise
        process = ManagedProcess(
            launch.name, argv, log_path=launch.log_path, cwd=launch.cwd, env=launch.env,
            stop_signal=launch.stop_signal, stop_timeout=10.0, on_output=on_output,
        )  # fmt: skip
        process.start()  # on the event loop's thread: the child dies with the runtime
        return process

    async def _wait_ready(self, process: ManagedProcess | ForkedProcess, port: int) -> int | None:
        """None once the port answers HTTP; the exit code if the process ends first."""
        if self.function is None:
            return process.exit_code()
        while True:
            code = process.exit_code()
            if code is not None:
                return code
            if await _answers_http(self.host, port):
                return None
            await asyncio.sleep(_PROBE_INTERVAL)

    def _became_ready(self, port: int, seconds: float) -> None:
        self.state = "ready"
        self.metrics.replicas.labels(self.launch.name).set(1)
        if self.function is None:
            self.say(f"started (pid {self.pid})")
            return
        self._url = f"http://{self.host}:{port}"
        self.cold_start_seconds = round(seconds, 4)
        self.metrics.cold_start.labels(self.launch.name).observe(seconds)
        self.say(f"ready at {self._url} after {seconds:.2f}s")
        if self._next is not None and not self._next.done():
            self._next.set_result(self._url)
        self._new_attempt()

    def _new_attempt(self) -> None:
        if self._next is None or self._next.done():
            self._next = asyncio.get_running_loop().create_future()
            # an outcome nobody waited for is already reported through ``say``
            self._next.add_done_callback(lambda f: f.cancelled() or f.exception())

    def _fail_attempt(self, message: str) -> None:
        if self._next is not None and not self._next.done():
            self._next.set_exception(FunctionStartError(self.launch.name, message))
        self._new_attempt()

    def _supervisor_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.say(f"supervisor failed: {exc!r}")
            self._fail_attempt(f"could not be supervised: {exc!r}")

    def _idle_expired(self) -> None:
        self._idle = None
        if self.in_flight == 0 and self._task is not None and not self.closed:
            self.say(f"idle for {self.launch.idle_seconds:g}s: scaling to zero")
            self._request_stop()

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _request_stop(self) -> asyncio.Task[None]:
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._stop(), name=f"stop {self.launch.name}")
        return self._stopping

    async def _stop(self) -> None:
        try:
            self._url = None
            if self._task is not None:
                self.state = "stopping"
                self._task.cancel()
                await asyncio.wait([self._task])
            if self._process is not None:
                began = time.monotonic()
                await self._blocking_call(self._process.stop)
                self.say(f"stopped in {time.monotonic() - began:.1f}s")
            self._fail_attempt("was stopped before it answered")
            self.metrics.replicas.labels(self.launch.name).set(0)
            self.state = "stopped"
        finally:
            self._process = None
            self._task = None
            self._stopping = None


class FunctionPool:
    """Every deployed function's process; implements :class:`Activator`."""

    def __init__(
        self,
        launches: Iterable[ProcessLaunch],
        *,
        host: str,
        metrics: RuntimeMetrics,
        output: FunctionOutput,
        start_timeout: float,
        prefork: Prefork | None = None,
    ) -> None:
        self._prefork = prefork
        launches = list(launches)
        # one thread per process for its start and stop: with asyncio's default executor (six
        # threads on two cores) the stops of thirteen processes, each waiting for its exit,
        # ran six at a time, and a slow one held up the ones queued behind it
        self._blocking = ThreadPoolExecutor(max(1, len(launches)), thread_name_prefix="process")
        self._supervisors = {
            launch.name: _Supervisor(
                launch,
                host=host,
                metrics=metrics,
                output=output,
                start_timeout=start_timeout,
                prefork=prefork,
                blocking=self._blocking,
            )
            for launch in launches
        }

    def __contains__(self, name: object) -> bool:
        return name in self.names

    @property
    def names(self) -> list[str]:
        """The functions (not the platform services) of the pool."""
        return [name for name, s in self._supervisors.items() if s.function is not None]

    async def start(self) -> None:
        """Start the prefork, then every always-on function (without waiting for it to answer)."""
        if self._prefork is not None:
            self._prefork.start()  # on the event loop's thread: it dies with the runtime
        for supervisor in self._supervisors.values():
            if not supervisor.launch.scale_to_zero:
                supervisor.begin()

    @contextlib.asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[str]:
        """The base URL of ``name``, started if needed; it keeps running while leased."""
        supervisor = self._supervisors.get(name)
        if supervisor is None or supervisor.function is None:
            raise UnknownFunction(name, self.names)
        url = await supervisor.acquire()
        try:
            yield url
        finally:
            supervisor.release()

    async def stop(self) -> None:
        """Stop every function process; waiting callers get :class:`FunctionStartError`.

        Every process is asked to stop at once, then each is waited for.
        """
        for supervisor in self._supervisors.values():
            supervisor.closed = True
            if supervisor.process is not None:
                supervisor.process.request_stop()
        await asyncio.gather(*(s.close() for s in self._supervisors.values()))
        if self._prefork is not None:
            await asyncio.to_thread(self._prefork.stop)
        self._blocking.shutdown(wait=False)

    def status(self) -> list[FunctionStatus]:
        return [s.status() for s in self._supervisors.values()]


async def _answers_http(host: str, port: int) -> bool:
    """True when something on the port answers an HTTP request (any status will do)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET /robots.txt HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 2.0)
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
    return line.startswith(b"HTTP/")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _exit_code(process: ManagedProcess | ForkedProcess) -> int:
    """Wait, without a thread or a polling loop, until ``process`` exits; its exit code."""
    code = process.exit_code()
    if code is not None:
        return code
    assert process.pid is not None
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    fd = os.pidfd_open(process.pid)
    loop.add_reader(fd, _resolve, exited)
    try:
        await exited
        while (code := process.exit_code()) is None:  # readable just before it can be reaped
            await asyncio.sleep(_PROBE_INTERVAL)
        return code
    finally:
        loop.remove_reader(fd)
        os.close(fd)
