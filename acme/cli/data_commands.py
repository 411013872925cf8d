"""``acme samples`` and ``acme send``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from acme.db import make_pool
from acme.inbox import Settlement, Upload, await_outcomes, batch_prefix, expand, send_files
from acme.samples import write_samples
from acme.settings import Settings, load_settings
from acme.stack.state import connect_settings
from acme.storage import S3ObjectStore, make_s3_client

_LISTED = 20


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
@click.option(
    "--workers",
    type=click.IntRange(1, 128),
    default=None,
    help="Uploads in flight at once; default: ACME_SEND_WORKERS (8).",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until every file is settled, then show what became of them.",
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait at most.")
@click.option(
    "--manifests/--no-manifests",
    default=True,
    show_default=True,
    help="Declare each series sent whole complete with a completion manifest.",
)
def send(
    paths: tuple[Path, ...], workers: int | None, wait: bool, timeout: float, manifests: bool
) -> None:
    """Upload files and folders into dicom-inbox, each under a unique key, and a completion
    manifest per series sent whole; then show what became of them (archived, duplicate,
    quarantined by reason). Exits 1 when an upload failed or a file was not settled within
    --timeout."""
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
            store, settings.buckets.inbox, files, prefix=prefix,
            workers=workers or settings.send_workers, on_done=done, manifests=manifests,
        )  # fmt: skip
    console.print(
        f"sent {len(report.sent)} of {len(files)} files ({report.bytes_sent / 1e6:.1f} MB) "
        f"to {settings.buckets.inbox} under {prefix}/"
    )
    if manifests:
        console.print(f"declared {len(report.manifests)} series complete (completion manifests)")
    for key, reason in report.unsent_manifests:
        console.print(f"[yellow]manifest not sent[/]: {escape(key)}: {escape(reason)}")
    for path, reason in report.failed:
        console.print(f"[red]failed[/]: {escape(str(path))}: {escape(reason)}")
    waiting = False
    if wait and report.sent:
        settlement = _settle(settings, console, report.sent, timeout)
        _print_settlement(console, settlement, report.sent, timeout)
        waiting = bool(settlement.waiting)
    if report.failed or waiting:
        raise SystemExit(1)


def _settle(settings: Settings, console: Console, sent: list[Upload], timeout: float) -> Settlement:
    pool = make_pool(settings, application_name="acme-cli")
    try:
        with Progress(
            TextColumn("settling"), BarColumn(), TextColumn("{task.completed}/{task.total} files"),
            console=console,
        ) as progress:  # fmt: skip
            task = progress.add_task("settle", total=len(sent))

            def advance(settled: int, total: int) -> None:
                progress.update(task, completed=settled, total=total)

            return await_outcomes(
                pool,
                settings.buckets.inbox,
                [upload.key for upload in sent],
                timeout=timeout,
                on_progress=advance,
            )
    finally:
        pool.close()


def _print_settlement(
    console: Console, settlement: Settlement, sent: list[Upload], timeout: float
) -> None:
    table = Table(title="what became of the files sent")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    for outcome, count in sorted(settlement.counts().items()):
        table.add_row(escape(outcome), str(count))
    if settlement.waiting:
        table.add_row(f"[yellow]not settled after {timeout:g}s[/]", str(len(settlement.waiting)))
    console.print(table)
    paths = {upload.key: upload.path for upload in sent}
    problems = [
        (paths[key], entry.describe())
        for key, entry in sorted(settlement.settled.items())
        if entry.outcome == "quarantined" or entry.quarantine is not None
    ] + [(paths[key], "not settled yet") for key in settlement.waiting]
    for path, what in problems[:_LISTED]:
        console.print(f"{escape(str(path))}: {escape(what)}", soft_wrap=True)
    if len(problems) > _LISTED:
        console.print(f"... and {len(problems) - _LISTED} more (acme status --object KEY)")
