"""The worklist, a study's detail, rendered images with the AI heatmap, thumbnails."""

from __future__ import annotations

import uuid
from io import BytesIO

import numpy as np
import pytest
from PIL import Image
from worklist_films import ROOT, Call, Film

from acme import feed
from acme.function import Context
from acme.imaging import encode_png, heatmap_overlay

STUDY = f"{ROOT}.1"
UNCR = f"/studies/{STUDY}/series/{STUDY}.1/instances/{STUDY}.1.1"
RUN = uuid.UUID("6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b")
HEATMAP_KEY = f"studies/{STUDY}/series/{STUDY}.1/runs/{RUN}/heatmaps/lung-opacity.png"


@pytest.fixture(scope="module")
def scored(ctx: Context, indexed: list[Film]) -> list[Film]:
    """A completed CXR run on the first film's series: Lung Opacity positive, with a heatmap
    whose heat is in the image's upper left quarter."""
    gray = np.full((448, 448), 0.5, dtype=np.float32)
    heat = np.zeros((448, 448), dtype=np.float32)
    heat[:224, :224] = 1.0
    ctx.store.put(
        ctx.settings.buckets.results, HEATMAP_KEY, encode_png(heatmap_overlay(gray, heat))
    )
    with ctx.db.connection() as conn:
        conn.execute(
            "UPDATE series SET pipeline = 'cxr', completed_at = now(), completions = 1"
            " WHERE series_uid = %s",
            (f"{STUDY}.1",),
        )
        conn.execute(
            "INSERT INTO inference_runs (id, study_uid, series_uid, pipeline, model_name,"
            " model_version, status, finished_at, device) VALUES"
            " (%s, %s, %s, 'cxr', 'cxr-synthetic', '1.0.0', 'completed', now(), 'cpu')",
            (RUN, STUDY, f"{STUDY}.1"),
        )
        conn.execute(
            "INSERT INTO findings (run_id, label, probability, threshold, positive, sop_uid,"
            " heatmap_key) VALUES (%s, 'Lung Opacity', 0.9, 0.5, true, %s, %s),"
            " (%s, 'Pleural Effusion', 0.1, 0.5, false, %s, NULL)",
            (RUN, f"{STUDY}.1.1", HEATMAP_KEY, RUN, f"{STUDY}.1.1"),
        )
    return indexed


def _items(call: Call, query: str) -> list[str]:
    answer = call("GET", f"/worklist?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [item["study_uid"] for item in answer.get_json()["items"]]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("", True),
        ("state=receiving", True),
        ("state=signed", False),
        ("modality=CR", True),
        ("modality=CT", False),
        ("date_from=2024-01-01&date_to=2024-01-31", True),
        ("date_from=2024-02-01", False),
        ("ai=positive", True),
        ("ai=none", False),
        ("q=film", True),
        ("q=acc-77", True),
        ("q=wl-1", True),
        ("q=nobody", False),
        ("sort=patient_name&order=asc&limit=1", True),
    ],
)
def test_worklist_filters(call: Call, scored: list[Film], query: str, found: bool) -> None:
    assert _items(call, query) == ([STUDY] if found else [])


def test_a_worklist_item_says_what_the_ai_found(call: Call, scored: list[Film]) -> None:
    page = call("GET", "/worklist").get_json()
    (item,) = page["items"]
    assert page["total"] == 1
    assert item["ai"] == "positive" and item["positive_labels"] == ["Lung Opacity"]
    assert item["patient_name"] == "Film^Jane" and item["modalities"] == ["CR"]
    assert item["series"] == 2 and item["instances"] == 2 and item["report_status"] is None
    assert item["top_finding"] == {"label": "Lung Opacity", "probability": 0.9, "positive": True}
    assert item["not_for_diagnosis"] is True  # a run is, unless its model card says otherwise


def test_only_models_not_for_diagnosis_mark_the_worklist_item(
    call: Call, ctx: Context, scored: list[Film]
) -> None:
    with ctx.db.connection() as conn:
        conn.execute("UPDATE inference_runs SET not_for_diagnosis = false WHERE id = %s", (RUN,))
    try:
        (item,) = call("GET", "/worklist").get_json()["items"]
        assert item["not_for_diagnosis"] is False
    finally:
        with ctx.db.connection() as conn:
            conn.execute("UPDATE inference_runs SET not_for_diagnosis = true WHERE id = %s", (RUN,))


def test_the_worklist_follows_the_feed_by_its_newest_sequence(
    call: Call, ctx: Context, scored: list[Film]
) -> None:
    newest = feed.latest(ctx.db)
    for role in ("radiologist", "clinician", "technologist"):
        answer = call("GET", "/worklist/latest", role=role)
        assert answer.status_code == 200
        assert answer.get_json() == {"sequence": newest.sequence if newest else 0}
    assert call("GET", "/worklist/latest", role="auditor").status_code == 403
    assert call("GET", "/worklist/latest", role=None).status_code == 401
    assert call("GET", "/changes/latest").status_code == 403  # the entries stay changes:read


