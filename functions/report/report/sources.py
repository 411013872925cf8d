"""What a draft is made of: the study's routed series and their findings, its patient,
images and models.

Read from the index (PostgreSQL), the archive (source images: the patient as the study's own
instances name them, the SR's evidence and the key image) and the model registry (the cards'
intended use and label codes). A study's report covers every series routed to a model, with
the outcome :mod:`acme.outcomes` gives it, as the study's state does.
"""

from __future__ import annotations

import uuid
from io import BytesIO

import numpy as np
import psycopg
from psycopg.rows import TupleRow, dict_row
from pydicom import dcmread
from pydicom.dataset import Dataset

from acme.events import Coding, Finding, NoduleMeasurement, QaItem, QaResult, canonical_archive_key
from acme.function import Context
from acme.imaging import display_frames, encode_png, read_dataset, resample
from acme.models import ModelCard, ModelError, ModelRegistry
from acme.outcomes import SeriesOutcome
from report.codes import finding_code
from report.content import ModelUse, ReportedSeries, SourceImage, Study

Conn = psycopg.Connection[TupleRow]
KEY_IMAGE_SIZE = 768
"""The key image's longer side in pixels (about 220 dpi across half an A4 page)."""


def run_status(conn: Conn, run_id: uuid.UUID) -> str | None:
    """``running``, ``completed`` or ``failed`` as committed; None when not (yet) there."""
    row = conn.execute("SELECT status FROM inference_runs WHERE id = %s", (run_id,)).fetchone()
    return str(row[0]) if row else None


def study_details(conn: Conn, study_uid: str) -> Study:
    """The study as indexed from its images."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT accession_number, study_date, study_time, study_description,"
            " referring_physician FROM studies WHERE study_uid = %s",
            (study_uid,),
        ).fetchone()
    if row is None:
        raise LookupError(f"study {study_uid} is not indexed")
    return Study(
        study_uid=study_uid,
        accession_number=row["accession_number"],
        study_date=row["study_date"],
        study_time=row["study_time"],
        description=row["study_description"],
        referring_physician=row["referring_physician"],
    )


CardKey = tuple[str, str]


def model_cards(ctx: Context, outcomes: list[SeriesOutcome]) -> dict[CardKey, ModelCard | None]:
    """The model card of each run's model, None when the registry no longer has it."""
    registry = ModelRegistry.of(ctx.store, ctx.settings)
    cards: dict[CardKey, ModelCard | None] = {}
    for outcome in outcomes:
        if outcome.model_name is None or outcome.model_version is None:
            continue
        if outcome.pipeline == "ct-qa":
            continue  # a measurement procedure, not a registered model
        ref = (outcome.model_name, outcome.model_version)
        if ref not in cards:
            try:
                cards[ref] = registry.card(*ref)
            except ModelError:
                ctx.log.warning("model card not found", model=f"{ref[0]}/{ref[1]}")
                cards[ref] = None
    return cards


QA_INTENDED_USE = (
    "Daily CT constancy check on a water phantom: water CT number, noise and uniformity in "
    "standard regions of interest, each against its tolerance. A check of the scanner, not a "
    "finding about a patient."
)


def model_use(
    name: str, version: str, not_for_diagnosis: bool, card: ModelCard | None, pipeline: str = ""
) -> ModelUse:
    if pipeline == "ct-qa":
        return ModelUse(
            name=name, version=version, intended_use=QA_INTENDED_USE, diagnostic_use=False
        )
    if card is None:
        return ModelUse(
            name=name,
            version=version,
            diagnostic_use=False,
            intended_use="The model card is not in the registry; treat the results as not "
            "for diagnostic use.",
        )
    return ModelUse(
        name=card.name,
        version=card.version,
        intended_use=card.intended_use,
        diagnostic_use=card.diagnostic_use and not not_for_diagnosis,
    )


def reported_series(
    conn: Conn, outcomes: list[SeriesOutcome], cards: dict[CardKey, ModelCard | None]
) -> list[ReportedSeries]:
    """Every routed series as the report lists it: findings (coded) for completed runs."""
    listed = []
    for outcome in outcomes:
        has_run = outcome.outcome != "pending"
        ref = (outcome.model_name or "", outcome.model_version or "")
        completed = outcome.outcome == "completed"
        findings = _findings(conn, outcome, cards.get(ref)) if completed else ()
        qa = _qa(conn, outcome) if completed and outcome.pipeline == "ct-qa" else None
        listed.append(
            ReportedSeries(
                series_uid=outcome.series_uid,
                modality=outcome.modality,
                pipeline=outcome.pipeline,
                outcome=outcome.outcome,
                run_id=outcome.run_id if has_run else None,
                model=outcome.model_name if has_run else None,
                model_version=outcome.model_version if has_run else None,
                reason=outcome.reason_code if outcome.outcome == "failed" else None,
                findings=findings,
                qa=qa,
            )
        )
    return listed


