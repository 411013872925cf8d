"""Fixtures for infer-ct: a real Context with the shipped models registered, and samples."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from acme.function import Context
from acme.models import register_bundled
from acme.samples import MIN_CT_SLICES, SampleManifest, write_samples
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client

REPO = Path(__file__).resolve().parents[3]

OpenContext = Callable[..., Context]


@pytest.fixture(scope="session")
def ct_samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    folder = tmp_path_factory.mktemp("ct-samples")
    return folder, write_samples(folder, ct_slices=MIN_CT_SLICES)


@pytest.fixture
def open_context(settings: Settings) -> Iterator[OpenContext]:
    """Open infer-ct contexts on the test servers (buckets made, shipped models registered)."""
    opened: list[Context] = []
    ensure_buckets(make_s3_client(settings), settings.buckets.all())

    def open_one(**overrides: object) -> Context:
        values = {"models_dir": REPO / "models", **overrides}
        context = Context.open("infer-ct", settings.model_copy(update=values))
        opened.append(context)
        register_bundled(context.store, context.settings)
        return context

    yield open_one
    for context in opened:
        context.close()


@pytest.fixture
def ctx(open_context: OpenContext) -> Context:
    return open_context()
