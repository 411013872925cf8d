"""Write the whole sample set and its manifest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from acme.samples._common import SamplesError, WriteContext
from acme.samples.bad import BAD_FILE_COUNT, write_bad_corpus
from acme.samples.ct import MIN_CT_SLICES, extra_ct_files, write_ct_series
from acme.samples.ct_qa import QA_FILE_COUNT, write_qa_phantoms
from acme.samples.cxr import CXR_FILE_COUNT, write_cxr_studies, write_raw_dataset
from acme.samples.manifest import MANIFEST_NAME, SampleFile, SampleManifest
from acme.samples.real import REAL_FILE_COUNT, write_real_cxr

Progress = Callable[[int, int], None]


def _remove_previous(directory: Path) -> None:
    """Delete the files an earlier run listed in its manifest (and nothing else)."""
    if not (directory / MANIFEST_NAME).is_file():
        return
    try:
        previous = SampleManifest.read(directory)
    except ValidationError as exc:
        raise SamplesError(f"{directory / MANIFEST_NAME}: not a sample manifest: {exc}") from exc
    root = directory.resolve()
    for entry in previous.files:
        path = (directory / entry.path).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)


def write_samples(
    directory: Path,
    *,
    ct_slices: int = 120,
    seed: int = 0,
    progress: Progress | None = None,
) -> SampleManifest:
    """Write the sample and test studies into ``directory`` and return their manifest.

    The same ``seed`` (and ``ct_slices``) always gives the same bytes and UIDs; a different
    seed gives different UIDs throughout, so two sets can be sent to one platform. Files an
    earlier run listed in ``directory``'s manifest are removed first. ``progress(done, total)``
    is called after each file.
    """
    if ct_slices < MIN_CT_SLICES:
        raise SamplesError(f"ct_slices: expected at least {MIN_CT_SLICES}, got {ct_slices}")
    directory.mkdir(parents=True, exist_ok=True)
    _remove_previous(directory)
    total = (
        REAL_FILE_COUNT + CXR_FILE_COUNT + ct_slices + extra_ct_files() + QA_FILE_COUNT
        + BAD_FILE_COUNT
    )  # fmt: skip
    files: list[SampleFile] = []

    def on_file(entry: SampleFile) -> None:
        files.append(entry)
        if progress is not None:
            progress(len(files), total)

    ctx = WriteContext(root=directory, seed=seed, on_file=on_file)
    studies = [
        *write_real_cxr(ctx),
        *write_cxr_studies(ctx),
        write_raw_dataset(ctx),
        *write_ct_series(ctx, slices=ct_slices),
        *write_qa_phantoms(ctx),
    ]
    conflict_with = next(f for f in files if f.category == "cxr")
    too_large = write_bad_corpus(ctx, conflict_with=conflict_with)
    manifest = SampleManifest(
        seed=seed, ct_slices=ct_slices, files=[*files, too_large], studies=studies
    )
    manifest.write(directory)
    return manifest
