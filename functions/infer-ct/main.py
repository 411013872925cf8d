"""infer-ct: find lung nodules in each completed chest CT series, and check each CT QA
water phantom scan."""

from __future__ import annotations

from infer_ct.nodules import find_nodules
from infer_ct.qa import check_phantom

from acme.events import SeriesCompleted
from acme.function import Context, Event, Rejected, cloudevent_function
from acme.models import ModelCache


@cloudevent_function("infer-ct")
def handler(ctx: Context, event: Event) -> None:
    match event.data:
        case SeriesCompleted(pipeline="ct") as series:
            find_nodules(ctx, ctx.resources.get(ModelCache), series, event)
        case SeriesCompleted(pipeline="ct-qa") as series:
            check_phantom(ctx, series, event)
        case _:
            raise Rejected(
                f"infer-ct takes series.completed with pipeline=ct or ct-qa, not {event.type}"
            )
