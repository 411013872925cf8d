"""STOW-RS (PS3.18 10.5): instances stored into dicom-inbox, ingested by the normal pipeline.

Each ``application/dicom`` part is checked to be a DICOM file naming its SOP Class, SOP
Instance and Study Instance UIDs (and, under ``/studies/{study}``, that study); a part that is
not fails alone and is not stored. Each part that is goes into dicom-inbox under a key of its
own, ``stow/<yyyy>/<mm>/<dd>/<random>.dcm`` (never from the client's UIDs), where ingest
validates, archives and indexes it as any upload (docs/architecture.md §2).

The answer waits up to ``ACME_STOW_WAIT_SECONDS`` for the ingest ledger to settle each part:
archived or duplicate → Referenced SOP Sequence (with its Retrieve URL); quarantined → Failed
SOP Sequence with a Failure Reason and, in the private element (0009,1001) of creator
``ACME IMAGING 1.0``, the quarantine reason code (e.g. ``corrupt-pixel-data``), with the
detail in (0009,1002). A part still unsettled when the wait ends is referenced with the
status ``pending`` in (0009,1001): it is in the inbox and will be ingested, and the ledger
(ingest-api ``/objects?key=``, the key in (0009,1003)) or the change feed says how it ended.

Status: 200 when every part was stored; 202 when some failed or are pending; 409 when none
was stored; the body is the response dataset in each case.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, Final

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from acme.auth import Permission
from acme.events.values import DICOM_UID_PATTERN
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body
from acme.ledger import LedgerEntry, latest_by_key
from worklist.dicomjson import Json, dataset, element
from worklist.links import DICOMWEB, dicomweb_root, instance_url, study_url
from worklist.multipart import Part, boundary_of, split
from worklist.routes import routes

CREATOR: Final = "ACME IMAGING 1.0"
CANNOT_UNDERSTAND: Final = 0xC000
NOT_THIS_STUDY: Final = 0xA900
OUT_OF_RESOURCES: Final = 0xA700
DUPLICATE_SOP: Final = 0x0111
_REASON_CODES: Final = {"too-large": OUT_OF_RESOURCES, "uid-conflict": DUPLICATE_SOP}
_POLL: Final = 0.25
_DECODE_ERRORS = (InvalidDicomError, ValueError, TypeError, KeyError, EOFError, OSError)


@dataclass
class Outcome:
    """What became of one part."""

    sop_class_uid: str | None
    sop_uid: str | None
    study_uid: str | None
    series_uid: str | None
    key: str | None = None
    failure: int | None = None
    reason: str | None = None
    detail: str | None = None
    pending: bool = False


def check_part(part: Part, number: int, study: str | None) -> Outcome:
    """Whether ``part`` is a DICOM file to store (under ``study`` when given)."""
    media = part.content_type.split(";")[0].strip().lower()
    if media != "application/dicom":
        return _failed(number, "not-dicom", f"Content-Type {media!r}, expected application/dicom")
    try:
        ds = dcmread(BytesIO(part.content), stop_before_pixels=True)
        uids = [
            str(ds.get(k, "") or "")
            for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
        ]
    except _DECODE_ERRORS as exc:
        return _failed(number, "not-dicom", f"not a DICOM file ({type(exc).__name__})")
    sop_class, sop, study_uid, series_uid = uids
    named = Outcome(sop_class or None, sop or None, study_uid or None, series_uid or None)
    for keyword, value in zip(("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"),
                              uids, strict=False):  # fmt: skip
        if not value or len(value) > 64 or not re.match(DICOM_UID_PATTERN, value):
            named.failure, named.reason = CANNOT_UNDERSTAND, f"invalid-attribute:{keyword}"
            named.detail = f"part {number}: {keyword} is missing or not a UID"
            return named
    if study is not None and study_uid != study:
        named.failure, named.reason = NOT_THIS_STUDY, "invalid-attribute:StudyInstanceUID"
        named.detail = f"part {number}: the instance is of another study than {study}"
    return named


def _failed(number: int, reason: str, detail: str) -> Outcome:
    return Outcome(None, None, None, None, failure=CANNOT_UNDERSTAND, reason=reason,
                   detail=f"part {number}: {detail}")  # fmt: skip


def inbox_key(now: datetime) -> str:
    """A key of the STOW-RS request's own for one part."""
    return f"stow/{now:%Y/%m/%d}/{uuid.uuid4().hex}.dcm"


def store_parts(ctx: Context, parts: list[Part], study: str | None) -> list[Outcome]:
    """Check each part, put the good ones into the inbox, wait for the ledger to settle them."""
    outcomes = [check_part(part, n, study) for n, part in enumerate(parts, start=1)]
    inbox = ctx.settings.buckets.inbox
    now = datetime.now(UTC)
    for part, outcome in zip(parts, outcomes, strict=True):
        if outcome.failure is None:
            outcome.key = inbox_key(now)
            ctx.store.put(inbox, outcome.key, part.content, content_type="application/dicom")
    _await_ledger(ctx, [o for o in outcomes if o.key is not None])
    return outcomes


def _await_ledger(ctx: Context, stored: list[Outcome]) -> None:
    deadline = time.monotonic() + ctx.settings.stow_wait_seconds
    waiting = {o.key: o for o in stored if o.key is not None}
    while waiting:
        for key, entry in latest_by_key(ctx.db, ctx.settings.buckets.inbox, waiting).items():
            _settled(waiting.pop(key), entry)
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(_POLL)
    for outcome in waiting.values():
        outcome.pending = True


