"""``send_files``: uploads in flight at once, each under the batch prefix."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from acme.inbox import expand, send_files
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
