"""``acme bench ct``: volume assembly plus nodule inference against a bare loop, same box.

One synthetic chest CT series (by default 200 slices of 512 x 512, 12-bit, uncompressed DICOM
in memory, shuffled) per run, sequentially:

- **function path**: what infer-ct does with the fetched instances: parse each, check and
  order them into one volume in HU (:func:`acme.imaging.assemble_volume`), find the
  candidates, build their 2.5D views and score them through the
  :class:`~acme.models.Predictor` (:func:`acme.inference.score_candidates`).
- **bare loop**: ``pydicom.dcmread`` each, sort by Image Position z, ``numpy.stack`` of
  ``pixel_array * slope + intercept``, the same candidates and views, one ``session.run``.

Reports seconds per series (mean, p50) and the ratio (function / bare) in JSON.
"""

from __future__ import annotations

import os
import platform
import random
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from pydicom import dcmread
from pydicom.dataset import Dataset

from acme.bench._common import write_report
from acme.errors import ConfigError
from acme.imaging import (
    Volume,
    assemble_volume,
    candidate_views,
    find_candidates,
    normalise_channels,
    read_dataset,
)
from acme.inference import DEFAULT_HU_WINDOW, score_candidates
from acme.models import ModelCard, Predictor, RegisteredModel, bundled_folders, open_session
from acme.models._session import Device
from acme.samples._common import Patient, StudyIdentity, UidFactory
from acme.samples.ct import ct_slice_dataset, stored_values
from acme.samples.ct_model import ChestPhantom, Nodule


def ct_series(slices: int = 200, matrix: int = 512) -> list[bytes]:
    """A shuffled synthetic chest CT series with two nodules, as Part 10 bytes per slice."""
    grid = ChestPhantom(slices=slices, matrix=matrix, pixel_mm=384 / matrix, slice_mm=1.0)
    phantom = ChestPhantom(
        slices=slices, matrix=matrix, pixel_mm=grid.pixel_mm, slice_mm=1.0,
        nodules=(Nodule(grid.snap((-80.0, -10.0, 10.0)), 10.0),
                 Nodule(grid.snap((75.0, 20.0, -20.0)), 6.0)),
    )  # fmt: skip
    uids = UidFactory(11)
    identity = StudyIdentity.make(uids, "bench", Patient("BENCH^CT", "BENCH", "19700101", "O"),
                                  1, "CT")  # fmt: skip
    rng = np.random.default_rng(11)
    out = []
    for k in range(slices):
        ds = ct_slice_dataset(
            identity, sop_uid=uids.uid("bench", str(k)), frame_of_reference=uids.uid("for"),
            phantom=phantom, index=k, values=stored_values(phantom.hu(k, rng)),
        )  # fmt: skip
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(buffer.getvalue())
    random.Random(11).shuffle(out)
    return out


def _bare_volume(series: list[bytes]) -> tuple[Volume, list[Dataset]]:
    datasets: list[Dataset] = [dcmread(BytesIO(data)) for data in series]
    datasets.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    hu = np.stack(
        [ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for ds in datasets]
    ).astype(np.float32)
    first = datasets[0]
    dz = float(datasets[1].ImagePositionPatient[2]) - float(first.ImagePositionPatient[2])
    dy, dx = (float(v) for v in first.PixelSpacing)
    volume = Volume(
        hu=hu, origin=np.asarray([float(v) for v in first.ImagePositionPatient]),
        row_direction=np.asarray([1.0, 0.0, 0.0]), column_direction=np.asarray([0.0, 1.0, 0.0]),
        normal=np.asarray([0.0, 0.0, 1.0]), spacing=(dz, dy, dx),
        sop_uids=tuple(str(ds.SOPInstanceUID) for ds in datasets),
    )  # fmt: skip
    return volume, datasets


def _seconds(step: object, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        mark = time.perf_counter()
        step()  # type: ignore[operator]
        times.append(time.perf_counter() - mark)
    return times


def run_ct_bench(
    models_dir: Path, out_dir: Path, *, slices: int = 200, matrix: int = 512, runs: int = 3,
    device: Device = "auto", threads: int = 0,
) -> Path:  # fmt: skip
    """Benchmark the shipped CT nodule model; the JSON's path."""
    found = [
        folder for folder in bundled_folders(models_dir)
        if ModelCard.from_json((folder / "model.json").read_bytes()).pipeline == "ct"
    ]  # fmt: skip
    if not found:
        raise ConfigError("ACME_MODELS_DIR", f"{models_dir}: no CT model to benchmark")
    card = ModelCard.from_json((found[0] / "model.json").read_bytes())
    onnx = (found[0] / "model.onnx").read_bytes()
    predictor = Predictor.load(RegisteredModel(card, onnx), device=device, threads=threads,
                               max_batch=64)  # fmt: skip
    session = open_session(onnx, device=device, threads=threads)
    series = ct_series(slices, matrix)
    prep = card.preprocessing

    def function_path() -> object:
        volume = assemble_volume([read_dataset(data) for data in series], min_slices=16)
        return score_candidates(volume, predictor)

    def bare() -> object:
        volume, _ = _bare_volume(series)
        candidates = find_candidates(volume)
        views = candidate_views(volume, [c.centre_mm for c in candidates],
                                window=prep.hu_window or DEFAULT_HU_WINDOW)  # fmt: skip
        return session.run([card.output.name], {card.input.name: normalise_channels(views, prep)})

    function_path()  # warm up both (first session runs allocate)
    bare()
    fn, raw = _seconds(function_path, runs), _seconds(bare, runs)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "onnxruntime": ort.__version__},
        "model": card.ref,
        "provider": predictor.provider,
        "series": {"slices": slices, "rows": matrix, "columns": matrix, "order": "shuffled"},
        "method": (
            "function path = parse + assemble_volume (order, geometry checks, HU) + candidates "
            "+ 2.5D views + Predictor; bare = dcmread + sort by z + numpy stack + rescale + the "
            "same candidates and views + session.run; storage, database and events excluded"
        ),
        "runs": runs,
        "function_path_seconds": {"mean": round(float(np.mean(fn)), 3),
                                  "p50": round(float(np.median(fn)), 3)},
        "bare_seconds": {"mean": round(float(np.mean(raw)), 3),
                         "p50": round(float(np.median(raw)), 3)},
        "ratio": round(float(np.mean(fn) / np.mean(raw)), 3),
        "ratio_means": "function path seconds / bare loop seconds (1.0: no overhead)",
    }  # fmt: skip
    bars = [("function path", report["function_path_seconds"]["mean"]),
            ("bare loop", report["bare_seconds"]["mean"])]  # fmt: skip
    return write_report(
        out_dir, "ct", report, bars, ylabel="seconds per series (mean)",
        title=f"{slices} slices of {matrix}² (ratio {report['ratio']:.2f})",
    )  # fmt: skip
