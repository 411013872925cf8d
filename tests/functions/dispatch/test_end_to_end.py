"""The DICOM edge end to end against real Orthancs: a chest X-ray study comes from a PACS by
C-STORE, goes through the pipeline, and its SR and key image go back into the same study;
a PACS that is down gets retries, a dead letter naming it, and the SR after replay."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from acme_platform import REPO, running_platform, wait_until
from dicomfiles import fresh_cxr, part10
from orthanc import Orthanc, require_orthanc, running_orthanc
from routing import fast_routing

from acme.db import make_pool
from acme.settings import Settings
from acme.stack.ports import free_port
from acme.studies import study_summaries

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"


def _quick_retry_stack(folder: Path) -> Path:
    """stack.yml with deliveries retried twice, one second apart (the functions linked)."""
    stack = yaml.safe_load((REPO / "stack.yml").read_text())
    annotations = stack["functions"]["dispatch"]["annotations"]
    annotations["com.acme.trigger.delivery.retry"] = "2"
    annotations["com.acme.trigger.delivery.backoff"] = "1s"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "functions").symlink_to(REPO / "functions")
    path = folder / "stack.yml"
    path.write_text(yaml.safe_dump(stack, sort_keys=False))
    return path


def _acme(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acme.cli.main", *args],
        capture_output=True, text=True, timeout=180, check=False, cwd=REPO,
        env={"ACME_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "200",
             "ACME_DESTINATIONS_FILE": str(home.parent / "destinations.yml")},
    )  # fmt: skip


@dataclass
class Scenario:
    home: Path
    settings: Settings
    pacs: Orthanc
    backup_port: int
    study_uid: str
    report_id: str
    folder: Path


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The platform and a PACS; the study sent from the PACS is reported; a second
    destination (DICOMweb, port ``backup_port``) is down."""
    require_orthanc()
    folder = tmp_path_factory.mktemp("edge")
    dicom_port = free_port("127.0.0.1")
    backup_port = free_port("127.0.0.1")
    with running_orthanc(folder / "pacs", modalities={"acme": ("ACME", dicom_port)}) as pacs:
        (folder / "destinations.yml").write_text(yaml.safe_dump({"destinations": {
            "pacs": {"type": "dimse", "host": "127.0.0.1", "port": pacs.dicom_port,
                     "ae_title": pacs.ae_title, "send_on": ["drafted"]},
            "backup": {"type": "dicomweb", "url": f"http://127.0.0.1:{backup_port}/dicom-web",
                       "send_on": ["drafted"], "key_object": "encapsulated-pdf", "timeout": 5},
        }}))  # fmt: skip
        extra = {
            "ACME_FUNCTIONS": "dicom-ingest,infer-cxr,report-events,dispatch",
            "ACME_STACK_FILE": str(_quick_retry_stack(folder / "stack")),
            "ACME_ROUTING_FILE": str(fast_routing(folder)),
            "ACME_TICK_SECONDS": "1",
            "ACME_DICOM_PORT": str(dicom_port),
            "ACME_DICOM_CALLING_AES": f"{pacs.ae_title}@127.0.0.1",
            "ACME_DESTINATIONS_FILE": str(folder / "destinations.yml"),
        }
        home = folder / "home"
        with running_platform(home, extra=extra) as settings:
            ds = fresh_cxr()
            uploaded = pacs.upload(part10(ds))
            answer = pacs.store_to("acme", uploaded["ParentStudy"])
            assert answer.get("FailedInstancesCount", 0) == 0, answer
            pool = make_pool(settings, application_name="test")
            try:
                wait_until(
                    lambda: (s := study_summaries(pool, [ds.StudyInstanceUID]).get(
                        ds.StudyInstanceUID)) is not None and s.reached("reported"),
                    240, "the study reported",
                )  # fmt: skip
                summary = study_summaries(pool, [ds.StudyInstanceUID])[ds.StudyInstanceUID]
            finally:
                pool.close()
            assert summary.report_id is not None
            yield Scenario(home, settings, pacs, backup_port, ds.StudyInstanceUID,
                           summary.report_id, folder)  # fmt: skip


