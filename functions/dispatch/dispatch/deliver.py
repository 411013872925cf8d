"""``dispatch.requested``: send one report version to one destination, and record how it went.

1. The destination must be configured (else :class:`Rejected`: a dead letter to replay once
   the destinations file names it again).
2. A delivery already ``delivered`` is not sent again (a redelivered event changes nothing),
   unless the request is ``manual`` (``acme pacs send``: send it again, even when this event
   is handled before the command's reset to pending is committed).
3. Build the objects (:mod:`dispatch.objects`) and send them, outside any transaction.
4. In one transaction: the row's outcome and attempts, and ``dispatch.delivered`` or
   ``dispatch.failed`` (audited). A failure then raises :class:`DeliveryFailed`, so the router
   retries with backoff and, after the last retry, dead-letters the ``dispatch.requested``
   event, which names the destination.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from acme.dicomnet import deliveries
from acme.dicomnet.destinations import Destination, load_destinations
from acme.dicomnet.senders import Sender, SendError, make_sender
from acme.errors import AcmeError, ConfigError
from acme.events import DispatchDelivered, DispatchFailed, DispatchRequested, EventType, fact_id
from acme.events.values import DispatchProtocol
from acme.function import Context, Rejected
from dispatch.objects import objects_to_send

SenderFactory = Callable[[str, Destination, str], Sender]


class DeliveryFailed(AcmeError):
    """The destination did not take the objects; the router tries again."""


def _make_sender(name: str, destination: Destination, calling_ae_title: str) -> Sender:
    return make_sender(name, destination, calling_ae_title=calling_ae_title)


def deliver(
    ctx: Context,
    request: DispatchRequested,
    traceparent: str | None,
    *,
    senders: SenderFactory = _make_sender,
) -> str:
    """Deliver ``request`` (see the module docstring); ``delivered`` or ``already``."""
    try:
        destination = load_destinations(ctx.settings.destinations_file).named(request.destination)
    except ConfigError as exc:
        raise Rejected(str(exc)) from None
    key = deliveries.DeliveryKey(request.report_id, request.version, request.destination)
    with ctx.db.connection() as conn:
        row = deliveries.find(conn, key)
    if row is not None and row.status == "delivered" and request.cause != "manual":
        ctx.log.info("already delivered", destination=request.destination)
        return "already"
    instances = objects_to_send(ctx, request, destination.key_object)
    sop_uids = [str(ds.SOPInstanceUID) for ds in instances]
    sender = senders(request.destination, destination, ctx.settings.dicom_ae_title)
    try:
        sender.send(instances)
    except SendError as exc:
        _record_failure(ctx, request, key, destination.type, exc, traceparent)
        raise DeliveryFailed(str(exc)) from exc
    with ctx.transaction() as tx:
        deliveries.request(tx.conn, key, request.study_uid, request.cause)
        attempts = deliveries.mark_delivered(tx.conn, key, sop_uids)
        tx.emit(
            EventType.DISPATCH_DELIVERED,
            DispatchDelivered(
                report_id=request.report_id, version=request.version,
                study_uid=request.study_uid, destination=request.destination,
                protocol=destination.type, sop_uids=tuple(sop_uids), attempts=attempts,
                delivered_at=datetime.now(UTC),
            ),
            traceparent=traceparent,
            event_id=fact_id("dispatch.delivered", str(key.report_id), str(key.version),
                             key.destination, str(attempts)),
        )  # fmt: skip
    ctx.log.info("delivered", destination=request.destination, objects=len(sop_uids),
                 attempts=attempts)  # fmt: skip
    return "delivered"


def _record_failure(
    ctx: Context,
    request: DispatchRequested,
    key: deliveries.DeliveryKey,
    protocol: DispatchProtocol,
    error: SendError,
    traceparent: str | None,
) -> None:
    with ctx.transaction() as tx:
        deliveries.request(tx.conn, key, request.study_uid, request.cause)
        attempt = deliveries.mark_failed(tx.conn, key, error.detail)
        tx.emit(
            EventType.DISPATCH_FAILED,
            DispatchFailed(
                report_id=request.report_id, version=request.version,
                study_uid=request.study_uid, destination=request.destination,
                protocol=protocol,
                attempt=attempt, detail=error.detail[:2000], failed_at=datetime.now(UTC),
            ),
            traceparent=traceparent,
            event_id=fact_id("dispatch.failed", str(key.report_id), str(key.version),
                             key.destination, str(attempt)),
        )  # fmt: skip
    ctx.log.warning("delivery failed; the router retries it", destination=request.destination,
                    attempt=attempt, error=error.detail)  # fmt: skip
