"""The fault suite's one platform: ``acme up`` with the functions a study passes through.

Every test of this folder sends its 300 instances to the same running platform (started
once, for time), breaks one thing while they arrive, and checks that nothing was lost or
done twice. A test that kills ``acme up`` itself starts it again on the same data. At the
end the platform must still stop promptly and cleanly.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_modality import CALLING_AE
from fault_platform import FaultPlatform
from routing import fast_routing

from acme.stack.ports import free_ports

FUNCTIONS = ("dicom-ingest", "infer-cxr", "infer-ct", "report-events", "audit-events")
STOP_LIMIT = 45.0
"""acme up must stop by itself after SIGTERM, before the 60 s after which the suite would kill
it (five functions and four servers: 8-21 s measured on a heavily shared machine)."""
PORTS = ("ACME_NATS_PORT", "ACME_POSTGRES_PORT", "ACME_REDIS_PORT", "ACME_S3_PORT",
         "ACME_WEBHOOK_PORT")  # fmt: skip


def _started(home: Path, tries: int = 3) -> FaultPlatform:
    """acme up on fixed ports, as a hospital configures them: started again after a crash, it
    serves on the same addresses and senders need not learn new ones. Ports found free may be
    taken by another program before acme up claims them: then it is started on new ones."""
    for attempt in range(1, tries + 1):
        ports = dict(zip(PORTS, free_ports("127.0.0.1", len(PORTS)), strict=True))
        running = FaultPlatform(
            home,
            {
                **{name: str(port) for name, port in ports.items()},
                "ACME_FUNCTIONS": ",".join(FUNCTIONS),
                # a radiograph completes soon after it arrives, a CT series only once no
                # slice came for longer than a fault holds up its upload (a server
                # restarting, the object store paused for 10 s): no series completes early
                "ACME_ROUTING_FILE": str(
                    fast_routing(home.parent, seconds=15, ages={"CR": 2, "DX": 2})
                ),
                "ACME_TICK_SECONDS": "1",
                "ACME_DICOM_CALLING_AES": f"{CALLING_AE}@127.0.0.1",  # the edge's modality
                "ACME_INBOX_GRACE_SECONDS": "5",
                # what a killed acme up's router held unacknowledged comes back after this
                "ACME_ROUTER_ACK_WAIT": "10",
            },
        )
        try:
            running.start()
        except AssertionError as exc:
            if "already in use" not in str(exc) or attempt == tries:
                raise
            continue
        return running
    raise AssertionError("unreachable")


@pytest.fixture(scope="package")
def platform(request: pytest.FixtureRequest) -> Iterator[FaultPlatform]:
    root = Path(tempfile.mkdtemp(prefix="acme-faults-"))
    failed = request.session.testsfailed
    running = _started(root / "home")
    try:
        yield running
    finally:
        if running.proc is not None:
            stopped = running.stop()
            print(f"\nacme up stopped {stopped:.1f}s after SIGTERM")
            assert stopped < STOP_LIMIT
            log = running.log_path.read_text()
            assert "Traceback" not in log.split("stopping router")[-1]
        if request.session.testsfailed == failed:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"\nthe fault suite's platform is kept for inspection in {root}")
