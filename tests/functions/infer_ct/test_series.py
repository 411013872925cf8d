"""A CT series is fetched from the archive several instances at a time, in its own order."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from dicom_ingest.ingest import ingest_object
from infer_ct.series import FETCH_WORKERS, archive_keys, load_volume

from acme.errors import StorageError
from acme.function import Context
from acme.samples import SampleManifest
from acme.storage import ObjectStore


class SlowStore:
    """The real store, each read taking at least 20 ms, counting the reads in flight; the
    read of ``failing`` raises."""

    def __init__(self, inner: ObjectStore, failing: str | None = None) -> None:
        self.inner = inner
        self.failing = failing
        self.in_flight = 0
        self.most = 0
        self.reads = 0
        self._lock = threading.Lock()

    def get(self, bucket: str, key: str) -> bytes:
        with self._lock:
            self.in_flight += 1
            self.reads += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(0.02)
            if key == self.failing:
                raise StorageError(f"s3://{bucket}/{key}: the archive went away")
            return self.inner.get(bucket, key)
        finally:
            with self._lock:
                self.in_flight -= 1

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _ingested_series(ctx: Context, samples: tuple[Path, SampleManifest]) -> str:
    root, manifest = samples
    files = sorted((root / "good" / "ct-normal").glob("*.dcm"))
    for path in files:
        key = f"modality/{path.parent.name}/{path.name}"
        ctx.store.put(ctx.settings.buckets.inbox, key, path.read_bytes())
        assert ingest_object(ctx, ctx.settings.buckets.inbox, key, None) == "stored"
    return str(manifest.file(files[0].relative_to(root).as_posix()).series_uid)


def test_instances_are_fetched_several_at_a_time_into_the_same_volume(
    ctx: Context, ct_samples: tuple[Path, SampleManifest]
) -> None:
    series_uid = _ingested_series(ctx, ct_samples)
    slow = SlowStore(ctx.store)
    limits = {"min_slices": 3, "max_slices": 1000}
    volume = load_volume(dataclasses.replace(ctx, store=slow), series_uid, **limits)
    assert slow.reads == volume.hu.shape[0] > 2 * FETCH_WORKERS
    assert 1 < slow.most <= FETCH_WORKERS
    plain = load_volume(ctx, series_uid, **limits)
    assert np.array_equal(volume.hu, plain.hu)
    assert volume.sop_uids == plain.sop_uids


def test_a_failed_read_is_raised_and_the_reads_not_started_are_cancelled(
    ctx: Context, ct_samples: tuple[Path, SampleManifest]
) -> None:
    series_uid = _ingested_series(ctx, ct_samples)
    slow = SlowStore(ctx.store, failing=archive_keys(ctx, series_uid)[0])
    with pytest.raises(StorageError, match="the archive went away"):
        load_volume(dataclasses.replace(ctx, store=slow), series_uid, min_slices=3, max_slices=1000)
    assert slow.reads <= 3 * FETCH_WORKERS < len(archive_keys(ctx, series_uid))  # the rest not read
