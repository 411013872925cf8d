"""A dispatch context on the test servers, and a committed report version to send."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import yaml
from dicomfiles import fresh_cxr, part10
from PIL import Image
from psycopg.types.json import Jsonb

from acme.events import canonical_archive_key
from acme.function import Context
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client

DESTINATIONS = {
    "pacs": {"type": "dimse", "host": "127.0.0.1", "port": 104, "ae_title": "PACS",
             "send_on": ["drafted"]},
    "archive": {"type": "dicomweb", "url": "http://127.0.0.1:9/dicom-web",
                "send_on": ["signed"], "key_object": "encapsulated-pdf"},
}  # fmt: skip


@pytest.fixture
def ctx(settings: Settings, tmp_path: Path) -> Iterator[Context]:
    path = tmp_path / "destinations.yml"
    path.write_text(yaml.safe_dump({"destinations": DESTINATIONS}))
    ensure_buckets(make_s3_client(settings), settings.buckets.all())
    context = Context.open("dispatch", settings.model_copy(update={"destinations_file": path}))
    try:
        yield context
    finally:
        context.close()


@dataclass(frozen=True)
class Version:
    report_id: uuid.UUID
    version: int
    study_uid: str
    sr_uid: str
    source_uid: str


def _png() -> bytes:
    out = BytesIO()
    Image.fromarray(np.full((32, 24), 200, dtype=np.uint8), mode="L").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def committed_version(ctx: Context) -> Callable[..., Version]:
    """A study with an archived image and a report version whose SR, PDF and key image are
    in the results bucket (the SR stand-in is a DICOM file of the study)."""

    def make(version: int = 1) -> Version:
        image = fresh_cxr()
        study, series, sop = image.StudyInstanceUID, image.SeriesInstanceUID, image.SOPInstanceUID
        buckets = ctx.settings.buckets
        archive_key = canonical_archive_key(study, series, sop)
        ctx.store.put(buckets.archive, archive_key, part10(image))
        sr = fresh_cxr()
        sr.StudyInstanceUID = study
        prefix = f"reports/{study}/v{version}/"
        ctx.store.put(buckets.results, prefix + "report.sr.dcm", part10(sr))
        ctx.store.put(buckets.results, prefix + "report.pdf", b"%PDF-1.4\n%%EOF\n")
        ctx.store.put(buckets.results, prefix + "key-image.png", _png())
        report_id = uuid.uuid4()
        content = {
            "models": [{"name": "m", "version": "1", "diagnostic_use": False}],
            "series": [{"series_uid": series, "modality": "CR", "pipeline": "cxr",
                        "outcome": "completed", "findings": [
                {"label": "A", "probability": 0.9, "positive": True, "sop_uid": sop},
                {"label": "B", "probability": 0.95, "positive": False, "sop_uid": "1.2.3"},
            ]}],
            "source_images": [{"series_uid": series, "sop_uid": sop,
                               "sop_class_uid": image.SOPClassUID, "modality": "CR"}],
            "key_image_key": prefix + "key-image.png",
        }  # fmt: skip
        with ctx.db.connection() as conn, conn.transaction():
            conn.execute("INSERT INTO studies (study_uid) VALUES (%s)", (study,))
            conn.execute(
                "INSERT INTO reports (id, study_uid, status, current_version)"
                " VALUES (%s, %s, 'preliminary', %s)",
                (report_id, study, version),
            )
            conn.execute(
                "INSERT INTO report_versions (report_id, version, status, author, content,"
                " content_sha256, sr_key, pdf_key, html_key, fhir_key)"
                " VALUES (%s, %s, 'preliminary', 'test', %s, %s, %s, %s, %s, %s)",
                (report_id, version, Jsonb(content),
                 hashlib.sha256(json.dumps(content).encode()).hexdigest(),
                 prefix + "report.sr.dcm", prefix + "report.pdf", prefix + "report.html",
                 prefix + "report.fhir.json"),
            )  # fmt: skip
        return Version(report_id, version, study, str(sr.SOPInstanceUID), str(sop))

    return make
