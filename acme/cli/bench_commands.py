"""``acme bench``: one suite, each subcommand measuring its own baseline in the same run and
printing the ratio; JSON and a PNG chart per subcommand under bench-results/ (docs/BENCHMARKS.md).

``ingest``, ``send``, ``latency``, ``coldstart``, ``cxr``, ``ct``, ``idle``; and ``qido``
(QIDO-RS searches over a large index)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import click

from acme.bench import run_bench
from acme.bench.coldstart import run_coldstart_bench
from acme.bench.ct import run_ct_bench
from acme.bench.idle import run_idle_bench
from acme.bench.ingest import run_ingest_bench
from acme.bench.latency import run_latency_bench
from acme.bench.qido import run_qido_bench
from acme.bench.send import run_send_bench
from acme.settings import load_settings

OUT = click.option(
    "--out",
    default=Path("bench-results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the JSON and PNG files.",
)


@click.group()
def bench() -> None:
    """Benchmarks, each against its own baseline; JSON and PNG charts go to bench-results/."""


def _wrote(path: Path) -> None:
    report = json.loads(path.read_text())
    chart = f" and {path.parent / report['chart']}" if report.get("chart") else ""
    click.echo(f"wrote {path}{chart}")


@bench.command()
@click.option("--count", default=300, show_default=True, help="CT instances (0.5 MB each).")
@click.option("--threads", default=8, show_default=True, help="Threads of the bare loop.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for ingest.")
@OUT
def ingest(count: int, threads: int, timeout: float, out: Path) -> None:
    """The platform's ingest (send → every instance indexed) vs a bare S3+pydicom+INSERT loop
    on the same servers, and Orthanc's REST store rate when it is installed."""
    if count < 1 or threads < 1:
        raise click.BadParameter("expected --count >= 1 and --threads >= 1")
    path = run_ingest_bench(out, count=count, threads=threads, timeout=timeout)
    report = json.loads(path.read_text())
    for name, rate in report["per_second"].items():
        click.echo(f"{name}: {rate:.1f} instances/s")
    click.echo(f"ratio platform / bare {threads} threads: {report['ratio']:.2f}")
    _wrote(path)


@bench.command()
@click.option("--count", default=300, show_default=True, help="CT instances (0.5 MB each).")
@click.option("--workers", default=8, show_default=True, help="Uploads in flight.")
@click.option("--rounds", default=3, show_default=True, help="Rounds of each loop.")
@OUT
def send(count: int, workers: int, rounds: int, out: Path) -> None:
    """acme send vs a raw concurrent put loop, same files, same server."""
    if count < 1 or workers < 1 or rounds < 1:
        raise click.BadParameter("expected --count, --workers and --rounds >= 1")
    path = run_send_bench(out, count=count, workers=workers, rounds=rounds)
    report = json.loads(path.read_text())
    click.echo(
        f"raw put {report['raw_put_per_second']['median']:.1f}/s, acme send "
        f"{report['acme_send_per_second']['median']:.1f}/s; ratio {report['ratio']:.2f}"
    )
    _wrote(path)


@bench.command()
@click.option("--runs", default=7, show_default=True, help="Timed studies with a manifest.")
@click.option("--baseline-runs", default=3, show_default=True, help="Timed studies without.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds one study may take.")
@OUT
def latency(runs: int, baseline_runs: int, timeout: float, out: Path) -> None:
    """One chest X-ray, last instance received → report.drafted, warm: with a completion
    manifest vs the stable age."""
    if runs < 1 or baseline_runs < 1:
        raise click.BadParameter("expected --runs >= 1 and --baseline-runs >= 1")
    path = run_latency_bench(out, runs=runs, baseline_runs=baseline_runs, timeout=timeout)
    report = json.loads(path.read_text())
    for name, stats in report["received_to_drafted_seconds"].items():
        split = report["complete_to_drafted_seconds"][name]["median"]
        click.echo(
            f"{name}: received → drafted p50 {stats['median']:.2f} s (p95 {stats['p95']:.2f} s;"
            f" complete → drafted p50 {split:.2f} s)"
        )
    click.echo(f"ratio stable age / manifest (p50): {report['ratio']:.1f}")
    _wrote(path)


@bench.command()
@click.option("--rounds", default=3, show_default=True, help="New processes of each kind.")
@OUT
def coldstart(rounds: int, out: Path) -> None:
    """A new infer-cxr process to its first result (process start, imports, model load, first
    inference) for a DenseNet-121-sized model, exec'd and forked by the prefork, vs a bare
    onnxruntime process."""
    if rounds < 1:
        raise click.BadParameter("expected --rounds >= 1")
    path = run_coldstart_bench(out, rounds=rounds)
    report = json.loads(path.read_text())
    for name, phases in report["median_seconds"].items():
        parts = ", ".join(f"{phase} {value:.2f}" for phase, value in phases.items())
        click.echo(f"{name}: {parts} s")
    click.echo(f"ratio function path / bare: {report['ratio']:.2f}")
    click.echo(f"ratio forked by the prefork / bare: {report['forked_ratio']:.2f}")
    _wrote(path)


