"""``acme bench cxr``: the CXR scoring path against a bare onnxruntime loop, same model, same box.

For each model (the shipped ``cxr-synthetic`` and a DenseNet-121-shaped graph with random
weights), one image per request, sequentially:

- **function path**: what infer-cxr does with a fetched instance: parse the DICOM bytes,
  decode, Modality LUT, VOI window, MONOCHROME1 inversion, resize and normalise per the card,
  score through the :class:`~acme.models.Predictor` (its batcher), per-label series scores.
  Object storage, PostgreSQL, events and heatmaps are left out: they are I/O, not inference.
- **bare onnxruntime**: ``session.run`` on an already preprocessed tensor, same providers and
  threads.

The two loops take turns in alternating rounds, so drift of the machine during the run weighs
on both alike.

Reports images/second, latency p50/p95 and the throughput ratio (function / bare) in JSON,
and a bar chart PNG when matplotlib is installed. The occlusion heatmap infer-cxr draws for a
positive finding is timed on its own (``ACME_CXR_HEATMAP_GRID``: grid² occluded copies scored
in batches of up to 64), with infer-cxr's own code.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from acme.imaging import display_frames, read_dataset, to_model_input
from acme.models import (
    ModelCard,
    Predictor,
    RegisteredModel,
    available_providers,
    build_densenet121,
    bundled_folders,
    densenet121_card,
    open_session,
    series_findings,
)
from acme.models._session import Device
from acme.samples import render_cxr
from acme.samples.cxr import BITS_STORED, Photometric, stored_values

INFER_CXR = Path(__file__).resolve().parents[2] / "functions" / "infer-cxr"


@dataclass(frozen=True)
class Stats:
    images: int
    seconds: float
    images_per_second: float
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class ModelResult:
    model: str
    input_shape: list[int | str]
    provider: str
    device: str
    function_path: Stats
    bare_onnxruntime: Stats
    throughput_ratio: float
    """function_path.images_per_second / bare_onnxruntime.images_per_second"""
    heatmap_grid: int = 0
    heatmap_ms: float | None = None
    """Milliseconds of one image's occlusion maps (grid² extra scored copies), when grid > 0."""


