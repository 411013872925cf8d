"""The event side: draft a study's report from its AI results; record failed inference.

``inference.completed``, under the study's report lock, in one transaction:

1. The run must be committed as completed (infer publishes just before it commits): if it
   is not visible yet, :class:`NotReady` makes the router retry.
2. The report covers the latest run of every routed series; while any is not completed the
   study is not ``inferred`` yet and the last series' event drafts it (``waiting``).
3. A version already built from the same runs makes the event a no-op (``unchanged``). A
   preliminary report built from other runs gets a new preliminary version; a signed one is
   kept as signed (a radiologist amends it).
4. Compose the content, render the key image, store every form, record the report and its
   version, move the study inferred -> reported, publish ``report.drafted``.

``inference.failed``: the study shows the failure as ``failed`` with the reason code (infer
sets it in the same transaction; this makes it hold for any pipeline), unless a later run of
that series succeeded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from pydicom.dataset import Dataset

from acme.db import StudyState, transition_study
from acme.events import InferenceCompleted, InferenceFailed
from acme.function import Context, Event
from acme.imaging import ImagingError
from report import artifacts, sources, store
from report.content import Finding, ModelUse, ReportContent, issued_now
from report.emit import drafted_event
from report.errors import NotReady
from report.view import percent

DraftStatus = Literal["drafted", "redrafted", "unchanged", "waiting", "kept-signed"]


@dataclass(frozen=True)
class DraftOutcome:
    status: DraftStatus
    report_id: uuid.UUID | None = None
    version: int | None = None


def ai_impression(findings: list[Finding], models: list[ModelUse]) -> str:
    """The draft's impression: what the AI suggests, said as a suggestion."""
    positive = sorted((f for f in findings if f.positive), key=lambda f: -f.probability)
    negative = [f for f in findings if not f.positive]
    lines = [
        "AI suggests: " + "; ".join(f"{f.label} ({percent(f.probability)})" for f in positive)
        if positive
        else "AI found none of the findings it screens for."
    ]
    if negative:
        lines.append("Below threshold: " + ", ".join(f.label for f in negative) + ".")
    refs = ", ".join(model.ref for model in models)
    warning = "" if all(m.diagnostic_use for m in models) else " NOT FOR DIAGNOSTIC USE."
    lines.append(
        f"Preliminary draft by {refs}.{warning} To be reviewed and signed by a radiologist."
    )
    return "\n".join(lines)


def _compose(
    ctx: Context,
    conn: store.Conn,
    runs: list[sources.Run],
    study_uid: str,
    report_id: uuid.UUID,
    version: int,
) -> tuple[ReportContent, list[Dataset]]:
    """The content of a preliminary version and its source images' headers; stores the key
    image on the way."""
    patient, study = sources.study_snapshot(conn, study_uid)
    cards = sources.model_cards(ctx, runs)
    models: dict[tuple[str, str], ModelUse] = {}
    for run in runs:
        ref = (run.model_name, run.model_version)
        models.setdefault(ref, sources.model_use(run, cards[ref]))
    findings = sources.findings_of(conn, runs, cards)
    sop_uids = list(dict.fromkeys(f.sop_uid for f in findings if f.sop_uid))
    images = sources.source_images(conn, sop_uids) or sources.series_images(
        conn, [run.series_uid for run in runs]
    )
    data = {image.sop_uid: sources.fetch_instance(ctx, study_uid, image) for image in images}
    key_png = _key_image(ctx, sources.key_finding(findings), data)
    key_image_key = artifacts.key_image_key(study_uid, report_id, version) if key_png else None
    if key_png is not None and key_image_key is not None:
        ctx.store.put(
            ctx.settings.buckets.results,
            key_image_key,
            key_png,
            content_type=artifacts.KEY_IMAGE.media_type,
        )
    content = ReportContent(
        report_id=report_id,
        version=version,
        status="preliminary",
        issued=issued_now(),
        patient=patient,
        study=study,
        pipelines=tuple(sorted({run.pipeline for run in runs})),
        models=tuple(models.values()),
        run_ids=tuple(run.id for run in runs),
        findings=tuple(findings),
        source_images=tuple(images),
        key_image_key=key_image_key,
        impression=ai_impression(findings, list(models.values())),
    )
    return content, [sources.header(data[image.sop_uid]) for image in images]


