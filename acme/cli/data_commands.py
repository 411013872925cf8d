"""``acme samples`` and ``acme send``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from acme.inbox import Upload, batch_prefix, expand, send_files
from acme.samples import write_samples
from acme.settings import load_settings
from acme.stack import connect_settings
from acme.storage import S3ObjectStore, make_s3_client


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ct-slices", default=120, show_default=True, help="Slices of the CT series.")
@click.option("--seed", default=0, show_default=True, help="Same seed, same files.")
def samples(directory: Path, ct_slices: int, seed: int) -> None:
    """Write the sample studies (good/) and the bad-input corpus (bad/) into DIRECTORY."""
    console = Console(stderr=True)
    with Progress(console=console) as progress:
        task = progress.add_task("writing samples", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        manifest = write_samples(directory, ct_slices=ct_slices, seed=seed, progress=advance)
    console.print(
        f"wrote {len(manifest.good())} good and {len(manifest.bad())} bad files "
        f"({len(manifest.studies)} studies) to {directory}; see {directory / 'manifest.json'}"
    )


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--workers", default=8, show_default=True, help="Concurrent uploads.")
def send(paths: tuple[Path, ...], workers: int) -> None:
    """Upload files and folders into dicom-inbox, each under a unique key."""
    settings = connect_settings(load_settings())
    console = Console(stderr=True)
    files = expand(paths)
    store = S3ObjectStore(make_s3_client(settings))
    prefix = batch_prefix()
    total = sum(path.stat().st_size for path, _ in files)
    columns = (
        TextColumn("sending"),
        BarColumn(),
        TextColumn("{task.fields[done]}/{task.fields[count]} files"),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("send", total=total, count=len(files), done=0)
        finished = [0]

        def done(_upload: Upload | None, size: int) -> None:
            finished[0] += 1
            progress.update(task, advance=size, done=finished[0])

        report = send_files(
            store, settings.buckets.inbox, files, prefix=prefix, workers=workers, on_done=done
        )
    console.print(
        f"sent {len(report.sent)} of {len(files)} files ({report.bytes_sent / 1e6:.1f} MB) "
        f"to {settings.buckets.inbox} under {prefix}/"
    )
    for path, reason in report.failed:
        console.print(f"[red]failed[/]: {path}: {reason}")
    if report.failed:
        raise SystemExit(1)
