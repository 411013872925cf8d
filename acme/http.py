"""HTTP functions: typed routes, a role per route, an OpenAPI document, audited PHI reads.

A function's routes are declared on an :class:`HttpApi`; ``main.py`` exposes it::

    routes = HttpApi("report", title="Reports")

    @routes.get("/reports/<report_id>", permission="reports:read", phi=True,
                response=ReportOut)
    def get_report(ctx: Context, request: ApiRequest) -> ReportOut: ...

    api = http_function(routes)        # the functions-framework target (signature http)

Every route but ``GET /openapi.json`` needs a bearer token (the :class:`AccessPolicy` of
:mod:`acme.auth` verifies it) and the route's permission (401 without a valid token, 403
without the permission). A route marked ``phi=True`` emits ``access.recorded`` for every
attempt, allowed or denied, so the audit trail covers reads as well as events. A handler
returns a pydantic model (sent as JSON), a :class:`Body` (bytes with a media type), or raises
:class:`ApiError` (status + code + message). A JSON body is validated against the route's
``body`` model (422 naming the field). Errors are JSON: ``{"error": code, "detail": text}``.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any, Literal

import flask
import functions_framework
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from acme.auth._principal import AccessPolicy, Principal, Unauthenticated
from acme.errors import AcmeError
from acme.events import AccessRecorded, EventType
from acme.events.models import describe_validation_error
from acme.function import Context, _ProcessContext

Action = Literal["read", "search", "render", "download", "export", "sign", "update"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
OPENAPI_PATH = "/openapi.json"


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


class HttpApi:
    """The routes of one HTTP function, and its OpenAPI document."""

    def __init__(self, name: str, *, title: str, version: str = "1.0.0") -> None:
        self.name = name
        self.title = title
        self.version = version
        self.routes: list[Route] = []

    def route(
        self,
        method: Method,
        path: str,
        *,
        permission: str,
        phi: bool,
        action: Action = "read",
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        media_types: tuple[str, ...] = ("application/json",),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
            self.routes.append(
                Route(
                    method,
                    path,
                    handler,
                    permission,
                    phi,
                    action,
                    summary,
                    body,
                    response,
                    media_types,
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
        )

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document: every route with its permission and PHI flag."""
        from acme._openapi import openapi_document

        return openapi_document(self)


class _Dispatcher:
    """Runs one request: match, authenticate, authorise, validate, handle, audit."""

    def __init__(self, api: HttpApi, policy_factory: Callable[[Context], AccessPolicy]) -> None:
        self.api = api
        self.urls = api.url_map()
        self._policy_factory = policy_factory
        self._policy: AccessPolicy | None = None
        self._lock = threading.Lock()

    def policy(self, ctx: Context) -> AccessPolicy:
        with self._lock:
            if self._policy is None:
                self._policy = self._policy_factory(ctx)
            return self._policy

    def __call__(self, ctx: Context, request: flask.Request) -> flask.Response:
        if request.method == "GET" and request.path.rstrip("/") == OPENAPI_PATH:
            return flask.jsonify(self.api.openapi())
        adapter = self.urls.bind("localhost")
        try:
            index, params = adapter.match(request.path, method=request.method)
        except NotFound:
            return _error(404, "not-found", f"no route {request.method} {request.path}")
        except MethodNotAllowed:
            return _error(405, "method-not-allowed", f"{request.method} is not allowed here")
        route = self.api.routes[int(index)]
        return self._run(ctx, route, request, {k: str(v) for k, v in params.items()})

    def _run(
        self, ctx: Context, route: Route, request: flask.Request, params: dict[str, str]
    ) -> flask.Response:
        request_id = request.headers.get("X-Request-Id") or str(uuid.uuid4())
        source_ip = _source_ip(request)
        policy = self.policy(ctx)
        try:
            principal = policy.authenticate(request.headers.get("Authorization"))
        except Unauthenticated as exc:
            if route.phi:
                _record(ctx, route, request, None, request_id, source_ip, None, "denied")
            answer = _error(401, "unauthenticated", str(exc))
            answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return answer
        if not policy.allows(principal, route.permission):
            if route.phi:
                _record(ctx, route, request, principal, request_id, source_ip, None, "denied")
            return _error(403, "forbidden", f"role(s) {sorted(principal.roles)} lack "
                          f"permission {route.permission!r}")  # fmt: skip
        api_request = ApiRequest(
            principal=principal,
            path_params=params,
            query=dict(request.args),
            headers=dict(request.headers),
            body=None,
            request_id=request_id,
            source_ip=source_ip,
        )
        outcome: Literal["success", "error"] = "error"
        try:
            api_request.body = _parse_body(route, request)
            result = route.handler(ctx, api_request)
            outcome = "success"
            return _answer(result, request_id)
        except ApiError as exc:
            outcome = "success" if exc.status < 500 else "error"
            return _error(exc.status, exc.code, str(exc))
        finally:
            if route.phi:
                _record(ctx, route, request, principal, request_id, source_ip,
                        api_request.study_uid, outcome)  # fmt: skip


def _parse_body(route: Route, request: flask.Request) -> BaseModel | None:
    if route.body is None:
        return None
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(422, "invalid-body", "expected a JSON object body")
    try:
        return route.body.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(422, "invalid-body", describe_validation_error(exc)) from None


def _answer(result: BaseModel | Body, request_id: str) -> flask.Response:
    if isinstance(result, Body):
        response = flask.Response(result.content, mimetype=result.media_type)
        if result.filename:
            response.headers["Content-Disposition"] = f'inline; filename="{result.filename}"'
    else:
        response = flask.Response(result.model_dump_json(), mimetype="application/json")
    response.headers["X-Request-Id"] = request_id
    response.headers["Cache-Control"] = "no-store"  # PHI never sits in shared caches
    return response


def _error(status: int, code: str, detail: str) -> flask.Response:
    response = flask.jsonify({"error": code, "detail": detail})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _source_ip(request: flask.Request) -> str:
    """The caller's address: the gateway's X-Forwarded-For first hop, else the peer."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    for candidate in (forwarded, request.remote_addr or ""):
        try:
            return str(ip_address(candidate))
        except ValueError:
            continue
    return "0.0.0.0"


def _record(
    ctx: Context,
    route: Route,
    request: flask.Request,
    principal: Principal | None,
    request_id: str,
    source_ip: str,
    study_uid: str | None,
    outcome: Literal["success", "denied", "error"],
) -> None:
    """Emit ``access.recorded`` for one attempt at a PHI route."""
    data = AccessRecorded(
        actor=principal.user if principal else "anonymous",
        role=principal.role if principal else "none",
        action=route.action,
        resource=f"{request.method} /function/{ctx.name}{request.path}"[:1024],
        study_uid=study_uid,
        when=datetime.now(UTC),
        source_ip=source_ip,  # type: ignore[arg-type]
        outcome=outcome,
        request_id=request_id[:128],
    )
    ctx.emit(EventType.ACCESS_RECORDED, data)


def http_function(
    api: HttpApi, *, policy: Callable[[Context], AccessPolicy] | None = None
) -> Callable[[flask.Request], flask.Response]:
    """The functions-framework HTTP target serving ``api`` (policy from the settings)."""
    from acme.auth import policy_from_settings

    process = _ProcessContext(api.name)
    dispatcher = _Dispatcher(api, policy or (lambda ctx: policy_from_settings(ctx.settings)))

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
    return _Dispatcher(api, lambda _ctx: policy)
