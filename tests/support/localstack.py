"""LocalStack (S3 and SQS) as a child process, without Docker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from acme.stack.ports import free_port

ACCOUNT = "000000000000"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@contextmanager
def running_localstack(root: Path, *, limit: float = 120.0) -> Iterator[str]:
    """LocalStack's S3 and SQS on a free loopback port, data under ``root``; yields its URL."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port("127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(root),
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",
            "SERVICES": "s3,sqs",
            "SQS_ENDPOINT_STRATEGY": "path",
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
        }
    )
    url = f"http://127.0.0.1:{port}"
    log = (root / "localstack.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "localstack.runtime.main"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with everything it started
    )
    try:
        _wait_healthy(url, proc, root, limit)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], root: Path, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (root / "localstack.log").read_text()[-3000:]
            raise AssertionError(f"LocalStack exited {proc.returncode}:\n{tail}")
        try:
            services = httpx.get(f"{url}/_localstack/health", timeout=2).json()["services"]
        except (httpx.HTTPError, ValueError, KeyError):
            services = {}
        if all(services.get(name) in {"available", "running"} for name in ("s3", "sqs")):
            return
        time.sleep(0.3)
    raise AssertionError(f"LocalStack not healthy after {limit:.0f}s")


def queue_url(url: str, name: str) -> str:
    """The path-style URL of queue ``name`` (SQS_ENDPOINT_STRATEGY=path)."""
    return f"{url}/queue/{REGION}/{ACCOUNT}/{name}"
