"""A report version's stored objects, as the report function keeps them (migrations 0001 and
0004: ``report_versions`` with its artifact keys and content JSON), for dispatch and
``acme pacs send``.

The key image is the image of the report's key finding: the most probable positive finding
that names an image, else the most probable finding that names one (the report's rule for
which image it renders).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import TupleRow, dict_row

__all__ = ["KeyImageRef", "VersionObjects", "latest_version", "version_objects"]

Conn = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class KeyImageRef:
    """The key image of a version and the archived image it was rendered from."""

    key: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str


@dataclass(frozen=True)
class VersionObjects:
    """Where one report version's SR, PDF and key image are in the results bucket."""

    report_id: uuid.UUID
    version: int
    study_uid: str
    sr_key: str | None
    pdf_key: str | None
    key_image: KeyImageRef | None
    not_for_diagnosis: bool


_QUERY = (
    "SELECT r.id, v.version, r.study_uid, v.sr_key, v.pdf_key, v.content"
    " FROM report_versions v JOIN reports r ON r.id = v.report_id"
)


def version_objects(conn: Conn, report_id: uuid.UUID, version: int) -> VersionObjects | None:
    """The objects of one version; None while it is not committed (or does not exist)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_QUERY} WHERE v.report_id = %s AND v.version = %s", (report_id, version)
        ).fetchone()
    return _objects(row) if row else None


def latest_version(conn: Conn, study_uid: str) -> VersionObjects | None:
    """The current version of the study's report; None when it has none."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_QUERY} WHERE r.study_uid = %s AND v.version = r.current_version", (study_uid,)
        ).fetchone()
    return _objects(row) if row else None


def _objects(row: dict[str, Any]) -> VersionObjects:
    content: dict[str, Any] = row["content"]
    models = content.get("models") or []
    return VersionObjects(
        report_id=row["id"],
        version=row["version"],
        study_uid=row["study_uid"],
        sr_key=row["sr_key"],
        pdf_key=row["pdf_key"],
        key_image=_key_image(content),
        not_for_diagnosis=not all(bool(m.get("diagnostic_use")) for m in models),
    )


def _key_image(content: dict[str, Any]) -> KeyImageRef | None:
    key = content.get("key_image_key")
    findings = [f for series in content.get("series") or [] for f in series.get("findings") or []]
    named = [f for f in findings if f.get("sop_uid")]
    pool = [f for f in named if f.get("positive")] or named
    if not key or not pool:
        return None
    finding = max(pool, key=lambda f: float(f.get("probability", 0.0)))
    image = next(
        (i for i in content.get("source_images") or [] if i.get("sop_uid") == finding["sop_uid"]),
        None,
    )
    if image is None:
        return None
    return KeyImageRef(
        key=str(key),
        series_uid=str(image["series_uid"]),
        sop_uid=str(image["sop_uid"]),
        sop_class_uid=str(image["sop_class_uid"]),
    )
