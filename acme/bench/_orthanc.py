"""Debian's Orthanc, when installed, as the comparison for ingest: its REST store rate."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from acme.stack.ports import free_port

__all__ = ["ORTHANC", "orthanc_store_rate"]

ORTHANC = Path("/usr/sbin/Orthanc")


def orthanc_store_rate(paths: list[Path]) -> float | None:
    """Instances/second Orthanc stores ``paths`` at through ``POST /instances``, one client
    thread, on local disk; None when Orthanc is not installed."""
    if not ORTHANC.is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="acme-bench-orthanc-") as folder:
        port = free_port("127.0.0.1")
        config = {
            "Name": "acme-bench", "HttpPort": port, "DicomPort": free_port("127.0.0.1"),
            "StorageDirectory": f"{folder}/storage", "IndexDirectory": f"{folder}/index",
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        }  # fmt: skip
        (Path(folder) / "orthanc.json").write_text(json.dumps(config))
        with (Path(folder) / "orthanc.log").open("w") as log:
            process = subprocess.Popen(
                [str(ORTHANC), f"{folder}/orthanc.json"], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait(url, process)
            with httpx.Client(base_url=url, timeout=60) as client:
                began = time.perf_counter()
                for path in paths:
                    client.post("/instances", content=path.read_bytes()).raise_for_status()
                return len(paths) / (time.perf_counter() - began)
        finally:
            process.terminate()
            process.wait(30)


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/system", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"Orthanc did not answer at {url}")
