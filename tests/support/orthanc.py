"""A real Orthanc (Debian's ``orthanc`` + ``orthanc-dicomweb``) on free loopback ports.

``running_orthanc(folder, modalities={...})`` writes a configuration naming the given DICOM
peers, starts ``Orthanc CONFIG.json``, waits for its REST API and stops it on exit. Installed
by ``make pacs-tools`` (the test command); the tests skip when it is absent.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from acme.stack.ports import free_port

ORTHANC = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
# Debian's DCMTK by path: pynetdicom installs its own storescu and echoscu into the virtualenv
STORESCU = "/usr/bin/storescu"
ECHOSCU = "/usr/bin/echoscu"


def require_orthanc() -> None:
    if not Path(ORTHANC).is_file() or not Path(DICOMWEB_PLUGIN).is_file():
        pytest.skip("Orthanc is not installed (make pacs-tools)")


def require_dcmtk() -> None:
    if not Path(STORESCU).is_file() or not Path(ECHOSCU).is_file():
        pytest.skip("DCMTK is not installed (make pacs-tools)")


@dataclass(frozen=True)
class Orthanc:
    """A running Orthanc: its AE title, DICOM port and REST base URL."""

    ae_title: str
    dicom_port: int
    http_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def upload(self, data: bytes) -> dict[str, Any]:
        answer = httpx.post(f"{self.url}/instances", content=data, timeout=30)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def store_to(self, modality: str, resource: str) -> dict[str, Any]:
        """``POST /modalities/<modality>/store``: Orthanc sends ``resource`` by C-STORE."""
        answer = httpx.post(
            f"{self.url}/modalities/{modality}/store", content=resource, timeout=120
        )
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def instances_of_study(self, study_uid: str) -> list[dict[str, Any]]:
        """Every instance of the study, with its main DICOM tags."""
        answer = httpx.post(
            f"{self.url}/tools/find",
            json={"Level": "Instance", "Query": {"StudyInstanceUID": study_uid}, "Expand": True},
            timeout=30,
        )
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def studies(self, study_uid: str) -> list[str]:
        """The Orthanc ids of the studies with this Study Instance UID."""
        answer = httpx.post(
            f"{self.url}/tools/find",
            json={"Level": "Study", "Query": {"StudyInstanceUID": study_uid}},
            timeout=30,
        )
        answer.raise_for_status()
        found: list[str] = answer.json()
        return found

    def tags(self, instance_id: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/instances/{instance_id}/simplified-tags", timeout=30)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


@contextmanager
def running_orthanc(
    folder: Path,
    *,
    ae_title: str = "ORTHANC",
    modalities: Mapping[str, tuple[str, int]] | None = None,
    http_port: int | None = None,
) -> Iterator[Orthanc]:
    """Orthanc with its data in ``folder``; ``modalities``: name -> (AE title, port) on
    127.0.0.1 that it may send to."""
    require_orthanc()
    folder.mkdir(parents=True, exist_ok=True)
    orthanc = Orthanc(ae_title, free_port("127.0.0.1"), http_port or free_port("127.0.0.1"))
    config = {
        "Name": f"acme-test-{ae_title.lower()}",
        "HttpPort": orthanc.http_port,
        "DicomPort": orthanc.dicom_port,
        "DicomAet": ae_title,
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": True,
        "DicomScuTimeout": 20,
        "DicomModalities": {
            name: [title, "127.0.0.1", port] for name, (title, port) in (modalities or {}).items()
        },
        "Plugins": [DICOMWEB_PLUGIN],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config, indent=2))
    log = (folder / "orthanc.log").open("w")
    proc = subprocess.Popen([ORTHANC, str(path)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (folder / "orthanc.log").read_text()[-3000:]
            try:
                if httpx.get(f"{orthanc.url}/system", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Orthanc did not start"
            time.sleep(0.2)
        yield orthanc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
