"""Servers that exit while the platform runs are started again: same port, same data."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import boto3
import psycopg
import redis

from acme.settings import Settings, load_settings
from acme.stack.process import ManagedProcess
from acme.stack.servers.base import Launch
from acme.stack.stack import EmbeddedStack
from acme.stack.state import read_state
from acme.stack.status import stack_health


class Crashing:
    """A server whose process is a sleeping Python that the test kills or lets die."""

    name = "redis"
    url_field = "redis_url"
    port_field = "redis_port"

    def __init__(self, code: str = "import time; time.sleep(600)") -> None:
        self.code = code
        self.process: ManagedProcess | None = None

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        self.process = ManagedProcess(
            self.name, [sys.executable, "-c", self.code], log_path=datadir / "log"
        )
        self.process.start()
        return Launch(self.process, f"redis://127.0.0.1:{port}/0")

    def probe(self, url: str, timeout: float) -> None:
        """Always healthy."""

    def ready(self, url: str) -> None:
        """Nothing to do."""


def test_a_server_that_dies_is_started_at_once_and_then_later_each_time(tmp_path: Path) -> None:
    server = Crashing()
    stack = EmbeddedStack(load_settings(home=tmp_path / "home"), servers=lambda _w: [server])
    with stack:
        assert server.process is not None and stack.revive() == []
        first = server.process.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        server.process.stop()  # reaped
        now = time.monotonic() + 60  # it had run long: started again at once
        [revival] = stack.revive(now)
        assert (revival.name, revival.exit_code, revival.restarts) == ("redis", -9, 1)
        state = read_state(tmp_path / "home")
        assert state is not None and state.servers["redis"].restarts == 1
        assert state.servers["redis"].pid == server.process.pid != first
        # it dies again at once: started again 0.5 s after its death is seen, then 1 s after
        server.process.stop()
        assert stack.revive(now + 0.1) == []
        assert stack.revive(now + 0.5) == []
        assert [r.restarts for r in stack.revive(now + 0.7)] == [2]
        server.process.stop()
        assert stack.revive(now + 1.2) == []
        assert stack.revive(now + 2.1) == []
        assert [r.restarts for r in stack.revive(now + 2.3)] == [3]


def test_each_real_server_comes_back_on_its_port_with_its_data(tmp_path: Path) -> None:
    stack = EmbeddedStack(load_settings(home=tmp_path / "home"))
    with stack as settings:
        assert stack.state is not None
        with psycopg.connect(str(settings.database_url), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        redis.Redis.from_url(str(settings.redis_url)).set("kept", "yes")
        s3 = boto3.client(
            "s3", endpoint_url=settings.s3_url, aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
            region_name=settings.s3_region,
        )  # fmt: skip
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="object", Body=b"kept")
        time.sleep(1.5)  # Redis' append-only file is written every second

        for name in ("nats", "postgres", "redis", "s3"):
            before = stack.state.servers[name]
            assert before.pid is not None
            os.kill(before.pid, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while not [r for r in stack.revive() if r.name == name]:
                assert time.monotonic() < deadline, f"{name} was not started again"
                time.sleep(0.2)
            deadline = time.monotonic() + 60
            while True:
                health = {h.name: h for h in stack_health(settings)}
                if all(h.healthy for h in health.values()):
                    break
                assert time.monotonic() < deadline, f"{name} did not come back: {health}"
                stack.revive()
                time.sleep(0.3)
            assert health[name].restarts == 1
            assert stack.state.servers[name].url == before.url  # the same port

        with psycopg.connect(str(settings.database_url)) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]
        assert redis.Redis.from_url(str(settings.redis_url)).get("kept") == b"yes"
        assert s3.get_object(Bucket="kept", Key="object")["Body"].read() == b"kept"
