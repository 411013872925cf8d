"""dispatch's steps on the real servers, with the recording sender in place of a PACS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from dispatch.deliver import DeliveryFailed, deliver
from dispatch.objects import NotCommitted
from dispatch.requests import request_deliveries
from jetstream import published

from acme.dicomnet import deliveries
from acme.dicomnet.senders import RecordingSender, Sender
from acme.events import DispatchRequested, EventType, ReportArtifacts, ReportDrafted
from acme.function import Context, Rejected

from .conftest import Version

WHEN = datetime(2025, 3, 4, tzinfo=UTC)


def _drafted(version: Version) -> ReportDrafted:
    return ReportDrafted(
        report_id=version.report_id, version=version.version, study_uid=version.study_uid,
        run_ids=(uuid.uuid4(),), not_for_diagnosis=True, drafted_at=WHEN,
        artifacts=ReportArtifacts(bucket="results", fhir_key="f", html_key="h"),
    )  # fmt: skip


def _request(version: Version, destination: str = "pacs") -> DispatchRequested:
    return DispatchRequested(
        report_id=version.report_id, version=version.version, study_uid=version.study_uid,
        destination=destination, cause="report.drafted", requested_at=WHEN,
    )  # fmt: skip


def _with(sender: RecordingSender) -> Callable[..., Sender]:
    return lambda *_args: sender


def _row(ctx: Context, version: Version, destination: str = "pacs") -> deliveries.DeliveryRow:
    with ctx.db.connection() as conn:
        row = deliveries.find(
            conn, deliveries.DeliveryKey(version.report_id, version.version, destination)
        )
    assert row is not None
    return row


def test_a_drafted_report_asks_once_per_destination_that_sends_on_it(
    ctx: Context, committed_version: Callable[..., Version]
) -> None:
    version = committed_version()
    assert request_deliveries(ctx, _drafted(version), None) == ["pacs"]
    assert request_deliveries(ctx, _drafted(version), None) == ["pacs"]  # redelivered
    asked = published(ctx.settings, EventType.DISPATCH_REQUESTED)
    assert [e.data["destination"] for e in asked] == ["pacs"], "same id: JetStream kept one"
    assert _row(ctx, version).status == "pending"


def test_a_delivery_sends_the_sr_and_key_image_once(
    ctx: Context, committed_version: Callable[..., Version]
) -> None:
    version = committed_version()
    request_deliveries(ctx, _drafted(version), None)
    sender = RecordingSender()
    assert deliver(ctx, _request(version), None, senders=_with(sender)) == "delivered"
    sr, sc = sender.sent
    assert sr.SOPInstanceUID == version.sr_uid
    assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert sc.StudyInstanceUID == version.study_uid == sr.StudyInstanceUID
    assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == version.source_uid
    assert deliver(ctx, _request(version), None, senders=_with(sender)) == "already"
    assert len(sender.sent) == 2, "a redelivered request sends nothing"
    manual = _request(version).model_copy(update={"cause": "manual"})
    assert deliver(ctx, manual, None, senders=_with(sender)) == "delivered"
    assert len(sender.sent) == 4, "a manual request sends again, even before its reset is seen"
    row = _row(ctx, version)
    assert (row.status, row.attempts, row.sop_uids) == (
        "delivered",
        2,
        [version.sr_uid, sc.SOPInstanceUID],
    )
    first, second = published(ctx.settings, EventType.DISPATCH_DELIVERED)
    assert first.data["sop_uids"] == row.sop_uids and first.data["protocol"] == "dimse"
    assert (first.data["attempts"], second.data["attempts"]) == (1, 2)


def test_a_failed_attempt_is_recorded_announced_and_raised_for_a_retry(
    ctx: Context, committed_version: Callable[..., Version]
) -> None:
    version = committed_version()
    down = RecordingSender(name="pacs", error="association with PACS@127.0.0.1:104 rejected")
    with pytest.raises(DeliveryFailed, match="destination 'pacs': association"):
        deliver(ctx, _request(version), None, senders=_with(down))
    row = _row(ctx, version)
    assert (row.status, row.attempts) == ("failed", 1) and "rejected" in (row.last_error or "")
    [failed] = published(ctx.settings, EventType.DISPATCH_FAILED)
    assert (failed.data["destination"], failed.data["attempt"]) == ("pacs", 1)
    down.error = None
    deliver(ctx, _request(version), None, senders=_with(down))
    assert (_row(ctx, version).status, _row(ctx, version).attempts) == ("delivered", 2)


def test_the_pdf_goes_as_encapsulated_pdf_where_configured(
    ctx: Context, committed_version: Callable[..., Version]
) -> None:
    version = committed_version()
    sender = RecordingSender()
    deliver(ctx, _request(version, "archive"), None, senders=_with(sender))
    assert [str(ds.SOPClassUID) for ds in sender.sent][1] == "1.2.840.10008.5.1.4.1.1.104.1"


def test_an_unknown_destination_is_rejected_and_an_uncommitted_version_retried(
    ctx: Context, committed_version: Callable[..., Version]
) -> None:
    version = committed_version()
    with pytest.raises(Rejected, match="no destination named 'gone'"):
        deliver(ctx, _request(version, "gone"), None, senders=_with(RecordingSender()))
    early = _request(version).model_copy(update={"version": 7})
    with pytest.raises(NotCommitted):
        deliver(ctx, early, None, senders=_with(RecordingSender()))
