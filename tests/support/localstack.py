"""LocalStack (S3 and SQS) as a child process, without Docker; ``dicom-inbox`` notifying SQS.

Also the developers' demo against LocalStack (``make demo-localstack``)::

    .venv/bin/python tests/support/localstack.py demo
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx

from acme.stack.ports import free_port

ACCOUNT = "000000000000"
REGION = "us-east-1"
LOCALSTACK_PYTHON = Path(__file__).resolve().parents[2] / ".venv-localstack" / "bin" / "python"
"""LocalStack's own virtualenv (``make install``): its moto fork must not replace the project's."""
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
QUEUE = "acme-bucket-events"


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
    assert LOCALSTACK_PYTHON.exists(), f"{LOCALSTACK_PYTHON}: no LocalStack; run `make install`"
    proc = subprocess.Popen(
        [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"],
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


def prepare_inbox(url: str) -> dict[str, str]:
    """Create ``dicom-inbox`` notifying an SQS queue of every new object; the ``ACME_*``
    settings under which ``acme up`` uses LocalStack's S3 and that queue."""
    clients = {"endpoint_url": url, "region_name": REGION, **CREDENTIALS}
    s3, sqs = boto3.client("s3", **clients), boto3.client("sqs", **clients)
    s3.create_bucket(Bucket="dicom-inbox")
    queue = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    target = {"QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
    s3.put_bucket_notification_configuration(
        Bucket="dicom-inbox", NotificationConfiguration={"QueueConfigurations": [target]}
    )
    return {
        "ACME_S3_URL": url,
        "ACME_S3_ACCESS_KEY": CREDENTIALS["aws_access_key_id"],
        "ACME_S3_SECRET_KEY": CREDENTIALS["aws_secret_access_key"],
        "ACME_S3_REGION": REGION,
        "ACME_BUCKET_EVENTS_TRANSPORT": "sqs",
        "ACME_SQS_QUEUE_URL": queue_url(url, QUEUE),
        "ACME_SQS_ENDPOINT_URL": url,
        "ACME_SQS_WAIT_SECONDS": "1",
    }


def _demo() -> int:
    """``acme demo`` with every bucket in LocalStack and notifications through SQS."""
    with running_localstack(Path(os.environ.get("ACME_HOME", ".acme")) / "localstack") as url:
        env = {**os.environ, **prepare_inbox(url)}
        print(f"LocalStack at {url}: dicom-inbox notifies SQS queue {QUEUE}", flush=True)
        acme = Path(sys.executable).with_name("acme")
        return subprocess.run([str(acme), "demo"], env=env, check=False).returncode


if __name__ == "__main__":
    if sys.argv[1:] != ["demo"]:
        sys.exit("usage: python tests/support/localstack.py demo")
    sys.exit(_demo())
