"""HTTP functions: typed routes, a role per route, an OpenAPI document, audited PHI reads.

A function's routes are declared on an :class:`HttpApi`; ``main.py`` exposes it::

    routes = HttpApi("report", title="Reports")

    @routes.get("/reports/<uuid:report_id>", permission="reports:read", phi=True,
                query=ListParams, response=ReportOut, errors=(409,))
    def get_report(ctx: Context, request: ApiRequest) -> ReportOut: ...

    api = http_function(routes)        # the functions-framework target (signature http)

Every route but ``GET /openapi.json`` needs a bearer token (the :class:`AccessPolicy` of
:mod:`acme.auth` verifies it) and the route's permission (401 without a valid token, 403
without the permission). A route marked ``phi=True`` emits ``access.recorded`` for every
attempt, allowed or denied, so the audit trail covers reads as well as events; unauthenticated
attempts are recorded up to ``ACME_AUDIT_ANONYMOUS_LIMIT`` per source address and minute, then
answered 429 unrecorded, so a flood cannot monopolise the trail. A handler returns a pydantic
model (sent as JSON), a :class:`Body` (bytes with a media type), or raises :class:`ApiError`
(status + code + message). The query string is validated against the route's ``query`` model
and a JSON body against its ``body`` model (422 naming the field). Errors are JSON:
``{"error": code, "detail": text}``. The OpenAPI document declares every status a route can
answer (:func:`acme._openapi.statuses`); ``errors`` names those a handler raises itself.

A query field typed as a list takes every value of a repeated parameter (``?f=a&f=b``); other
fields take the first. An API may answer an invalid query with 400 instead of 422
(``HttpApi(..., invalid_query=400)``, as DICOMweb requires). A route that takes a body other
than JSON names its media types (``accepts=``): the handler reads the bytes from
:attr:`ApiRequest.content`, and another Content-Type is answered 415. Path parameters may use
the converters of :data:`CONVERTERS` (``<uid:study>``, ``<frames:numbers>``,
``<tagpath:path>``), each declared in the OpenAPI document with its pattern.

Browsers calling from another origin (the SPA, a viewer) are allowed when their origin is in
``ACME_CORS_ORIGINS``: a preflight ``OPTIONS`` is answered without a token, and answers carry
``Access-Control-Allow-Origin`` for that origin only.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Final, Literal

import flask
import functions_framework
from pydantic import AwareDatetime, BaseModel, BeforeValidator
from werkzeug.routing import BaseConverter, Map, Rule

from acme.auth._principal import AccessPolicy, Principal
from acme.errors import AcmeError
from acme.events.values import DICOM_UID_PATTERN
from acme.function import Context, _ProcessContext

_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: object) -> object:
    if isinstance(value, str) and not _ISO_INSTANT.match(value):
        raise ValueError(
            "expected an ISO 8601 date and time with its offset, e.g. 2026-03-04T05:06:07Z"
        )
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
"""A query parameter naming an instant: ISO 8601 text with an offset, never a bare number
(which pydantic would otherwise read as seconds since the epoch)."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_text(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date, e.g. 2026-03-04")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
"""A query parameter naming a day: ``YYYY-MM-DD``, never a bare number."""

