"""Naming a platform's processes and reading their PSS and CPU time from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from acme.bench._cpu import cpu_seconds
from acme.bench._processes import Identity, cpu_seconds_of, identify, tree
from acme.bench.idle import _measure

_BURN = (
    "import time\nend = time.process_time() + 0.6\n"
    "while time.process_time() < end: pass\ntime.sleep(30)\n"
)

_TITLED = (
    "import sys, time, setproctitle\nsetproctitle.setproctitle(sys.argv[1])\n"
    "print('titled', flush=True)\ntime.sleep(30)\n"
)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        env={**os.environ, "K_SERVICE": "sleeper"},
    )
    yield child
    child.kill()
    child.wait()


def test_a_function_is_found_below_its_root_and_named_by_its_service(
    sleeper: subprocess.Popen[bytes],
) -> None:
    assert sleeper.pid in tree(os.getpid())
    assert identify(sleeper.pid) == Identity("function sleeper", "function")
    name, kind, pss = _measure(sleeper.pid) or ("", "", 0.0)
    assert (name, kind) == ("function sleeper", "function") and pss > 0


def test_a_function_forked_by_the_prefork_is_named_by_its_title() -> None:
    """The prefork's child keeps the prefork's environment block; its title names it."""
    title = "acme-function report-events: python -m acme.runtime.serve --source x/main.py"
    child = subprocess.Popen(
        [sys.executable, "-c", _TITLED, title],
        env={k: v for k, v in os.environ.items() if k != "K_SERVICE"},
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"titled\n"
        assert identify(child.pid) == Identity("function report-events", "function")
    finally:
        child.kill()
        child.wait()


def _wait_exec(pid: int) -> None:
    """Until ``pid`` runs its own program: between fork and exec its command line is still
    this process's (or empty)."""
    deadline = time.monotonic() + 10
    while b"acme.cli.main" not in Path(f"/proc/{pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_acme_up_is_named_by_its_command_and_a_gone_process_by_none() -> None:
    up = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "-m", "acme.cli.main up"],
        env={k: v for k, v in os.environ.items() if k != "K_SERVICE"},
    )
    try:
        _wait_exec(up.pid)
        assert identify(up.pid) == Identity("acme up", "platform")
    finally:
        up.kill()
        up.wait()
    assert identify(2**22 + 7) is None  # no such process
    assert cpu_seconds_of(2**22 + 7) is None


def test_cpu_seconds_count_what_each_process_spent_inside_the_block(
    sleeper: subprocess.Popen[bytes],
) -> None:
    burner = None
    try:
        with cpu_seconds() as spent:
            burner = subprocess.Popen(
                [sys.executable, "-c", _BURN], env={**os.environ, "K_SERVICE": "burner"}
            )
            own = time.process_time() + 0.2  # this process works too, on its own
            while time.process_time() < own:
                pass
            while (cpu_seconds_of(burner.pid) or 0.0) < 0.5:
                time.sleep(0.05)
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    assert spent["function burner"] >= 0.5
    assert spent.get("function sleeper", 0.0) < 0.2
    assert spent["benchmark"] >= 0.15
    assert list(spent.values()) == sorted(spent.values(), reverse=True)
