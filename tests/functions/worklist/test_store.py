"""STOW-RS: parts into dicom-inbox, outcomes from the ingest ledger, bad parts failing alone."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator

import pytest
from dicom_ingest.ingest import ingest_object
from worklist.multipart import Part, related
from worklist_films import ROOT, Call, caller, films

from acme.function import Context

STUDY = f"{ROOT}.1"
FAILED, REFERENCED, STATUS = "00081198", "00081199", "00091001"


def _body(parts: list[Part]) -> tuple[bytes, str]:
    body = related(parts, "application/dicom")
    return body.content, body.media_type


def _post(call: Call, path: str, parts: list[Part]) -> tuple[int, dict]:
    content, media = _body(parts)
    answer = call(
        "POST", f"/dicomweb{path}", role="technologist", headers={"Content-Type": media},
        data=content,
    )  # fmt: skip
    assert answer.mimetype in ("application/dicom+json", "application/json")
    return answer.status_code, json.loads(answer.get_data())


@pytest.fixture
def pipeline(fresh_ctx: Context) -> Iterator[Context]:
    """What the platform does with the inbox: ingest each object as it appears."""
    stop = threading.Event()

    def run() -> None:
        inbox = fresh_ctx.settings.buckets.inbox
        while not stop.wait(0.2):
            for info in list(fresh_ctx.store.list(inbox)):
                ingest_object(fresh_ctx, inbox, info.key, None)

    worker = threading.Thread(target=run)
    worker.start()
    yield fresh_ctx
    stop.set()
    worker.join(30)


def test_stored_instances_are_referenced_and_a_bad_part_fails_alone(pipeline: Context) -> None:
    ctx = dataclasses.replace(
        pipeline, settings=pipeline.settings.model_copy(update={"stow_wait_seconds": 60})
    )
    uncr, j2kr = films()
    parts = [
        Part("application/dicom", uncr.data),
        Part("application/dicom", b"this is not DICOM at all"),
        Part("text/plain", b"nor this"),
        Part("application/dicom", j2kr.data),
    ]
    status, body = _post(caller(ctx), "/studies", parts)
    assert status == 202
    referenced = body[REFERENCED]["Value"]
    assert [r["00081155"]["Value"][0] for r in referenced] == [uncr.sop_uid, j2kr.sop_uid]
    assert all(r["00081190"]["Value"][0].endswith(r["00081155"]["Value"][0]) for r in referenced)
    assert all(STATUS not in r for r in referenced)  # settled, not pending
    failed = body[FAILED]["Value"]
    assert [f["00081197"]["Value"][0] for f in failed] == [0xC000, 0xC000]
    assert [f[STATUS]["Value"][0] for f in failed] == ["not-dicom", "not-dicom"]
    assert "part 2" in failed[0]["00091002"]["Value"][0]
    assert body["00081190"]["Value"][0].endswith(f"/studies/{STUDY}")
    with ctx.db.connection() as conn:
        rows = conn.execute("SELECT sop_uid FROM instances ORDER BY sop_uid").fetchall()
    assert [r[0] for r in rows] == [uncr.sop_uid, j2kr.sop_uid]
    again, repeat = _post(caller(ctx), "/studies", [Part("application/dicom", uncr.data)])
    assert again == 200 and repeat[REFERENCED]["Value"][0]["00081155"]["Value"] == [uncr.sop_uid]


def test_a_part_ingest_quarantines_fails_with_its_reason(pipeline: Context) -> None:
    ctx = dataclasses.replace(
        pipeline, settings=pipeline.settings.model_copy(update={"stow_wait_seconds": 60})
    )
    uncr = films()[0]
    cut = uncr.data[: len(uncr.data) // 2]  # a DICOM header, then the pixels end early
    status, body = _post(caller(ctx), "/studies", [Part("application/dicom", cut)])
    assert status == 409
    (failed,) = body[FAILED]["Value"]
    assert failed["00081155"]["Value"] == [uncr.sop_uid]
    assert failed[STATUS]["Value"][0] in ("truncated", "corrupt-pixel-data")


def test_unsettled_parts_are_pending_in_the_inbox(fresh_ctx: Context, fresh_call: Call) -> None:
    ctx = dataclasses.replace(
        fresh_ctx, settings=fresh_ctx.settings.model_copy(update={"stow_wait_seconds": 0})
    )
    uncr = films()[0]
    status, body = _post(caller(ctx), "/studies", [Part("application/dicom", uncr.data)])
    assert status == 202
    (pending,) = body[REFERENCED]["Value"]
    assert pending[STATUS]["Value"] == ["pending"]
    key = pending["00091003"]["Value"][0]
    assert key.startswith("stow/") and uncr.sop_uid not in key  # never the client's UIDs
    assert ctx.store.get(ctx.settings.buckets.inbox, key) == uncr.data


def test_an_instance_of_another_study_fails_under_a_study(fresh_call: Call) -> None:
    uncr = films()[0]
    status, body = _post(fresh_call, "/studies/1.2.3", [Part("application/dicom", uncr.data)])
    assert status == 409
    assert body[FAILED]["Value"][0]["00081197"]["Value"] == [0xA900]


@pytest.mark.parametrize(
    ("content_type", "data", "status"),
    [
        ("application/dicom", b"x", 415),
        ('multipart/related; type="application/dicom+json"; boundary=b', b"--b--", 415),
        ('multipart/related; type="application/dicom"', b"--b--", 400),
        ('multipart/related; type="application/dicom"; boundary=b', b"no delimiter", 400),
        ('multipart/related; type="application/dicom"; boundary=b', b"--b\r\nX: y\r\n\r\nz", 400),
    ],
)
def test_malformed_requests_are_rejected_whole(
    fresh_call: Call, content_type: str, data: bytes, status: int
) -> None:
    answer = fresh_call(
        "POST", "/dicomweb/studies", role="technologist", headers={"Content-Type": content_type},
        data=data,
    )  # fmt: skip
    assert answer.status_code == status, answer.get_data(as_text=True)


def test_storing_needs_the_store_permission(fresh_call: Call) -> None:
    content, media = _body([Part("application/dicom", b"x")])
    answer = fresh_call(
        "POST", "/dicomweb/studies", role="radiologist", headers={"Content-Type": media},
        data=content,
    )  # fmt: skip
    assert answer.status_code == 403
