"""A server that exits while starting on a port chosen for it is started again on new ports."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from acme.errors import ServerError
from acme.settings import Settings, load_settings
from acme.stack import stack as stack_module
from acme.stack.health import ProbeFailure
from acme.stack.ports import free_port, free_ports
from acme.stack.process import ManagedProcess
from acme.stack.servers.base import Launch
from acme.stack.stack import _LISTEN_GRACE, EmbeddedStack
from acme.stack.state import read_state


class FlakyServer:
    """Exits at once on its first ``failures`` launches, then runs (a sleeping process)."""

    name = "redis"
    url_field = "redis_url"
    port_field = "redis_port"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.launches: list[int] = []
        self.current: ManagedProcess | None = None

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        self.launches.append(port)
        failing = len(self.launches) <= self.failures
        code = "raise SystemExit(1)" if failing else "import time; time.sleep(60)"
        self.current = ManagedProcess(
            self.name, [sys.executable, "-c", code], log_path=datadir / "log"
        )
        self.current.start()
        return Launch(self.current, f"redis://127.0.0.1:{port}/0")

    def probe(self, url: str, timeout: float) -> None:
        failing = len(self.launches) <= self.failures
        if failing or self.current is None or self.current.exit_code() is not None:
            raise ProbeFailure("unreachable", "not running")

    def ready(self, url: str) -> None:
        """Nothing to do."""


def test_an_early_exit_is_retried_on_new_ports(tmp_path: Path) -> None:
    flaky = FlakyServer(failures=2)
    stack = EmbeddedStack(load_settings(home=tmp_path / "home"), servers=lambda _webhook: [flaky])
    with stack:
        assert len(flaky.launches) == 3 and len(set(flaky.launches)) == 3
        assert flaky.current is not None and flaky.current.exit_code() is None


def test_a_fixed_port_is_not_retried(tmp_path: Path) -> None:
    flaky = FlakyServer(failures=1)
    settings = load_settings(home=tmp_path / "home", redis_port=0)
    port = free_port(settings.host)  # a fixed port, free now (a literal one may be taken)
    settings = settings.model_copy(update={"redis_port": port})
    stack = EmbeddedStack(settings, servers=lambda _webhook: [flaky])
    with pytest.raises(ServerError, match="exited with code 1 during start"):
        stack.start()
    stack.stop()
    assert flaky.launches == [port]


def test_it_gives_up_after_three_attempts(tmp_path: Path) -> None:
    flaky = FlakyServer(failures=5)
    stack = EmbeddedStack(load_settings(home=tmp_path / "home"), servers=lambda _webhook: [flaky])
    with pytest.raises(ServerError, match="redis: exited with code 1"):
        stack.start()
    stack.stop()
    assert len(flaky.launches) == 3


_BINDS_LATE = """
import socket, sys, time
first = socket.create_server(("127.0.0.1", int(sys.argv[1])))
time.sleep(0.5)
try:
    if sys.argv[3] == "skip":
        raise OSError("[Errno 98] Address already in use (earlier)")
    second = socket.create_server(("127.0.0.1", int(sys.argv[2])))
except OSError as exc:
    if sys.argv[3] == "exit":
        raise SystemExit(f"second listener: {exc}")
    print(f"second listener: {exc}; running on without it", flush=True)
