"""The data of the events the report function emits: ``report.drafted`` and
``report.signed``.

Ids derive from the report id and version, so a version announced again after a crash carries
the id JetStream already has and is dropped.
"""

from __future__ import annotations

from acme.events import ReportArtifacts, ReportDrafted, ReportSigned, fact_id
from report.content import ReportContent


def drafted_data(content: ReportContent, artifacts: ReportArtifacts) -> ReportDrafted:
    return ReportDrafted(
        report_id=content.report_id,
        version=content.version,
        study_uid=content.study.study_uid,
        run_ids=content.run_ids,
        artifacts=artifacts,
        not_for_diagnosis=content.not_for_diagnosis,
        drafted_at=content.issued,
    )


def drafted_id(content: ReportContent) -> str:
    return fact_id("report.drafted", str(content.report_id), str(content.version))


def signed_data(content: ReportContent) -> ReportSigned:
    signature = content.signature
    if signature is None or content.status == "preliminary":
        raise ValueError("report.signed needs a signed (final or amended) version")
    return ReportSigned(
        report_id=content.report_id,
        version=content.version,
        status=content.status,
        study_uid=content.study.study_uid,
        signed_by=signature.user,
        signer_role=signature.role,
        content_sha256=content.sha256(),
        signed_at=signature.at,
    )


def signed_id(content: ReportContent) -> str:
    return fact_id("report.signed", str(content.report_id), str(content.version))
