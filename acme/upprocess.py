"""``acme up`` as a child process (the demo and the benchmarks): wait until it answers, stop it."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import httpx

from acme.errors import ServerError


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, limit: float) -> None:
    """Return once ``url`` (the gateway's /healthz) answers 200; raise with the log's tail if
    the process exits first, or after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise ServerError("acme up", f"exited with code {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.3)
    raise ServerError("acme up", f"not ready after {limit:.0f}s; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (``acme up`` stops everything it started), SIGKILL after 60 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
