"""``acme wait`` and the study view of ``acme status STUDY_UID``."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.table import Table

from acme.db import make_pool
from acme.lifecycle import StudyState
from acme.settings import Settings, load_settings
from acme.stack.state import connect_settings
from acme.studies import StudySummary, study_summaries


def show_study(settings: Settings, study_uid: str, *, as_json: bool) -> None:
    """Print one study (state, series, findings, report, timings); exit 1 when unknown."""
    pool = make_pool(connect_settings(settings), application_name="acme-cli")
    try:
        summary = study_summaries(pool, [study_uid]).get(study_uid)
    finally:
        pool.close()
    if summary is None:
        click.echo(f"acme: no study {study_uid}", err=True)
        raise SystemExit(1)
    if as_json:
        click.echo(summary.model_dump_json(indent=2))
        return
    Console().print(_study_table(summary))


def _study_table(summary: StudySummary) -> Table:
    table = Table(title=f"study {summary.study_uid}", show_header=False)
    rows = {
        "state": summary.state.value
        + (f" ({summary.failure_reason})" if summary.failure_reason else ""),
        "modalities": ", ".join(summary.modalities),
        "pipelines": ", ".join(summary.pipelines) or "-",
        "series / instances": f"{summary.series} / {summary.instances}",
        "model": f"{summary.model or '-'} on {summary.device or '-'}",
        "findings": ", ".join(
            f"{f.label} {f.probability:.2f}{' (positive)' if f.positive else ''}"
            for f in summary.findings
        )
        or "-",
        "report": f"{summary.report_id} ({summary.report_status})" if summary.report_id else "-",
        "sent to PACS": "\n".join(
            f"{d.destination} v{d.version}: {d.status} ({d.objects} objects, {d.attempts} attempts)"
            + (f" - {d.last_error}" if d.status != "delivered" and d.last_error else "")
            for d in summary.deliveries
        )
        or "-",
    }
    for series in summary.without_results:
        rows[f"series {series.series_uid}"] = f"{series.modality} ({series.pipeline}): " + (
            f"inference failed ({series.reason})" if series.reason else series.outcome
        )
    if summary.patient_conflicts:
        names = ", ".join(a.replace("_", " ") for a in summary.patient_conflicts)
        rows["patient record"] = f"conflicting {names} between images: verify identity"
    for key, value in rows.items():
        table.add_row(key, value)
    return table


@click.command()
@click.argument("study_uid")
@click.option(
    "--state",
    "target",
    required=True,
    type=click.Choice([s.value for s in StudyState]),
    help="The state to wait for (or any state after it on the automated path).",
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds before giving up.")
def wait(study_uid: str, target: str, timeout: float) -> None:
    """Wait until STUDY_UID reaches --state; exit 1 on timeout or when the study failed."""
    settings = connect_settings(load_settings())
    pool = make_pool(settings, application_name="acme-cli")
    deadline = time.monotonic() + timeout
    try:
        while True:
            summary = study_summaries(pool, [study_uid]).get(study_uid)
            if summary is not None and summary.reached(target):
                click.echo(f"{study_uid}: {summary.state.value}")
                return
            if summary is not None and summary.state is StudyState.FAILED and target != "failed":
                click.echo(f"{study_uid}: failed ({summary.failure_reason})", err=True)
                raise SystemExit(1)
            if time.monotonic() >= deadline:
                seen = summary.state.value if summary else "not received"
                click.echo(f"{study_uid}: still {seen} after {timeout:g}s", err=True)
                raise SystemExit(1)
            time.sleep(1.0)
    finally:
        pool.close()
