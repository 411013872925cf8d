"""infer-cxr: score each completed chest X-ray series with the registered CXR model."""

from __future__ import annotations

from infer_cxr.infer import infer_series

from acme.events import SeriesCompleted
from acme.function import Context, Event, Rejected, cloudevent_function
from acme.models import ModelCache


@cloudevent_function("infer-cxr")
def handler(ctx: Context, event: Event) -> None:
    match event.data:
        case SeriesCompleted(pipeline="cxr") as series:
            infer_series(ctx, ctx.resources.get(ModelCache), series, event)
        case _:
            raise Rejected(f"infer-cxr scores series.completed with pipeline=cxr, not {event.type}")
