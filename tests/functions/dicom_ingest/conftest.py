"""Fixtures for dicom-ingest: a real Context on the test servers, and the sample set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from acme.function import Context
from acme.samples import SampleManifest, write_samples
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    folder = tmp_path_factory.mktemp("samples")
    return folder, write_samples(folder, ct_slices=100)


@pytest.fixture
def ingest_settings(settings: Settings) -> Settings:
    """Settings with the inbox grace period shortened for sweep tests."""
    ensure_buckets(make_s3_client(settings), settings.buckets.all())
    return settings.model_copy(update={"inbox_grace_seconds": 0.0})


@pytest.fixture
def ctx(ingest_settings: Settings) -> Iterator[Context]:
    context = Context.open("dicom-ingest", ingest_settings)
    try:
        yield context
    finally:
        context.close()
