"""The report HTTP API: list and read reports in every form, sign, amend.

Every route reads or changes a patient's report: each is ``phi=True`` (every use is recorded
as ``access.recorded``) and needs ``reports:read``, ``reports:sign`` or ``reports:amend``
(docs/auth.md). Sign and amend name the version the client reviewed, as ``If-Match: "2"``
or ``{"version": 2}``; a report that has moved on answers 409 ``version-conflict``, and a
study that cannot be signed now (a series still pending, new images arriving) 409
``study-state`` with the reason.

    GET  /reports?status=&study=&limit=&offset=
    GET  /reports/<id>                                   report, versions, current content
    GET  /reports/<id>/versions/<n>                      one version's content
    GET  /reports/<id>/versions/<n>/report.fhir.json     FHIR R4 Bundle
    GET  /reports/<id>/versions/<n>/report.sr.dcm        DICOM SR
    GET  /reports/<id>/versions/<n>/report.html
    GET  /reports/<id>/versions/<n>/report.pdf
    POST /reports/<id>/sign                              {version?, impression?}
    POST /reports/<id>/amend                             {version?, impression, reason}
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from acme.auth import Permission, grants
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body, HttpApi
from acme.lifecycle import StudyConflict
from report import review
from report.api_models import ListParams, ReportDetail, ReportList, ReportSummary, VersionDetail
from report.api_models import VersionSummary as Summary
from report.artifacts import FORMS, Kind
from report.errors import (
    ArtifactMissing,
    InvalidRequest,
    PreconditionRequired,
    ReportError,
    ReportNotFound,
    VersionConflict,
)
from report.review import AmendRequest, Signer, SignRequest

routes = HttpApi("report", title="Reports")
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


@contextmanager
def _answers() -> Iterator[None]:
    """The report errors as HTTP answers."""
    try:
        yield
    except ReportNotFound as exc:
        raise ApiError(404, "not-found", str(exc)) from None
    except VersionConflict as exc:
        raise ApiError(409, "version-conflict", str(exc)) from None
    except StudyConflict as exc:
        raise ApiError(409, "study-state", str(exc)) from None
    except InvalidRequest as exc:
        raise ApiError(422, "invalid-request", str(exc)) from None
    except PreconditionRequired as exc:
        raise ApiError(428, "precondition-required", str(exc)) from None
    except ArtifactMissing as exc:
        raise ApiError(500, "artifact-missing", str(exc)) from None
    except ReportError as exc:
        raise ApiError(500, "report-error", str(exc)) from None


def _base(ctx: Context) -> str:
    return f"/function/{ctx.name}"


def _report_id(request: ApiRequest) -> uuid.UUID:
    return uuid.UUID(str(request.path_params["report_id"]))


@routes.get(
    "/reports",
    permission=Permission.REPORTS_READ,
    phi=True,
    action="search",
    query=ListParams,
    response=ReportList,
)
def list_reports(ctx: Context, request: ApiRequest) -> ReportList:
    """Reports, most recently changed first; filter by status or study."""
    params = request.params
    assert isinstance(params, ListParams)
    request.study_uid = params.study
    rows = review.list_reports(
        ctx, status=params.status, study_uid=params.study, limit=params.limit, offset=params.offset
    )
    return ReportList(
        reports=[ReportSummary.of(r) for r in rows], limit=params.limit, offset=params.offset
    )


@routes.get(
    "/reports/<uuid:report_id>",
    permission=Permission.REPORTS_READ,
    phi=True,
    response=ReportDetail,
)
def get_report(ctx: Context, request: ApiRequest) -> ReportDetail:
    """A report with every version (oldest first) and the current version's content."""
    with _answers():
        report, versions = review.get_report(ctx, _report_id(request))
    request.study_uid = report.study_uid
    return ReportDetail(
        report=ReportSummary.of(report),
        versions=[Summary.of(v, _base(ctx)) for v in versions],
        current=versions[-1].content,
    )


@routes.get(
    "/reports/<uuid:report_id>/versions/<int:version>",
    permission=Permission.REPORTS_READ,
    phi=True,
    response=VersionDetail,
)
def get_version(ctx: Context, request: ApiRequest) -> VersionDetail:
    """One version of a report: its content, author and forms."""
    with _answers():
        row = review.get_version(ctx, _report_id(request), int(request.path_params["version"]))
    request.study_uid = row.content.study.study_uid
    return VersionDetail(version=Summary.of(row, _base(ctx)), content=row.content)