def radiographs(count: int = 4, size: int = 1024) -> list[bytes]:
    """``count`` synthetic 12-bit chest radiographs as uncompressed DICOM, half MONOCHROME1."""
    out = []
    for index in range(count):
        finding = ("normal", "opacity", "effusion")[index % 3]
        image = render_cxr(finding, rng=np.random.default_rng([7, index]), size=size)
        photometric: Photometric = "MONOCHROME1" if index % 2 else "MONOCHROME2"
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
        ds.Modality, ds.SamplesPerPixel, ds.PhotometricInterpretation = "DX", 1, photometric
        ds.Rows = ds.Columns = size
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, BITS_STORED, BITS_STORED - 1
        ds.PixelRepresentation, ds.WindowCenter, ds.WindowWidth = 0, 2048, 4096
        ds.PixelData = stored_values(image.pixels, photometric).tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        buffer = BytesIO()
        dcmwrite(buffer, ds, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out


_ROUNDS = 4
"""The two loops take turns in this many rounds, so that a machine that speeds up or slows
down during the run (another program, clock scaling) weighs on both alike."""


def _measure_pair(
    first: Callable[[int], object], second: Callable[[int], object], iterations: int, warmup: int
) -> tuple[Stats, Stats]:
    """Both loops, ``iterations`` each after ``warmup``, in alternating rounds."""
    steps = (first, second)
    for step in steps:
        for index in range(warmup):
            step(index)
    latencies: tuple[list[float], list[float]] = ([], [])
    seconds = [0.0, 0.0]
    done = 0
    for turn in range(_ROUNDS):
        count = (iterations * (turn + 1)) // _ROUNDS - done
        for which, step in enumerate(steps):
            began = time.perf_counter()
            for index in range(done, done + count):
                mark = time.perf_counter()
                step(index)
                latencies[which].append((time.perf_counter() - mark) * 1000.0)
            seconds[which] += time.perf_counter() - began
        done += count
    stats = tuple(
        Stats(
            images=iterations,
            seconds=round(seconds[which], 3),
            images_per_second=round(iterations / seconds[which], 2),
            p50_ms=round(float(np.percentile(latencies[which], 50)), 2),
            p95_ms=round(float(np.percentile(latencies[which], 95)), 2),
        )
        for which in (0, 1)
    )
    return stats[0], stats[1]


def bench_model(
    card: ModelCard,
    onnx: bytes,
    images: list[bytes],
    *,
    iterations: int,
    warmup: int,
    device: Device = "auto",
    threads: int = 0,
    heatmap_grid: int = 0,
) -> ModelResult:
    """Both loops for one model, and its heatmap when ``heatmap_grid`` (module docstring)."""
    predictor = Predictor.load(RegisteredModel(card, onnx), device=device, threads=threads)
    channels, height, width = predictor.input_shape
    prep = card.preprocessing

    def function_path(index: int) -> object:
        frames = display_frames(read_dataset(images[index % len(images)]), voi=prep.voi)
        tensor = to_model_input(
            frames[0].pixels, prep, channels=channels, height=height, width=width
        )
        return series_findings(card, predictor.predict(tensor[None]))

    session = open_session(onnx, device=device, threads=threads)
    frames = [display_frames(read_dataset(data), voi=prep.voi)[0] for data in images]
    tensors = [
        to_model_input(f.pixels, prep, channels=channels, height=height, width=width)[None]
        for f in frames
    ]

    def bare(index: int) -> object:
        return session.run([card.output.name], {card.input.name: tensors[index % len(tensors)]})

    fn_stats, bare_stats = _measure_pair(function_path, bare, iterations, warmup)
    heatmap_ms = _heatmap_ms(predictor, tensors[0][0], heatmap_grid) if heatmap_grid else None
    return ModelResult(
        model=card.ref,
        input_shape=list(card.input.shape),
        provider=predictor.provider,
        device=predictor.device,
        function_path=fn_stats,
        bare_onnxruntime=bare_stats,
        throughput_ratio=round(fn_stats.images_per_second / bare_stats.images_per_second, 3),
        heatmap_grid=heatmap_grid,
        heatmap_ms=heatmap_ms,
    )


def _heatmap_ms(predictor: Predictor, tensor: np.ndarray, grid: int) -> float:
    """One image's occlusion maps through infer-cxr's own ``occlusion_maps`` (after one
    untimed run), median of 2."""
    if str(INFER_CXR) not in sys.path:
        sys.path.insert(0, str(INFER_CXR))
    heatmaps = importlib.import_module("infer_cxr.heatmaps")
    base = predictor.predict(tensor[None])[0]
    heatmaps.occlusion_maps(predictor, tensor, base, grid)
    times = []
    for _ in range(2):
        began = time.perf_counter()
        heatmaps.occlusion_maps(predictor, tensor, base, grid)
        times.append((time.perf_counter() - began) * 1000.0)
    return round(float(np.median(times)), 1)


def run_bench(
    models_dir: Path,
    out_dir: Path,
    *,
    iterations: int = 40,
    warmup: int = 3,
    device: Device = "auto",
    threads: int = 0,
    heatmap_grid: int = 0,
) -> Path:
    """Benchmark the shipped CXR models and the DenseNet-121-shaped one; the JSON's path."""
    images = radiographs()
    candidates: list[tuple[ModelCard, bytes]] = []
    for folder in bundled_folders(models_dir):
        card = ModelCard.from_json((folder / "model.json").read_bytes())
        if card.pipeline == "cxr":
            candidates.append((card, (folder / "model.onnx").read_bytes()))
    densenet = build_densenet121()
    candidates.append((densenet121_card(densenet), densenet))
    results = [
        bench_model(card, onnx, images, iterations=iterations, warmup=warmup, device=device,
                    threads=threads, heatmap_grid=heatmap_grid)
        for card, onnx in candidates
    ]  # fmt: skip
    report = {
        "generated_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "onnxruntime": ort.__version__,
            "providers_available": available_providers(),
        },
        "method": (
            "one 1024x1024 12-bit uncompressed DICOM radiograph per request, sequential, "
            f"the two loops in {_ROUNDS} alternating rounds; "
            "function path = parse + decode + Modality LUT + window + MONOCHROME1 + resize + "
            "normalise + Predictor (batcher) + series scores; bare = session.run on a "
            "preprocessed tensor; storage, database, events and heatmaps excluded"
        ),
        "iterations": iterations,
        "results": [asdict(result) for result in results],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "cxr.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    chart = write_chart(results, out_dir / "cxr.png")
    if chart is not None:
        report["chart"] = str(chart.name)
        path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def write_chart(results: list[ModelResult], path: Path) -> Path | None:
    """Images/second of the two loops, one panel per model on its own scale (a small model
    runs a hundred times faster than DenseNet-121), the ratio in each panel's title; None when
    matplotlib is missing."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return None
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    figure, panels = pyplot.subplots(
        1, len(results), figsize=(3.6 * len(results), 4), squeeze=False
    )
    for axes, result in zip(panels[0], results, strict=True):
        rates = [result.function_path.images_per_second, result.bare_onnxruntime.images_per_second]
        axes.bar(["function path", "bare onnxruntime"], rates, color=["tab:blue", "tab:orange"])
        axes.set_title(f"{result.model}\n({result.provider}): ratio {result.throughput_ratio:.2f}")
        axes.set_ylabel("images / second")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return path
