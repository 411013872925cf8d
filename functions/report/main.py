"""report: draft reports from AI results (events); clinicians read, sign and amend them (HTTP).

Two entries of stack.yml share this folder: ``report-events`` (target ``handler``:
``inference.completed`` / ``inference.failed``) and ``report`` (target ``api``, the routes
of :mod:`report.api`).
"""

from __future__ import annotations

from report.api import routes
from report.draft import draft_report

from acme.events import InferenceCompleted, InferenceFailed
from acme.function import Context, Event, Rejected, cloudevent_function
from acme.http import http_function


@cloudevent_function("report-events")
def handler(ctx: Context, event: Event) -> None:
    """Draft the study's report from what became of each of its routed series."""
    match event.data:
        case InferenceCompleted() | InferenceFailed() as ended:
            draft_report(ctx, ended.study_uid, ended.run_id, event.traceparent)
        case _:
            raise Rejected(f"report drafts from inference.completed/failed, not {event.type}")


api = http_function(routes)