def _form(ctx: Context, request: ApiRequest, kind: Kind) -> Body:
    with _answers():
        row = review.get_version(ctx, _report_id(request), int(request.path_params["version"]))
        request.study_uid = row.content.study.study_uid
        data, form = review.read_form(ctx, row, kind)
    return Body(
        data, form.media_type, filename=f"report-{row.report_id}-v{row.version}-{form.name}"
    )


_VERSION = "/reports/<uuid:report_id>/versions/<int:version>/"


@routes.get(
    _VERSION + FORMS["fhir"].name,
    permission=Permission.REPORTS_READ,
    phi=True,
    action="export",
    media_types=(FORMS["fhir"].media_type,),
)
def get_fhir(ctx: Context, request: ApiRequest) -> Body:
    """The version as a FHIR R4 Bundle (DiagnosticReport, Observations, Patient, ImagingStudy)."""
    return _form(ctx, request, "fhir")


@routes.get(
    _VERSION + FORMS["sr"].name,
    permission=Permission.REPORTS_READ,
    phi=True,
    action="download",
    media_types=(FORMS["sr"].media_type,),
)
def get_sr(ctx: Context, request: ApiRequest) -> Body:
    """The version as a DICOM Comprehensive SR (TID 1500)."""
    return _form(ctx, request, "sr")


@routes.get(
    _VERSION + FORMS["html"].name,
    permission=Permission.REPORTS_READ,
    phi=True,
    action="render",
    media_types=("text/html",),
)
def get_html(ctx: Context, request: ApiRequest) -> Body:
    """The version as a self-contained HTML page."""
    return _form(ctx, request, "html")


@routes.get(
    _VERSION + FORMS["pdf"].name,
    permission=Permission.REPORTS_READ,
    phi=True,
    action="download",
    media_types=(FORMS["pdf"].media_type,),
)
def get_pdf(ctx: Context, request: ApiRequest) -> Body:
    """The version as a PDF."""
    return _form(ctx, request, "pdf")


def _if_match(request: ApiRequest) -> int | None:
    value = next((v for k, v in request.headers.items() if k.lower() == "if-match"), None)
    if value is None:
        return None
    match = _IF_MATCH.match(value)
    if match is None:
        raise ApiError(
            422, "invalid-request", f'If-Match: expected a version like "2", got {value!r}'
        )
    return int(match.group(1))


def _signer(request: ApiRequest, permission: Permission) -> Signer:
    principal = request.principal
    role = next((r for r in sorted(principal.roles) if grants([r], permission)), principal.role)
    return Signer(user=principal.user, role=role)


def _sign(ctx: Context, request: ApiRequest, permission: Permission) -> VersionDetail:
    """Sign or amend (the body's type says which) at the version reviewed."""
    body = request.body
    assert isinstance(body, SignRequest | AmendRequest)
    request.study_uid = review.study_of(ctx, _report_id(request))
    with _answers():
        row = review.sign(
            ctx, _report_id(request), body, _signer(request, permission), version=_if_match(request)
        )
    return VersionDetail(version=Summary.of(row, _base(ctx)), content=row.content)


@routes.post(
    "/reports/<uuid:report_id>/sign",
    permission=Permission.REPORTS_SIGN,
    phi=True,
    action="sign",
    body=SignRequest,
    response=VersionDetail,
    errors=(409, 428),
)
def sign(ctx: Context, request: ApiRequest) -> VersionDetail:
    """Sign the preliminary report at the version reviewed (If-Match or body): final."""
    return _sign(ctx, request, Permission.REPORTS_SIGN)


@routes.post(
    "/reports/<uuid:report_id>/amend",
    permission=Permission.REPORTS_AMEND,
    phi=True,
    action="update",
    body=AmendRequest,
    response=VersionDetail,
    errors=(409, 428),
)
def amend(ctx: Context, request: ApiRequest) -> VersionDetail:
    """Amend the signed report at the version reviewed: a new impression and the reason."""
    return _sign(ctx, request, Permission.REPORTS_AMEND)
