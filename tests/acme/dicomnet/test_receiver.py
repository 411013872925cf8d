"""The C-STORE receiver against real peers: pynetdicom and DCMTK as senders, real SeaweedFS
and PostgreSQL behind it."""

from __future__ import annotations

import socket
import subprocess
import time
from io import BytesIO
from pathlib import Path

import pytest
from dicomfiles import fresh_cxr, truncated_copy, write
from orthanc import ECHOSCU, require_dcmtk
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ComputedRadiographyImageStorage,
    MRImageStorage,
    Verification,
)

from acme.db import Pool
from acme.dicomnet.checks import CANNOT_UNDERSTAND, DOES_NOT_MATCH
from acme.dicomnet.receiver import DicomReceiver
from acme.settings import Settings
from acme.storage import S3ObjectStore

from .conftest import Start

ALLOWED = "MODALITY@127.0.0.1,STORESCU"


def _associate(receiver: DicomReceiver, title: str = "MODALITY", **kwargs: object) -> Association:
    ae = AE(ae_title=title)
    ae.add_requested_context(Verification)
    ae.add_requested_context(ComputedRadiographyImageStorage)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    host, port = receiver.address
    return ae.associate(host, port, ae_title="ACME", **kwargs)  # type: ignore[arg-type]


def _records(pool: Pool) -> list[tuple[object, ...]]:
    with pool.connection() as conn:
        return conn.execute(
            "SELECT a.calling_ae, a.outcome, a.stored, a.failed, s.series_uid, s.instances"
            " FROM dicom_associations a LEFT JOIN dicom_association_series s"
            " ON s.association_id = a.id ORDER BY a.ended_at"
        ).fetchall()


def _wait_records(pool: Pool, count: int) -> list[tuple[object, ...]]:
    for _ in range(100):
        rows = _records(pool)
        if len(rows) >= count:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"expected {count} association records, got {_records(pool)}")


def test_an_allowed_peer_echoes_and_stores_into_the_inbox_and_the_association_is_recorded(
    start_receiver: Start, settings: Settings, store: S3ObjectStore, pool: Pool
) -> None:
    receiver = start_receiver(dicom_calling_aes=ALLOWED)
    ds = fresh_cxr()
    assoc = _associate(receiver)
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assert assoc.send_c_store(ds).Status == 0
    assoc.release()
    [obj] = list(store.list(settings.buckets.inbox))
    assert obj.key.startswith("dimse/") and ds.SOPInstanceUID not in obj.key
    stored = dcmread(BytesIO(store.get(settings.buckets.inbox, obj.key)))
    assert stored.SOPInstanceUID == ds.SOPInstanceUID
    assert stored.file_meta.SourceApplicationEntityTitle == "MODALITY"
    assert stored.PixelData == ds.PixelData
    assert _wait_records(pool, 1) == [("MODALITY", "released", 1, 0, ds.SeriesInstanceUID, 1)]


