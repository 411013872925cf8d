"""The DICOM receiver on the running platform: DCMTK and pynetdicom send, dicom-ingest archives
or quarantines, ``acme status`` lists the receiver with its AE title and port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from acme_platform import REPO, running_platform, wait_until
from dicomfiles import fresh_cxr, truncated_copy, write
from orthanc import STORESCU, require_dcmtk
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.sop_class import ComputedRadiographyImageStorage  # type: ignore[attr-defined]

from acme.db import Pool, make_pool
from acme.settings import Settings
from acme.stack.state import read_state
from acme.storage import S3ObjectStore, make_s3_client

J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"


def _one(pool: Pool, sql: str, *params: object) -> tuple[object, ...] | None:
    with pool.connection() as conn:
        return conn.execute(sql, params).fetchone()


def _acme(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ACME_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "acme.cli.main", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=env,
    )  # fmt: skip


def test_dcmtk_and_pynetdicom_senders_through_the_running_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_dcmtk()
    extra = {
        "ACME_FUNCTIONS": "dicom-ingest",
        "ACME_TICK_SECONDS": "1",
        "ACME_DICOM_CALLING_AES": "STORESCU@127.0.0.1,MODALITY",
    }
    home = tmp_path / "home"
    with running_platform(home, extra=extra) as settings:
        state = read_state(home.resolve())
        assert state is not None and state.receiver is not None
        port = state.receiver.port
        assert f"AE title ACME on 127.0.0.1:{port}" in (home / "platform.log").read_text()
        pool = make_pool(settings, application_name="test")
        try:
            _status_lists_the_receiver(home, port)
            _storescu_sends_jpeg_2000_which_is_archived(settings, pool, port, tmp_path)
            _a_corrupt_dataset_fails_and_is_quarantined(settings, pool, port, tmp_path, monkeypatch)
        finally:
            pool.close()


def _status_lists_the_receiver(home: Path, port: int) -> None:
    answer = _acme(home, "status", "--json")
    assert answer.returncode == 0, answer.stderr
    rows = {row["name"]: row for row in json.loads(answer.stdout)["servers"]}
    receiver = rows["dicom-receiver"]
    assert (receiver["ae_title"], receiver["port"], receiver["healthy"]) == ("ACME", port, True)
    table = _acme(home, "status")
    assert f"ACME@127.0.0.1:{port}" in table.stdout


def _storescu_sends_jpeg_2000_which_is_archived(
    settings: Settings, pool: Pool, port: int, tmp_path: Path
) -> None:
    ds = fresh_cxr("RG1_J2KR.dcm")
    path = write(ds, tmp_path / "j2k.dcm")
    sent = subprocess.run(
        [STORESCU, "--propose-j2k-lossless", "-aet", "STORESCU", "-aec", "ACME",
         "127.0.0.1", str(port), str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    wait_until(
        lambda: (
            _one(pool, "SELECT 1 FROM instances WHERE sop_uid = %s", ds.SOPInstanceUID) is not None
        ),
        60,
        "the JPEG 2000 instance indexed",
    )
    row = _one(pool, "SELECT transfer_syntax, archive_key FROM instances WHERE sop_uid = %s",
               ds.SOPInstanceUID)  # fmt: skip
    assert row is not None and row[0] == J2K_LOSSLESS
    store = S3ObjectStore(make_s3_client(settings))
    assert store.head(settings.buckets.archive, str(row[1])) is not None
    record = _one(pool, "SELECT a.calling_ae, a.outcome, s.instances FROM dicom_associations a"
                        " JOIN dicom_association_series s ON s.association_id = a.id"
                        " WHERE s.series_uid = %s", ds.SeriesInstanceUID)  # fmt: skip
    assert record == ("STORESCU", "released", 1)


def _a_corrupt_dataset_fails_and_is_quarantined(
    settings: Settings, pool: Pool, port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    ds = fresh_cxr()
    cut = truncated_copy(ds, tmp_path / "cut.dcm")
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(ComputedRadiographyImageStorage, [ExplicitVRLittleEndian])
    assoc = ae.associate("127.0.0.1", port, ae_title="ACME")
    assert assoc.is_established
    status = assoc.send_c_store(cut)
    assoc.release()
    assert status.Status == 0xC210 and "truncated" in status.ErrorComment
    wait_until(
        lambda: _one(pool, "SELECT 1 FROM quarantine_entries WHERE sop_uid = %s OR"
                           " source_key LIKE 'dimse/%%'", ds.SOPInstanceUID) is not None,
        60, "the quarantine entry",
    )  # fmt: skip
    reason = _one(pool, "SELECT reason_code, detail FROM quarantine_entries"
                        " WHERE source_key LIKE 'dimse/%%'")  # fmt: skip
    assert reason is not None and reason[0] == "truncated", reason
    assert _one(pool, "SELECT 1 FROM instances WHERE sop_uid = %s", ds.SOPInstanceUID) is None