time.sleep(60)
"""


class LateBinder:
    """Answers on its client port at once and binds its second port half a second later.
    When that one is taken it exits, or with ``on_loss="run"`` runs on without it (``weed
    mini`` does the first for its HTTP listeners and the second for its gRPC ones);
    ``on_loss="skip"`` acts as if its first launch had found the port taken."""

    name = "redis"
    url_field = "redis_url"
    port_field = "redis_port"

    def __init__(self, taken: socket.socket | int, on_loss: str = "exit") -> None:
        self.taken = taken if isinstance(taken, int) else taken.getsockname()[1]
        self.on_loss = on_loss
        self.launches: list[ManagedProcess] = []

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        first = not self.launches
        second = self.taken if first else free_ports(settings.host, 1)[0]
        on_loss = self.on_loss if first else "exit"
        process = ManagedProcess(
            self.name,
            [sys.executable, "-c", _BINDS_LATE, str(port), str(second), on_loss],
            log_path=datadir / "log",
        )
        process.start()
        self.launches.append(process)
        return Launch(process, f"redis://127.0.0.1:{port}/0", listeners=(second,))

    def probe(self, url: str, timeout: float) -> None:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        try:
            socket.create_connection(("127.0.0.1", port), timeout).close()
        except OSError as exc:
            raise ProbeFailure("unreachable", str(exc)) from None

    def ready(self, url: str) -> None:
        """Nothing to do."""


@pytest.fixture
def taken_port() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


@pytest.mark.parametrize("on_loss", ["exit", "run"])
def test_a_server_is_started_only_once_it_holds_every_port_it_was_given(
    tmp_path: Path, taken_port: socket.socket, on_loss: str
) -> None:
    binder = LateBinder(taken_port, on_loss)
    stack = EmbeddedStack(load_settings(home=tmp_path / "home"), servers=lambda _w: [binder])
    started = time.monotonic()
    with stack:
        assert time.monotonic() - started < _LISTEN_GRACE  # seen taken, not waited out
        assert len(binder.launches) == 2  # the first answered without its second port
        assert binder.launches[0].exit_code() is not None  # exited, or stopped by the stack
        survivor = binder.launches[1]
        assert survivor.exit_code() is None
        assert len(survivor.listening_ports()) == 2


def test_a_port_lost_to_a_socket_gone_since_is_found_by_the_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module, "_LISTEN_GRACE", 1.0)
    # the second port was taken when the server bound it and is free again: it runs on
    # without it, and nothing on the machine shows why
    with socket.create_server(("127.0.0.1", 0)) as briefly:
        port = briefly.getsockname()[1]
    binder = LateBinder(port, on_loss="skip")
    stack = EmbeddedStack(load_settings(home=tmp_path / "home"), servers=lambda _w: [binder])
    with stack:
        assert len(binder.launches) == 2
        assert binder.launches[0].exit_code() is not None
        assert len(binder.launches[1].listening_ports()) == 2


def test_a_configured_port_is_kept_when_another_port_was_lost(
    tmp_path: Path, taken_port: socket.socket
) -> None:
    settings = load_settings(home=tmp_path / "home", redis_port=0)
    port = free_port(settings.host)
    settings = settings.model_copy(update={"redis_port": port})
    binder = LateBinder(taken_port, on_loss="run")
    with EmbeddedStack(settings, servers=lambda _w: [binder]):
        assert len(binder.launches) == 2
        assert port in binder.launches[1].listening_ports()


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_revived_server_that_cannot_bind_a_port_is_started_on_new_ones(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        second = probe.getsockname()[1]  # free now
    binder = LateBinder(second, on_loss="run")
    stack = EmbeddedStack(load_settings(home=tmp_path / "home"), servers=lambda _w: [binder])
    with stack:
        [first] = binder.launches
        state = read_state(tmp_path / "home")
        assert state is not None
        client = urlsplit(state.servers["redis"].url).port
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        _wait(lambda: first.exit_code() is not None, "the killed server is reaped")
        now = time.monotonic() + 60
        with socket.create_server(("127.0.0.1", second)):  # taken while it was down
            [revival] = stack.revive(now)  # its command line again: it runs on without it
            assert (revival.exit_code, revival.lost_ports) == (-9, ())
            assert stack.revive(now + 1) == []  # seen held by another: asked to stop
            _wait(lambda: first.exit_code() is not None, "the server stops")
            assert stack.revive(now + 1.1) == []  # a restart within 30 s waits 0.5 s
            [again] = stack.revive(now + 2)
        assert (again.exit_code, again.lost_ports, again.restarts) == (None, (second,), 2)
        assert len(binder.launches) == 2
        survivor = binder.launches[1]
        _wait(lambda: len(survivor.listening_ports()) == 2, "it binds both of its new ports")
        assert client in survivor.listening_ports() and second not in survivor.listening_ports()
        assert stack.revive(now + 20) == []  # and is left alone
