"""The archived instances of a study, a series or one instance, as WADO-RS retrieves them."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.rows import dict_row

from acme.db import Pool
from acme.http import ApiError

_INSTANCES = """
SELECT s.study_uid, s.series_uid, i.sop_uid, i.sop_class_uid, i.instance_number,
       i.transfer_syntax, i.archive_key, i.sha256, i.number_of_frames AS frames,
       i.pixel_rows IS NOT NULL AS has_pixels
FROM instances i JOIN series s ON s.series_uid = i.series_uid
WHERE s.study_uid = %(study)s
  AND (%(series)s::text IS NULL OR s.series_uid = %(series)s)
  AND (%(sop)s::text IS NULL OR i.sop_uid = %(sop)s)
ORDER BY s.series_number NULLS LAST, s.series_uid, i.instance_number NULLS LAST, i.sop_uid
"""


@dataclass(frozen=True)
class Archived:
    """One archived instance: where its Part 10 file is and how it is encoded."""

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    instance_number: int | None
    transfer_syntax: str
    archive_key: str
    sha256: str
    frames: int
    has_pixels: bool


def archived(
    pool: Pool, study: str, series: str | None = None, sop: str | None = None
) -> list[Archived]:
    """The instances of the study (or series, or the one instance); 404 naming what is unknown."""
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_INSTANCES, {"study": study, "series": series, "sop": sop}).fetchall()
    if not rows:
        raise ApiError(404, "not-found", _unknown(study, series, sop))
    return [Archived(**row) for row in rows]


def first_image(instances: list[Archived]) -> Archived:
    """The first instance with pixel data (a study's or series' picture), else the first."""
    return next((i for i in instances if i.has_pixels), instances[0])


def _unknown(study: str, series: str | None, sop: str | None) -> str:
    if sop is not None:
        return f"no instance {sop} in series {series} of study {study}"
    if series is not None:
        return f"no series {series} in study {study}"
    return f"no study {study}"
