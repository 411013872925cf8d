"""The function pool, with real functions-framework processes of the test stack."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from loops import run

from acme.runtime.app import function_launches, settings_environment
from acme.runtime.forked import Prefork
from acme.runtime.functions import FunctionPool, FunctionStartError, UnknownFunction
from acme.runtime.metrics import RuntimeMetrics
from acme.runtime.stackfile import load_stack
from acme.settings import Settings, load_settings

TEST_STACK = Path(__file__).resolve().parents[2] / "fixtures" / "functions" / "stack.yml"


class Lines:
    """Collects what the pool writes for each function."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, function: str, line: str) -> None:
        with self._lock:
            self.lines.append((function, line))

    def of(self, function: str) -> list[str]:
        with self._lock:
            return [line for name, line in self.lines if name == function]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("pool") / "home"
    return load_settings(home=home, database_url="postgresql://u:p@127.0.0.1:1/db")


@pytest.fixture(scope="module")
def lines() -> Lines:
    return Lines()


@pytest.fixture(scope="module", params=["exec", "prefork"])
def started(request: pytest.FixtureRequest) -> str:
    """How the pool starts its processes: each its own interpreter, or forked by the prefork."""
    return str(request.param)


@pytest.fixture(scope="module")
def pool(
    loop: asyncio.AbstractEventLoop, settings: Settings, lines: Lines, started: str
) -> Iterator[FunctionPool]:
    stack = load_stack(TEST_STACK)
    launches = function_launches(stack, settings, inherited=os.environ, names=stack.functions)
    prefork = (
        Prefork(
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # what the launches set
            cwd=TEST_STACK.parent,
            log_path=settings.home / "functions" / "prefork.log",
            on_output=lambda line: lines("prefork", line),
        )
        if started == "prefork"
        else None
    )

    async def start() -> FunctionPool:
        pool = FunctionPool(
            launches,
            host="127.0.0.1",
            metrics=RuntimeMetrics(),
            output=lines,
            start_timeout=60,
            prefork=prefork,
        )
        await pool.start()
        return pool

    pool = run(loop, start())
    yield pool
    pids = _pids(pool) + ([prefork.pid] if prefork is not None and prefork.pid else [])
    run(loop, pool.stop())
    assert _alive(pids) == []


def _status(pool: FunctionPool, name: str) -> dict[str, Any]:
    return next(s.model_dump() for s in pool.status() if s.name == name)


def _pids(pool: FunctionPool) -> list[int]:
    """Every function process and its children (gunicorn's worker)."""
    pids = []
    for status in pool.status():
        if status.pid is not None:
            pids.append(status.pid)
            pids += [child.pid for child in psutil.Process(status.pid).children(recursive=True)]
    return pids


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid) and _not_zombie(pid)]


def _running(function: str) -> list[int]:
    """This test process's children that run ``function``'s main.py."""
    main = str(TEST_STACK.parent / function / "main.py")
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if main in child.cmdline() and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def _get(pool: FunctionPool, name: str, path: str = "/") -> httpx.Response:
    async with pool.lease(name) as url, httpx.AsyncClient() as client:
        return await client.get(url + path)


