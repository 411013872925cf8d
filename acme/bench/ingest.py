"""``acme bench ingest``: the whole platform's ingest against bare ingest loops, same servers.

On a platform of its own running only dicom-ingest (its router, bucket events and tick), with
``count`` CT instances of 0.5 MB (100 to a series):

- **bare loop** (the baseline), 1 and ``threads`` threads, each instance: S3 GET of the whole
  object, pydicom parse, S3 PUT into an archive bucket, one INSERT, S3 DELETE from a staging
  bucket. No ledger, no dedupe, no validation, no events.
- **bare loop, header only**: a ranged GET of the first 64 KiB (enough for the header), parse,
  server-side copy into the archive bucket, INSERT, DELETE: what reading only what validation
  needs and archiving by copy would move. Measured so that the choice is made on figures.
- **platform**: ``acme send`` (with completion manifests) into dicom-inbox, timed from the
  first upload until every instance is indexed, through the bucket notifications, the router
  and dicom-ingest's full ingest (ledger, dedupe, validation, archive, index, outbox, inbox
  removal).
  The CPU seconds each process spent meanwhile (functions, platform services, servers and
  this process, which sends) are reported beside it: where the platform's time goes.
- **Orthanc** (when Debian's package is installed): ``POST /instances``, one client thread.

The ratio is the platform's rate over the bare loop's with ``threads`` threads.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydicom import dcmread

from acme.bench._common import machine, running_platform, write_report
from acme.bench._cpu import cpu_seconds
from acme.bench._files import ct_instances
from acme.bench._orthanc import orthanc_store_rate
from acme.db import Pool, make_pool
from acme.inbox import batch_prefix, expand, send_files
from acme.settings import Settings
from acme.storage import S3ObjectStore, make_s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

__all__ = ["run_ingest_bench"]

HEADER_BYTES = 64 * 1024


def run_ingest_bench(out_dir: Path, *, count: int, threads: int, timeout: float) -> Path:
    """Run it; write and return ``out_dir/ingest.json`` (and ``ingest.png``)."""
    with tempfile.TemporaryDirectory(prefix="acme-bench-ingest-") as folder:
        paths = ct_instances(Path(folder) / "ct", count)
        size = paths[0].stat().st_size
        with running_platform(functions=["dicom-ingest"]) as (settings, _process):
            rates, bare_cpu = _bare(settings, paths, threads)
            with cpu_seconds() as cpu:
                rates["platform"] = _platform(settings, paths, threads, timeout)
        orthanc = orthanc_store_rate(paths)  # the platform stopped: the machine to itself
    if orthanc is not None:
        rates["orthanc"] = orthanc
    report: dict[str, Any] = {
        "machine": machine(),
        "method": __doc__,
        "instances": count,
        "bytes_per_instance": size,
        "threads": threads,
        "per_second": {name: round(rate, 1) for name, rate in rates.items()},
        "ratio": round(rates["platform"] / rates[f"bare {threads} threads"], 3),
        "bare_cpu_seconds": bare_cpu,
        "platform_cpu_seconds": cpu,
        "platform_cpu_ms_per_instance": {k: round(1000 * v / count, 1) for k, v in cpu.items()},
    }
    labels = {
        "bare 1 thread": "bare loop, 1 thread",
        f"bare {threads} threads": f"bare loop, {threads} threads",
        f"header {threads} threads": f"ranged GET + copy, {threads} threads",
        "platform": "platform (send → indexed)",
        "orthanc": "Orthanc REST, 1 thread",
    }
    bars = [(labels[name], rate) for name, rate in rates.items()]
    return write_report(
        out_dir, "ingest", report, bars, ylabel="instances / second",
        title=f"{count} CT instances of 0.5 MB (ratio {report['ratio']:.2f})",
    )  # fmt: skip


def _bare(
    settings: Settings, paths: list[Path], threads: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The bare loops' rates, and the CPU seconds spent by each process in the loop with
    ``threads`` threads."""
    client = make_s3_client(settings)
    staging, archive = (
        f"{settings.bucket_prefix}bench-staging",
        f"{settings.bucket_prefix}bench-archive",
    )
    for bucket in (staging, archive):
        client.create_bucket(Bucket=bucket)
    pool = make_pool(settings, application_name="acme-bench")
    try:
        with pool.connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_ingest (sop_uid text PRIMARY KEY, key text)"
            )

        def whole(key: str) -> None:
            data = client.get_object(Bucket=staging, Key=key)["Body"].read()
            sop = str(dcmread(BytesIO(data)).SOPInstanceUID)
            client.put_object(Bucket=archive, Key=f"{sop}.dcm", Body=data)
            _insert(pool, sop, key)
            client.delete_object(Bucket=staging, Key=key)

        def header(key: str) -> None:
            head = client.get_object(Bucket=staging, Key=key, Range=f"bytes=0-{HEADER_BYTES - 1}")
            ds = dcmread(BytesIO(head["Body"].read()), stop_before_pixels=True)
            sop = str(ds.SOPInstanceUID)
            source: CopySourceTypeDef = {"Bucket": staging, "Key": key}
            client.copy_object(Bucket=archive, Key=f"{sop}.dcm", CopySource=source)
            _insert(pool, sop, key)
            client.delete_object(Bucket=staging, Key=key)

        loops: dict[str, tuple[Callable[[str], None], int]] = {
            "bare 1 thread": (whole, 1),
            f"bare {threads} threads": (whole, threads),
            f"header {threads} threads": (header, threads),
        }
        rates, cpu = {}, {}
        for name, (step, workers) in loops.items():
            keys = [f"{name.replace(' ', '-')}/{path.name}" for path in paths]
            _stage(client, staging, keys, paths)
            with pool.connection() as conn:
                conn.execute("TRUNCATE bench_ingest")
            with cpu_seconds() as spent:
                began = time.perf_counter()
                with ThreadPoolExecutor(max_workers=workers) as workers_pool:
                    list(workers_pool.map(step, keys))
                rates[name] = len(keys) / (time.perf_counter() - began)
            if name == f"bare {threads} threads":
                cpu = spent
        return rates, cpu
    finally:
        pool.close()


def _stage(client: S3Client, bucket: str, keys: list[str], paths: list[Path]) -> None:
    def put(pair: tuple[str, Path]) -> None:
        client.put_object(Bucket=bucket, Key=pair[0], Body=pair[1].read_bytes())

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, zip(keys, paths, strict=True)))


def _insert(pool: Pool, sop: str, key: str) -> None:
    with pool.connection() as conn:
        conn.execute("INSERT INTO bench_ingest (sop_uid, key) VALUES (%s, %s)", (sop, key))


def _platform(settings: Settings, paths: list[Path], workers: int, timeout: float) -> float:
    store = S3ObjectStore(make_s3_client(settings))
    pool = make_pool(settings, application_name="acme-bench")
    try:
        began = time.perf_counter()
        report = send_files(
            store, settings.buckets.inbox, expand(paths), prefix=batch_prefix(),
            workers=workers, manifests=True,
        )  # fmt: skip
        if report.failed:
            raise RuntimeError(f"{len(report.failed)} uploads failed: {report.failed[0][1]}")
        deadline = began + timeout
        while True:
            with pool.connection() as conn:
                row = conn.execute("SELECT count(*) FROM instances").fetchone()
            if row is not None and row[0] >= len(paths):
                return len(paths) / (time.perf_counter() - began)
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {row[0] if row else 0} of {len(paths)} indexed")
            time.sleep(0.05)
    finally:
        pool.close()