def _findings(conn: Conn, outcome: SeriesOutcome, card: ModelCard | None) -> tuple[Finding, ...]:
    """The run's findings in label order, each with the code the report uses for its label."""
    specs = {label.name: label for label in card.labels} if card else {}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT label, probability, threshold, positive, sop_uid, heatmap_key, code_system,"
            " code, code_display, measurement FROM findings WHERE run_id = %s"
            " ORDER BY label, (measurement ->> 'number')::integer NULLS FIRST",
            (outcome.run_id,),
        ).fetchall()
    found = []
    for row in rows:
        spec = specs.get(row["label"])
        stored = (
            Coding(system=row["code_system"], code=row["code"], display=row["code_display"])
            if row["code_system"]
            else None
        )
        card_code = stored or (spec.coding if spec else None)
        threshold = row["threshold"]
        if threshold is None:
            threshold = spec.threshold if spec else 0.5
        found.append(
            Finding(
                label=row["label"],
                probability=row["probability"],
                threshold=threshold,
                positive=row["positive"],
                sop_uid=row["sop_uid"],
                heatmap_key=row["heatmap_key"],
                code=finding_code(row["label"], card_code).coding(),
                measurement=(
                    NoduleMeasurement.model_validate(row["measurement"])
                    if row["measurement"] is not None
                    else None
                ),
            )
        )
    return tuple(found)


def _qa(conn: Conn, outcome: SeriesOutcome) -> QaResult | None:
    """The run's QA check, as recorded."""
    with conn.cursor(row_factory=dict_row) as cur:
        check = cur.execute(
            "SELECT passed, sop_uid, phantom_diameter_mm FROM qa_checks WHERE run_id = %s",
            (outcome.run_id,),
        ).fetchone()
        if check is None:
            return None
        items = cur.execute(
            "SELECT name, value, unit, lower, upper, passed FROM qa_measurements"
            " WHERE run_id = %s ORDER BY array_position("
            "ARRAY['water-mean', 'noise', 'uniformity'], name)",
            (outcome.run_id,),
        ).fetchall()
    return QaResult(
        passed=check["passed"],
        items=tuple(QaItem.model_validate(item) for item in items),
        sop_uid=check["sop_uid"],
        phantom_diameter_mm=check["phantom_diameter_mm"],
    )


def source_images(conn: Conn, sop_uids: list[str]) -> list[SourceImage]:
    """The indexed images among ``sop_uids``, in the order given."""
    rows = conn.execute(
        "SELECT i.sop_uid, i.series_uid, i.sop_class_uid, s.modality FROM instances i"
        " JOIN series s USING (series_uid) WHERE i.sop_uid = ANY(%s)",
        (sop_uids,),
    ).fetchall()
    by_uid = {
        str(sop): SourceImage(series_uid=series, sop_uid=sop, sop_class_uid=cls, modality=mod)
        for sop, series, cls, mod in rows
    }
    return [by_uid[uid] for uid in sop_uids if uid in by_uid]


def series_images(conn: Conn, series_uids: list[str], limit: int = 16) -> list[SourceImage]:
    """The first ``limit`` instances of each series (for findings that name no image)."""
    rows = conn.execute(
        "SELECT sop_uid, series_uid, sop_class_uid, modality FROM ("
        " SELECT i.sop_uid, i.series_uid, i.sop_class_uid, s.modality, row_number() OVER"
        " (PARTITION BY i.series_uid ORDER BY i.instance_number NULLS LAST, i.sop_uid) AS n"
        " FROM instances i JOIN series s USING (series_uid) WHERE i.series_uid = ANY(%s)"
        ") ranked WHERE n <= %s ORDER BY series_uid, n",
        (series_uids, limit),
    ).fetchall()
    return [
        SourceImage(series_uid=series, sop_uid=sop, sop_class_uid=cls, modality=mod)
        for sop, series, cls, mod in rows
    ]


def referenced_images(series: list[ReportedSeries]) -> list[str]:
    """The SOP Instance UIDs the results name: each finding's image, each lesion's slices,
    each QA check's slice, in order, once each."""
    uids: list[str] = []
    for item in series:
        for finding in item.findings:
            uids += [finding.sop_uid] if finding.sop_uid else []
            uids += list(finding.measurement.sop_uids) if finding.measurement else []
        uids += [item.qa.sop_uid] if item.qa is not None else []
    return list(dict.fromkeys(uids))


def key_finding(findings: list[Finding]) -> Finding | None:
    """The finding whose image is shown: the most probable positive one, else the most
    probable one (only findings that name their image)."""
    named = [f for f in findings if f.sop_uid]
    positive = [f for f in named if f.positive]
    pool = positive or named
    return max(pool, key=lambda f: f.probability) if pool else None


def fetch_instance(ctx: Context, study_uid: str, image: SourceImage) -> bytes:
    key = canonical_archive_key(study_uid, image.series_uid, image.sop_uid)
    return ctx.store.get(ctx.settings.buckets.archive, key)


def header(data: bytes) -> Dataset:
    """The dataset without its pixel data (the SR's evidence)."""
    return dcmread(BytesIO(data), stop_before_pixels=True, force=True)


def evidence(ctx: Context, study_uid: str, images: tuple[SourceImage, ...]) -> list[Dataset]:
    """The headers of the source images, read from the archive."""
    return [header(fetch_instance(ctx, study_uid, image)) for image in images]


def render_key_image(data: bytes) -> bytes:
    """The first frame of an archived image as a PNG, longer side :data:`KEY_IMAGE_SIZE`."""
    pixels = display_frames(read_dataset(data))[0].pixels
    height, width = pixels.shape
    scale = min(1.0, KEY_IMAGE_SIZE / max(height, width))
    if scale < 1.0:
        pixels = resample(pixels, max(1, round(height * scale)), max(1, round(width * scale)))
    return encode_png(np.rint(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8))
