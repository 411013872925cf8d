"""One sample set (100 CT slices, seed 0) written once for all the sample tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from acme.samples import SampleManifest, write_samples

Progress = tuple[tuple[int, int], ...]


@pytest.fixture(scope="session")
def _written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest, Progress]:
    directory = tmp_path_factory.mktemp("samples")
    calls: list[tuple[int, int]] = []
    manifest = write_samples(
        directory, ct_slices=100, seed=0, progress=lambda done, total: calls.append((done, total))
    )
    return directory, manifest, tuple(calls)


@pytest.fixture(scope="session")
def samples_dir(_written: tuple[Path, SampleManifest, Progress]) -> Path:
    """The directory the sample set was written to."""
    return _written[0]


@pytest.fixture(scope="session")
def manifest(_written: tuple[Path, SampleManifest, Progress]) -> SampleManifest:
    """The manifest ``write_samples`` returned."""
    return _written[1]


@pytest.fixture(scope="session")
def progress_calls(_written: tuple[Path, SampleManifest, Progress]) -> Progress:
    """Every ``(done, total)`` the progress callback received."""
    return _written[2]
