"""Real-world DICOM on the running platform: every file pydicom and pydicom-data ship.

Sent as ``acme send`` sends them, into the platform that ``acme up`` runs (notifications,
router, dicom-ingest): each file must end archived, duplicate or quarantined within a bounded
time, no event may be dead-lettered, the inbox must end empty, and no file that pydicom
itself decodes may be quarantined for its pixel data or for truncation.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from pathlib import Path

from acme_platform import running_platform, wait_until
from pydicom import dcmread
from pydicom.data import get_testdata_files
from routing import fast_routing

from acme.bus import connect
from acme.db import make_pool
from acme.inbox import await_outcomes, send_files
from acme.runtime.dlq import DeadLetterEntry, DeadLetterQueue
from acme.settings import Settings
from acme.storage import S3ObjectStore, make_s3_client

PIXEL_REASONS = {"corrupt-pixel-data", "truncated", "unsupported-syntax", "ingest-error"}
SETTLE_SECONDS = 420


def corpus() -> list[tuple[Path, Path]]:
    """Every file ``get_testdata_files()`` names, keyed by its folder below the data root."""
    files = [Path(name) for name in get_testdata_files() if os.path.isfile(name)]
    assert len(files) > 100, "pydicom-data is installed"
    return [(path, Path(path.parent.parent.name, path.parent.name, path.name)) for path in files]


def dead_letters(settings: Settings) -> list[DeadLetterEntry]:
    async def read() -> list[DeadLetterEntry]:
        client = await connect(settings, "test-dlq")
        try:
            return await DeadLetterQueue(client.jetstream(), settings).entries()
        finally:
            await client.close()

    return asyncio.run(read())


def decodes(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return dcmread(path, force=True).pixel_array.size > 0
        except Exception:  # noqa: BLE001 - "does pydicom decode it" is the question
            return False


def test_every_real_world_file_is_accounted_for(tmp_path: Path) -> None:
    files = corpus()
    extra = {
        "ACME_FUNCTIONS": "dicom-ingest",
        "ACME_ROUTING_FILE": str(fast_routing(tmp_path)),
        "ACME_TICK_SECONDS": "2",
    }
    with running_platform(tmp_path / "home", extra=extra) as settings:
        store = S3ObjectStore(make_s3_client(settings))
        pool = make_pool(settings, application_name="test")
        try:
            sent = send_files(store, settings.buckets.inbox, files, prefix="corpus")
            assert not sent.failed
            outcome = await_outcomes(
                pool,
                settings.buckets.inbox,
                [upload.key for upload in sent.sent],
                timeout=SETTLE_SECONDS,
            )
            assert outcome.waiting == [], f"{len(outcome.waiting)} not settled in time"
            wait_until(lambda: not list(store.list(settings.buckets.inbox)), 30, "empty inbox")
            dead = dead_letters(settings)
        finally:
            pool.close()
    assert dead == []

    by_path = {upload.path: outcome.settled[upload.key] for upload in sent.sent}
    wrongly = [
        f"{path.name}: {entry.describe()}"
        for path, entry in by_path.items()
        if entry.quarantine is not None
        and entry.quarantine.reason_code in PIXEL_REASONS
        and decodes(path)
    ]
    assert wrongly == []
    counts = outcome.counts()
    assert "quarantined: ingest-error" not in counts, "no file makes ingest fail"
    assert sum(counts.values()) == len(files)
    print(f"\n{len(files)} files: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
