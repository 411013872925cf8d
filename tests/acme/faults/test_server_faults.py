"""Servers killed (SIGKILL) or paused (SIGSTOP) mid-ingest come back, and nothing is lost.

While a round's 300 instances arrive (:mod:`fault_rounds`), nats-server, PostgreSQL or
SeaweedFS is killed and acme up's supervisor starts it again on its port with its data; or
SeaweedFS is stopped for 10 s and then continued. Nobody restarts acme up, every study still
reaches ``reported`` with nothing done twice, and each server's restarts are counted.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from acme_platform import wait_until
from fault_platform import FaultPlatform
from fault_rounds import Round, indexed, run_round

from acme.db import Pool
from acme.stack.status import stack_health

FIRST_FEW = 30
PAUSE_SECONDS = 10.0


@pytest.mark.parametrize("server", ["nats", "postgres", "s3"])
def test_killed_server_is_started_again(
    platform: FaultPlatform, tmp_path: Path, server: str
) -> None:
    assert platform.settings is not None
    before = {h.name: h.restarts for h in stack_health(platform.settings)}

    def fault(rnd: Round, pool: Pool) -> None:
        wait_until(lambda: indexed(pool, rnd) >= FIRST_FEW, 120, "a first few instances")
        platform.kill(platform.server_pid(server))
        print(f"\nkilled {server}")

    up = platform.proc
    run_round(platform, tmp_path, f"kill-{server}", fault)
    assert platform.proc is up and up is not None and up.poll() is None, "acme up kept running"
    health = {h.name: h for h in stack_health(platform.settings)}
    # a server may take more than one start to come back (PostgreSQL waits for the killed
    # postmaster's backends to let go of its shared memory): at least one
    assert health[server].restarts >= before[server] + 1, health
    assert all(h.healthy for h in health.values()), health


def test_object_store_paused_for_ten_seconds(platform: FaultPlatform, tmp_path: Path) -> None:
    def fault(rnd: Round, pool: Pool) -> None:
        wait_until(lambda: indexed(pool, rnd) >= FIRST_FEW, 120, "a first few instances")
        pid = platform.server_pid("s3")
        platform.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE_SECONDS)
        finally:
            platform.kill(pid, signal.SIGCONT)

    run_round(platform, tmp_path, "pause-s3", fault)
