"""The audit HTTP API: query the trail, verify the chain, export FHIR AuditEvents.

Every route reads audit records, which name patients' studies and who looked at them: each
is ``phi=True`` (its every use is itself recorded) and needs ``audit:read`` or
``audit:export`` (docs/auth.md).
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

from acme.audit import (
    Anchor,
    AuditQuery,
    Verification,
    audit_bundle,
    bundle_json,
    query_rows,
    verify_trail,
)
from acme.auth import Permission
from acme.events.models import describe_validation_error
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body, HttpApi
from audit.models import AuditRecord, AuditRecords, ExportParams, RecordsParams, VerifyParams

FHIR_JSON = "application/fhir+json"
P = TypeVar("P", bound=BaseModel)

routes = HttpApi("audit", title="Audit trail")


@routes.get(
    "/records",
    permission=Permission.AUDIT_READ,
    phi=True,
    action="search",
    query=RecordsParams,
    response=AuditRecords,
)
def search_records(ctx: Context, request: ApiRequest) -> AuditRecords:
    """Records by study, actor, type and time range, newest first, a page at a time."""
    params = _params(RecordsParams, request)
    request.study_uid = params.study
    page = query_rows(ctx.db, _query(params))
    return AuditRecords(
        records=[AuditRecord.of(row) for row in page.rows], next_cursor=page.next_cursor
    )


@routes.get(
    "/records/<int(min=1):row_id>",
    permission=Permission.AUDIT_READ,
    phi=True,
    response=AuditRecord,
)
def read_record(ctx: Context, request: ApiRequest) -> AuditRecord:
    """One record by its position in the chain."""
    row_id = int(request.path_params["row_id"])
    page = query_rows(ctx.db, AuditQuery(after=max(row_id - 1, 0), limit=1))
    if row_id < 1 or not page.rows or page.rows[0].id != row_id:
        raise ApiError(404, "not-found", f"no audit record {row_id}")
    request.study_uid = page.rows[0].study_uid
    return AuditRecord.of(page.rows[0])


@routes.get(
    "/verify", permission=Permission.AUDIT_READ, phi=True, query=VerifyParams, response=Verification
)
def verify(ctx: Context, request: ApiRequest) -> Verification:
    """Check the whole chain; name the first missing, relinked or altered record.

    ``?head=ID:HASH`` (a head reported earlier) also catches the newest records removed.
    """
    params = _params(VerifyParams, request)
    anchor = None
    if params.head is not None:
        try:
            anchor = Anchor.parse(params.head)
        except ValueError as exc:
            raise ApiError(422, "invalid-query", f"head: {exc}") from None
    return verify_trail(ctx.db, anchor=anchor)


@routes.get(
    "/export",
    permission=Permission.AUDIT_EXPORT,
    phi=True,
    action="export",
    query=ExportParams,
    media_types=(FHIR_JSON,),
)
def export(ctx: Context, request: ApiRequest) -> Body:
    """FHIR R4 AuditEvents of a study or a time range, as a Bundle (paged by its next link)."""
    params = _params(ExportParams, request)
    request.study_uid = params.study
    page = query_rows(ctx.db, _query(params))
    next_url = None
    if page.next_cursor is not None:
        query = {k: str(v) for k, v in request.query.items() if k != "cursor"}
        next_url = f"/function/audit/export?{urlencode({**query, 'cursor': page.next_cursor})}"
    return Body(bundle_json(audit_bundle(page.rows, next_url=next_url)), FHIR_JSON)


def _params(model: type[P], request: ApiRequest) -> P:
    """The route's validated query (the HTTP layer checked it against ``model``)."""
    params = request.params
    if not isinstance(params, model):
        raise ApiError(422, "invalid-query", f"expected the query of {model.__name__}")
    return params


def _query(params: RecordsParams | ExportParams) -> AuditQuery:
    try:
        return params.query()
    except ValidationError as exc:
        raise ApiError(422, "invalid-query", describe_validation_error(exc)) from None
