"""One ``acme up`` for a whole fault suite: its processes found, killed and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import psutil
from acme_platform import platform_env, start_platform, stop_platform, wait_until
from click.testing import CliRunner, Result
from stackprocs import alive

from acme.cli.main import cli
from acme.settings import Settings, load_settings
from acme.stack.state import StackState, connect_settings, read_state


class FaultPlatform:
    """``acme up`` with its data in ``home``; :meth:`kill_up` and :meth:`start` bring it back
    on the same data, as a service manager would after a crash."""

    def __init__(self, home: Path, extra: Mapping[str, str]) -> None:
        self.home = home.resolve()
        self.extra = dict(extra)
        self.log_path = self.home / "platform.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.settings: Settings | None = None

    def start(self) -> Settings:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            self.proc = start_platform(self.home, self.extra, log)
        self.settings = connect_settings(load_settings(home=self.home))
        return self.settings

    def stop(self) -> float:
        """SIGTERM ``acme up``; the seconds it took to stop."""
        assert self.proc is not None
        started = time.monotonic()
        stop_platform(self.proc)
        self.proc = None
        return time.monotonic() - started

    def kill_up(self) -> None:
        """SIGKILL ``acme up`` (router, gateway and supervisors), then wait until what it
        started has died with it."""
        assert self.proc is not None
        children = [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        wait_until(lambda: not alive(children), 60, "acme up's processes to die with it")

    def kill(self, pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
        os.kill(pid, sig)

    @property
    def state(self) -> StackState:
        state = read_state(self.home)
        assert state is not None
        return state

    def healthz(self) -> dict[str, object]:
        url = self.state.gateway_url
        assert url is not None
        answer: dict[str, object] = httpx.get(f"{url}/healthz", timeout=5).json()
        return answer

    def process_pid(self, name: str) -> int | None:
        """The pid of a function or platform service (``bucket-events``), None when it has
        no running process."""
        functions = self.healthz()["functions"]
        assert isinstance(functions, list)
        for status in functions:
            if status["name"] == name:
                pid = status["pid"]
                return int(pid) if pid is not None and status["state"] == "ready" else None
        raise AssertionError(f"{name} is not deployed")

    def server_pid(self, name: str) -> int:
        pid = self.state.servers[name].pid
        assert pid is not None
        return pid

    def acme(self, *args: str) -> Result:
        """Run an ``acme`` CLI command against this platform, in this process (no interpreter
        to start: the suite runs it after every case)."""
        return CliRunner().invoke(cli, list(args), env=platform_env(self.home, self.extra))
