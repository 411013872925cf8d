"""The events the report function emits: ``report.drafted`` and ``report.signed``.

Ids derive from the report id and version, so a version re-published after a crash between
publishing and committing carries the id JetStream already has and is dropped.
"""

from __future__ import annotations

from cloudevents.http import CloudEvent

from acme.events import (
    EventType,
    ReportArtifacts,
    ReportDrafted,
    ReportSigned,
    fact_id,
    new_event,
)
from report.content import ReportContent


def drafted_event(
    content: ReportContent, artifacts: ReportArtifacts, *, source: str, traceparent: str | None
) -> CloudEvent:
    data = ReportDrafted(
        report_id=content.report_id,
        version=content.version,
        study_uid=content.study.study_uid,
        run_ids=content.run_ids,
        artifacts=artifacts,
        not_for_diagnosis=content.not_for_diagnosis,
        drafted_at=content.issued,
    )
    return new_event(
        EventType.REPORT_DRAFTED,
        data,
        source=source,
        traceparent=traceparent,
        event_id=fact_id("report.drafted", str(content.report_id), str(content.version)),
    )


def signed_event(content: ReportContent, *, source: str) -> CloudEvent:
    signature = content.signature
    if signature is None or content.status == "preliminary":
        raise ValueError("report.signed needs a signed (final or amended) version")
    data = ReportSigned(
        report_id=content.report_id,
        version=content.version,
        status=content.status,
        study_uid=content.study.study_uid,
        signed_by=signature.user,
        signer_role=signature.role,
        content_sha256=content.sha256(),
        signed_at=signature.at,
    )
    return new_event(
        EventType.REPORT_SIGNED,
        data,
        source=source,
        event_id=fact_id("report.signed", str(content.report_id), str(content.version)),
    )
