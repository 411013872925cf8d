"""The event side: draft a study's report from what became of each of its routed series.

On ``inference.completed`` and ``inference.failed`` alike:

1. The run must be committed with its outcome (infer announces it once the transaction that
   records it has committed, so this holds unless the run was changed since):
   :class:`NotReady` makes the router retry otherwise.
2. The study is settled from its series' outcomes (a failure shows as ``failed`` whatever
   pipeline reported it).
3. Then, under the study's report lock, in one transaction: the report covers every routed
   series (:func:`acme.outcomes.routed_series`): completed ones with their findings, failed
   ones with their reason, pending ones named as pending. Nothing is drafted before at least
   one series has findings, nor for a run a later one superseded; a version already built
   from the same outcomes makes the event a no-op.
4. Compose the content, render the key image, store every form, record the report and its
   version (a new preliminary version when one exists, signed or not: earlier versions
   stay), and, once no series is pending, move the study to ``reported``; stage
   ``report.drafted``, published after the commit (:mod:`acme.outbox`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from pydicom.dataset import Dataset

from acme.events import EventType, Finding
from acme.function import Context
from acme.imaging import ImagingError
from acme.lifecycle import Step, advance
from acme.outcomes import SeriesOutcome, routed_series, settle_inference
from acme.patients import Patient, record_conflicts
from report import artifacts, sources, store
from report.content import ModelUse, ReportContent, ReportedSeries, issued_now
from report.emit import drafted_data, drafted_id
from report.errors import NotReady
from report.view import finding_text, percent, qa_text, series_note

DraftStatus = Literal["drafted", "redrafted", "unchanged", "waiting"]


@dataclass(frozen=True)
class DraftOutcome:
    status: DraftStatus
    report_id: uuid.UUID | None = None
    version: int | None = None


def ai_impression(series: list[ReportedSeries], models: list[ModelUse]) -> str:
    """The draft's impression: what the AI suggests, said as a suggestion, and what it has
    not (yet) looked at."""
    findings = [finding for s in series for finding in s.findings]
    positive = sorted((f for f in findings if f.positive), key=lambda f: -f.probability)
    negative = [f for f in findings if not f.positive]
    checks = [s.qa for s in series if s.qa is not None]
    suggested = "; ".join(f"{finding_text(f)} ({percent(f.probability)})" for f in positive)
    lines = []
    if findings or not checks:
        lines.append(
            f"AI suggests: {suggested}"
            if positive
            else "AI found none of the findings it screens for."
        )
    lines += [qa_text(check) for check in checks]
    if negative:
        lines.append("Below threshold: " + ", ".join(f.label for f in negative) + ".")
    lines += [series_note(item) for item in series if not item.findings and item.qa is None]
    refs = ", ".join(model.ref for model in models)
    warning = "" if all(m.diagnostic_use for m in models) else " NOT FOR DIAGNOSTIC USE."
    lines.append(
        f"Preliminary draft by {refs}.{warning} To be reviewed and signed by a radiologist."
    )
    return "\n".join(lines)


def _compose(
    ctx: Context,
    conn: store.Conn,
    outcomes: list[SeriesOutcome],
    study_uid: str,
    report_id: uuid.UUID,
    version: int,
) -> tuple[ReportContent, list[Dataset]]:
    """The content of a preliminary version and its source images' headers; stores the key
    image on the way."""
    cards = sources.model_cards(ctx, outcomes)
    series = sources.reported_series(conn, outcomes, cards)
    models: dict[tuple[str, str], ModelUse] = {}
    for outcome in outcomes:
        if outcome.outcome == "completed" and outcome.model_name and outcome.model_version:
            ref = (outcome.model_name, outcome.model_version)
            models.setdefault(
                ref,
                sources.model_use(
                    *ref, outcome.not_for_diagnosis, cards.get(ref), outcome.pipeline
                ),
            )
    findings = [finding for item in series for finding in item.findings]
    sop_uids = sources.referenced_images(series)
    scored = [item.series_uid for item in series if item.outcome == "completed"]
    images = sources.source_images(conn, sop_uids) or sources.series_images(conn, scored)
    data = {image.sop_uid: sources.fetch_instance(ctx, study_uid, image) for image in images}
    evidence = [sources.header(data[image.sop_uid]) for image in images]
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
        patient=Patient.from_dataset(evidence[0]) if evidence else Patient(),
        patient_conflicts=record_conflicts(conn, [study_uid]).get(study_uid, ()),
        study=sources.study_details(conn, study_uid),
        pipelines=tuple(sorted({item.pipeline for item in series})),
        models=tuple(models.values()),
        run_ids=tuple(item.run_id for item in series if item.run_id is not None),
        series=tuple(series),
        source_images=tuple(images),
        key_image_key=key_image_key,
        impression=ai_impression(series, list(models.values())),
    )
    return content, evidence


def _key_image(ctx: Context, finding: Finding | None, data: dict[str, bytes]) -> bytes | None:
    if finding is None or finding.sop_uid not in data:
        return None
    try:
        return sources.render_key_image(data[finding.sop_uid])
    except ImagingError as exc:
        ctx.log.warning("key image not rendered", sop_uid=finding.sop_uid, reason=exc.reason_code)
        return None


def _basis(series: list[SeriesOutcome] | tuple[ReportedSeries, ...]) -> set[tuple[str, str, str]]:
    """What a version is built from: each routed series, its outcome and run."""
    return {(s.series_uid, s.outcome, str(s.run_id)) for s in series if s.outcome != "pending"} | {
        (s.series_uid, "pending", "") for s in series if s.outcome == "pending"
    }


def draft_report(
    ctx: Context, study_uid: str, run_id: uuid.UUID, traceparent: str | None
) -> DraftOutcome:
    """Draft (or find) the report of the study after run ``run_id`` ended (see the module
    docstring)."""
    bucket = ctx.settings.buckets.results
    with ctx.db.connection() as conn, conn.transaction():  # short: it holds the study's row
        status = sources.run_status(conn, run_id)
        if status in (None, "running"):
            raise NotReady(f"run {run_id} is {status or 'not committed'}; retry later")
        settle_inference(conn, study_uid)
    with ctx.transaction() as tx:
        conn = tx.conn
        store.lock_study(conn, study_uid)
        outcomes = routed_series(conn, study_uid)
        if run_id not in {outcome.run_id for outcome in outcomes}:
            return DraftOutcome("unchanged")  # superseded by a later run of the series
        if not any(outcome.outcome == "completed" for outcome in outcomes):
            return DraftOutcome("waiting")  # no findings to report yet
        report = store.report_of_study(conn, study_uid)
        if report is not None:
            current = store.find_version(conn, report.id, report.current_version, bucket)
            if current is not None and _basis(current.content.series) == _basis(outcomes):
                return DraftOutcome("unchanged", report.id, report.current_version)
        report_id = report.id if report else store.report_id_for(study_uid)
        version = report.current_version + 1 if report else 1
        content, evidence = _compose(ctx, conn, outcomes, study_uid, report_id, version)
        images = artifacts.load_images(ctx, content)
        stored = artifacts.publish(ctx, content, images=images, evidence=evidence, previous=[])
        if report is None:
            store.insert_report(conn, report_id, study_uid)
        else:
            store.advance(
                conn, report_id, expected_version=report.current_version, status="preliminary"
            )
        store.insert_version(conn, content, stored, author=ctx.name, author_role=None)
        if content.complete:
            advance(conn, study_uid, Step.REPORT_DRAFTED)
        tx.emit(
            EventType.REPORT_DRAFTED,
            drafted_data(content, stored),
            traceparent=traceparent,
            event_id=drafted_id(content),
        )
    ctx.log.info(
        "report drafted",
        report_id=str(report_id),
        version=version,
        complete=content.complete,
        pending=len(content.pending),
        positive=[f.label for f in content.positive],
    )
    return DraftOutcome("redrafted" if report else "drafted", report_id, version)