def test_an_unknown_calling_ae_is_refused_at_association(start_receiver: Start) -> None:
    require_dcmtk()
    receiver = start_receiver(dicom_calling_aes=ALLOWED)
    assoc = _associate(receiver, "INTRUDER")
    assert assoc.is_rejected and not assoc.is_established
    host, port = receiver.address
    echo = subprocess.run(
        [ECHOSCU, "-aet", "INTRUDER", "-aec", "ACME", host, str(port)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert echo.returncode != 0
    assert "Calling AE Title Not Recognized" in echo.stdout + echo.stderr
    allowed = subprocess.run(
        [ECHOSCU, "-aet", "STORESCU", "-aec", "ACME", host, str(port)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr


def test_an_allowed_title_from_another_address_is_refused(start_receiver: Start) -> None:
    receiver = start_receiver(dicom_calling_aes=ALLOWED)
    assoc = _associate(receiver, bind_address=("127.0.0.2", 0))
    assert assoc.is_rejected
    assert _associate(receiver).is_established


def test_no_allow_list_refuses_everyone(start_receiver: Start) -> None:
    assert _associate(start_receiver(dicom_calling_aes="")).is_rejected


def test_a_wrong_called_ae_title_is_refused(start_receiver: Start) -> None:
    receiver = start_receiver(dicom_calling_aes=ALLOWED)
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(Verification)
    host, port = receiver.address
    assert ae.associate(host, port, ae_title="SOMEONE").is_rejected


def test_an_unsupported_sop_class_or_syntax_is_refused_at_negotiation(
    start_receiver: Start,
) -> None:
    receiver = start_receiver(
        dicom_calling_aes=ALLOWED,
        dicom_sop_classes="ComputedRadiographyImageStorage",
        dicom_transfer_syntaxes="uncompressed",
    )
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(MRImageStorage, [ExplicitVRLittleEndian])
    ae.add_requested_context(ComputedRadiographyImageStorage, [JPEGBaseline8Bit])
    ae.add_requested_context(ComputedRadiographyImageStorage, [ExplicitVRLittleEndian])
    host, port = receiver.address
    assoc = ae.associate(host, port, ae_title="ACME")
    try:
        assert assoc.is_established
        refused = {(str(cx.abstract_syntax), cx.result) for cx in assoc.rejected_contexts}
        assert refused == {
            (MRImageStorage, 0x03),  # abstract syntax not supported
            (ComputedRadiographyImageStorage, 0x04),  # transfer syntaxes not supported
        }
        accepted = [(str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
                    for cx in assoc.accepted_contexts]  # fmt: skip
        assert accepted == [(ComputedRadiographyImageStorage, ExplicitVRLittleEndian)]
    finally:
        assoc.release()


def test_a_corrupt_dataset_gets_a_failure_status_and_is_kept_for_quarantine(
    start_receiver: Start,
    settings: Settings,
    store: S3ObjectStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # send the bytes as they are
    receiver = start_receiver(dicom_calling_aes=ALLOWED)
    cut = truncated_copy(fresh_cxr(), tmp_path / "cut.dcm")
    assoc = _associate(receiver)
    status = assoc.send_c_store(cut)
    assoc.release()
    assert status.Status == CANNOT_UNDERSTAND
    assert "truncated" in status.ErrorComment
    [kept] = list(store.list(settings.buckets.inbox))  # dicom-ingest quarantines it
    assert kept.size < cut.stat().st_size + 200


def test_a_dataset_that_is_not_the_requested_instance_is_refused(
    start_receiver: Start,
    settings: Settings,
    store: S3ObjectStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    receiver = start_receiver(dicom_calling_aes=ALLOWED)
    ds = fresh_cxr()
    path = write(ds, tmp_path / "x.dcm")
    data = path.read_bytes()
    uid = str(ds.SOPInstanceUID).encode()
    other = uid[:-1] + (b"1" if uid[-1:] != b"1" else b"2")
    path.write_bytes(data[:400].replace(uid, other, 1) + data[400:])  # the request's UID
    assoc = _associate(receiver)
    status = assoc.send_c_store(path)
    assoc.release()
    assert status.Status == DOES_NOT_MATCH
    assert "SOPInstanceUID" in status.ErrorComment
    assert list(store.list(settings.buckets.inbox)) == []


def test_a_peer_that_stalls_is_cut_off_after_the_network_timeout(
    start_receiver: Start, pool: Pool
) -> None:
    receiver = start_receiver(dicom_calling_aes=ALLOWED, dicom_network_timeout=1.0)
    # silent between messages
    idle = _associate(receiver)
    assert idle.is_established
    _wait_until_gone(idle, 15)
    # silent in the middle of a P-DATA-TF PDU that announces 4096 bytes and sends 4
    partial = _associate(receiver)
    assert partial.is_established
    raw = partial.dul.socket.socket  # type: ignore[union-attr]
    assert raw is not None
    raw.sendall(b"\x04\x00\x00\x00\x10\x00" + b"\x00\x00\x00\x00")
    _wait_until_gone(partial, 15)
    outcomes = [row[1] for row in _wait_records(pool, 2)]
    assert len(outcomes) == 2 and set(outcomes) <= {"timed-out", "aborted"}
    assert _associate(receiver).is_established, "the receiver still serves"


def _wait_until_gone(assoc: Association, limit: float) -> None:
    deadline = time.monotonic() + limit
    while assoc.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not assoc.is_alive() and not assoc.is_released, "the receiver did not cut it off"


def test_stopped_object_storage_answers_out_of_resources_never_success(
    settings: Settings, pool: Pool, tmp_path: Path
) -> None:
    from acme.dicomnet.journal import PostgresJournal
    from acme.dicomnet.receiver import ReceiverConfig
    from acme.stack.ports import free_port
    from acme.stack.servers.seaweedfs import SeaweedfsServer
    from acme.storage import ensure_buckets, make_s3_client

    s3_settings = settings.model_copy(update={"home": tmp_path})
    weed = SeaweedfsServer(s3_settings, "http://127.0.0.1:9/none")
    launch = weed.launch(s3_settings, tmp_path / "s3", free_port("127.0.0.1"))
    try:
        for _ in range(150):
            try:
                weed.probe(launch.url, 1.0)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        own = settings.model_copy(update={"s3_url": launch.url})
        client = make_s3_client(own)
        ensure_buckets(client, [own.buckets.inbox])
        config = ReceiverConfig.from_settings(
            own.model_copy(update={"dicom_port": 0, "dicom_calling_aes": ALLOWED})
        )
        receiver = DicomReceiver(config, store=S3ObjectStore(client), bucket=own.buckets.inbox,
                                 journal=PostgresJournal(pool))  # fmt: skip
        receiver.start()
        try:
            assoc = _associate(receiver)
            assert assoc.send_c_store(fresh_cxr()).Status == 0
            launch.process.stop()
            status = assoc.send_c_store(fresh_cxr())
            assert assoc.is_established, "the peer keeps its association"
            assoc.release()
            assert status.Status == 0xA700
            assert "storage" in status.ErrorComment
        finally:
            receiver.stop()
    finally:
        launch.process.stop()


def test_the_port_in_use_is_a_clear_error(start_receiver: Start) -> None:
    from acme.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"ACME_DICOM_PORT: port {port}"):
            start_receiver(dicom_calling_aes=ALLOWED, dicom_port=port)
