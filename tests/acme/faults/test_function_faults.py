"""Functions, the bucket-events adapter and acme up itself killed (SIGKILL) mid-ingest.

Each test sends 300 instances (:mod:`fault_rounds`) and kills one process while they arrive:
dicom-ingest, infer-cxr or infer-ct while it scores a series, report-events, the
bucket-events adapter, or ``acme up`` (the router, the gateway and the supervisors live in
it), which is then started again on the same data as a service manager would. Every study
must still reach ``reported``, each instance be indexed and announced once, the audit trail
verify, and the inbox end empty.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from acme_platform import wait_until
from fault_platform import FaultPlatform
from fault_rounds import Round, count, indexed, rows, run_round

from acme.db import Pool, make_pool

FIRST_FEW = 30


def _kill_function(platform: FaultPlatform, name: str) -> None:
    pid = platform.process_pid(name)
    assert pid is not None, f"{name} is not running"
    platform.kill(pid)
    print(f"\nkilled {name} (pid {pid})")


def _after_first_few(rnd: Round, pool: Pool) -> None:
    wait_until(lambda: indexed(pool, rnd) >= FIRST_FEW, 120, "a first few instances")


def test_dicom_ingest_killed(platform: FaultPlatform, tmp_path: Path) -> None:
    def fault(rnd: Round, pool: Pool) -> None:
        _after_first_few(rnd, pool)
        _kill_function(platform, "dicom-ingest")

    run_round(platform, tmp_path, "kill-ingest", fault)


def _kill_while_it_scores(
    platform: FaultPlatform, pool: Pool, function: str, series: list[str], what: str
) -> list[str]:
    """Kill ``function`` while a run of one of ``series`` is in progress, and return the
    series whose runs it left running: none when every run ended between two looks, or
    between the last look and the kill."""
    runs = "SELECT series_uid FROM inference_runs WHERE series_uid = ANY(%s)"
    running = runs + " AND status = 'running'"
    deadline = time.monotonic() + 180
    while not rows(pool, running, series):
        # a series is scored in a second or less: look often, or the moment passes
        assert time.monotonic() < deadline, f"no {what} was scored"
        if len(rows(pool, runs, series)) == len(series):
            break
        time.sleep(0.02)
    _kill_function(platform, function)
    # the killed process commits nothing more, and the delivery it dropped is retried only
    # after the trigger's backoff (5 s for series): what is running now was interrupted
    interrupted = [uid for (uid,) in rows(pool, running, series)]
    if not interrupted:
        print(f"every run ended unseen: {function} was killed between runs")
    return interrupted


def _taken_over(platform: FaultPlatform, series: list[str]) -> None:
    """Each run left running by the kill was taken over by a later delivery and ended
    once (run_round checked one run per series): its attempts count the try that died."""
    assert platform.settings is not None
    pool = make_pool(platform.settings, application_name="fault-suite")
    try:
        attempts = "SELECT series_uid, attempts FROM inference_runs WHERE series_uid = ANY(%s)"
        assert all(n >= 2 for _uid, n in rows(pool, attempts, series)), rows(pool, attempts, series)
    finally:
        pool.close()


def test_infer_cxr_killed_while_it_scores(platform: FaultPlatform, tmp_path: Path) -> None:
    killed: list[str] = []

    def fault(rnd: Round, pool: Pool) -> None:
        cxr = sorted(rnd.cxr_series)
        killed.extend(_kill_while_it_scores(platform, pool, "infer-cxr", cxr, "radiograph"))

    run_round(platform, tmp_path, "kill-infer-cxr", fault)
    _taken_over(platform, killed)


def test_infer_ct_killed_while_it_scores(platform: FaultPlatform, tmp_path: Path) -> None:
    killed: list[str] = []

    def fault(rnd: Round, pool: Pool) -> None:
        ct = sorted(set(rnd.series) - rnd.cxr_series)
        killed.extend(_kill_while_it_scores(platform, pool, "infer-ct", ct, "CT series"))

    run_round(platform, tmp_path, "kill-infer-ct", fault)
    _taken_over(platform, killed)


def test_report_events_killed(platform: FaultPlatform, tmp_path: Path) -> None:
    def fault(rnd: Round, pool: Pool) -> None:
        reports = "SELECT count(*) FROM reports WHERE study_uid = ANY(%s)"
        wait_until(lambda: count(pool, reports, sorted(rnd.studies)) >= 1, 120, "a report")
        _kill_function(platform, "report-events")

    run_round(platform, tmp_path, "kill-report", fault)


def test_bucket_events_adapter_killed(platform: FaultPlatform, tmp_path: Path) -> None:
    def fault(rnd: Round, pool: Pool) -> None:
        _after_first_few(rnd, pool)
        _kill_function(platform, "bucket-events")

    run_round(platform, tmp_path, "kill-bucket-events", fault)


@pytest.mark.timeout(600)  # a whole start again within the case: 180 s under heavy load
def test_acme_up_with_its_router_killed_and_started_again(
    platform: FaultPlatform, tmp_path: Path
) -> None:
    def fault(rnd: Round, pool: Pool) -> None:
        _after_first_few(rnd, pool)
        platform.kill_up()
        print("\nkilled acme up")
        began = time.monotonic()
        platform.start()
        print(f"acme up started again in {time.monotonic() - began:.1f}s")

    run_round(platform, tmp_path, "kill-router", fault)
    assert platform.proc is not None and platform.proc.poll() is None