Action = Literal["read", "search", "render", "download", "export", "sign", "update"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
OPENAPI_PATH = "/openapi.json"


class UidConverter(BaseConverter):
    """A DICOM UID path segment: digits and dots, at most 64 characters."""

    regex = r"(?=[0-9.]{1,64}$)" + DICOM_UID_PATTERN.strip("^$")
    schema: Final = {"type": "string", "pattern": DICOM_UID_PATTERN, "maxLength": 64}


class FrameListConverter(BaseConverter):
    """A comma-separated list of frame numbers (1-based), as WADO-RS names frames."""

    regex = r"[1-9][0-9]{0,8}(?:,[1-9][0-9]{0,8}){0,999}"
    schema: Final = {"type": "string", "pattern": f"^{regex}$"}


class TagPathConverter(BaseConverter):
    """A path to a data element: tags (8 hex digits), through sequence items (``/index/``)."""

    regex = r"[0-9A-Fa-f]{8}(?:/[0-9]{1,6}/[0-9A-Fa-f]{8}){0,8}"
    schema: Final = {"type": "string", "pattern": f"^{regex}$"}
    part_isolating = False


CONVERTERS: Final[Mapping[str, type[BaseConverter]]] = {
    "uid": UidConverter,
    "frames": FrameListConverter,
    "tagpath": TagPathConverter,
}
"""Path converters beyond werkzeug's own, each with the JSON Schema the OpenAPI document gives."""


class ApiError(AcmeError):
    """An HTTP error answer: ``status``, a machine-readable ``code`` and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Body:
    """A non-JSON answer (HTML, PDF, DICOM, FHIR JSON) with its media type."""

    content: bytes
    media_type: str
    filename: str | None = None
    status: int = 200
    """Another success status the route declares in ``answers`` (202, or 409 with a body)."""


@dataclass
class ApiRequest:
    """What a handler sees of one request."""

    principal: Principal
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: BaseModel | None
    request_id: str
    source_ip: str
    params: BaseModel | None = None
    """The query string validated by the route's ``query`` model."""
    content: bytes = b""
    """The request body, for a route that ``accepts`` a media type other than JSON."""
    study_uid: str | None = field(default=None)
    """Set by a handler to the study the request touched, for the access record."""


Handler = Callable[[Context, ApiRequest], BaseModel | Body]


@dataclass(frozen=True)
class Route:
    method: Method
    path: str
    handler: Handler
    permission: str
    phi: bool
    action: Action
    summary: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    media_types: tuple[str, ...]
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    """Error statuses the handler itself raises (beyond those the layer answers)."""
    accepts: tuple[str, ...] = ()
    """Media types of a body that is not JSON (the handler reads ``request.content``)."""
    answers: tuple[int, ...] = ()
    """Statuses besides 200 answered with the route's own media types (a :class:`Body`)."""
    description: str | None = None
    """Longer text for the OpenAPI document (the docstring's paragraphs after the first)."""


class HttpApi:
    """The routes of one HTTP function, and its OpenAPI document."""

    def __init__(
        self,
        name: str,
        *,
        title: str,
        version: str = "1.0.0",
        invalid_query: Literal[400, 422] = 422,
        description: str | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self.version = version
        self.invalid_query = invalid_query
        self.description = description
        self.routes: list[Route] = []

    def route(
        self,
        method: Method,
        path: str,
        *,
        permission: str,
        phi: bool,
        action: Action = "read",
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        media_types: tuple[str, ...] = ("application/json",),
        errors: tuple[int, ...] = (),
        accepts: tuple[str, ...] = (),
        answers: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            text = (handler.__doc__ or handler.__name__).strip()
            summary = text.splitlines()[0]
            rest = text.partition("\n\n")[2].strip()
            self.routes.append(
                Route(
                    method=method,
                    path=path,
                    handler=handler,
                    permission=permission,
                    phi=phi,
                    action=action,
                    summary=summary,
                    body=body,
                    response=response,
                    media_types=media_types,
                    query=query,
                    errors=errors,
                    accepts=accepts,
                    answers=answers,
                    description=inspect.cleandoc(rest) if rest else None,
                )
            )
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def url_map(self) -> Map:
        return Map(
            [Rule(r.path, methods=[r.method], endpoint=i) for i, r in enumerate(self.routes)],
            strict_slashes=False,
            converters=dict(CONVERTERS),
        )

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document: every route with its permission and PHI flag."""
        from acme._openapi import openapi_document

        return openapi_document(self)


def http_function(
    api: HttpApi, *, policy: Callable[[Context], AccessPolicy] | None = None
) -> Callable[[flask.Request], flask.Response]:
    """The functions-framework HTTP target serving ``api`` (policy from the settings)."""
    from acme._dispatch import Dispatcher
    from acme.auth import policy_from_settings

    process = _ProcessContext(api.name)
    dispatcher = Dispatcher(api, policy or (lambda ctx: policy_from_settings(ctx.settings)))

    @functools.wraps(dispatcher.__call__)
    def target(request: flask.Request) -> flask.Response:
        return dispatcher(process.get(), request)

    registered: Any = functions_framework.http(target)
    wrapped: Callable[[flask.Request], flask.Response] = registered
    return wrapped


def dispatcher_for(
    api: HttpApi, policy: AccessPolicy
) -> Callable[[Context, flask.Request], flask.Response]:
    """Run ``api`` with a given context and policy (tests and tools)."""
    from acme._dispatch import Dispatcher

    return Dispatcher(api, lambda _ctx: policy)
