"""A CT series from the index and the archive to one trusted volume.

Instances are listed from the ``instances`` table (their canonical archive keys), fetched from
dicom-archive :data:`FETCH_WORKERS` at a time (one after the other, a series of 500 slices
would wait 500 round trips) and handed to :func:`acme.imaging.assemble_volume`, which orders
them along the slice normal and refuses a series it cannot trust. Every refusal is permanent,
so it ends the run with its reason code (:class:`acme.inference.Unusable`):
``no-usable-images`` (nothing indexed), ``decode-failed`` / ``unsupported-input`` (an
instance's pixels), or the volume's own codes (``too-few-slices``, ``missing-slices``,
``duplicate-slices``, ``gantry-tilt``...).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pydicom import Dataset

from acme.function import Context
from acme.imaging import ImagingError, UntrustedSeriesError, Volume, assemble_volume, read_dataset
from acme.inference import Unusable

FETCH_WORKERS = 8
"""Instances fetched at once, per series (the S3 client keeps 32 connections, room for two
series scored at once and the function's own requests)."""


def archive_keys(ctx: Context, series_uid: str) -> list[str]:
    """The archive keys of the instances indexed for ``series_uid``, by SOP Instance UID."""
    with ctx.db.connection() as conn:
        rows = conn.execute(
            "SELECT archive_key FROM instances WHERE series_uid = %s ORDER BY sop_uid",
            (series_uid,),
        ).fetchall()
    return [str(key) for (key,) in rows]


def load_volume(ctx: Context, series_uid: str, *, min_slices: int, max_slices: int) -> Volume:
    """The series as one volume in HU; :class:`Unusable` with the reason when it is not one."""
    keys = archive_keys(ctx, series_uid)
    if not keys:
        raise Unusable("no-usable-images", f"series {series_uid} has no indexed instance")
    if len(keys) > max_slices:
        raise Unusable(
            "unsupported-input",
            f"series {series_uid} has {len(keys)} instances; ACME_CT_MAX_SLICES allows "
            f"{max_slices}",
        )
    try:
        return assemble_volume(_fetch(ctx, keys), min_slices=min_slices)
    except UntrustedSeriesError as exc:
        raise Unusable(exc.reason_code, exc.detail) from exc
    except ImagingError as exc:
        raise Unusable(exc.reason_code, str(exc)) from exc


def _fetch(ctx: Context, keys: list[str]) -> list[Dataset]:
    """The archived instances ``keys``, read; the first error is raised, and the fetches not
    yet started are cancelled."""
    bucket = ctx.settings.buckets.archive
    pool = ThreadPoolExecutor(min(FETCH_WORKERS, len(keys)), thread_name_prefix="fetch")
    try:
        return list(pool.map(lambda key: read_dataset(ctx.store.get(bucket, key)), keys))
    finally:
        pool.shutdown(cancel_futures=True)
