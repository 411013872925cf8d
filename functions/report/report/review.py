"""The clinicians' side: read reports, sign them, amend signed ones.

Plain functions of a :class:`~acme.function.Context` and typed inputs; the HTTP routes in
:mod:`report.api` only translate. Signing and amending are one step, :func:`sign`, told apart
by the request: each adds a version (every earlier one stays readable), moves the study
(reported -> signed, or signed -> signed), and emits ``report.signed``. Both are optimistic:
the request names the version the client saw, and a report that has moved on since answers
:class:`VersionConflict` (HTTP 409); so does signing a signed report (amend it) or amending
an unsigned one (sign it). A study that cannot take the step (say a series is still pending,
or new images arrived) answers :class:`~acme.lifecycle.StudyConflict` (HTTP 409) saying why.

- :class:`SignRequest`: preliminary -> ``final``; optional edited impression.
- :class:`AmendRequest`: final/amended -> ``amended``; a new impression and a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from acme.events import EventType
from acme.function import Context
from acme.lifecycle import Step, allows, conflict, require
from acme.storage import ObjectNotFoundError
from report import artifacts, store
from report.artifacts import Form, Kind
from report.content import ReportContent, ReportStatus, Signature, issued_now
from report.emit import signed_data, signed_id
from report.errors import (
    ArtifactMissing,
    InvalidRequest,
    PreconditionRequired,
    ReportNotFound,
    VersionConflict,
)

Impression = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)
]


class SignRequest(BaseModel):
    """Sign the version the client reviewed, optionally with an edited impression."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int | None = Field(
        default=None, ge=1, description="The version reviewed (or send it as If-Match)."
    )
    impression: Impression | None = None


class AmendRequest(BaseModel):
    """Amend a signed report: the corrected impression and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int | None = Field(
        default=None, ge=1, description="The version amended (or send it as If-Match)."
    )
    impression: Impression
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


@dataclass(frozen=True)
class Signer:
    """Who signs: the token's user id and role; ``name`` as printed (defaults to the id)."""

    user: str
    role: str
    name: str | None = None


def sign(
    ctx: Context,
    report_id: uuid.UUID,
    request: SignRequest | AmendRequest,
    signer: Signer,
    *,
    version: int | None = None,
) -> store.VersionRow:
    """Sign the preliminary report, or amend the signed one (see the module docstring);
    ``version`` is the If-Match header's, which must agree with the request's."""
    amending = isinstance(request, AmendRequest)
    return _signed_version(
        ctx,
        report_id,
        (version, request.version),
        signer,
        status="amended" if amending else "final",
        impression=request.impression,
        reason=request.reason if isinstance(request, AmendRequest) else None,
    )


def _expected(header: int | None, body: int | None) -> int:
    if header is not None and body is not None and header != body:
        raise InvalidRequest(f"If-Match names version {header} but the body version {body}")
    expected = header if header is not None else body
    if expected is None:
        raise PreconditionRequired(
            "name the version reviewed, as If-Match or as the body's version"
        )
    return expected


def _check(report: store.ReportRow, expected: int, status: ReportStatus) -> None:
    current = report.current_version
    if current != expected:
        raise VersionConflict(
            f"report {report.id} is at version {current}; the request was made against version "
            f"{expected}: reload it and review again",
            current_version=current,
        )
    if status == "final" and report.status != "preliminary":
        raise VersionConflict(
            f"version {current} of report {report.id} is already {report.status}; amend it",
            current_version=current,
        )
    if status == "amended" and report.status == "preliminary":
        raise VersionConflict(
            f"report {report.id} is not signed yet; sign it instead", current_version=current
        )


