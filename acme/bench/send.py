"""``acme bench send``: ``acme send`` against a raw concurrent put loop, same files, same server.

On a platform of its own with no function deployed (so nothing takes the objects away), each
round puts ``count`` CT instances (0.5 MB each) twice into dicom-inbox, emptied in between:

- **raw put loop**: ``workers`` threads, each reading a file and calling boto3's
  ``put_object`` with nothing else;
- **acme send**: :func:`acme.inbox.send_files` as the command runs it (unique keys, the
  progress callback, the UIDs read for one completion manifest per series, the manifests).

The ratio is acme send's rate over the raw loop's, each the median over the rounds.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from acme.bench._common import machine, running_platform, summary, write_report
from acme.bench._files import ct_instances
from acme.inbox import batch_prefix, expand, send_files
from acme.settings import Settings
from acme.storage import S3ObjectStore, make_s3_client

__all__ = ["run_send_bench"]


def run_send_bench(out_dir: Path, *, count: int, workers: int, rounds: int) -> Path:
    """Run it; write and return ``out_dir/send.json`` (and ``send.png``)."""
    with tempfile.TemporaryDirectory(prefix="acme-bench-send-") as folder:
        paths = ct_instances(Path(folder) / "ct", count)
        size = paths[0].stat().st_size
        with running_platform(functions=[]) as (settings, _process):
            raw, send = _rounds(settings, paths, workers=workers, rounds=rounds)
    raw_rate, send_rate = statistics.median(raw), statistics.median(send)
    report: dict[str, Any] = {
        "machine": machine(),
        "method": __doc__,
        "instances": count,
        "bytes_per_instance": size,
        "workers": workers,
        "rounds": rounds,
        "raw_put_per_second": summary(raw),
        "acme_send_per_second": summary(send),
        "ratio": round(send_rate / raw_rate, 3),
    }
    bars = [("raw concurrent put", raw_rate), ("acme send", send_rate)]
    return write_report(
        out_dir, "send", report, bars, ylabel="instances / second",
        title=f"{count} CT instances, {workers} in flight (ratio {report['ratio']:.2f})",
    )  # fmt: skip


def _rounds(
    settings: Settings, paths: list[Path], *, workers: int, rounds: int
) -> tuple[list[float], list[float]]:
    client = make_s3_client(settings)
    store = S3ObjectStore(client)
    bucket = settings.buckets.inbox
    files = expand(paths)
    raw: list[float] = []
    send: list[float] = []

    def put(path: Path) -> None:
        client.put_object(Bucket=bucket, Key=f"raw/{path.name}", Body=path.read_bytes())

    for _ in range(rounds):
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(put, paths))
        raw.append(len(paths) / (time.perf_counter() - began))
        _empty(store, bucket)
        began = time.perf_counter()
        report = send_files(
            store, bucket, files, prefix=batch_prefix(), workers=workers,
            on_done=lambda _upload, _size: None, manifests=True,
        )  # fmt: skip
        send.append(len(report.sent) / (time.perf_counter() - began))
        _empty(store, bucket)
    return raw, send


def _empty(store: S3ObjectStore, bucket: str) -> None:
    for info in list(store.list(bucket)):
        store.delete(bucket, info.key)
