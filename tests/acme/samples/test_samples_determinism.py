"""The same seed gives the same bytes, another seed other UIDs; a rerun replaces the last."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from acme.samples import (
    TOO_LARGE_PATH,
    CxrFinding,
    SampleManifest,
    SamplesError,
    render_cxr,
    write_oversized,
    write_samples,
)


def test_rerun_replaces_an_earlier_set_and_matches_byte_for_byte(
    tmp_path: Path, manifest: SampleManifest
) -> None:
    last_slice = manifest.file("good/ct/CT000100.dcm")
    stale = last_slice.model_copy(update={"path": "good/ct/CT000101.dcm"})
    manifest.model_copy(update={"files": [*manifest.files, stale]}).write(tmp_path)
    (tmp_path / "good/ct").mkdir(parents=True)
    (tmp_path / stale.path).write_bytes(b"left over from an earlier run")
    (tmp_path / "mine.txt").write_text("not ours")

    again = write_samples(tmp_path, ct_slices=100, seed=0)

    assert again == manifest
    assert not (tmp_path / stale.path).exists()
    assert (tmp_path / "mine.txt").read_text() == "not ours"


def test_another_seed_gives_other_uids(tmp_path: Path, manifest: SampleManifest) -> None:
    entry = manifest.file(TOO_LARGE_PATH)
    write_oversized(tmp_path / "seed0.dcm", larger_than=1024, seed=0)
    write_oversized(tmp_path / "seed1.dcm", larger_than=1024, seed=1)
    seed0, seed1 = (pydicom.dcmread(tmp_path / f"seed{n}.dcm") for n in (0, 1))
    assert (seed0.StudyInstanceUID, seed0.SOPInstanceUID) == (entry.study_uid, entry.sop_uid)
    assert seed1.StudyInstanceUID != seed0.StudyInstanceUID
    assert seed1.SOPInstanceUID != seed0.SOPInstanceUID


def test_too_few_ct_slices_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SamplesError, match="ct_slices: expected at least 100, got 10"):
        write_samples(tmp_path, ct_slices=10)


@pytest.mark.parametrize("finding", [CxrFinding.OPACITY, CxrFinding.EFFUSION])
def test_findings_change_only_their_box(finding: CxrFinding) -> None:
    normal = render_cxr(CxrFinding.NORMAL, rng=np.random.default_rng(7), size=256)
    sick = render_cxr(finding, rng=np.random.default_rng(7), size=256)
    box = sick.truth.box
    assert box is not None and sick.truth.side in ("left", "right")
    diff = np.abs(sick.pixels - normal.pixels)
    inside = diff[box.row_min : box.row_max, box.col_min : box.col_max].sum()
    assert inside > 0.9 * diff.sum() > 0


def test_render_is_deterministic_and_in_range() -> None:
    one = render_cxr("normal", rng=np.random.default_rng(3), size=128)
    two = render_cxr("normal", rng=np.random.default_rng(3), size=128)
    assert np.array_equal(one.pixels, two.pixels)
    assert one.pixels.dtype == np.float32 and one.pixels.shape == (128, 128)
    assert float(one.pixels.min()) >= 0.0 and float(one.pixels.max()) <= 1.0
    assert one.truth.finding is CxrFinding.NORMAL and one.truth.box is None
