"""Fixtures for infer-cxr: a real Context with the shipped models registered, and samples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inference_contexts import OpenContext, inference_contexts

from acme.function import Context
from acme.samples import MIN_CT_SLICES, SampleManifest, write_samples
from acme.settings import Settings


@pytest.fixture(scope="session")
def cxr_samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    folder = tmp_path_factory.mktemp("cxr-samples")
    return folder, write_samples(folder, ct_slices=MIN_CT_SLICES)


@pytest.fixture
def open_context(settings: Settings) -> Iterator[OpenContext]:
    """Open infer-cxr contexts on the test servers (buckets made, shipped models registered)."""
    with inference_contexts(settings, "infer-cxr", cxr_heatmap_grid=5) as open_one:
        yield open_one


@pytest.fixture
def ctx(open_context: OpenContext) -> Context:
    return open_context()