def _settled(outcome: Outcome, entry: LedgerEntry) -> None:
    if entry.outcome == "archived" or (entry.outcome == "duplicate" and entry.sop_uid):
        return
    rejected = entry.quarantine
    code = rejected.reason_code if rejected is not None else "ingest-error"
    outcome.failure = _REASON_CODES.get(code, CANNOT_UNDERSTAND)
    outcome.reason = code
    outcome.detail = rejected.detail if rejected is not None else entry.describe()


def response(outcomes: list[Outcome], root: str) -> tuple[int, Json]:
    """The status and the Store Instances Response dataset (PS3.18 10.5.3)."""
    referenced = [o for o in outcomes if o.failure is None]
    failed = [o for o in outcomes if o.failure is not None]
    pairs: list[tuple[str, Any]] = []
    studies = {o.study_uid for o in referenced if o.study_uid}
    if len(studies) == 1:
        pairs.append(("RetrieveURL", study_url(root, studies.pop())))
    body = dataset(pairs)
    if failed:
        body.update(_sequence("FailedSOPSequence", [_failed_item(o) for o in failed]))
    if referenced:
        items = [_referenced_item(o, root) for o in referenced]
        body.update(_sequence("ReferencedSOPSequence", items))
    if not referenced:
        return 409, body
    return (202 if failed or any(o.pending for o in referenced) else 200), body


def _sequence(keyword: str, items: list[Json]) -> dict[str, Json]:
    tag, _empty = element(keyword, None)
    return {tag: {"vr": "SQ", "Value": items}}


def _private(code: str | None, detail: str | None, key: str | None) -> Json:
    item: Json = {"00090010": {"vr": "LO", "Value": [CREATOR]}}
    if code:
        item["00091001"] = {"vr": "LO", "Value": [code[:64]]}
    if detail:
        item["00091002"] = {"vr": "LT", "Value": [detail[:10240]]}
    if key:
        item["00091003"] = {"vr": "LT", "Value": [key]}
    return item


def _failed_item(outcome: Outcome) -> Json:
    item = dataset(
        [
            ("ReferencedSOPClassUID", outcome.sop_class_uid),
            ("ReferencedSOPInstanceUID", outcome.sop_uid),
            ("FailureReason", outcome.failure),
        ]
    )
    item.update(_private(outcome.reason, outcome.detail, outcome.key))
    return item


def _referenced_item(outcome: Outcome, root: str) -> Json:
    url = None
    if outcome.study_uid and outcome.series_uid and outcome.sop_uid:
        url = instance_url(root, outcome.study_uid, outcome.series_uid, outcome.sop_uid)
    item = dataset(
        [
            ("ReferencedSOPClassUID", outcome.sop_class_uid),
            ("ReferencedSOPInstanceUID", outcome.sop_uid),
            ("RetrieveURL", url),
        ]
    )
    if outcome.pending:
        item.update(_private("pending", "not yet settled by ingest", outcome.key))
    return item


def _stow(ctx: Context, request: ApiRequest, study: str | None) -> Body:
    if len(request.content) > ctx.settings.ingest_max_bytes:
        raise ApiError(
            413, "too-large",
            f"{len(request.content)} bytes is over the limit of {ctx.settings.ingest_max_bytes}"
            " (ACME_INGEST_MAX_BYTES)",
        )  # fmt: skip
    content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    kind = next(
        (v.split("=", 1)[1].strip().strip('"').lower() for v in content_type.split(";")[1:]
         if v.strip().lower().startswith("type=")),
        "application/dicom",
    )  # fmt: skip
    if kind != "application/dicom":
        raise ApiError(
            415, "unsupported-media-type",
            f"multipart/related; type={kind!r}: only application/dicom parts are taken",
        )  # fmt: skip
    parts = split(request.content, boundary_of(content_type))
    if not parts:
        raise ApiError(400, "invalid-body", "the request holds no part")
    outcomes = store_parts(ctx, parts, study)
    stored = {o.study_uid for o in outcomes if o.failure is None and o.study_uid}
    request.study_uid = study or (stored.pop() if len(stored) == 1 else None)
    status, body = response(
        outcomes, dicomweb_root(request.headers, ctx.name, ctx.settings.public_url)
    )
    return Body(json.dumps(body, separators=(",", ":")).encode(), DICOM_JSON, status=status)


DICOM_JSON: Final = "application/dicom+json"
_STORE = {
    "permission": Permission.IMAGES_STORE,
    "phi": True,
    "action": "update",
    "accepts": ("multipart/related",),
    "media_types": (DICOM_JSON,),
    "answers": (202, 409),
    "errors": (413,),
}


@routes.post(DICOMWEB + "/studies", **_STORE)
def stow_studies(ctx: Context, request: ApiRequest) -> Body:
    """Store instances (multipart/related; type="application/dicom").

    Each part goes into dicom-inbox and through ingest; the answer waits a few seconds for
    the outcome of each (ACME_STOW_WAIT_SECONDS) and lists it: stored, failed with a reason,
    or pending.
    """
    return _stow(ctx, request, None)


@routes.post(DICOMWEB + "/studies/<uid:study>", **_STORE)
def stow_study(ctx: Context, request: ApiRequest) -> Body:
    """Store instances of one study (an instance of another study fails alone)."""
    return _stow(ctx, request, request.path_params["study"])
