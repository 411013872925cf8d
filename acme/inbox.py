"""Dropping files into dicom-inbox, as a modality or a gateway would (``acme send``), and
waiting to learn what became of them (the inbox ledger, :mod:`acme.ledger`)."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from acme.db import Pool
from acme.errors import AcmeError, ConfigError
from acme.ledger import LedgerEntry, latest_by_key, tally
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


@dataclass
class Settlement:
    """What became of the uploads of one send: settled entries and keys still waiting."""

    settled: dict[str, LedgerEntry] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        """archived, duplicate, and quarantined by reason (see :func:`acme.ledger.tally`)."""
        return tally(self.settled.values())


def await_outcomes(
    pool: Pool,
    bucket: str,
    keys: list[str],
    *,
    timeout: float,
    poll: float = 1.0,
    on_progress: Callable[[int, int], None] | None = None,
) -> Settlement:
    """Poll the ledger until every key is settled or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    settled: dict[str, LedgerEntry] = {}
    while True:
        pending = [key for key in keys if key not in settled]
        settled.update(latest_by_key(pool, bucket, pending))
        if on_progress is not None:
            on_progress(len(settled), len(keys))
        if len(settled) == len(keys) or time.monotonic() >= deadline:
            break
        time.sleep(poll)
    return Settlement(settled=settled, waiting=[key for key in keys if key not in settled])