@bench.command()
@click.option("--settle", default=30.0, show_default=True, help="Idle seconds before measuring.")
@OUT
def idle(settle: float, out: Path) -> None:
    """PSS of every process of the idle platform (acme up, every function), by process, vs
    the four servers alone and the 600 MB goal."""
    path = run_idle_bench(out, settle=settle)
    report = json.loads(path.read_text())
    for name, value in report["by_process"].items():
        click.echo(f"{name}: {value['pss_mb']:.0f} MB ({value['processes']} processes)")
    click.echo(
        f"total {report['total_pss_mb']:.0f} MB PSS in {report['processes']} processes "
        f"(servers {report['servers_pss_mb']:.0f} MB, Python {report['python_pss_mb']:.0f} MB "
        f"in {report['python_processes']}); ratio to the {report['goal_mb']:.0f} MB goal: "
        f"{report['ratio']:.2f}"
    )
    _wrote(path)


@bench.command()
@click.option("--iterations", default=40, show_default=True, help="Timed images per loop.")
@click.option("--warmup", default=3, show_default=True, help="Untimed images per loop first.")
@click.option(
    "--out",
    default=Path("bench-results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for cxr.json (and cxr.png).",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cuda", "cpu"]),
    default=None,
    help="Execution provider choice; default: ACME_INFERENCE_DEVICE.",
)
def cxr(
    iterations: int, warmup: int, out: Path, device: Literal["auto", "cuda", "cpu"] | None
) -> None:
    """Images/second and latency p50/p95 of infer-cxr's scoring path vs bare onnxruntime,
    for the shipped CXR model(s) and a DenseNet-121-shaped one."""
    if iterations < 1 or warmup < 0:
        raise click.BadParameter("expected --iterations >= 1 and --warmup >= 0")
    settings = load_settings()
    path = run_bench(
        settings.models_dir,
        out,
        iterations=iterations,
        warmup=warmup,
        device=device or settings.inference_device,
        threads=settings.inference_threads,
        heatmap_grid=settings.cxr_heatmap_grid,
    )
    report = json.loads(path.read_text())
    for result in report["results"]:
        fn, bare = result["function_path"], result["bare_onnxruntime"]
        click.echo(
            f"{result['model']} on {result['provider']}: function path "
            f"{fn['images_per_second']:.1f} img/s (p50 {fn['p50_ms']:.1f} ms, p95 "
            f"{fn['p95_ms']:.1f} ms); bare onnxruntime {bare['images_per_second']:.1f} img/s "
            f"(p50 {bare['p50_ms']:.1f} ms); ratio {result['throughput_ratio']:.2f}"
        )
        if result["heatmap_ms"] is not None:
            click.echo(
                f"  heatmap, grid {result['heatmap_grid']} ({result['heatmap_grid'] ** 2} "
                f"occlusions): {result['heatmap_ms']:.0f} ms per image"
            )
    chart = f" and {out / report['chart']}" if report.get("chart") else " (no matplotlib: no chart)"
    click.echo(f"wrote {path}{chart}")


@bench.command()
@click.option("--slices", default=200, show_default=True, help="Slices of the series.")
@click.option("--matrix", default=512, show_default=True, help="Rows and columns per slice.")
@click.option("--runs", default=3, show_default=True, help="Timed series per loop.")
@click.option(
    "--out",
    default=Path("bench-results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for ct.json.",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cuda", "cpu"]),
    default=None,
    help="Execution provider choice; default: ACME_INFERENCE_DEVICE.",
)
def ct(
    slices: int, matrix: int, runs: int, out: Path,
    device: Literal["auto", "cuda", "cpu"] | None,
) -> None:  # fmt: skip
    """Seconds per CT series of infer-ct's volume assembly and nodule inference vs a bare
    pydicom + numpy + onnxruntime loop, with the ratio."""
    if slices < 16 or matrix < 64 or runs < 1:
        raise click.BadParameter("expected --slices >= 16, --matrix >= 64 and --runs >= 1")
    settings = load_settings()
    path = run_ct_bench(
        settings.models_dir, out, slices=slices, matrix=matrix, runs=runs,
        device=device or settings.inference_device, threads=settings.inference_threads,
    )  # fmt: skip
    report = json.loads(path.read_text())
    click.echo(
        f"{report['model']} on {report['provider']}: function path "
        f"{report['function_path_seconds']['mean']:.2f} s per series, bare loop "
        f"{report['bare_seconds']['mean']:.2f} s; ratio {report['ratio']:.2f}"
    )
    click.echo(f"wrote {path}")


@bench.command()
@click.option("--studies", default=10_000, show_default=True, help="Studies in the index.")
@click.option("--queries", default=50, show_default=True, help="Timed searches per kind.")
@click.option("--warmup", default=5, show_default=True, help="Untimed searches per kind first.")
@click.option(
    "--out",
    default=Path("bench-results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for qido.json.",
)
def qido(studies: int, queries: int, warmup: int, out: Path) -> None:
    """QIDO-RS study searches over an index of --studies studies (servers of its own):
    latency p50/p95 per kind of search, through the worklist's HTTP API in process."""
    if studies < 1 or queries < 1 or warmup < 0:
        raise click.BadParameter("expected --studies >= 1, --queries >= 1 and --warmup >= 0")
    path = run_qido_bench(out, studies=studies, queries=queries, warmup=warmup)
    report = json.loads(path.read_text())
    for name, stats in report["results"].items():
        click.echo(
            f"{name}: p50 {stats['p50_ms']:.1f} ms, p95 {stats['p95_ms']:.1f} ms"
            f" ({stats['results']} results)"
        )
    click.echo(f"{report['studies']} studies; wrote {path}")
