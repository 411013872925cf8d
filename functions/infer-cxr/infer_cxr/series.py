"""A series' images, from the index and the archive to display values.

Instances are listed from the ``instances`` table (their canonical archive keys) in instance
order, fetched from dicom-archive, and decoded frame by frame. An instance that cannot be
decoded or is not a grayscale image is left out with its reason; only when none is left does
the series fail (``decode-failed`` if any failed to decode, else ``unsupported-input``, or
``no-usable-images`` for a series with no instance at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from acme.events.values import InferenceFailure
from acme.function import Context
from acme.imaging import DisplayImage, ImagingError, Preprocessing, display_frames, read_dataset
from acme.inference import Unusable


@dataclass(frozen=True)
class SeriesImage:
    sop_uid: str
    image: DisplayImage


@dataclass(frozen=True)
class SeriesPixels:
    images: list[SeriesImage]
    skipped: list[dict[str, str]] = field(default_factory=list)


def _instances(ctx: Context, series_uid: str) -> list[tuple[str, str]]:
    with ctx.db.connection() as conn:
        rows = conn.execute(
            "SELECT sop_uid, archive_key FROM instances WHERE series_uid = %s"
            " ORDER BY instance_number NULLS LAST, sop_uid",
            (series_uid,),
        ).fetchall()
    return [(str(sop), str(key)) for sop, key in rows]


def load_series(
    ctx: Context, series_uid: str, prep: Preprocessing, *, max_images: int
) -> SeriesPixels:
    """Every usable frame of the series as display values; :class:`Unusable` when none is."""
    instances = _instances(ctx, series_uid)
    if not instances:
        raise Unusable("no-usable-images", f"series {series_uid} has no indexed instance", [])
    images: list[SeriesImage] = []
    skipped: list[dict[str, str]] = []
    for sop_uid, key in instances:
        data = ctx.store.get(ctx.settings.buckets.archive, key)  # StorageError: transient
        try:
            frames = display_frames(read_dataset(data), voi=prep.voi, percentiles=prep.percentiles)
        except ImagingError as exc:
            skipped.append({"sop_uid": sop_uid, "reason_code": exc.reason_code, "detail": str(exc)})
            ctx.log.warning("instance left out", sop_uid=sop_uid, reason=exc.reason_code)
            continue
        images.extend(SeriesImage(sop_uid=sop_uid, image=frame) for frame in frames)
    if len(images) > max_images:
        raise Unusable(
            "unsupported-input",
            f"series {series_uid} has {len(images)} images; ACME_CXR_MAX_IMAGES allows "
            f"{max_images} (a chest radiograph series has a few)",
            skipped,
        )
    if not images:
        reasons = {entry["reason_code"] for entry in skipped}
        reason: InferenceFailure = (
            "decode-failed" if "decode-failed" in reasons else "unsupported-input"
        )
        first = skipped[0]["detail"]
        raise Unusable(
            reason, f"none of the {len(instances)} instance(s) is usable; first: {first}", skipped
        )
    return SeriesPixels(images=images, skipped=skipped)
