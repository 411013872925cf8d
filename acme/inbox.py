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
from acme.series_manifest import SeriesManifest, manifest_key, member_of
from acme.storage import ObjectStore


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    size: int
    member: tuple[str, str, str] | None = None
    """Study, series and SOP Instance UIDs, when the file is DICOM that says them."""


@dataclass
class SendReport:
    """What ``send_files`` did: every file is either sent or failed (with the reason)."""

    sent: list[Upload] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    """Keys of the completion manifests written, one per series sent whole."""
    unsent_manifests: list[tuple[str, str]] = field(default_factory=list)
    """Manifests that could not be put, with the reason: their series complete by age."""

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
    manifests: bool = False,
) -> SendReport:
    """Upload ``files`` concurrently under ``<prefix>/<relative path>``; never raises per file.

    With ``manifests``, then put one completion manifest per series whose every file was sent
    (:mod:`acme.series_manifest`), so the series completes as soon as the last is indexed.
    """
    report = SendReport()

    def one(item: tuple[Path, Path]) -> Upload:
        path, relative = item
        data = path.read_bytes()
        key = f"{prefix}/{relative.as_posix()}"
        store.write(bucket, key, data, content_type="application/dicom")
        return Upload(path, key, len(data), member_of(data) if manifests else None)

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
    if manifests:
        for manifest in _manifests(report):
            key = manifest_key(prefix, manifest.series_uid)
            try:
                store.write(bucket, key, manifest.to_json(), content_type="application/json")
            except AcmeError as exc:
                report.unsent_manifests.append((key, str(exc)))
                continue
            report.manifests.append(key)
    return report


def _manifests(report: SendReport) -> list[SeriesManifest]:
    """One manifest per series of ``report.sent``. A failed upload whose series cannot be
    told (unreadable) withholds every manifest, one whose series can withholds its series'
    (those series then complete by their stable age); so does a UID that is not valid."""
    withheld: set[str] = set()
    for path, _reason in report.failed:
        member = _member_of_path(path)
        if member is None:
            return []
        withheld.add(member[1])
    members: dict[tuple[str, str], set[str]] = {}
    for upload in report.sent:
        if upload.member is not None and upload.member[1] not in withheld:
            study, series, sop = upload.member
            members.setdefault((study, series), set()).add(sop)
    manifests = []
    for (study, series), sops in sorted(members.items()):
        try:
            manifests.append(SeriesManifest.of(study, series, sops))
        except ValueError:  # a UID that is not one: ingest quarantines those files
            continue
    return manifests


def _member_of_path(path: Path) -> tuple[str, str, str] | None:
    try:
        return member_of(path.read_bytes())
    except OSError:
        return None


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
