"""``report.drafted`` / ``report.signed``: one ``dispatch.requested`` per destination.

In one transaction, a delivery row per destination that sends on this event (kept if it
exists) and its ``dispatch.requested`` event, whose id derives from the version and the
destination: a redelivered report event re-publishes the same ids, which JetStream drops, and
the rows already exist. Nothing is sent here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from acme.dicomnet import deliveries
from acme.dicomnet.destinations import ReportEvent, load_destinations
from acme.events import DispatchRequested, EventType, ReportDrafted, ReportSigned, fact_id
from acme.events.values import DispatchCause
from acme.function import Context


def request_deliveries(
    ctx: Context, report: ReportDrafted | ReportSigned, traceparent: str | None
) -> list[str]:
    """Ask for the deliveries of ``report``'s version; the destinations' names."""
    kind: ReportEvent = "drafted" if isinstance(report, ReportDrafted) else "signed"
    names = load_destinations(ctx.settings.destinations_file).sending_on(kind)
    cause: DispatchCause = "report.drafted" if kind == "drafted" else "report.signed"
    with ctx.transaction() as tx:
        for name in names:
            key = deliveries.DeliveryKey(report.report_id, report.version, name)
            deliveries.request(tx.conn, key, report.study_uid, cause)
            tx.emit(
                EventType.DISPATCH_REQUESTED,
                DispatchRequested(
                    report_id=report.report_id, version=report.version,
                    study_uid=report.study_uid, destination=name, cause=cause,
                    requested_at=datetime.now(UTC),
                ),
                traceparent=traceparent,
                event_id=fact_id("dispatch.requested", str(report.report_id),
                                 str(report.version), name),
            )  # fmt: skip
    ctx.log.info("deliveries requested", report_id=str(report.report_id),
                 version=report.version, destinations=names)  # fmt: skip
    return names