def test_bad_worklist_queries_are_400_naming_the_parameter(call: Call, scored: list[Film]) -> None:
    for query, name in (("state=lost", "state"), ("limit=0", "limit"), ("sort=size", "sort")):
        answer = call("GET", f"/worklist?{query}")
        assert answer.status_code == 400 and name in answer.get_json()["detail"]


def test_study_detail(call: Call, scored: list[Film]) -> None:
    detail = call("GET", f"/studies/{STUDY}").get_json()
    assert [s["series_uid"] for s in detail["series"]] == [f"{STUDY}.1", f"{STUDY}.2"]
    first = detail["series"][0]
    assert first["outcome"] == "completed" and first["pipeline"] == "cxr"
    assert [i["sop_uid"] for i in first["instances"]] == [f"{STUDY}.1.1"]
    (run,) = detail["runs"]
    assert run["status"] == "completed" and run["model_name"] == "cxr-synthetic"
    labels = [(f["label"], f["positive"]) for f in run["findings"]]
    assert labels == [("Lung Opacity", True), ("Pleural Effusion", False)]
    assert call("GET", "/studies/1.2.3").status_code == 404


def _image(call: Call, path: str) -> Image.Image:
    answer = call("GET", path)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return Image.open(BytesIO(answer.get_data()))


def test_an_image_with_window_level_and_size(call: Call, scored: list[Film]) -> None:
    plain = _image(call, f"{UNCR}/image?size=256")
    assert plain.format == "PNG" and max(plain.size) == 256
    jpeg = _image(call, f"{UNCR}/image?size=256&format=jpeg&window=1000,10")
    assert jpeg.format == "JPEG" and jpeg.size == plain.size
    assert call("GET", f"{UNCR}/image?frame=2").status_code == 404


def test_the_heatmap_over_the_image_where_the_model_looked(call: Call, scored: list[Film]) -> None:
    plain = np.asarray(_image(call, f"{UNCR}/image?size=256").convert("RGB"), dtype=np.int16)
    over = _image(call, f"{UNCR}/image?size=256&overlay=Lung%20Opacity").convert("RGB")
    pixels = np.asarray(over, dtype=np.int16)
    rows, columns = pixels.shape[:2]
    colour = pixels.max(axis=2) - pixels.min(axis=2)
    assert colour[: rows // 2 - 8, : columns // 2 - 8].mean() > 60  # the heat, in colour
    assert colour[rows // 2 + 8 :, columns // 2 + 8 :].max() < 8  # elsewhere: the image
    untouched = np.abs(pixels - plain)[rows // 2 + 8 :, columns // 2 + 8 :]
    assert untouched.max() <= 2
    missing = call("GET", f"{UNCR}/image?overlay=Pleural%20Effusion")
    assert missing.status_code == 404 and "Pleural Effusion" in missing.get_json()["detail"]


def test_the_heatmap_as_its_own_image(call: Call, ctx: Context, scored: list[Film]) -> None:
    answer = call("GET", f"{UNCR}/heatmap?label=Lung%20Opacity")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.get_data() == ctx.store.get(ctx.settings.buckets.results, HEATMAP_KEY)


def test_the_heat_alone_as_a_layer_to_draw_over_the_frame(call: Call, scored: list[Film]) -> None:
    answer = call("GET", f"{UNCR}/heatmap?label=Lung%20Opacity&layer=true")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    layer = Image.open(BytesIO(answer.get_data()))
    assert layer.mode == "RGBA" and layer.size == (448, 448)
    alpha = np.asarray(layer, dtype=np.int16)[:, :, 3]
    assert alpha[:200, :200].min() > 200  # opaque where the model looked
    assert alpha[248:, 248:].max() == 0  # transparent elsewhere: the image shows through
    red, blue = np.asarray(layer, dtype=np.int16)[100, 100, [0, 2]]
    assert red > 200 and blue < 50  # full heat is the ramp's red


def test_thumbnails(call: Call, scored: list[Film]) -> None:
    for path in (f"/studies/{STUDY}/thumbnail", f"/studies/{STUDY}/series/{STUDY}.2/thumbnail"):
        image = _image(call, f"{path}?size=96")
        assert image.format == "JPEG" and max(image.size) == 96


def test_a_rendered_image_is_cached_and_the_cache_may_be_lost(
    call: Call, ctx: Context, scored: list[Film]
) -> None:
    first = call("GET", f"{UNCR}/image?size=300").get_data()
    keys = list(ctx.redis.scan_iter(f"acme:{ctx.settings.bucket_prefix}worklist:rendered:*"))
    assert keys
    ctx.redis.delete(*keys)
    assert call("GET", f"{UNCR}/image?size=300").get_data() == first
