"""Where the embedded servers keep their files under the platform's home (``ACME_HOME``).

Kept apart from the server adapters, so that the storage adapter can find the archive's volume
(to measure its free space) without importing the servers, their probes and their clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

S3_SERVER: Final = "s3"
"""The embedded S3 server's name: its row in the state file and its folder under home."""


def data_folder(home: Path) -> Path:
    """Where the embedded SeaweedFS keeps its volumes (and so the archive's bytes)."""
    return home / S3_SERVER / "data"
