"""Backpressure on the real disk: a threshold over the archive volume's free space pauses
ingest (objects wait in the inbox, one log line, the metric says so); lowered, the sweep
takes what waited and nothing is lost."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
import structlog
from dicom_ingest.api import routes
from dicom_ingest.ingest import ingest_object
from dicom_ingest.sweep import sweep_inbox
from prometheus_client.parser import text_string_to_metric_families

from acme.auth import ensure_local_key, mint_token, policy_from_settings
from acme.errors import ConfigError
from acme.function import Context
from acme.http import dispatcher_for
from acme.samples import SampleManifest
from acme.settings import Settings
from acme.stack.layout import data_folder
from acme.stack.stack import EmbeddedStack
from acme.storage import archive_space

PAUSED = "ingest paused: the archive volume has less free space than"


@pytest.fixture
def volume(embedded_stack: EmbeddedStack) -> Path:
    """The data folder of the session's SeaweedFS: where the archive's bytes really are."""
    return data_folder(embedded_stack.home)


def _context(settings: Settings, volume: Path, min_free: int) -> Context:
    return Context.open(
        "dicom-ingest",
        settings.model_copy(update={"archive_volume": volume, "archive_min_free_bytes": min_free}),
    )


@pytest.fixture
def full(ingest_settings: Settings, volume: Path) -> Iterator[Context]:
    """A context whose threshold is over the volume's whole size: always short of space."""
    context = _context(ingest_settings, volume, shutil.disk_usage(volume).total + 1)
    try:
        yield context
    finally:
        context.close()


def _metrics(ctx: Context) -> dict[str, float]:
    """The unlabelled samples of ingest-api's ``GET /metrics``, as an admin reads them."""
    ensure_local_key(ctx.settings)
    dispatch = dispatcher_for(routes, policy_from_settings(ctx.settings))
    token = mint_token(ctx.settings, user="u1", roles=["admin"])
    with flask.Flask("t").test_request_context(
        "/metrics", headers={"Authorization": f"Bearer {token}"}
    ):
        text = dispatch(ctx, flask.request).get_data(as_text=True)
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def _count(ctx: Context, sql: str) -> int:
    with ctx.db.connection() as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def test_ingest_pauses_under_the_threshold_and_resumes_when_it_is_lowered(
    full: Context, ingest_settings: Settings, volume: Path, samples: tuple[Path, SampleManifest]
) -> None:
    folder, manifest = samples
    good = [e for e in manifest.good() if e.modality in ("CR", "DX")][:3]
    inbox = full.settings.buckets.inbox
    keys = [f"waiting/{n}.dcm" for n in range(len(good))]
    for key, entry in zip(keys, good, strict=True):
        full.store.put(inbox, key, (folder / entry.path).read_bytes())

    with structlog.testing.capture_logs() as paused_logs:
        outcomes = [ingest_object(full, inbox, key, None) for key in keys]
        assert sweep_inbox(full, None) == {}
    assert outcomes == ["deferred"] * len(keys)
    assert sorted(o.key for o in full.store.list(inbox)) == keys, "every object waits"
    assert _count(full, "SELECT count(*) FROM inbox_ledger") == 0
    assert _count(full, "SELECT count(*) FROM ingest_attempts") == 0, "no try was counted"
    said = [e for e in paused_logs if e["event"].startswith(PAUSED)]
    assert len(said) == 1, "one line per pause, not one per object"
    assert said[0]["log_level"] == "warning"
    assert said[0]["min_free_bytes"] > said[0]["free_bytes"] > 0
    assert said[0]["volume"] == str(volume)
    assert not any(key in str(event) for event in paused_logs for key in keys), "no keys"
    metrics = _metrics(full)
    assert metrics["acme_ingest_paused"] == 1
    assert metrics["acme_archive_min_free_bytes"] == said[0]["min_free_bytes"]
    assert 0 < metrics["acme_archive_free_bytes"] < said[0]["min_free_bytes"]

    roomy = _context(ingest_settings, volume, 1024**2)  # space returned: a lower threshold
    try:
        with structlog.testing.capture_logs() as resumed_logs:
            assert sweep_inbox(roomy, None) == {"stored": len(keys)}
        assert list(roomy.store.list(inbox)) == []
        assert _count(roomy, "SELECT count(*) FROM instances") == len(keys)
        resumed = [e for e in resumed_logs if e["event"].startswith("ingest resumed")]
        assert len(resumed) == 1
        assert _metrics(roomy)["acme_ingest_paused"] == 0
    finally:
        roomy.close()


def test_the_embedded_data_folder_is_measured_by_default(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    assert archive_space(settings) is None, "no embedded SeaweedFS, no volume set: nothing"
    data_folder(settings.home).mkdir(parents=True)
    space = archive_space(settings)
    assert space is not None and space.volume == data_folder(settings.home.resolve())
    assert space.free_bytes == shutil.disk_usage(tmp_path).free
    assert space.min_free_bytes == 1024**3


def test_a_volume_that_is_not_there_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, archive_volume=tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"ACME_ARCHIVE_VOLUME: .*missing: cannot measure"):
        archive_space(settings)
