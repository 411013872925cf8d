"""The objects one delivery sends: the version's SR and the destination's key object.

Read from the results bucket (and, for the Secondary Capture, the header of the archived
image the key image was rendered from). A version that is not committed yet is
:class:`NotCommitted` (the report function announces before it commits): the router tries
again.
"""

from __future__ import annotations

from io import BytesIO

from pydicom import dcmread
from pydicom.dataset import Dataset

from acme.dicomnet import outputs, results
from acme.dicomnet.destinations import KeyObject
from acme.errors import AcmeError
from acme.events import DispatchRequested, canonical_archive_key
from acme.function import Context, Rejected


class NotCommitted(AcmeError):
    """The report version is not visible yet; retried."""


def objects_to_send(
    ctx: Context, request: DispatchRequested, key_object: KeyObject
) -> list[Dataset]:
    """The SR, then the key object (when the version has what it needs)."""
    with ctx.db.connection() as conn:
        found = results.version_objects(conn, request.report_id, request.version)
    if found is None:
        raise NotCommitted(
            f"report {request.report_id} version {request.version} not committed yet"
        )
    if found.sr_key is None:
        raise Rejected(f"report {request.report_id} version {request.version} has no SR")
    bucket = ctx.settings.buckets.results
    sr = outputs.read_part10(ctx.store.get(bucket, found.sr_key))
    sent = [sr]
    if key_object == "encapsulated-pdf" and found.pdf_key is not None:
        sent.append(
            outputs.encapsulated_pdf(
                sr, ctx.store.get(bucket, found.pdf_key), report_id=found.report_id,
                version=found.version, not_for_diagnosis=found.not_for_diagnosis,
            )
        )  # fmt: skip
    elif key_object == "secondary-capture" and found.key_image is not None:
        source = _key_source(ctx, found.study_uid, found.key_image)
        if source is not None:
            png = ctx.store.get(bucket, found.key_image.key)
            sent.append(
                outputs.secondary_capture(
                    sr, png, source, report_id=found.report_id, version=found.version,
                    not_for_diagnosis=found.not_for_diagnosis,
                )
            )  # fmt: skip
        else:
            ctx.log.warning("key image not sent: its source has no Patient Orientation",
                            sop_uid=found.key_image.sop_uid)  # fmt: skip
    return sent


def _key_source(ctx: Context, study_uid: str, ref: results.KeyImageRef) -> outputs.KeySource | None:
    key = canonical_archive_key(study_uid, ref.series_uid, ref.sop_uid)
    header = dcmread(
        BytesIO(ctx.store.get(ctx.settings.buckets.archive, key)), stop_before_pixels=True
    )
    orientation = [str(v) for v in header.get("PatientOrientation") or []]
    if len(orientation) != 2 or not all(orientation):
        return None
    body_part = str(header.get("BodyPartExamined") or "").strip() or None
    return outputs.KeySource(
        ref.sop_class_uid, ref.sop_uid, (orientation[0], orientation[1]), body_part
    )
