"""``acme bench latency``: one chest X-ray, last instance received → ``report.drafted``.

On a platform of its own running dicom-ingest, infer-cxr and report-events, a real chest
film (pydicom-data's RG1_UNCR.dcm, 1955x1841, with fresh UIDs) is sent ``runs`` times, one
study at a time, after one untimed study that starts infer-cxr (warm figures):

- **with a completion manifest** (what ``acme send`` does): the series completes as soon as
  its instance is indexed;
- **stable age** (the baseline, a sender that declares nothing): the series completes once
  it has had no new instance for its stable age, on the next tick.

The clock starts when the instance's PUT has returned and stops when the study's
``report.drafted`` arrives on NATS; ``series.completed`` is timed too, so the figures split
into *received → complete* and *complete → drafted*. The ratio is the stable-age p50 over
the manifest p50.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from pydicom import dcmread
from pydicom.uid import generate_uid

from acme.bench._common import machine, running_platform, summary, write_report
from acme.events import EventType
from acme.inbox import batch_prefix, expand, send_files
from acme.samples.real import testdata_path
from acme.settings import Settings
from acme.storage import S3ObjectStore, make_s3_client

__all__ = ["run_latency_bench"]

FUNCTIONS = ("dicom-ingest", "infer-cxr", "report-events")


def run_latency_bench(out_dir: Path, *, runs: int, baseline_runs: int, timeout: float) -> Path:
    """Run it; write and return ``out_dir/latency.json`` (and ``latency.png``)."""
    with (
        tempfile.TemporaryDirectory(prefix="acme-bench-latency-") as folder,
        running_platform(functions=FUNCTIONS) as (settings, _process),
    ):
        timings = asyncio.run(_measure(settings, Path(folder), runs, baseline_runs, timeout))
    p50 = {name: summary([t["drafted"] for t in runs_]) for name, runs_ in timings.items()}
    report: dict[str, Any] = {
        "machine": machine(),
        "method": __doc__,
        "runs": {name: len(runs_) for name, runs_ in timings.items()},
        "received_to_drafted_seconds": p50,
        "received_to_complete_seconds": {
            name: summary([t["completed"] for t in runs_]) for name, runs_ in timings.items()
        },
        "complete_to_drafted_seconds": {
            name: summary([t["drafted"] - t["completed"] for t in runs_])
            for name, runs_ in timings.items()
        },
        "each": timings,
        "ratio": round(p50["stable age"]["median"] / p50["manifest"]["median"], 2),
    }
    bars = [
        ("stable age: received → drafted", p50["stable age"]["median"]),
        ("manifest: received → drafted", p50["manifest"]["median"]),
        (
            "manifest: complete → drafted",
            report["complete_to_drafted_seconds"]["manifest"]["median"],
        ),
    ]
    return write_report(
        out_dir, "latency", report, bars, ylabel="seconds (p50)",
        title=f"one chest X-ray, warm (stable age / manifest: {report['ratio']:.1f}x)",
    )  # fmt: skip


async def _measure(
    settings: Settings, folder: Path, runs: int, baseline_runs: int, timeout: float
) -> dict[str, list[dict[str, float]]]:
    assert settings.nats_url is not None
    client = await nats.connect(settings.nats_url)
    arrivals: dict[tuple[str, str], float] = {}

    async def on_event(msg: Any) -> None:
        kind = "drafted" if msg.subject.endswith("report.drafted") else "completed"
        arrivals[(kind, json.loads(msg.data)["study_uid"])] = time.perf_counter()

    for event_type in (EventType.REPORT_DRAFTED, EventType.SERIES_COMPLETED):
        await client.subscribe(settings.subject_for(event_type), cb=on_event)
    store = S3ObjectStore(make_s3_client(settings))
    try:
        await _one(store, settings, folder, arrivals, manifests=True, timeout=timeout * 4)
        results: dict[str, list[dict[str, float]]] = {"manifest": [], "stable age": []}
        for name, count, manifests in (
            ("manifest", runs, True),
            ("stable age", baseline_runs, False),
        ):
            for _ in range(count):
                timing = await _one(
                    store, settings, folder, arrivals, manifests=manifests, timeout=timeout
                )
                results[name].append(timing)
        return results
    finally:
        await client.close()


async def _one(
    store: S3ObjectStore,
    settings: Settings,
    folder: Path,
    arrivals: dict[tuple[str, str], float],
    *,
    manifests: bool,
    timeout: float,
) -> dict[str, float]:
    ds = dcmread(testdata_path("RG1_UNCR.dcm"))
    study = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = (
        study, generate_uid(), generate_uid(),
    )  # fmt: skip
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = folder / f"{study}.dcm"
    ds.save_as(path, enforce_file_format=True)
    received: list[float] = []

    def send() -> None:
        send_files(
            store, settings.buckets.inbox, expand([path]), prefix=batch_prefix(),
            on_done=lambda _upload, _size: received.append(time.perf_counter()),
            manifests=manifests,
        )  # fmt: skip

    await asyncio.to_thread(send)
    deadline = time.perf_counter() + timeout
    while ("drafted", study) not in arrivals:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no report.drafted within {timeout:.0f}s")
        await asyncio.sleep(0.01)
    return {
        "completed": round(arrivals[("completed", study)] - received[0], 3),
        "drafted": round(arrivals[("drafted", study)] - received[0], 3),
    }
