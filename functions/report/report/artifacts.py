"""The rendered forms of a report version in the results bucket.

``reports/<StudyUID>/<report id>/v<version>/`` holds ``report.fhir.json`` (FHIR R4 Bundle),
``report.sr.dcm`` (DICOM Comprehensive SR), ``report.html``, ``report.pdf`` and, for the
version that drafted it, ``key-image.png``. A version's objects are written before its row is
committed; a retried write of the same version writes the same keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from pydicom.dataset import Dataset

from acme.events import ReportArtifacts
from acme.function import Context
from report import fhir, sources
from report.content import ReportContent
from report.html import render_html
from report.pdf import render_pdf
from report.sr import build_sr, sr_bytes
from report.view import ReportImages

Kind = Literal["fhir", "sr", "html", "pdf"]


@dataclass(frozen=True)
class Form:
    name: str
    media_type: str


FORMS: Final[Mapping[Kind, Form]] = MappingProxyType(
    {
        "fhir": Form("report.fhir.json", "application/fhir+json"),
        "sr": Form("report.sr.dcm", "application/dicom"),
        "html": Form("report.html", "text/html; charset=utf-8"),
        "pdf": Form("report.pdf", "application/pdf"),
    }
)
KEY_IMAGE = Form("key-image.png", "image/png")


def version_prefix(study_uid: str, report_id: uuid.UUID, version: int) -> str:
    """Where a version's objects go: ``reports/<StudyUID>/<report id>/v<version>/``."""
    return f"reports/{study_uid}/{report_id}/v{version}/"


def key_image_key(study_uid: str, report_id: uuid.UUID, version: int) -> str:
    """Where the key image drafted with ``version`` goes."""
    return version_prefix(study_uid, report_id, version) + KEY_IMAGE.name


def key_of(artifacts: ReportArtifacts, kind: Kind) -> str | None:
    keys: dict[Kind, str | None] = {
        "fhir": artifacts.fhir_key,
        "sr": artifacts.sr_key,
        "html": artifacts.html_key,
        "pdf": artifacts.pdf_key,
    }
    return keys[kind]


def publish(
    ctx: Context,
    content: ReportContent,
    *,
    images: ReportImages,
    evidence: list[Dataset],
    previous: list[Dataset],
) -> ReportArtifacts:
    """Render ``content`` in every form and store them; their keys."""
    prefix = version_prefix(content.study.study_uid, content.report_id, content.version)
    sr = build_sr(content, evidence, previous=previous)
    rendered: dict[Kind, bytes] = {
        "fhir": fhir.bundle_json(fhir.build_bundle(content)),
        "sr": sr_bytes(sr),
        "html": render_html(content, images).encode("utf-8"),
        "pdf": render_pdf(content, images),
    }
    bucket = ctx.settings.buckets.results
    for kind, data in rendered.items():
        form = FORMS[kind]
        ctx.store.put(bucket, prefix + form.name, data, content_type=form.media_type)
    return ReportArtifacts(
        bucket=bucket,
        fhir_key=prefix + FORMS["fhir"].name,
        sr_key=prefix + FORMS["sr"].name,
        html_key=prefix + FORMS["html"].name,
        pdf_key=prefix + FORMS["pdf"].name,
    )


def load_images(ctx: Context, content: ReportContent) -> ReportImages:
    """The key image and the heatmaps of the positive findings, from the results bucket."""
    bucket = ctx.settings.buckets.results
    key_image = ctx.store.get(bucket, content.key_image_key) if content.key_image_key else None
    heatmaps = {
        f.label: ctx.store.get(bucket, f.heatmap_key)
        for _, f in content.results
        if f.positive and f.heatmap_key
    }
    return ReportImages(key_image=key_image, heatmaps=heatmaps)


def load_evidence(ctx: Context, content: ReportContent) -> list[Dataset]:
    return sources.evidence(ctx, content.study.study_uid, content.source_images)


def load_sr(ctx: Context, artifacts: ReportArtifacts) -> Dataset:
    """A stored SR (for the predecessors of a new version)."""
    if artifacts.sr_key is None:
        raise ValueError("the version has no SR")
    return sources.header(ctx.store.get(artifacts.bucket, artifacts.sr_key))
