"""infer-ct end to end on the real servers: ingest a CT series, complete it, score or check it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dbrows import rows, study_state
from dicom_ingest.completion import complete_series
from dicom_ingest.ingest import ingest_object
from dicom_ingest.routing import load_routing
from infer_ct.nodules import find_nodules
from infer_ct.qa import check_phantom
from jetstream import published
from pydicom import dcmread
from werkzeug.exceptions import BadRequest

from acme.events import EventType, SeriesCompleted, new_event
from acme.function import Context, Event
from acme.imaging import PNG_SIGNATURE
from acme.models import ModelCache
from acme.samples import CtChestTruth, CtQaTruth, SampleManifest
from acme.samples.real import testdata_path as pydicom_data

REPO = Path(__file__).resolve().parents[3]
MAIN = REPO / "functions" / "infer-ct" / "main.py"
ROUTING = load_routing(REPO / "functions" / "dicom-ingest" / "routing.yml").model_copy(
    update={"stable_age_seconds": {"default": 0.001}}
)
CENTRE_TOLERANCE_MM = 3.0
DIAMETER_TOLERANCE_MM = 1.5


def _load_main() -> Any:
    spec = importlib.util.spec_from_file_location("infer_ct_main", MAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ingest_files(ctx: Context, paths: list[Path]) -> None:
    for path in paths:
        key = f"modality/{path.parent.name}/{path.name}"
        ctx.store.put(ctx.settings.buckets.inbox, key, path.read_bytes())
        assert ingest_object(ctx, ctx.settings.buckets.inbox, key, None) == "stored"


def _study(ctx: Context, samples: tuple[Path, SampleManifest], folder: str) -> Any:
    root, manifest = samples
    files = sorted((root / "good" / folder).glob("*.dcm"))
    _ingest_files(ctx, files)
    uid = manifest.file(files[0].relative_to(root).as_posix()).study_uid
    return manifest.study(str(uid))


def _complete(ctx: Context, series_uid: str) -> tuple[SeriesCompleted, Event]:
    [data] = [d for d in complete_series(ctx, ROUTING, None) if d.series_uid == series_uid]
    return data, Event.from_cloudevent(
        new_event(EventType.SERIES_COMPLETED, data, source="/test/dicom-ingest")
    )


def test_the_synthetic_nodules_are_found_at_their_slices_with_their_size(
    ctx: Context, ct_samples: tuple[Path, SampleManifest]
) -> None:
    study = _study(ctx, ct_samples, "ct-two-nodules")
    truth = study.truth
    assert isinstance(truth, CtChestTruth) and len(truth.nodules) == 2
    series, event = _complete(ctx, study.series_uid)
    assert (series.pipeline, series.rule) == ("ct", "ct-volume")

    _load_main().handler.handle(ctx, event.raw)

    [completed] = published(ctx.settings, EventType.INFERENCE_COMPLETED)
    data = completed.data
    assert (completed["pipeline"], data["model"]["name"]) == ("ct", "ct-nodule-synthetic")
    found = [f for f in data["findings"] if f["positive"]]
    assert len(found) == 2, data["findings"]
    for nodule in truth.nodules:
        match = min(
            found,
            key=lambda f: np.linalg.norm(np.subtract(f["measurement"]["centre_mm"],
                                                     nodule.center_mm)),
        )  # fmt: skip
        m = match["measurement"]
        assert np.linalg.norm(np.subtract(m["centre_mm"], nodule.center_mm)) <= CENTRE_TOLERANCE_MM
        assert abs(m["diameter_mm"] - nodule.diameter_mm) <= DIAMETER_TOLERANCE_MM, m
        assert m["side"] == nodule.side
        first, last = m["slices"]
        assert first <= nodule.instance_number <= last  # Instance Number 1 is the lowest slice
        assert len(m["sop_uids"]) == last - first + 1
        centre = dcmread(ct_samples[0] / f"good/ct-two-nodules/CT{nodule.instance_number:06d}.dcm")
        assert centre.SOPInstanceUID in m["sop_uids"]
        png = ctx.store.get(ctx.settings.buckets.results, m["key_image_key"])
        assert png.startswith(PNG_SIGNATURE)
    stored = rows(ctx, "SELECT label, positive, measurement->>'side' FROM findings ORDER BY 3")
    assert stored == [("Lung nodule", True, "left"), ("Lung nodule", True, "right")]
    assert study_state(ctx, study.study_uid) == ("inferred", None)

    again = find_nodules(ctx, ModelCache(), series, event)  # redelivered: nothing changes
    assert again.status == "unchanged"
    assert len(published(ctx.settings, EventType.INFERENCE_COMPLETED)) == 1


def test_a_ct_without_a_nodule_gets_one_negative_finding(
    ctx: Context, ct_samples: tuple[Path, SampleManifest]
) -> None:
    study = _study(ctx, ct_samples, "ct-normal")
    series, event = _complete(ctx, study.series_uid)
    assert find_nodules(ctx, ModelCache(), series, event).status == "completed"
    [(label, positive, measurement)] = rows(
        ctx, "SELECT label, positive, measurement FROM findings"
    )
    assert (label, positive, measurement) == ("Lung nodule", False, None)


def test_a_series_with_a_missing_slice_fails_with_its_reason(
    ctx: Context, ct_samples: tuple[Path, SampleManifest]
) -> None:
    root, manifest = ct_samples
    files = sorted((root / "good" / "ct-normal").glob("*.dcm"))
    del files[40]
    _ingest_files(ctx, files)
    series_uid = str(manifest.file(files[0].relative_to(root).as_posix()).series_uid)
    series, event = _complete(ctx, series_uid)
    assert find_nodules(ctx, ModelCache(), series, event).status == "failed"
    [failed] = published(ctx.settings, EventType.INFERENCE_FAILED)
    assert failed.data["reason_code"] == "missing-slices" and not failed.data["retryable"]
    assert "about 1 slice(s) missing" in failed.data["detail"]
    assert study_state(ctx, series.study_uid) == ("failed", "inference failed: missing-slices")


def test_the_real_head_ct_slice_gets_a_clear_outcome(ctx: Context) -> None:
    _ingest_files(ctx, [pydicom_data("693_UNCR.dcm")])
    [(series_uid,)] = rows(ctx, "SELECT series_uid FROM series")
    series, event = _complete(ctx, str(series_uid))
    assert series.pipeline == "ct"
    assert find_nodules(ctx, ModelCache(), series, event).status == "failed"
    [failed] = published(ctx.settings, EventType.INFERENCE_FAILED)
    assert failed.data["reason_code"] == "too-few-slices"
    assert "has 1 slice(s); a volume needs at least 16" in failed.data["detail"]


@pytest.mark.parametrize("folder", ["ct-qa-pass", "ct-qa-fail"])
def test_the_qa_phantoms_pass_and_fail_as_constructed(
    ctx: Context, ct_samples: tuple[Path, SampleManifest], folder: str
) -> None:
    study = _study(ctx, ct_samples, folder)
    truth = study.truth
    assert isinstance(truth, CtQaTruth)
    series, event = _complete(ctx, study.series_uid)
    assert (series.pipeline, series.rule) == ("ct-qa", "ct-qa-phantom")

    _load_main().handler.handle(ctx, event.raw)

    [completed] = published(ctx.settings, EventType.INFERENCE_COMPLETED)
    qa = completed.data["qa"]
    assert qa["passed"] is truth.passes and completed.data["findings"] == []
    items = {item["name"]: item for item in qa["items"]}
    assert items["water-mean"]["value"] == pytest.approx(truth.water_hu, abs=1.0)
    assert items["noise"]["value"] == pytest.approx(truth.noise_hu, abs=0.5)
    assert items["water-mean"]["passed"] is truth.passes
    assert items["uniformity"]["passed"] is truth.passes
    assert (items["water-mean"]["lower"], items["water-mean"]["upper"]) == (-4.0, 4.0)
    assert completed.data["model"] == {"name": "ct-water-phantom", "version": "1.0.0"}
    assert rows(ctx, "SELECT passed FROM qa_checks") == [(truth.passes,)]
    assert len(rows(ctx, "SELECT 1 FROM qa_measurements")) == 3
    assert study_state(ctx, study.study_uid) == ("inferred", None)
    assert check_phantom(ctx, series, event).status == "unchanged"


def test_qa_tolerances_are_configurable(
    open_context: Any, ct_samples: tuple[Path, SampleManifest]
) -> None:
    lenient = open_context(ct_qa_water_tolerance_hu=10.0, ct_qa_uniformity_tolerance_hu=10.0)
    study = _study(lenient, ct_samples, "ct-qa-fail")
    series, event = _complete(lenient, study.series_uid)
    assert check_phantom(lenient, series, event).status == "completed"
    [completed] = published(lenient.settings, EventType.INFERENCE_COMPLETED)
    assert completed.data["qa"]["passed"] is True


def test_series_of_other_pipelines_are_refused_with_a_400(ctx: Context) -> None:
    data = SeriesCompleted(
        study_uid="1.2.3", series_uid="1.2.3.4", modality="CR", pipeline="cxr",
        instance_count=1, completed_at="2024-01-01T00:00:00Z",
    )  # fmt: skip
    with pytest.raises(BadRequest, match="pipeline=ct or ct-qa"):
        _load_main().handler.handle(ctx, new_event(EventType.SERIES_COMPLETED, data, source="/t"))