def _key_image(ctx: Context, finding: Finding | None, data: dict[str, bytes]) -> bytes | None:
    if finding is None or finding.sop_uid not in data:
        return None
    try:
        return sources.render_key_image(data[finding.sop_uid])
    except ImagingError as exc:
        ctx.log.warning("key image not rendered", sop_uid=finding.sop_uid, reason=exc.reason_code)
        return None


def draft_report(ctx: Context, completed: InferenceCompleted, event: Event) -> DraftOutcome:
    """Draft (or find) the report of ``completed``'s study (see the module docstring)."""
    study_uid = completed.study_uid
    bucket = ctx.settings.buckets.results
    with ctx.db.connection() as conn, conn.transaction():
        store.lock_study(conn, study_uid)
        status = sources.run_status(conn, completed.run_id)
        if status in (None, "running"):
            raise NotReady(f"run {completed.run_id} is {status or 'not committed'}; retry later")
        runs = sources.latest_runs(conn, study_uid)
        if status == "failed" or completed.run_id not in {run.id for run in runs}:
            return DraftOutcome("unchanged")  # superseded by a later run of the series
        if any(run.status != "completed" for run in runs):
            return DraftOutcome("waiting")
        report = store.report_of_study(conn, study_uid)
        if report is not None:
            current = store.find_version(conn, report.id, report.current_version, bucket)
            if current is not None and set(current.run_ids) == {run.id for run in runs}:
                return DraftOutcome("unchanged", report.id, report.current_version)
            if report.status != "preliminary":
                ctx.log.warning(
                    "new results for a signed report; kept as signed",
                    report_id=str(report.id),
                    run_id=str(completed.run_id),
                )
                return DraftOutcome("kept-signed", report.id, report.current_version)
        report_id = report.id if report else store.report_id_for(study_uid)
        version = report.current_version + 1 if report else 1
        content, evidence = _compose(ctx, conn, runs, study_uid, report_id, version)
        images = artifacts.load_images(ctx, content)
        stored = artifacts.publish(ctx, content, images=images, evidence=evidence, previous=[])
        if report is None:
            store.insert_report(conn, report_id, study_uid)
        else:
            store.advance(
                conn, report_id, expected_version=report.current_version, status="preliminary"
            )
        store.insert_version(conn, content, stored, author=ctx.name, author_role=None)
        transition_study(conn, study_uid, [StudyState.INFERRED], StudyState.REPORTED)
        ctx.bus.publish(
            drafted_event(content, stored, source=ctx.source, traceparent=event.traceparent)
        )
    ctx.log.info(
        "report drafted",
        report_id=str(report_id),
        version=version,
        positive=[f.label for f in content.positive],
    )
    return DraftOutcome("redrafted" if report else "drafted", report_id, version)


def record_failure(ctx: Context, failed: InferenceFailed) -> bool:
    """Make the study show ``failed``'s reason; True when this call moved it."""
    with ctx.db.connection() as conn, conn.transaction():
        status = sources.run_status(conn, failed.run_id)
        if status in (None, "running"):
            raise NotReady(f"run {failed.run_id} is {status or 'not committed'}; retry later")
        latest = {run.id: run.status for run in sources.latest_runs(conn, failed.study_uid)}
        if latest.get(failed.run_id) != "failed":
            return False  # a later run of the series took over
        moved = transition_study(
            conn,
            failed.study_uid,
            [StudyState.COMPLETE, StudyState.INFERRING, StudyState.INFERRED],
            StudyState.FAILED,
            reason=f"inference failed: {failed.reason_code}",
        )
    ctx.log.info(
        "inference failure recorded",
        run_id=str(failed.run_id),
        reason=failed.reason_code,
        moved=moved,
    )
    return moved
