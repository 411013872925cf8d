"""What a draft is made of: the study's runs and findings, its patient, images and models.

Read from the index (PostgreSQL), the archive (source images, for the SR's evidence and the
key image) and the model registry (the cards' intended use and label codes). A study's
report covers the latest run of every series routed to a model, as the study's state does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from io import BytesIO

import numpy as np
import psycopg
from psycopg.rows import TupleRow, dict_row
from pydicom import dcmread
from pydicom.dataset import Dataset

from acme.events import canonical_archive_key
from acme.function import Context
from acme.imaging import display_frames, encode_png, read_dataset, resample
from acme.models import ModelCard, ModelError, ModelRegistry
from report.codes import finding_code
from report.content import CodeRef, Finding, ModelUse, Patient, SourceImage, Study

Conn = psycopg.Connection[TupleRow]
KEY_IMAGE_SIZE = 768
"""The key image's longer side in pixels (about 220 dpi across half an A4 page)."""


@dataclass(frozen=True)
class Run:
    id: uuid.UUID
    series_uid: str
    pipeline: str
    model_name: str
    model_version: str
    status: str
    not_for_diagnosis: bool


_LATEST_RUNS = """
SELECT DISTINCT ON (r.series_uid) r.id, r.series_uid, r.pipeline, r.model_name,
       r.model_version, r.status, r.not_for_diagnosis
FROM inference_runs r JOIN series s USING (series_uid)
WHERE s.study_uid = %s AND s.pipeline IN ('cxr', 'ct')
ORDER BY r.series_uid, r.started_at DESC, r.id
"""


def run_status(conn: Conn, run_id: uuid.UUID) -> str | None:
    """``running``, ``completed`` or ``failed`` as committed; None when not (yet) there."""
    row = conn.execute("SELECT status FROM inference_runs WHERE id = %s", (run_id,)).fetchone()
    return str(row[0]) if row else None


def latest_runs(conn: Conn, study_uid: str) -> list[Run]:
    """The latest run of each of the study's series routed to a model."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_LATEST_RUNS, (study_uid,)).fetchall()
    return [Run(**row) for row in rows]


def study_snapshot(conn: Conn, study_uid: str) -> tuple[Patient, Study]:
    """The patient and study as indexed from the images."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT p.patient_id, p.issuer_of_patient_id, p.patient_name, p.birth_date, p.sex,"
            " s.accession_number, s.study_date, s.study_time, s.study_description,"
            " s.referring_physician FROM studies s LEFT JOIN patients p ON p.id = s.patient_pk"
            " WHERE s.study_uid = %s",
            (study_uid,),
        ).fetchone()
    if row is None:
        raise LookupError(f"study {study_uid} is not indexed")
    patient = Patient(
        patient_id=row["patient_id"] or "",
        issuer=row["issuer_of_patient_id"] or "",
        name=row["patient_name"],
        birth_date=row["birth_date"],
        sex=row["sex"],
    )
    study = Study(
        study_uid=study_uid,
        accession_number=row["accession_number"],
        study_date=row["study_date"],
        study_time=row["study_time"],
        description=row["study_description"],
        referring_physician=row["referring_physician"],
    )
    return patient, study


def model_cards(ctx: Context, runs: list[Run]) -> dict[tuple[str, str], ModelCard | None]:
    """Each run's model card, None when the registry no longer has it."""
    registry = ModelRegistry.of(ctx.store, ctx.settings)
    cards: dict[tuple[str, str], ModelCard | None] = {}
    for run in runs:
        ref = (run.model_name, run.model_version)
        if ref not in cards:
            try:
                cards[ref] = registry.card(*ref)
            except ModelError:
                ctx.log.warning("model card not found", model=f"{ref[0]}/{ref[1]}")
                cards[ref] = None
    return cards


def model_use(run: Run, card: ModelCard | None) -> ModelUse:
    if card is None:
        return ModelUse(
            name=run.model_name,
            version=run.model_version,
            diagnostic_use=False,
            intended_use="The model card is not in the registry; treat the results as not "
            "for diagnostic use.",
        )
    return ModelUse(
        name=card.name,
        version=card.version,
        intended_use=card.intended_use,
        diagnostic_use=card.diagnostic_use and not run.not_for_diagnosis,
    )


def findings_of(
    conn: Conn, runs: list[Run], cards: dict[tuple[str, str], ModelCard | None]
) -> list[Finding]:
    """The findings of ``runs``, in run then label order, coded from the cards."""
    found: list[Finding] = []
    for run in runs:
        card = cards.get((run.model_name, run.model_version))
        specs = {label.name: label for label in card.labels} if card else {}
        rows = conn.execute(
            "SELECT label, probability, threshold, positive, sop_uid, heatmap_key FROM findings"
            " WHERE run_id = %s ORDER BY label",
            (run.id,),
        ).fetchall()
        for label, probability, threshold, positive, sop_uid, heatmap_key in rows:
            spec = specs.get(label)
            coding = spec.coding if spec else None
            card_code = (coding.system, coding.code, coding.display) if coding else None
            found.append(
                Finding(
                    label=label,
                    code=CodeRef.of(finding_code(label, card_code)),
                    probability=probability,
                    threshold=threshold
                    if threshold is not None
                    else (spec.threshold if spec else 0.5),
                    positive=positive,
                    run_id=run.id,
                    series_uid=run.series_uid,
                    sop_uid=sop_uid,
                    model=run.model_name,
                    model_version=run.model_version,
                    heatmap_key=heatmap_key,
                )
            )
    return found


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
