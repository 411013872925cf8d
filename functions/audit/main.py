"""audit: every event into the append-only, hash-chained trail; and the trail's HTTP API.

Two entries of stack.yml share this folder: ``audit-events`` (target ``handler``, every event
type) and ``audit`` (target ``api``: query, verify, FHIR export).
"""

from __future__ import annotations

from audit.api import routes

from acme.audit import append_event
from acme.function import Context, Event, cloudevent_function
from acme.http import http_function


@cloudevent_function("audit-events")
def handler(ctx: Context, event: Event) -> None:
    """Append the event to the trail (a redelivered event id changes nothing)."""
    row = append_event(ctx.db, event.raw)
    if row is None:
        ctx.log.info("event already in the audit trail")
    else:
        ctx.log.debug("event recorded in the audit trail", audit_row=row.id)


api = http_function(routes)
