"""dicom-ingest: archive, index or quarantine each dropped object; complete series on tick.

Two entries of stack.yml share this folder: ``dicom-ingest`` (target ``handler``: bucket
notifications and ``tick``) and ``ingest-api`` (target ``api``: the ledger of what became of
each upload, and the ingest metrics).
"""

from __future__ import annotations

from dicom_ingest.api import routes
from dicom_ingest.completion import complete_series
from dicom_ingest.declared import complete_every_declared
from dicom_ingest.ingest import ingest_object
from dicom_ingest.routing import routing_of
from dicom_ingest.sweep import sweep_inbox

from acme.events import S3Object, Tick
from acme.function import Context, Event, Rejected, cloudevent_function
from acme.http import http_function
from acme.outbox import relay


@cloudevent_function("dicom-ingest")
def handler(ctx: Context, event: Event) -> None:
    match event.data:
        case S3Object(event_name=name, bucket=bucket, key=key) if name.startswith("ObjectCreated"):
            ingest_object(ctx, bucket, key, event.traceparent)
        case Tick():
            relay(ctx.db, ctx.bus)  # what was committed but not yet announced, platform-wide
            sweep_inbox(ctx, event.traceparent)
            routing = routing_of(ctx)
            complete_every_declared(ctx, routing, event.traceparent)
            complete_series(ctx, routing, event.traceparent)
        case _:
            raise Rejected(f"dicom-ingest does not handle {event.type}")


api = http_function(routes)
