"""The change feed over HTTP on the running platform: in order, gap-free, resumable, and the
same after the platform restarts."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from acme_platform import running_platform, wait_until
from pydicom import dcmread
from worklist_films import ROOT, films

from acme.auth import mint_token
from acme.settings import Settings
from acme.stack.state import read_state
from acme.storage import S3ObjectStore, make_s3_client

EXTRA = {
    "ACME_FUNCTIONS": "dicom-ingest,worklist",
    "ACME_TICK_SECONDS": "1",
    "ACME_INBOX_GRACE_SECONDS": "2",
}


@pytest.fixture
def home() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="acme-feed-"))
    try:
        yield folder / "home"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _changes(settings: Settings, since: int = 0, limit: int = 1000) -> dict:
    state = read_state(settings.home.resolve())
    assert state is not None and state.gateway_url
    token = mint_token(settings, user="feed-reader", roles=["technologist"])
    answer = httpx.get(
        f"{state.gateway_url}/function/worklist/changes",
        params={"since": since, "limit": limit},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _latest(settings: Settings) -> dict:
    state = read_state(settings.home.resolve())
    assert state is not None and state.gateway_url
    token = mint_token(settings, user="feed-reader", roles=["admin"])
    answer = httpx.get(
        f"{state.gateway_url}/function/worklist/changes/latest",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _send(settings: Settings, count: int, start: int) -> None:
    """``count`` instances of new series (one each), plus one object that is not DICOM."""
    store = S3ObjectStore(make_s3_client(settings))
    film = dcmread(BytesIO(films()[0].data))
    for n in range(start, start + count):
        film.SeriesInstanceUID = f"{ROOT}.9.{n}"
        film.SOPInstanceUID = film.file_meta.MediaStorageSOPInstanceUID = f"{ROOT}.9.{n}.1"
        buffer = BytesIO()
        film.save_as(buffer, enforce_file_format=True)
        store.put(settings.buckets.inbox, f"feed/{n}.dcm", buffer.getvalue())
    store.put(settings.buckets.inbox, f"feed/junk-{start}.txt", f"not DICOM {start}".encode())


def _entries_until(settings: Settings, count: int) -> list[dict]:
    wait_until(lambda: len(_changes(settings)["entries"]) >= count, 120, f"{count} entries")
    entries: list[dict] = _changes(settings)["entries"]
    return entries


def test_the_feed_is_ordered_gap_free_resumable_and_survives_a_restart(home: Path) -> None:
    with running_platform(home, extra=EXTRA) as settings:
        _send(settings, 3, start=1)
        before = _entries_until(settings, 4)  # 3 stored + 1 rejected, then series complete
        sequences = [e["sequence"] for e in before]
        assert sequences == list(range(1, len(before) + 1))  # in order, no gap
        actions = [e["action"] for e in before[:4]]
        assert actions.count("instance.stored") == 3 and actions.count("instance.rejected") == 1
        stored = [e for e in before if e["action"] == "instance.stored"]
        assert {e["sop_uid"] for e in stored} == {f"{ROOT}.9.{n}.1" for n in (1, 2, 3)}
        assert all(e["type"] == "org.acme.imaging." + e["action"] for e in before)

        page = _changes(settings, since=0, limit=2)
        assert [e["sequence"] for e in page["entries"]] == [1, 2] and page["next"] == 2
        rest = _changes(settings, since=page["next"])["entries"]
        assert rest[: len(before) - 2] == before[2:]  # exactly the rest (and what came since)
        assert [e["sequence"] for e in rest] == list(range(3, len(rest) + 3))
        latest = _latest(settings)
        assert (
            latest["sequence"] >= len(before) and latest["entry"]["sequence"] == latest["sequence"]
        )
        before = _changes(settings)["entries"]

    with running_platform(home, extra=EXTRA) as settings:  # the same data, a new process
        assert _changes(settings)["entries"][: len(before)] == before
        _send(settings, 1, start=10)
        wait_until(
            lambda: {"instance.stored", "instance.rejected"}
            <= {e["action"] for e in _changes(settings, since=len(before))["entries"]},
            120, "the entries of what was sent after the restart",
        )  # fmt: skip
        after = _changes(settings)["entries"]
        assert after[: len(before)] == before
        assert [e["sequence"] for e in after] == list(range(1, len(after) + 1))
        new = [e for e in after[len(before) :] if e["action"] == "instance.stored"]
        assert [e["sop_uid"] for e in new] == [f"{ROOT}.9.10.1"]
