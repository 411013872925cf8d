"""The sweep's per-object lock: released only by the try that holds it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from dicom_ingest import sweep as sweep_module
from dicom_ingest.sweep import sweep_inbox

from acme.function import Context
from acme.samples import SampleManifest


def test_a_lock_taken_over_after_it_expired_is_left_to_its_new_owner(
    ctx: Context, samples: tuple[Path, SampleManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CR")
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "slow.dcm", (folder / entry.path).read_bytes())
    name = "acme:ingest-lock:" + hashlib.sha256(f"{inbox}/slow.dcm".encode()).hexdigest()
    real_ingest = sweep_module.ingest_object

    def slow_ingest(*args: object) -> str:
        # The lock expires during the try, and another replica takes it.
        ctx.redis.delete(name)
        ctx.redis.set(name, "other-replica", ex=60)
        return real_ingest(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sweep_module, "ingest_object", slow_ingest)

    assert sweep_inbox(ctx, None) == {"stored": 1}

    assert ctx.redis.get(name) == b"other-replica"


def test_the_lock_is_released_after_the_try(
    ctx: Context, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    entry = next(e for e in manifest.good() if e.modality == "CR")
    inbox = ctx.settings.buckets.inbox
    ctx.store.put(inbox, "quick.dcm", (folder / entry.path).read_bytes())
    name = "acme:ingest-lock:" + hashlib.sha256(f"{inbox}/quick.dcm".encode()).hexdigest()
    assert sweep_inbox(ctx, None) == {"stored": 1}
    assert ctx.redis.exists(name) == 0
