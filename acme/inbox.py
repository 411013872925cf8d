"""Dropping files into dicom-inbox, as a modality or a gateway would (``acme send``)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from acme.errors import AcmeError, ConfigError
from acme.storage import ObjectStore


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    size: int


@dataclass
class SendReport:
    """What ``send_files`` did: every file is either sent or failed (with the reason)."""

    sent: list[Upload] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def bytes_sent(self) -> int:
        return sum(upload.size for upload in self.sent)


def expand(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Every regular file under ``paths`` with the path it is keyed by (relative to its root).

    Hidden files are skipped in folders (not when named explicitly). A missing path is a
    :class:`ConfigError` naming it.
    """
    found: list[tuple[Path, Path]] = []
    for root in paths:
        if root.is_file():
            found.append((root, Path(root.name)))
        elif root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                    found.append((path, Path(root.name) / relative))
        else:
            raise ConfigError("PATH", f"{root}: no such file or folder")
    return found


def batch_prefix() -> str:
    """A prefix that makes every key of one send unique: ``<UTC time>-<random>``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def send_files(
    store: ObjectStore,
    bucket: str,
    files: list[tuple[Path, Path]],
    *,
    prefix: str,
    workers: int = 8,
    on_done: Callable[[Upload | None, int], None] | None = None,
) -> SendReport:
    """Upload ``files`` concurrently under ``<prefix>/<relative path>``; never raises per file."""
    report = SendReport()

    def one(item: tuple[Path, Path]) -> Upload:
        path, relative = item
        data = path.read_bytes()
        key = f"{prefix}/{relative.as_posix()}"
        store.put(bucket, key, data, content_type="application/dicom")
        return Upload(path, key, len(data))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(one, item): item for item in files}
        for future in as_completed(futures):
            path = futures[future][0]
            try:
                upload = future.result()
            except (OSError, AcmeError) as exc:
                report.failed.append((path, str(exc)))
                if on_done is not None:
                    on_done(None, path.stat().st_size if path.exists() else 0)
                continue
            report.sent.append(upload)
            if on_done is not None:
                on_done(upload, upload.size)
    return report