def test_the_sr_and_key_image_land_in_the_pacs_in_the_same_study(scenario: Scenario) -> None:
    pacs = scenario.pacs

    def classes() -> set[str]:
        return {
            pacs.tags(i["ID"])["SOPClassUID"] for i in pacs.instances_of_study(scenario.study_uid)
        }

    wait_until(lambda: {COMPREHENSIVE_SR, SECONDARY_CAPTURE} <= classes(), 120, "SR and SC")
    assert len(pacs.studies(scenario.study_uid)) == 1, "the SR and SC joined the source's study"
    assert len(pacs.instances_of_study(scenario.study_uid)) == 3
    status = json.loads(_acme(scenario.home, "status", scenario.study_uid, "--json").stdout)
    pacs_row = next(d for d in status["deliveries"] if d["destination"] == "pacs")
    assert (pacs_row["status"], pacs_row["objects"], pacs_row["attempts"]) == ("delivered", 2, 1)

    echo = _acme(scenario.home, "pacs", "echo", "pacs")
    assert echo.returncode == 0 and "pacs: C-ECHO ok" in echo.stdout, echo.stderr
    again = _acme(scenario.home, "pacs", "send", "pacs", scenario.study_uid, "--timeout", "60")
    assert again.returncode == 0, again.stderr
    assert "pacs: delivered 2 object(s) of version 1" in again.stdout
    assert len(pacs.instances_of_study(scenario.study_uid)) == 3, "the same instances, once"
    status = json.loads(_acme(scenario.home, "status", scenario.study_uid, "--json").stdout)
    pacs_row = next(d for d in status["deliveries"] if d["destination"] == "pacs")
    assert (pacs_row["status"], pacs_row["attempts"]) == ("delivered", 2)


def test_a_destination_that_is_down_is_retried_then_dead_lettered_and_replayed(
    scenario: Scenario,
) -> None:
    def letters() -> list[dict[str, object]]:
        listed = _acme(scenario.home, "dlq", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        found: list[dict[str, object]] = json.loads(listed.stdout)
        return [entry for entry in found if entry["function"] == "dispatch"]

    wait_until(lambda: bool(letters()), 120, "the dead letter")
    [letter] = letters()
    assert letter["type"] == "org.acme.imaging.dispatch.requested"
    assert letter["attempts"] == 3 and "after 3 attempts" in str(letter["reason"])
    status = json.loads(_acme(scenario.home, "status", scenario.study_uid, "--json").stdout)
    backup = next(d for d in status["deliveries"] if d["destination"] == "backup")
    assert (backup["status"], backup["attempts"]) == ("failed", 3)
    assert "STOW-RS failed" in backup["last_error"]
    shown = _acme(scenario.home, "status", scenario.study_uid)
    assert "backup v1: failed" in shown.stdout
    data = _dead_letter_data(scenario, int(str(letter["id"])))
    assert data["destination"] == "backup", "the dead letter names the destination"

    down = _acme(scenario.home, "pacs", "echo", "backup")
    assert down.returncode == 1 and "destination 'backup': QIDO-RS query failed" in down.stderr

    with running_orthanc(scenario.folder / "backup", ae_title="BACKUP",
                         http_port=scenario.backup_port) as backup_pacs:  # fmt: skip
        replayed = _acme(scenario.home, "dlq", "replay", str(letter["id"]))
        assert replayed.returncode == 0, replayed.stderr
        wait_until(
            lambda: {COMPREHENSIVE_SR, ENCAPSULATED_PDF} <= {
                backup_pacs.tags(i["ID"])["SOPClassUID"]
                for i in backup_pacs.instances_of_study(scenario.study_uid)
            },
            60, "SR and PDF in the PACS that came back",
        )  # fmt: skip
    status = json.loads(_acme(scenario.home, "status", scenario.study_uid, "--json").stdout)
    backup = next(d for d in status["deliveries"] if d["destination"] == "backup")
    assert (backup["status"], backup["attempts"], backup["objects"]) == ("delivered", 4, 2)


def _dead_letter_data(scenario: Scenario, entry_id: int) -> dict[str, object]:
    import asyncio

    from acme.bus import connect
    from acme.runtime.dlq import DeadLetterQueue

    async def read() -> dict[str, object]:
        client = await connect(scenario.settings, "test")
        try:
            entry = await DeadLetterQueue(client.jetstream(), scenario.settings).get(entry_id)
        finally:
            await client.close()
        body: dict[str, object] = json.loads(entry.letter.message.body_bytes())
        return body

    return asyncio.run(read())
