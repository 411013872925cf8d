"""Run the whole platform (``acme up``, its own servers included) as a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from acme.settings import Settings, load_settings
from acme.stack.state import connect_settings, read_state

REPO = Path(__file__).resolve().parents[2]


def platform_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment ``acme up`` (and the ``acme`` CLI) get: this one without any
    ``ACME_*``/``K_SINK`` variable, the home, free ports, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_") and k != "K_SINK"}
    env.update({"ACME_HOME": str(home), "ACME_GATEWAY_PORT": "0", "ACME_LOG_FORMAT": "console"})
    env["ACME_DICOM_PORT"] = "0"  # the receiver's default port may be taken by another run
    env.update(extra or {})
    return env


def start_platform(
    home: Path, extra: Mapping[str, str] | None, log: IO[str]
) -> subprocess.Popen[bytes]:
    """Start ``acme up`` with its data in ``home``, its output appended to ``log``; return
    once its gateway answers."""
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "acme.cli.main", "up"],
        env=platform_env(home, extra),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    try:
        _wait_for_gateway(home, proc)
    except BaseException:
        stop_platform(proc)
        raise
    return proc


def stop_platform(proc: subprocess.Popen[bytes], limit: float = 60) -> None:
    """SIGTERM ``acme up`` and wait for it (SIGKILL after ``limit`` seconds)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running_platform(home: Path, *, extra: Mapping[str, str] | None = None) -> Iterator[Settings]:
    """``acme up`` with its data in ``home``; yields settings that reach its servers."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "platform.log").open("w") as log:
        proc = start_platform(home, extra, log)
        try:
            yield connect_settings(load_settings(home=home))
        finally:
            began = time.monotonic()
            stop_platform(proc)
            _note_slow_stop(home, time.monotonic() - began)


SLOW_STOP = 10.0
"""A stop slower than this is written down in test-artifacts/slow-stops.log with the end of
the platform's log (where its phases say how long each took)."""


def _note_slow_stop(home: Path, seconds: float) -> None:
    if seconds < SLOW_STOP:
        return
    folder = Path(os.environ.get("ACME_TEST_ARTIFACTS", REPO / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    tail = "\n".join((home / "platform.log").read_text(errors="replace").splitlines()[-25:])
    test = os.environ.get("PYTEST_CURRENT_TEST", "?")
    with (folder / "slow-stops.log").open("a") as out:
        out.write(f"=== {test}: acme up stopped in {seconds:.1f}s\n{tail}\n")


def _wait_for_gateway(home: Path, proc: subprocess.Popen[bytes], limit: float = 120.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (home / "platform.log").read_text()[-3000:]
            raise AssertionError(f"acme up exited {proc.returncode}:\n{tail}")
        state = read_state(home)
        if state is not None and state.pid == proc.pid and state.gateway_url:
            try:
                if httpx.get(f"{state.gateway_url}/healthz", timeout=2).status_code == 200:
                    return state.gateway_url
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    raise AssertionError(f"acme up not ready:\n{(home / 'platform.log').read_text()[-3000:]}")


def wait_until(predicate: Callable[[], bool], limit: float, what: str) -> float:
    """Poll ``predicate()`` until true; return the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.5)
    raise AssertionError(f"timed out after {limit:.0f}s waiting for {what}")
