"""``acme demo``: the whole platform on the sample studies, and a table of what happened.

The demo starts ``acme up`` as a child process (exactly what an operator runs), writes a
fresh sample set (a new seed each run, so every run is a new set of studies), sends it into
dicom-inbox, waits until every good study has reached the last state the deployed functions
can bring it to, checks that every bad file was quarantined with its expected reason, prints
the result, and stops the platform. It succeeds only if all of that held.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from acme.db import Pool, make_pool
from acme.events import Finding
from acme.inbox import batch_prefix, expand, send_files
from acme.ledger import latest_by_key
from acme.runtime.stackfile import load_stack
from acme.samples import SampleManifest, write_samples
from acme.samples.manifest import CtChestTruth, CxrTruth, SampleStudy
from acme.settings import Settings
from acme.stack.ports import claim_port
from acme.stack.state import connect_settings
from acme.storage import S3ObjectStore, make_s3_client
from acme.studies import StudySummary, study_summaries
from acme.upprocess import stop, wait_ready

PIPELINE_FUNCTIONS = {"cxr": "infer-cxr", "ct": "infer-ct", "ct-qa": "infer-ct"}
REPORT_ROUTE = "/function/report/reports/"
DEMO_WIDTH = 120
"""Columns of the demo's tables when its output is not a terminal."""


@dataclass(frozen=True)
class DemoResult:
    ok: bool
    studies: dict[str, StudySummary]
    targets: dict[str, str]
    quarantine_ok: bool
    timings: dict[str, float]
    """Seconds from the demo's start: ``ready`` (platform), ``sent``, ``final`` (every study
    at its final state, or the timeout)."""


def final_states(manifest: SampleManifest, deployed: set[str]) -> dict[str, str]:
    """The state each good study must reach with the functions that are deployed."""
    targets: dict[str, str] = {}
    for study in manifest.studies:
        function = PIPELINE_FUNCTIONS.get(str(study.expected_pipeline))
        if function is None or function not in deployed:
            targets[study.study_uid] = "complete"
        elif "report-events" in deployed or "report" in deployed:
            targets[study.study_uid] = "reported"
        else:
            targets[study.study_uid] = "inferred"
    return targets


