"""``acme up`` runs the stack file's functions behind the gateway and leaves nothing behind."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from stackprocs import ACME, alive, clean_env

from acme.stack.ports import free_port
from acme.stack.state import read_state

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "functions"


class Up:
    """One ``acme up`` child process, its gateway and its output file."""

    def __init__(self, tmp_path: Path, stack_file: Path) -> None:
        self.port = free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = tmp_path / "home"
        self.output = tmp_path / "up.out"
        env = clean_env(
            ACME_HOME=str(self.home),
            ACME_STACK_FILE=str(stack_file),
            ACME_GATEWAY_PORT=str(self.port),
            ACME_TICK_SECONDS="1",
        )
        with self.output.open("w") as out:  # a file, not a pipe nobody reads
            self.proc = subprocess.Popen(
                [*ACME, "up"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
            )

    def text(self) -> str:
        return self.output.read_text()

    def printed(self, line: str, timeout: float = 60) -> str:
        """The output once it holds ``line`` (the banner follows the receiver's start)."""
        deadline = time.monotonic() + timeout
        while line not in (text := self.text()):
            assert time.monotonic() < deadline, f"never printed {line!r}:\n{text}"
            time.sleep(0.2)
        return text

    def health(self, timeout: float = 120) -> dict[str, Any]:
        """``/healthz`` once the gateway answers it with every server healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            assert code is None, f"acme up exited {code}:\n{self.text()}"
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=10)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            if answer.status_code == 200:
                health: dict[str, Any] = answer.json()
                return health
            time.sleep(0.2)
        raise AssertionError(f"no healthy /healthz:\n{self.text()}")

    def process(self, name: str, check: Any, timeout: float = 60) -> dict[str, Any]:
        """The state of function or service ``name`` once ``check(state)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            states = {f["name"]: f for f in self.health()["functions"]}
            if check(states[name]):
                return states[name]
            assert time.monotonic() < deadline, f"{name}: {states[name]}\n{self.text()}"
            time.sleep(0.2)

    def pids(self) -> list[int]:
        """Every server, function and service process, with their children."""
        health = self.health()
        roots = [s["pid"] for s in health["servers"]] + [
            f["pid"] for f in health["functions"] if f["pid"] is not None
        ]
        pids = list(roots)
        for pid in roots:
            pids += [p.pid for p in psutil.Process(pid).children(recursive=True)]
        return pids


@pytest.fixture
def ups() -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for up in started:
        if up.proc.poll() is None:
            up.proc.kill()
            up.proc.wait(30)


def _wait_gone(pids: list[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive(pids)


def test_up_serves_functions_routes_events_and_stops_everything(
    tmp_path: Path, ups: list[Up]
) -> None:
    up = Up(tmp_path, FIXTURES / "stack.yml")
    ups.append(up)
    health = up.health()
    # ready means uploads are noticed: the notification webhook listens by the first 200
    # (SeaweedFS drops what it cannot post, so a client sending at once would lose them)
    state = read_state(up.home)
    assert state is not None
    socket.create_connection(("127.0.0.1", urlsplit(state.webhook_url).port or 0), 1).close()
    assert health["status"] == "ok" and health["ready"] is True
    assert {s["name"] for s in health["servers"]} == {"nats", "postgres", "redis", "s3"}
    up.process("echo", lambda f: f["state"] == "ready")
    for service in ("bucket-events", "tick"):
        assert up.process(service, lambda f: f["state"] == "ready")["kind"] == "service"

    echoed = httpx.get(f"{up.url}/function/echo/studies?limit=5", timeout=30).json()
    assert echoed["path"] == "/studies" and echoed["query"] == "limit=5"
    assert echoed["has_database_url"] and echoed["greeting"] == "hello from stack.yml"

    # tick (every 1s here) -> JetStream -> router -> a cold start of the scaled-to-zero sleeper
    up.process("sleeper", lambda f: f["cold_start_seconds"] is not None)
    delivered = 'acme_router_deliveries_total{function="sleeper",outcome="delivered"}'
    deadline = time.monotonic() + 30
    while delivered not in (metrics := httpx.get(f"{up.url}/metrics", timeout=10).text):
        assert time.monotonic() < deadline, metrics
        time.sleep(0.2)
    assert 'acme_function_cold_start_seconds_count{function="sleeper"}' in metrics

    text = up.printed(f"gateway http://127.0.0.1:{up.port}/")
    assert "echo          | [acme] ready at http://127.0.0.1:" in text

    # forked by the prefork, which acme up forked after preloading: they share those pages
    echo = psutil.Process(up.process("echo", lambda f: f["state"] == "ready")["pid"])
    prefork = echo.parent()
    assert prefork is not None and prefork.ppid() == up.proc.pid
    assert "acme.runtime.prefork" in " ".join(prefork.cmdline())
    rollup = Path(f"/proc/{up.proc.pid}/smaps_rollup").read_text().splitlines()
    shared_kb = next(int(line.split()[1]) for line in rollup if line.startswith("Shared_Dirty:"))
    assert shared_kb > 40 * 1024

    pids = [*up.pids(), prefork.pid]
    up.proc.send_signal(signal.SIGTERM)
    assert up.proc.wait(60) == 0, up.text()
    assert alive(pids) == []
    assert "stopping router, gateway and functions" in up.text()


def test_killed_up_leaves_no_function_processes(tmp_path: Path, ups: list[Up]) -> None:
    project = tmp_path / "project"
    for name in ("echo", "hello"):
        shutil.copytree(FIXTURES / name, project / name)
    stack_file = project / "stack.yml"
    text = (FIXTURES / "stack.yml").read_text().replace("./sleeper", "./not-written-yet")
    stack_file.write_text(text)
    up = Up(tmp_path, stack_file)
    ups.append(up)
    up.health()
    assert httpx.get(f"{up.url}/function/hello/", timeout=30).status_code == 200
    echo = up.process("echo", lambda f: f["state"] == "ready")
    prefork = psutil.Process(echo["pid"]).ppid()  # the prefork acme up forked
    pids = [*up.pids(), prefork]
    assert len(pids) >= 4 + 2 * 2 + 1  # servers, echo and hello (server and worker each)
    up.proc.kill()  # SIGKILL: nothing runs in acme up any more; the children must still go
    up.proc.wait(10)
    assert _wait_gone(pids) == []
    assert "skipping function sleeper: no main.py in" in up.text()


def test_a_bad_stack_file_fails_before_any_server_starts(tmp_path: Path) -> None:
    bad = tmp_path / "stack.yml"
    bad.write_text(
        (FIXTURES / "stack.yml").read_text().replace("zero-duration: 1s", "zero-duration: soon")
    )
    env = clean_env(ACME_HOME=str(tmp_path / "home"), ACME_STACK_FILE=str(bad))
    result = subprocess.run(
        [*ACME, "up"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"acme: error: {bad}: functions.hello.labels.com.openfaas.scale.zero-duration: "
        "expected a duration like 30s or 5m, got 'soon'"
    )
    assert not (tmp_path / "home").exists()
