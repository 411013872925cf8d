"""``send_files``: uploads in flight at once, each under the batch prefix; one completion
manifest per series sent whole."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from acme.errors import StorageError
from acme.inbox import expand, send_files
from acme.samples.real import testdata_path as pydicom_file
from acme.series_manifest import MANIFEST_SUFFIX, parse_manifest
from acme.storage import InMemoryObjectStore, ObjectInfo


class GatedStore(InMemoryObjectStore):
    """Each put waits until ``parties`` puts are open at once (or the gate times out)."""

    def __init__(self, parties: int) -> None:
        super().__init__(("inbox",))
        self.gate = threading.Barrier(parties, timeout=20)

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        self.gate.wait()
        return super().put(bucket, key, data, content_type=content_type, metadata=metadata)


def _files(tmp_path: Path, count: int) -> list[tuple[Path, Path]]:
    folder = tmp_path / "batch"
    folder.mkdir()
    for index in range(count):
        (folder / f"{index}.dcm").write_bytes(bytes([index]) * 10)
    return expand([folder])


def test_uploads_are_in_flight_together_up_to_the_workers(tmp_path: Path) -> None:
    store = GatedStore(parties=4)  # passes only when four puts are open at the same time
    report = send_files(store, "inbox", _files(tmp_path, 8), prefix="p", workers=4)
    assert report.failed == []
    assert sorted(u.key for u in report.sent) == sorted(f"p/batch/{i}.dcm" for i in range(8))


def test_fewer_workers_than_the_gate_needs_never_get_through(tmp_path: Path) -> None:
    store = GatedStore(parties=4)
    store.gate = threading.Barrier(4, timeout=1)
    with pytest.raises(threading.BrokenBarrierError):
        send_files(store, "inbox", _files(tmp_path, 3), prefix="p", workers=3)


def _series(folder: Path, name: str, count: int) -> tuple[str, str, list[str]]:
    """``count`` instances of one new series (the CT slice of pydicom's test data)."""
    base = dcmread(pydicom_file("CT_small.dcm"))
    study, series = generate_uid(), generate_uid()
    sops = []
    (folder / name).mkdir(parents=True)
    for index in range(count):
        ds = base.copy()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(folder / name / f"{index}.dcm", enforce_file_format=True)
        sops.append(str(ds.SOPInstanceUID))
    return study, series, sops


def test_one_manifest_per_series_sent_whole_listing_its_instances(tmp_path: Path) -> None:
    root = tmp_path / "send"
    first = _series(root, "a", 3)
    second = _series(root, "b", 2)
    (root / "notes.txt").write_text("not DICOM: sent, but in no manifest")
    store = InMemoryObjectStore(("inbox",))
    report = send_files(store, "inbox", expand([root]), prefix="p", workers=4, manifests=True)

    assert report.failed == [] and len(report.sent) == 6
    assert sorted(report.manifests) == sorted(
        f"p/{series}{MANIFEST_SUFFIX}" for _, series, _ in (first, second)
    )
    for study, series, sops in (first, second):
        manifest = parse_manifest(store.get("inbox", f"p/{series}{MANIFEST_SUFFIX}"))
        assert (manifest.study_uid, manifest.series_uid) == (study, series)
        assert sorted(manifest.sop_uids) == sorted(sops)


def test_a_series_with_a_failed_upload_gets_no_manifest(tmp_path: Path) -> None:
    root = tmp_path / "send"
    _series(root, "a", 2)
    _, broken, _ = _series(root, "b", 2)

    class Refusing(InMemoryObjectStore):
        def put(
            self,
            bucket: str,
            key: str,
            data: bytes,
            *,
            content_type: str = "application/octet-stream",
            metadata: Mapping[str, str] | None = None,
        ) -> ObjectInfo:
            if key.endswith("b/1.dcm"):
                raise StorageError(f"put_object {bucket}/{key}: refused")
            return super().put(bucket, key, data, content_type=content_type, metadata=metadata)

    store = Refusing(("inbox",))
    report = send_files(store, "inbox", expand([root]), prefix="p", manifests=True)
    assert [path.name for path, _ in report.failed] == ["1.dcm"]
    assert len(report.manifests) == 1
    assert broken not in report.manifests[0], "its series completes by its stable age instead"
