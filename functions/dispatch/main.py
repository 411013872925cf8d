"""dispatch: AI results back into the PACS (the SR and a key object, per destination).

A report event asks for one delivery per destination that sends on it; each delivery is its
own ``dispatch.requested`` event, so each destination is retried and dead-lettered on its own.
"""

from __future__ import annotations

from dispatch.deliver import deliver
from dispatch.requests import request_deliveries

from acme.events import DispatchRequested, ReportDrafted, ReportSigned
from acme.function import Context, Event, Rejected, cloudevent_function


@cloudevent_function("dispatch")
def handler(ctx: Context, event: Event) -> None:
    match event.data:
        case ReportDrafted() | ReportSigned() as report:
            request_deliveries(ctx, report, event.traceparent)
        case DispatchRequested() as request:
            deliver(ctx, request, event.traceparent)
        case _:
            raise Rejected(f"dispatch sends results on report events, not {event.type}")