def run_demo(
    settings: Settings, *, inherited_env: Mapping[str, str], console: Console, timeout: float
) -> DemoResult:
    began = time.monotonic()
    stack = load_stack(settings.stack_file)
    deployed = set(stack.functions) - set(stack.missing())
    home = settings.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    port = claim_port(settings.host, settings.gateway_port, "ACME_GATEWAY_PORT")
    log = home / "demo-platform.log"
    env = {**inherited_env, "ACME_GATEWAY_PORT": str(port), "ACME_HOME": str(home)}
    with log.open("w") as out:
        platform = subprocess.Popen(
            [sys.executable, "-m", "acme.cli.main", "up"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        seed = secrets.randbelow(2**31)
        folder = home / "demo" / f"samples-{seed}"
        with console.status(f"starting the platform, writing the sample studies (seed {seed})…"):
            manifest = write_samples(folder, seed=seed)  # while the platform starts
            written = time.monotonic() - began
            wait_ready(platform, f"http://{settings.host}:{port}/healthz", log, 180.0)
        console.print(
            f"samples written after {written:.1f}s, platform ready after "
            f"{time.monotonic() - began:.1f}s · gateway http://{settings.host}:{port}/ · log {log}"
        )
        return _exercise(
            connect_settings(settings), folder, manifest, deployed, console, timeout, began
        )
    finally:
        stop(platform)


def _exercise(
    settings: Settings,
    folder: Path,
    manifest: SampleManifest,
    deployed: set[str],
    console: Console,
    timeout: float,
    began: float,
) -> DemoResult:
    files = expand([folder / "good", folder / "bad"])
    store = S3ObjectStore(make_s3_client(settings))
    prefix = batch_prefix()
    timings = {"ready": time.monotonic() - began}
    with Progress(console=console) as progress:
        task = progress.add_task("sending to dicom-inbox", total=len(files))
        report = send_files(
            store, settings.buckets.inbox, files, prefix=prefix, workers=settings.send_workers,
            on_done=lambda _upload, _size: progress.advance(task), manifests=True,
        )  # fmt: skip
    timings["sent"] = time.monotonic() - began
    if report.failed:
        console.print(f"[red]{len(report.failed)} files could not be sent[/]")
    targets = final_states(manifest, deployed)
    pool = make_pool(settings, application_name="acme-demo")
    try:
        studies = _wait_for_studies(pool, targets, console, timeout)
        timings["final"] = time.monotonic() - began
        bad = [entry.path for entry in manifest.bad() if entry.materialised]
        quarantined = quarantine_reasons(pool, settings.buckets.inbox, prefix, bad)
    finally:
        pool.close()
    quarantine_ok = print_quarantine(manifest, quarantined, console)
    print_studies(manifest, studies, targets, console)
    console.print(
        f"wall time from the start: platform ready {timings['ready']:.1f}s, "
        f"{len(report.sent)} files and {len(report.manifests)} completion manifests sent "
        f"{timings['sent']:.1f}s, every study at its final state {timings['final']:.1f}s"
    )
    ok = (
        not report.failed
        and quarantine_ok
        and all(uid in studies and studies[uid].reached(t) for uid, t in targets.items())
    )
    return DemoResult(
        ok=ok, studies=studies, targets=targets, quarantine_ok=quarantine_ok, timings=timings
    )


def _wait_for_studies(
    pool: Pool, targets: dict[str, str], console: Console, timeout: float
) -> dict[str, StudySummary]:
    deadline = time.monotonic() + timeout
    studies: dict[str, StudySummary] = {}
    with Progress(console=console) as progress:
        task = progress.add_task("studies at their final state", total=len(targets))
        while time.monotonic() < deadline:
            studies = study_summaries(pool, list(targets))
            done = [uid for uid, target in targets.items() if _settled(studies.get(uid), target)]
            progress.update(task, completed=len(done))
            if len(done) == len(targets):
                break
            time.sleep(0.25)
    return studies


def _settled(summary: StudySummary | None, target: str) -> bool:
    """At its target state, or failed (which no waiting will change)."""
    return summary is not None and (summary.reached(target) or summary.state == "failed")


def quarantine_reasons(
    pool: Pool, bucket: str, prefix: str, paths: Iterable[str]
) -> dict[str, str]:
    """The quarantine reason of each of ``paths`` sent under ``prefix``, by path, from the
    inbox ledger: its own entry, or the entry it repeats. A bad file sent again (the same
    bytes, in the next demo on the same home) is a duplicate of the entry of its first
    sending, with that entry's reason."""
    keys = {f"{prefix}/{path}": path for path in paths}
    settled = latest_by_key(pool, bucket, keys)
    return {
        keys[key]: entry.quarantine.reason_code
        for key, entry in settled.items()
        if entry.quarantine is not None
    }


def print_quarantine(
    manifest: SampleManifest, quarantined: dict[str, str], console: Console
) -> bool:
    table = Table(title="bad input → quarantine")
    for column in ("file", "expected", "quarantined as", ""):
        table.add_column(column)
    ok = True
    for entry in manifest.bad():
        if not entry.materialised:
            continue
        got = quarantined.get(entry.path)
        good = got == entry.expected_reason
        ok = ok and good
        table.add_row(entry.path, str(entry.expected_reason), got or "-", "✓" if good else "✗")
    console.print(table)
    return ok


def _truth(study: SampleStudy) -> str:
    truth = study.truth
    if truth is None:
        return "- (real film)"
    if isinstance(truth, CxrTruth):
        side = f" ({truth.side})" if truth.side else ""
        return f"{truth.finding}{side}"
    if isinstance(truth, CtChestTruth):
        return (
            "; ".join(f"{n.diameter_mm:g} mm {n.side} s{n.instance_number}" for n in truth.nodules)
            or "no nodule"
        )
    return f"QA {'pass' if truth.passes else 'fail'}"


def _finding(finding: Finding) -> str:
    mark = "+" if finding.positive else ""
    m = finding.measurement
    if m is None:
        return f"{finding.label} {finding.probability:.2f}{mark}"
    first, last = m.slices
    return f"{m.diameter_mm:.1f} mm {m.side} s{first}-{last} {finding.probability:.2f}{mark}"


def print_studies(
    manifest: SampleManifest,
    studies: dict[str, StudySummary],
    targets: dict[str, str],
    console: Console,
) -> None:
    """The table of studies, then each study's report link (on a line of its own, so that
    the table fits a narrow console and the links stay whole)."""
    table = Table(title="studies (AI results are from a synthetic model: not for diagnostic use)")
    for column, width in (("study", 13), ("modality", 8), ("pipeline", 8), ("state", 14)):
        table.add_column(column, width=width)
    table.add_column("findings", ratio=1)
    table.add_column("ground truth", width=14)
    table.add_column("timings (s)", width=12)
    links = []
    for uid, target in targets.items():
        summary = studies.get(uid)
        sample = manifest.study(uid)
        short = f"…{uid[-12:]}"
        if summary is None:
            table.add_row(short, "-", "-", "[red]not received[/]", "", _truth(sample), "")
            continue
        state = summary.state.value
        reached = summary.reached(target)
        shown = f"[green]{state}[/]" if reached else f"[red]{state}[/] (wanted {target})"
        findings = ", ".join(_finding(f) for f in summary.findings)
        if summary.qa_passed is not None:
            findings = "QA pass" if summary.qa_passed else "QA FAIL"
        pending = len(summary.without_results)
        timings = " · ".join(
            f"{name} {value}"
            for name, value in (
                ("complete", summary.seconds(summary.received_at, summary.completed_at)),
                ("inferred", summary.seconds(summary.completed_at, summary.inferred_at)),
                ("reported", summary.seconds(summary.inferred_at, summary.reported_at)),
            )
            if value is not None
        )
        table.add_row(
            short,
            "/".join(summary.modalities),
            "/".join(summary.pipelines) or "-",
            shown + (f", {pending} series pending or failed" if pending else ""),
            findings or "-",
            _truth(sample),
            timings or "-",
        )
        if summary.report_id:
            links.append(f"{short}  report {REPORT_ROUTE}{summary.report_id}")
    console.print(table)
    for link in links:
        console.print(link, soft_wrap=True, highlight=False)


def demo_console(stream: TextIO) -> Console:
    """The demo's console: as wide as the terminal, or :data:`DEMO_WIDTH` columns when the
    output goes to a file or a pipe (a CI log, ``| less``)."""
    return Console(file=stream, width=None if stream.isatty() else DEMO_WIDTH)