def _wait_for(check: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_always_on_function_runs_with_its_environment(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop, settings: Settings, lines: Lines
) -> None:
    answer = run(loop, _get(pool, "echo", "/some/path?q=1")).json()
    assert answer["path"] == "/some/path" and answer["query"] == "q=1"
    assert answer["greeting"] == "hello from stack.yml"
    assert answer["service"] == "echo"
    assert answer["has_database_url"] is True
    status = _status(pool, "echo")
    assert status["state"] == "ready" and status["starts"] == 1
    assert any(line.startswith("[acme] ready at") for line in lines.of("echo"))
    log = settings.home.resolve() / "functions" / "echo.log"
    assert log.is_file()


def test_settings_become_acme_variables(settings: Settings) -> None:
    env = settings_environment(settings)
    assert env["ACME_DATABASE_URL"] == "postgresql://u:p@127.0.0.1:1/db"
    assert env["ACME_HOME"] == str(settings.home.resolve())
    assert env["ACME_S3_SECRET_KEY"] == settings.s3_secret_key.get_secret_value()
    assert "ACME_NATS_URL" not in env  # unset settings stay unset


def test_a_scaled_to_zero_function_starts_on_lease_and_stops_when_idle(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop
) -> None:
    before = _status(pool, "hello")
    assert before["state"] == "stopped" and before["pid"] is None
    assert _running("hello") == [] and _running("echo") != []
    answer = run(loop, _get(pool, "hello"))
    assert answer.status_code == 200
    assert answer.json()["pid"] in _running("hello")
    assert _status(pool, "hello")["in_flight"] == 0
    _wait_for(lambda: _status(pool, "hello")["state"] == "stopped")
    assert _status(pool, "hello")["pid"] is None
    _wait_for(lambda: _running("hello") == [])


def test_concurrent_cold_leases_share_one_start(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop
) -> None:
    _wait_for(lambda: _status(pool, "hello")["state"] == "stopped")
    starts = _status(pool, "hello")["starts"]

    async def many() -> list[int]:
        answers = await asyncio.gather(*(_get(pool, "hello") for _ in range(8)))
        return [a.json()["pid"] for a in answers]

    pids = run(loop, many())
    assert len(set(pids)) == 1
    assert _status(pool, "hello")["starts"] == starts + 1


def test_an_open_lease_keeps_a_function_past_its_idle_time(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop
) -> None:
    async def hold() -> tuple[int, str]:
        async with pool.lease("sleeper"):
            pid = _status(pool, "sleeper")["pid"]
            await asyncio.sleep(1.6)  # zero-duration is 1s
            return pid, _status(pool, "sleeper")["state"]

    pid, state = run(loop, hold())
    assert state == "ready" and _not_zombie(pid)
    _wait_for(lambda: _status(pool, "sleeper")["state"] == "stopped")


def test_each_function_is_started_as_the_pool_was_told(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop, started: str, lines: Lines
) -> None:
    """Forked: a child of the prefork, named for its function; exec'd: its own interpreter."""
    pid = run(loop, _get(pool, "echo")).json()["pid"]
    process = psutil.Process(pid)
    if started == "prefork":
        assert " ".join(process.cmdline()).startswith("acme-function echo: ")
        assert "acme.runtime.prefork" in " ".join(process.parent().cmdline())
        assert any(line.startswith("prefork ready:") for line in lines.of("prefork"))
    else:
        assert process.parent().pid == os.getpid()
        assert "-m acme.runtime.serve" in " ".join(process.cmdline())
    assert not any("own interpreter" in line for line in lines.of("echo"))


def test_a_function_is_one_process_answering_itself(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop
) -> None:
    """No arbiter and worker pair: the process the pool started is the one that answers."""
    answering = run(loop, _get(pool, "echo")).json()["pid"]
    started = _status(pool, "echo")["pid"]
    assert answering == started
    assert psutil.Process(started).children() == []


def test_a_killed_always_on_function_is_restarted(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop, lines: Lines
) -> None:
    first = run(loop, _get(pool, "echo")).json()["pid"]
    master = _status(pool, "echo")["pid"]
    os.kill(master, signal.SIGKILL)
    _wait_for(lambda: _status(pool, "echo")["crashes"] >= 1)
    second = run(loop, _get(pool, "echo")).json()["pid"]
    assert second != first
    status = _status(pool, "echo")
    assert status["state"] == "ready" and status["last_exit_code"] == -signal.SIGKILL
    assert any("exited with code -9; restarting" in line for line in lines.of("echo"))
    _wait_for(lambda: not _not_zombie(first))  # gunicorn's orphaned worker leaves too


def test_a_function_that_cannot_start_fails_its_callers(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop, lines: Lines
) -> None:
    with pytest.raises(FunctionStartError, match=r"'broken' exited with code 1 before answering"):
        run(loop, _get(pool, "broken"))
    assert any("broken on purpose" in line for line in lines.of("broken"))
    _wait_for(lambda: _status(pool, "broken")["state"] == "stopped")


def test_an_unknown_function_is_refused(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop
) -> None:
    with pytest.raises(UnknownFunction, match=r"no function named 'nope' \(deployed: broken,"):
        run(loop, _get(pool, "nope"))


def test_cold_start_of_a_function_that_loads_nothing(
    pool: FunctionPool, loop: asyncio.AbstractEventLoop
) -> None:
    """A measurement, not a timed assertion: process start until its port answers HTTP."""
    samples = []
    for _ in range(3):
        _wait_for(lambda: _status(pool, "hello")["state"] == "stopped")
        run(loop, _get(pool, "hello"))
        samples.append(_status(pool, "hello")["cold_start_seconds"])
    print(f"\ncold start of 'hello': median {statistics.median(samples):.3f}s, runs {samples}")
    assert all(s > 0 for s in samples)