def _signed_version(
    ctx: Context,
    report_id: uuid.UUID,
    versions: tuple[int | None, int | None],
    signer: Signer,
    *,
    status: Literal["final", "amended"],
    impression: str | None,
    reason: str | None,
) -> store.VersionRow:
    bucket = ctx.settings.buckets.results
    step = Step.REPORT_AMENDED if status == "amended" else Step.REPORT_SIGNED
    with ctx.transaction() as tx:
        conn = tx.conn
        found = store.find_report(conn, report_id)
        if found is None:
            raise ReportNotFound(f"no report {report_id}")
        expected = _expected(*versions)  # (If-Match, body): after 404, before any change
        store.lock_study(conn, found.study_uid)
        report = store.find_report(conn, report_id)
        assert report is not None
        _check(report, expected, status)
        state = store.study_state(conn, report.study_uid)
        if state is None or not allows(state, step):
            raise conflict(conn, report.study_uid, step)
        current = store.find_version(conn, report_id, report.current_version, bucket)
        assert current is not None
        now = issued_now()
        content = ReportContent.model_validate(
            current.content.model_dump()
            | {
                "version": report.current_version + 1,
                "status": status,
                "issued": now,
                "impression": impression or current.content.impression,
                "signature": Signature(
                    user=signer.user, role=signer.role, name=signer.name or signer.user, at=now
                ),
                "amendment_reason": reason,
            }
        )
        stored = artifacts.publish(
            ctx,
            content,
            images=artifacts.load_images(ctx, content),
            evidence=artifacts.load_evidence(ctx, content),
            previous=[artifacts.load_sr(ctx, current.artifacts)],
        )
        if not store.advance(
            conn,
            report_id,
            expected_version=expected,
            status=status,
            signed_by=signer.user,
            signed_at=now,
        ):
            raise VersionConflict(f"report {report_id} moved on", current_version=expected + 1)
        store.insert_version(conn, content, stored, author=signer.user, author_role=signer.role)
        require(conn, report.study_uid, step)  # the study may have moved while rendering
        tx.emit(EventType.REPORT_SIGNED, signed_data(content), event_id=signed_id(content))
        row = store.find_version(conn, report_id, content.version, bucket)
        assert row is not None
    ctx.log.info(
        "report signed",
        report_id=str(report_id),
        version=content.version,
        status=status,
        signer=signer.user,
    )
    return row


def get_report(
    ctx: Context, report_id: uuid.UUID
) -> tuple[store.ReportRow, list[store.VersionRow]]:
    """The report and every version of it, oldest first."""
    with ctx.db.connection() as conn:
        report = store.find_report(conn, report_id)
        if report is None:
            raise ReportNotFound(f"no report {report_id}")
        return report, store.versions(conn, report_id, ctx.settings.buckets.results)


def study_of(ctx: Context, report_id: uuid.UUID) -> str | None:
    """The study a report is about (None when there is no such report)."""
    with ctx.db.connection() as conn:
        report = store.find_report(conn, report_id)
    return report.study_uid if report else None


def get_version(ctx: Context, report_id: uuid.UUID, version: int | None = None) -> store.VersionRow:
    """One version of a report (the current one when ``version`` is None)."""
    with ctx.db.connection() as conn:
        report = store.find_report(conn, report_id)
        if report is None:
            raise ReportNotFound(f"no report {report_id}")
        wanted = version if version is not None else report.current_version
        row = store.find_version(conn, report_id, wanted, ctx.settings.buckets.results)
    if row is None:
        raise ReportNotFound(
            f"report {report_id} has no version {wanted} (versions 1..{report.current_version})"
        )
    return row


def list_reports(
    ctx: Context,
    *,
    status: ReportStatus | None = None,
    study_uid: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[store.ReportRow]:
    with ctx.db.connection() as conn:
        return store.list_reports(
            conn, status=status, study_uid=study_uid, limit=limit, offset=offset
        )


def read_form(ctx: Context, row: store.VersionRow, kind: Kind) -> tuple[bytes, Form]:
    """One rendered form of a version, from the results bucket."""
    form = artifacts.FORMS[kind]
    key = artifacts.key_of(row.artifacts, kind)
    if key is None:
        raise ArtifactMissing(f"version {row.version} of report {row.report_id} has no {kind}")
    try:
        return ctx.store.get(row.artifacts.bucket, key), form
    except ObjectNotFoundError:
        raise ArtifactMissing(
            f"the {kind} of version {row.version} of report {row.report_id} is missing"
        ) from None
