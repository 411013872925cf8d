"""Room left in the archive: the free space of the filesystem that holds its data.

The S3 API says nothing about free space, so it is measured where the bytes live: ``statvfs``
of ``ACME_ARCHIVE_VOLUME``, by default the embedded SeaweedFS data folder. The figure is the
space an unprivileged writer may still use (``f_bavail``, what ``df`` shows as available).
For an external S3 server with no volume configured there is nothing to measure
(docs/decisions/0105-ingest-backpressure.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from acme.errors import ConfigError
from acme.settings import Settings
from acme.stack.layout import data_folder

__all__ = ["ArchiveSpace", "archive_space"]


@dataclass(frozen=True)
class ArchiveSpace:
    """One reading: where, how much is free, and the least ingest needs."""

    volume: Path
    free_bytes: int
    min_free_bytes: int

    @property
    def short(self) -> bool:
        """True when ingest must pause: less free space than ``ACME_ARCHIVE_MIN_FREE_BYTES``."""
        return self.free_bytes < self.min_free_bytes


def archive_space(settings: Settings) -> ArchiveSpace | None:
    """The archive volume's free space now; None when no volume is known to measure."""
    volume = settings.archive_volume
    if volume is None:
        embedded = data_folder(settings.home.resolve())
        if not embedded.is_dir():
            return None
        volume = embedded
    try:
        stats = os.statvfs(volume)
    except OSError as exc:
        raise ConfigError(
            "ACME_ARCHIVE_VOLUME", f"{volume}: cannot measure its free space ({exc.strerror})"
        ) from None
    return ArchiveSpace(
        volume=volume,
        free_bytes=stats.f_bavail * stats.f_frsize,
        min_free_bytes=settings.archive_min_free_bytes,
    )
