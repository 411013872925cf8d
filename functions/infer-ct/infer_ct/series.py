"""A CT series from the index and the archive to one trusted volume.

Instances are listed from the ``instances`` table (their canonical archive keys), fetched from
dicom-archive and handed to :func:`acme.imaging.assemble_volume`, which orders them along the
slice normal and refuses a series it cannot trust. Every refusal is permanent, so it ends the
run with its reason code (:class:`acme.inference.Unusable`): ``no-usable-images`` (nothing
indexed), ``decode-failed`` / ``unsupported-input`` (an instance's pixels), or the volume's
own codes (``too-few-slices``, ``missing-slices``, ``duplicate-slices``, ``gantry-tilt``...).
"""

from __future__ import annotations

from acme.function import Context
from acme.imaging import ImagingError, UntrustedSeriesError, Volume, assemble_volume, read_dataset
from acme.inference import Unusable


def _archive_keys(ctx: Context, series_uid: str) -> list[str]:
    with ctx.db.connection() as conn:
        rows = conn.execute(
            "SELECT archive_key FROM instances WHERE series_uid = %s ORDER BY sop_uid",
            (series_uid,),
        ).fetchall()
    return [str(key) for (key,) in rows]


def load_volume(ctx: Context, series_uid: str, *, min_slices: int, max_slices: int) -> Volume:
    """The series as one volume in HU; :class:`Unusable` with the reason when it is not one."""
    keys = _archive_keys(ctx, series_uid)
    if not keys:
        raise Unusable("no-usable-images", f"series {series_uid} has no indexed instance")
    if len(keys) > max_slices:
        raise Unusable(
            "unsupported-input",
            f"series {series_uid} has {len(keys)} instances; ACME_CT_MAX_SLICES allows "
            f"{max_slices}",
        )
    bucket = ctx.settings.buckets.archive
    try:
        datasets = [read_dataset(ctx.store.get(bucket, key)) for key in keys]
        return assemble_volume(datasets, min_slices=min_slices)
    except UntrustedSeriesError as exc:
        raise Unusable(exc.reason_code, exc.detail) from exc
    except ImagingError as exc:
        raise Unusable(exc.reason_code, str(exc)) from exc
