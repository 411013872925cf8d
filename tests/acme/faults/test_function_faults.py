"""Functions, the bucket-events adapter and acme up itself killed (SIGKILL) mid-ingest.

Each test sends 300 instances (:mod:`fault_rounds`) and kills one process while they arrive:
dicom-ingest, infer-cxr, report-events, the bucket-events adapter, or ``acme up`` (the
router, the gateway and the supervisors live in it), which is then started again on the same
data as a service manager would. Every study must still reach ``reported``, each instance be
indexed and announced once, the audit trail verify, and the inbox end empty.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from acme_platform import wait_until
from fault_platform import FaultPlatform
from fault_rounds import Round, count, indexed, run_round

from acme.db import Pool

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


def test_infer_cxr_killed_while_it_scores(platform: FaultPlatform, tmp_path: Path) -> None:
    def fault(rnd: Round, pool: Pool) -> None:
        series = sorted(rnd.cxr_series)
        running = "SELECT count(*) FROM inference_runs WHERE series_uid = ANY(%s)"
        deadline = time.monotonic() + 120
        while count(pool, running + " AND status = 'running'", series) == 0:
            # a radiograph is scored in about a second: look often, or the moment passes
            assert time.monotonic() < deadline, "no radiograph was scored"
            if count(pool, running, series) == len(series):
                print("\nevery run ended unseen: infer-cxr is killed between runs")
                break
            time.sleep(0.05)
        _kill_function(platform, "infer-cxr")

    run_round(platform, tmp_path, "kill-infer-cxr", fault)


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
