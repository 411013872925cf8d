"""Servers killed while the platform works come back by themselves, and nothing is lost.

On the running platform (``acme up``), nats-server, then PostgreSQL, then SeaweedFS is
killed (SIGKILL) while 300 instances are being sent. Each is started again by acme up on its
port with its data, its clients reconnect, and every instance ends indexed once, without
anyone restarting acme up. Then acme up still stops promptly.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
from acme_platform import running_platform, wait_until
from instances import write_series
from routing import fast_routing

from acme.db import Pool, make_pool
from acme.inbox import send_files
from acme.settings import Settings
from acme.stack import stack_health
from acme.stack.state import read_state
from acme.storage import S3ObjectStore, make_s3_client

PER_ROUND = 300
STOP_LIMIT = 10.0


def _count(pool: Pool, sql: str, *params: object) -> int:
    with pool.connection() as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _send_until_accepted(settings: Settings, files: list[tuple[Path, Path]], prefix: str) -> None:
    """Send like a modality does: what the store refused is sent again until it is accepted."""
    store = S3ObjectStore(make_s3_client(settings))
    pending = files
    deadline = time.monotonic() + 240
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} files never accepted"
        report = send_files(store, settings.buckets.inbox, pending, prefix=prefix)
        failed = {path for path, _reason in report.failed}
        pending = [item for item in pending if item[0] in failed]
        if pending:
            time.sleep(1.0)


def test_killed_servers_come_back_and_every_instance_is_indexed_once(tmp_path: Path) -> None:
    extra = {
        "ACME_FUNCTIONS": "dicom-ingest",
        "ACME_ROUTING_FILE": str(fast_routing(tmp_path)),
        "ACME_TICK_SECONDS": "1",
        "ACME_INBOX_GRACE_SECONDS": "5",
    }
    with running_platform(tmp_path / "home", extra=extra) as settings:
        state = read_state(settings.home.resolve())
        assert state is not None
        up = psutil.Process(state.pid)
        pool = make_pool(settings, application_name="test")
        indexed = "SELECT count(*) FROM instances WHERE series_uid = %s"
        try:
            for server in ("nats", "postgres", "s3"):
                _study, series, paths = write_series(tmp_path / server, PER_ROUND)
                files = [(path, Path(path.name)) for path in paths]
                sender = threading.Thread(
                    target=_send_until_accepted, args=(settings, files, server), daemon=True
                )
                sender.start()
                wait_until(lambda s=series: _count(pool, indexed, s) >= 20, 120, "a first few")
                victim = read_state(settings.home.resolve()).servers[server].pid  # type: ignore[union-attr]
                assert victim is not None
                os.kill(victim, signal.SIGKILL)
                sender.join(300)
                assert not sender.is_alive()
                wait_until(
                    lambda s=series: _count(pool, indexed, s) == PER_ROUND, 300,
                    f"all {PER_ROUND} instances indexed after {server} was killed",
                )  # fmt: skip
                assert up.is_running(), "acme up itself must not have to be restarted"

            store = S3ObjectStore(make_s3_client(settings))
            wait_until(lambda: not list(store.list(settings.buckets.inbox)), 120, "an empty inbox")
            assert _count(pool, "SELECT count(*) FROM instances") == 3 * PER_ROUND
            assert _count(pool, "SELECT count(*) FROM quarantine_entries") == 0
            archived = list(store.list(settings.buckets.archive, "studies/"))
            assert len(archived) == 3 * PER_ROUND  # one archive object per instance
        finally:
            pool.close()
        health = {h.name: h for h in stack_health(settings)}
        # a server may take more than one start to come back (PostgreSQL waits for the killed
        # postmaster's backends to let go of its shared memory): at least one each
        assert all(health[name].restarts >= 1 for name in ("nats", "postgres", "s3")), health
        assert health["redis"].restarts == 0
        assert all(h.healthy for h in health.values())

        began = time.monotonic()
        up.send_signal(signal.SIGTERM)
        up.wait(30)
        stopped = time.monotonic() - began
        print(f"\nacme up stopped {stopped:.1f}s after SIGTERM")
        assert stopped < STOP_LIMIT
        log = (tmp_path / "home" / "platform.log").read_text()
        assert "Traceback" not in log.split("stopping router")[-1]
