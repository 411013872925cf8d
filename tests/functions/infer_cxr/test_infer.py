"""infer-cxr end to end on the real servers: ingest a radiograph, complete its series, score it."""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
from io import BytesIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dbrows import rows, study_state
from dicom_ingest.completion import complete_series
from dicom_ingest.ingest import ingest_object
from dicom_ingest.routing import RoutingConfig
from infer_cxr.infer import infer_series
from jetstream import published
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import generate_uid
from werkzeug.exceptions import BadRequest

from acme.errors import StorageError
from acme.events import EventType, SeriesCompleted, new_event
from acme.function import Context, Delivery, Event
from acme.imaging import PNG_SIGNATURE
from acme.inference import RunInProgress, SeriesNotReady, claim_run
from acme.models import ModelCache
from acme.samples import SampleManifest

MAIN = Path(__file__).resolve().parents[3] / "functions" / "infer-cxr" / "main.py"


def _load_main() -> Any:
    spec = importlib.util.spec_from_file_location("infer_cxr_main", MAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ingest(ctx: Context, samples: tuple[Path, SampleManifest], path: str) -> str:
    """Archive and index one sample file; its series UID."""
    folder, manifest = samples
    entry = next(f for f in manifest.files if f.path == path)
    key = f"modality/{Path(path).name}"
    ctx.store.put(ctx.settings.buckets.inbox, key, (folder / path).read_bytes())
    assert ingest_object(ctx, ctx.settings.buckets.inbox, key, None) == "stored"
    assert entry.series_uid is not None
    return entry.series_uid


ROUTING = RoutingConfig.model_validate(
    {
        "stable_age_seconds": {"default": 0.001},
        "rules": [
            {
                "name": "radiograph",
                "pipeline": "cxr",
                "when": [{"tag": "Modality", "op": "present"}],
            }
        ],
    }
)


def _complete(ctx: Context, series_uid: str) -> tuple[SeriesCompleted, Event]:
    """dicom-ingest's tick: the series completes, routed to cxr, and the study with it."""
    [data] = [done for done in complete_series(ctx, ROUTING, None) if done.series_uid == series_uid]
    cloudevent = new_event(EventType.SERIES_COMPLETED, data, source="/test/dicom-ingest")
    return data, Event.from_cloudevent(cloudevent)


def test_a_cxr_series_is_scored_stored_and_announced_once(
    ctx: Context, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    series_uid = _ingest(ctx, cxr_samples, "good/cxr/opacity-cr-rle.dcm")  # CR, MONOCHROME1, RLE
    series, event = _complete(ctx, series_uid)

    _load_main().handler.handle(ctx, event.raw)

    [(run_id, status, model, provider, device, no_dx, timings, used)] = rows(
        ctx,
        "SELECT id, status, model_name || '/' || model_version, execution_provider, device,"
        " not_for_diagnosis, timings, images_used FROM inference_runs WHERE series_uid = %s",
        series_uid,
    )
    assert (status, model, provider, device, no_dx, used) == (
        "completed", "cxr-synthetic/1.0.0", "CPUExecutionProvider", "cpu", True, 1,
    )  # fmt: skip
    assert timings["inference_ms"] > 0 and timings["total_ms"] >= timings["inference_ms"]
    findings = {
        label: (probability, threshold, positive, heatmap)
        for label, probability, threshold, positive, heatmap in rows(
            ctx,
            "SELECT label, probability, threshold, positive, heatmap_key FROM findings"
            " WHERE run_id = %s",
            run_id,
        )
    }
    assert set(findings) == {"Lung Opacity", "Pleural Effusion"}
    opacity, effusion = findings["Lung Opacity"], findings["Pleural Effusion"]
    assert opacity[2] and not effusion[2], findings  # the image carries an opacity, no effusion
    assert effusion[3] is None
    png = ctx.store.get(ctx.settings.buckets.results, opacity[3])
    assert png.startswith(PNG_SIGNATURE) and opacity[3].endswith("/heatmaps/lung-opacity.png")
    assert study_state(ctx, series.study_uid) == ("inferred", None)

    [completed] = published(ctx.settings, EventType.INFERENCE_COMPLETED)
    data = completed.data
    assert completed["subject"] == f"studies/{series.study_uid}/series/{series_uid}"
    assert (completed["pipeline"], completed["modality"]) == ("cxr", "cr")
    assert (data["device"], data["execution_provider"]) == ("cpu", "CPUExecutionProvider")
    assert data["not_for_diagnosis"] is True and data["run_id"] == str(run_id)
    assert data["model"] == {"name": "cxr-synthetic", "version": "1.0.0"}
    assert data["heatmaps"] == [{"label": "Lung Opacity", "key": opacity[3]}]
    assert {f["label"]: f["positive"] for f in data["findings"]} == {
        "Lung Opacity": True, "Pleural Effusion": False,
    }  # fmt: skip

    # Redelivered, even to another process: the run is found, nothing changes.
    again = infer_series(ctx, ModelCache(), series, event)
    assert (again.status, again.run_id) == ("unchanged", run_id)
    assert len(rows(ctx, "SELECT 1 FROM inference_runs")) == 1
    assert len(rows(ctx, "SELECT 1 FROM findings")) == 2
    assert len(published(ctx.settings, EventType.INFERENCE_COMPLETED)) == 1


def test_the_real_film_scores_the_same_from_its_uncompressed_and_jpeg2000_forms(
    ctx: Context, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    models = ModelCache()
    results = []
    for path in ("good/real-cxr/rg1-uncompressed.dcm", "good/real-cxr/rg1-j2k-lossless.dcm"):
        series, event = _complete(ctx, _ingest(ctx, cxr_samples, path))
        outcome = infer_series(ctx, models, series, event)
        assert outcome.status == "completed"
        results.append(
            rows(
                ctx,
                "SELECT label, probability, positive FROM findings WHERE run_id = %s"
                " ORDER BY label",
                outcome.run_id,
            )
        )
        assert study_state(ctx, series.study_uid) == ("inferred", None)
    assert results[0] == results[1]  # lossless: the same tensor, the same stored result
    assert len(published(ctx.settings, EventType.INFERENCE_COMPLETED)) == 2


def _break_pixel_data(ctx: Context, series_uid: str) -> None:
    [(key,)] = rows(ctx, "SELECT archive_key FROM instances WHERE series_uid = %s", series_uid)
    ds = dcmread(BytesIO(ctx.store.get(ctx.settings.buckets.archive, key)))
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(64)])
    out = BytesIO()
    ds.save_as(out)
    ctx.store.put(ctx.settings.buckets.archive, key, out.getvalue())


def test_a_series_that_cannot_be_decoded_fails_for_good_once(
    ctx: Context, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    series_uid = _ingest(ctx, cxr_samples, "good/cxr/effusion-dx-j2k.dcm")
    _break_pixel_data(ctx, series_uid)
    series, event = _complete(ctx, series_uid)
    models = ModelCache()

    outcome = infer_series(ctx, models, series, event)

    assert outcome.status == "failed"
    [(status, reason, skipped)] = rows(
        ctx, "SELECT status, reason_code, images_skipped FROM inference_runs"
    )
    assert (status, reason) == ("failed", "decode-failed")
    assert skipped[0]["reason_code"] == "decode-failed"
    assert study_state(ctx, series.study_uid) == ("failed", "inference failed: decode-failed")
    [failed] = published(ctx.settings, EventType.INFERENCE_FAILED)
    assert failed.data["reason_code"] == "decode-failed" and failed.data["retryable"] is False
    assert "could not be decoded" in failed.data["detail"]
    assert failed.data["model"] == {"name": "cxr-synthetic", "version": "1.0.0"}

    assert infer_series(ctx, models, series, event).status == "unchanged"
    assert len(published(ctx.settings, EventType.INFERENCE_FAILED)) == 1


def test_a_missing_model_fails_retryably_and_a_replay_succeeds_once_it_is_there(
    open_context: Any, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    pinned = open_context(cxr_model_version="9.9.9")
    series, event = _complete(pinned, _ingest(pinned, cxr_samples, "good/cxr/normal-dx.dcm"))

    assert infer_series(pinned, ModelCache(), series, event).status == "failed"
    [failed] = published(pinned.settings, EventType.INFERENCE_FAILED)
    assert (failed.data["reason_code"], failed.data["retryable"]) == ("model-unavailable", True)
    assert failed.data["model"] is None and "cxr-synthetic/9.9.9" in failed.data["detail"]
    assert study_state(pinned, series.study_uid)[0] == "failed"

    newest = open_context()  # the replay, on a process configured for the registered version
    assert infer_series(newest, ModelCache(), series, event).status == "completed"
    assert study_state(newest, series.study_uid) == ("inferred", None)
    runs = rows(newest, "SELECT model_version, status FROM inference_runs ORDER BY started_at")
    assert runs == [("9.9.9", "failed"), ("1.0.0", "completed")]


def test_series_of_other_pipelines_are_refused_with_a_400(ctx: Context) -> None:
    data = SeriesCompleted(
        study_uid="1.2.3", series_uid="1.2.3.4", modality="CT", pipeline="ct",
        instance_count=1, completed_at="2024-01-01T00:00:00Z",
    )  # fmt: skip
    cloudevent = new_event(EventType.SERIES_COMPLETED, data, source="/test")
    with pytest.raises(BadRequest, match="pipeline=cxr"):
        _load_main().handler.handle(ctx, cloudevent)


def _delivery(event: Event, attempt: int, attempts: int = 4) -> Event:
    """``event`` as the router delivers it the ``attempt``-th time of ``attempts``."""
    return dataclasses.replace(event, delivery=Delivery(attempt=attempt, attempts=attempts))


def test_transient_failures_are_retried_then_reported_on_the_last_delivery(
    ctx: Context, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    series_uid = _ingest(ctx, cxr_samples, "good/cxr/normal-dx.dcm")
    series, event = _complete(ctx, series_uid)
    [(key,)] = rows(ctx, "SELECT archive_key FROM instances WHERE series_uid = %s", series_uid)
    ctx.store.delete(ctx.settings.buckets.archive, key)  # the archive answers 404 every time
    for attempt in (1, 2):
        with pytest.raises(StorageError):  # the router will retry
            infer_series(ctx, ModelCache(), series, _delivery(event, attempt, 3))
    assert published(ctx.settings, EventType.INFERENCE_FAILED) == []
    last = infer_series(ctx, ModelCache(), series, _delivery(event, 3, 3))
    assert last.status == "failed"
    [failed] = published(ctx.settings, EventType.INFERENCE_FAILED)
    assert failed.data["reason_code"] == "runtime-error" and failed.data["attempts"] == 3
    assert "ObjectNotFoundError" in failed.data["detail"]
    assert study_state(ctx, series.study_uid)[0] == "failed"


def test_the_last_delivery_after_run_in_progress_ends_the_run_failed(
    ctx: Context, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    series_uid = _ingest(ctx, cxr_samples, "good/cxr/normal-dx.dcm")
    series, event = _complete(ctx, series_uid)
    claim = claim_run(ctx.db, series, ctx.settings.cxr_model, "1.0.0")  # a first worker...
    holder = psycopg.connect(str(ctx.settings.database_url), autocommit=True)
    key = f"infer:{series_uid}:{ctx.settings.cxr_model}"
    holder.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))  # ...still on it
    for attempt in (2, 3):
        with pytest.raises(RunInProgress):
            infer_series(ctx, ModelCache(), series, _delivery(event, attempt))
    timer = threading.Timer(1.0, holder.close)  # the first worker dies during the last wait
    timer.start()
    try:
        last = infer_series(ctx, ModelCache(), series, _delivery(event, 4))
    finally:
        timer.join()
    assert (last.status, last.run_id) == ("failed", claim.run_id)
    [failed] = published(ctx.settings, EventType.INFERENCE_FAILED)
    assert failed.data["run_id"] == str(claim.run_id)
    assert "RunInProgress on the last delivery (4 of 4)" in failed.data["detail"]
    assert rows(ctx, "SELECT status FROM inference_runs") == [("failed",)]
    assert study_state(ctx, series.study_uid)[0] == "failed"


def test_a_late_instance_reopens_its_series_which_is_scored_again_in_a_new_run(
    ctx: Context, cxr_samples: tuple[Path, SampleManifest]
) -> None:
    path = "good/cxr/normal-dx.dcm"
    series_uid = _ingest(ctx, cxr_samples, path)
    first, event = _complete(ctx, series_uid)
    assert infer_series(ctx, ModelCache(), first, event).status == "completed"
    assert study_state(ctx, first.study_uid) == ("inferred", None)

    late = dcmread(cxr_samples[0] / path)  # a second image of the series, after it completed
    late.SOPInstanceUID = late.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    late.InstanceNumber = 2
    out = BytesIO()
    late.save_as(out)
    ctx.store.put(ctx.settings.buckets.inbox, "modality/late.dcm", out.getvalue())
    assert ingest_object(ctx, ctx.settings.buckets.inbox, "modality/late.dcm", None) == "stored"
    assert study_state(ctx, first.study_uid) == ("receiving", None)
    assert infer_series(ctx, ModelCache(), first, event).status == "superseded"  # redelivered

    second, again = _complete(ctx, series_uid)
    assert (second.completion, second.instance_count) == (2, 2)
    [reopened] = published(ctx.settings, EventType.SERIES_REOPENED)
    assert (reopened.data["completion"], reopened.data["sop_uid"]) == (1, late.SOPInstanceUID)
    assert reopened.data["pipeline"] == "cxr"
    ahead = second.model_copy(update={"completion": 3})
    with pytest.raises(SeriesNotReady, match=r"completion 3 .* not committed yet"):
        infer_series(ctx, ModelCache(), ahead, again)

    assert infer_series(ctx, ModelCache(), second, again).status == "completed"
    assert rows(
        ctx,
        "SELECT series_completion, status, images_used FROM inference_runs ORDER BY started_at",
    ) == [(1, "completed", 1), (2, "completed", 2)]
    assert study_state(ctx, first.study_uid) == ("inferred", None)
    assert len(published(ctx.settings, EventType.INFERENCE_COMPLETED)) == 2
