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

import httpx

from acme.settings import Settings, load_settings
from acme.stack import connect_settings
from acme.stack.state import read_state

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def running_platform(home: Path, *, extra: Mapping[str, str] | None = None) -> Iterator[Settings]:
    """``acme up`` with its data in ``home``; yields settings that reach its servers."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_") and k != "K_SINK"}
    env.update({"ACME_HOME": str(home), "ACME_GATEWAY_PORT": "0", "ACME_LOG_FORMAT": "console"})
    env["ACME_DICOM_PORT"] = "0"  # the receiver's default port may be taken by another run
    env.update(extra or {})
    log = (home / "platform.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "acme.cli.main", "up"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    try:
        _wait_for_gateway(home, proc)
        yield connect_settings(load_settings(home=home))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_for_gateway(home: Path, proc: subprocess.Popen[bytes], limit: float = 120.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (home / "platform.log").read_text()[-3000:]
            raise AssertionError(f"acme up exited {proc.returncode}:\n{tail}")
        state = read_state(home)
        if state is not None and state.gateway_url:
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
