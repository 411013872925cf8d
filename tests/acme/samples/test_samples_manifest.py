"""The manifest describes exactly what was written, and validates what it is given."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

import acme.samples
from acme.samples import MANIFEST_NAME, Kind, Pipeline, Reason, SampleFile, SampleManifest


def test_public_names_are_pinned() -> None:
    assert sorted(acme.samples.__all__) == [
        "ChestPhantom",
        "CtChestTruth",
        "CtNoduleTruth",
        "CtQaTruth",
        "CxrFinding",
        "CxrImage",
        "CxrTruth",
        "Kind",
        "MANIFEST_NAME",
        "MIN_CT_SLICES",
        "Nodule",
        "Pipeline",
        "PixelBox",
        "Reason",
        "SampleFile",
        "SampleManifest",
        "SampleStudy",
        "SamplesError",
        "TOO_LARGE_PATH",
        "render_cxr",
        "write_oversized",
        "write_samples",
    ]


def test_manifest_lists_every_file_written(samples_dir: Path, manifest: SampleManifest) -> None:
    on_disk = {p.relative_to(samples_dir).as_posix() for p in samples_dir.rglob("*") if p.is_file()}
    listed = {f.path for f in manifest.files if f.materialised}
    assert on_disk == listed | {MANIFEST_NAME}
    lazy = [f for f in manifest.files if not f.materialised]
    assert [f.expected_reason for f in lazy] == [Reason.TOO_LARGE]


def test_sizes_and_hashes_match_the_bytes(samples_dir: Path, manifest: SampleManifest) -> None:
    for entry in manifest.files:
        if not entry.materialised:
            continue
        data = (samples_dir / entry.path).read_bytes()
        assert entry.size_bytes == len(data), entry.path
        assert entry.sha256 == hashlib.sha256(data).hexdigest(), entry.path


def test_manifest_json_round_trips(samples_dir: Path, manifest: SampleManifest) -> None:
    assert SampleManifest.read(samples_dir) == manifest
    raw = json.loads((samples_dir / MANIFEST_NAME).read_text())
    assert raw["ct_slices"] == 100 and raw["seed"] == 0


def test_progress_counts_every_file(
    manifest: SampleManifest, progress_calls: tuple[tuple[int, int], ...]
) -> None:
    materialised = [f for f in manifest.files if f.materialised]
    total = len(materialised)
    assert progress_calls == tuple((done, total) for done in range(1, total + 1))


def test_good_files_come_first_and_point_at_their_studies(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    kinds = [f.kind for f in manifest.files]
    assert kinds == sorted(kinds, key=lambda k: k is Kind.BAD)
    for study in manifest.studies:
        files = manifest.files_of(study.study_uid)
        assert len(files) == study.instances
        assert {f.series_uid for f in files} == {study.series_uid}
        assert {f.expected_pipeline for f in files} == {study.expected_pipeline}
    pipelines = [s.expected_pipeline for s in manifest.studies]
    assert pipelines.count(Pipeline.CT) == 4 and pipelines.count(Pipeline.CT_QA) == 2
    assert pipelines.count(Pipeline.CXR) == 6


def test_every_good_file_belongs_to_a_listed_study(
    samples_dir: Path, manifest: SampleManifest
) -> None:
    studies = {s.study_uid for s in manifest.studies}
    for entry in manifest.good():
        assert entry.study_uid in studies, entry.path
        assert entry.expected_pipeline in (Pipeline.CXR, Pipeline.CT, Pipeline.CT_QA)


def test_bad_files_have_a_known_reason(samples_dir: Path, manifest: SampleManifest) -> None:
    reasons = {f.expected_reason for f in manifest.bad()}
    assert {r.split(":")[0] for r in reasons if r} == set(Reason)
    assert all(f.expected_pipeline is Pipeline.NONE for f in manifest.bad())


def _entry(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "path": "bad/x.dcm",
        "kind": "bad",
        "category": "x",
        "description": "x",
        "size_bytes": 1,
        "sha256": "00",
        "expected_pipeline": "none",
        "expected_reason": "truncated",
    }
    return base | changes


def test_entry_accepts_a_valid_bad_file() -> None:
    entry = SampleFile.model_validate(_entry(expected_reason="missing-attribute:Modality"))
    assert entry.expected_reason == "missing-attribute:Modality"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "colour"),
        ({"expected_reason": "exploded"}, "expected_reason"),
        ({"expected_reason": "truncated:PixelData"}, "only missing-attribute"),
        ({"expected_reason": "missing-attribute"}, "only missing-attribute"),
        ({"expected_reason": None}, "needs a reason"),
        ({"path": "../etc/passwd"}, "relative forward-slash path"),
        ({"path": "/abs.dcm"}, "relative forward-slash path"),
        ({"kind": "good", "expected_pipeline": "cxr"}, "has no expected_reason"),
        ({"size_bytes": None}, "needs size_bytes and sha256"),
    ],
)
def test_entry_rejects_what_cannot_be_true(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SampleFile.model_validate(_entry(**changes))


def test_manifest_rejects_a_path_listed_twice() -> None:
    entry = _entry()
    with pytest.raises(ValidationError, match="listed once"):
        SampleManifest.model_validate(
            {"seed": 0, "ct_slices": 100, "files": [entry, entry], "studies": []}
        )
