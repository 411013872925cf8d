"""Running one request of an HTTP function: match, authenticate, authorise, validate, handle,
audit (the behaviour :mod:`acme.http` documents)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, get_origin

import flask
from pydantic import AliasChoices, BaseModel, ValidationError
from werkzeug.exceptions import MethodNotAllowed, NotFound

from acme.auth import DeliveryVerifier
from acme.auth._delivery import CLIENT_CLAIM, FORWARDED_HEADER
from acme.auth._principal import AccessPolicy, Principal, Unauthenticated
from acme.clientaddr import client_address, parse_ip
from acme.errors import BusError, DatabaseError, StorageError
from acme.events import AccessRecorded, EventType
from acme.events.models import describe_validation_error
from acme.function import Context
from acme.http import OPENAPI_PATH, ApiError, ApiRequest, Body, HttpApi, Route
from acme.log import get_logger
from acme.ratelimit import FixedWindow

Outcome = Literal["success", "denied", "error"]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_UNAVAILABLE = (DatabaseError, StorageError, BusError)
_ALLOWED_HEADERS = "Authorization, Accept, Content-Type, If-Match, X-Request-Id"
_EXPOSED = "Content-Disposition, Content-Type, Retry-After, Warning, X-Request-Id"
_logger = get_logger(__name__)


class Dispatcher:
    """The routes of one :class:`HttpApi` behind one functions-framework target."""

    def __init__(self, api: HttpApi, policy_factory: Callable[[Context], AccessPolicy]) -> None:
        self.api = api
        self.urls = api.url_map()
        self._policy_factory = policy_factory
        self._policy: AccessPolicy | None = None
        self._forwarded: DeliveryVerifier | None = None
        self._limit: FixedWindow | None = None
        self._lock = threading.Lock()

    def policy(self, ctx: Context) -> AccessPolicy:
        with self._lock:
            if self._policy is None:
                self._policy = self._policy_factory(ctx)
            return self._policy

    def __call__(self, ctx: Context, request: flask.Request) -> flask.Response:
        origin = request.headers.get("Origin")
        allowed = origin is not None and origin in ctx.settings.cors_origin_set
        if request.method == "OPTIONS" and origin is not None:
            answer = self._preflight(request, allowed)
        else:
            answer = self._answer(ctx, request)
        if allowed:
            answer.headers["Access-Control-Allow-Origin"] = str(origin)
            answer.headers["Access-Control-Expose-Headers"] = _EXPOSED
        answer.vary.add("Origin")
        return answer

    def _preflight(self, request: flask.Request, allowed: bool) -> flask.Response:
        """A CORS preflight: which methods and headers a browser may send from its origin."""
        if not allowed:
            return _error(403, "origin-not-allowed", "this origin is not in ACME_CORS_ORIGINS")
        methods = self._methods(request.path)
        if not methods:
            return _error(404, "not-found", f"no route {request.path}")
        answer = flask.Response(status=204)
        answer.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        answer.headers["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
        answer.headers["Access-Control-Max-Age"] = "600"
        return answer

    def _methods(self, path: str) -> list[str]:
        adapter = self.urls.bind("localhost")
        found = []
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            try:
                adapter.match(path, method=method)
            except (NotFound, MethodNotAllowed):
                continue
            found.append(method)
        if path.rstrip("/") == OPENAPI_PATH:
            found.append("GET")
        return sorted(set(found))

    def _answer(self, ctx: Context, request: flask.Request) -> flask.Response:
        if request.method == "GET" and request.path.rstrip("/") == OPENAPI_PATH:
            return flask.jsonify(self.api.openapi())
        adapter = self.urls.bind("localhost")
        try:
            index, params = adapter.match(request.path, method=request.method)
        except NotFound:
            return _error(404, "not-found", f"no route {request.method} {request.path}")
        except MethodNotAllowed as exc:
            answer = _error(405, "method-not-allowed", f"{request.method} is not allowed here")
            answer.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
            return answer
        route = self.api.routes[int(index)]
        return self._run(ctx, route, request, {k: str(v) for k, v in params.items()})

    def source_address(self, ctx: Context, request: flask.Request) -> str:
        """The client's address: what the gateway's verified token says, else the peer (or
        what trusted proxies say, ``ACME_TRUSTED_PROXIES``)."""
        vouched = request.headers.get(FORWARDED_HEADER)
        if vouched:
            try:
                claims = self._verifier(ctx).verify(f"Bearer {vouched}", use="forwarded")
            except Unauthenticated as exc:
                _logger.warning("forwarded-client token refused", error=str(exc))
            else:
                address = parse_ip(str(claims.get(CLIENT_CLAIM, "")))
                if address is not None:
                    return str(address)
        headers = dict(request.headers)
        return client_address(request.remote_addr, headers, ctx.settings.trusted_networks)

    def _run(
        self, ctx: Context, route: Route, request: flask.Request, params: dict[str, str]
    ) -> flask.Response:
        wanted = request.headers.get("X-Request-Id", "")
        request_id = wanted if _REQUEST_ID.match(wanted) else str(uuid.uuid4())
        source_ip = self.source_address(ctx, request)
        policy = self.policy(ctx)
        audit = _Audit(ctx, route, request, request_id, source_ip)
        try:
            principal = policy.authenticate(request.headers.get("Authorization"))
        except Unauthenticated as exc:
            if route.phi:
                limit = self._anonymous_limit(ctx)
                if not limit.allow(source_ip):
                    answer = _error(
                        429, "too-many-requests",
                        f"more than {limit.limit} unauthenticated attempts from this address "
                        "in a minute (ACME_AUDIT_ANONYMOUS_LIMIT); try again later",
                    )  # fmt: skip
                    answer.headers["Retry-After"] = str(limit.retry_after())
                    return answer
                audit.denied(None)
            answer = _error(401, "unauthenticated", str(exc))
            answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return answer
        if not policy.allows(principal, route.permission):
            if route.phi:
                audit.denied(principal)
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
        outcome: Outcome = "error"
        try:
            api_request.params = _parse_query(route, request, self.api.invalid_query)
            api_request.body = _parse_body(route, request)
            api_request.content = _content(route, request)
            answer = _answer(route.handler(ctx, api_request), request_id)
            outcome = "success"
        except ApiError as exc:
            outcome = "success" if exc.status < 500 else "error"
            answer = _error(exc.status, exc.code, str(exc))
        except _UNAVAILABLE as exc:
            _logger.error("request failed: a server is unavailable", error=type(exc).__name__)
            answer = _unavailable(f"a server this function needs failed ({type(exc).__name__})")
        except Exception:
            audit.attempted(principal, api_request.study_uid, "error")
            raise
        if route.phi and not audit.attempted(principal, api_request.study_uid, outcome):
            return _unavailable("the access could not be recorded; nothing is released unaudited")
        return answer

    def _verifier(self, ctx: Context) -> DeliveryVerifier:
        with self._lock:
            if self._forwarded is None:
                self._forwarded = DeliveryVerifier.from_settings(ctx.settings, ctx.name)
            return self._forwarded

    def _anonymous_limit(self, ctx: Context) -> FixedWindow:
        with self._lock:
            if self._limit is None:
                # per deployment (bucket prefix): platforms sharing one Redis count apart
                self._limit = FixedWindow(
                    ctx.redis,
                    name=f"{ctx.settings.bucket_prefix}anonymous-phi",
                    limit=ctx.settings.audit_anonymous_limit,
                )
            return self._limit


class _Audit:
    """The ``access.recorded`` events of one request to a PHI route."""

    def __init__(
        self, ctx: Context, route: Route, request: flask.Request, request_id: str, source: str
    ) -> None:
        self._ctx = ctx
        self._route = route
        self._resource = f"{request.method} /function/{ctx.name}{request.path}"[:1024]
        self._request_id = request_id
        self._source = source

    def denied(self, principal: Principal | None) -> None:
        """Record a refused attempt (a failure to record is logged: the answer is a refusal)."""
        if not self.attempted(principal, None, "denied"):
            _logger.error("a refused access could not be recorded", resource=self._resource)

    def attempted(
        self, principal: Principal | None, study_uid: str | None, outcome: Outcome
    ) -> bool:
        """Emit the record; False when the bus refused it."""
        data = AccessRecorded(
            actor=principal.user if principal else "anonymous",
            role=principal.role if principal else "none",
            action=self._route.action,
            resource=self._resource,
            study_uid=study_uid,
            when=datetime.now(UTC),
            source_ip=self._source,  # type: ignore[arg-type]
            outcome=outcome,
            request_id=self._request_id,
        )
        try:
            self._ctx.emit(EventType.ACCESS_RECORDED, data)
        except BusError as exc:
            _logger.error("access record not published", error=str(exc))
            return False
        return True


def _parse_query(route: Route, request: flask.Request, status: int) -> BaseModel | None:
    if route.query is None:
        return None
    lists = _list_parameters(route.query)
    values: dict[str, str | list[str]] = {
        key: (items if key in lists else items[0]) for key, items in request.args.lists()
    }
    return _validated(route.query, values, "invalid-query", "parameter", status)


def _list_parameters(model: type[BaseModel]) -> frozenset[str]:
    """The query parameters of ``model`` that take every value of a repeated parameter."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        if get_origin(info.annotation) is list:
            names.add(info.alias or name)
            choices = info.validation_alias
            if isinstance(choices, AliasChoices):
                names.update(str(c) for c in choices.choices if isinstance(c, str))
            elif isinstance(choices, str):
                names.add(choices)
    return frozenset(names)


def _content(route: Route, request: flask.Request) -> bytes:
    """The body of a route that ``accepts`` media types other than JSON; 415 for another."""
    if not route.accepts:
        return b""
    given = (request.mimetype or "").lower()
    if given not in route.accepts:
        raise ApiError(
            415, "unsupported-media-type",
            f"Content-Type {given or '(none)'!r}: expected {' or '.join(route.accepts)}",
        )  # fmt: skip
    return request.get_data()


def _parse_body(route: Route, request: flask.Request) -> BaseModel | None:
    if route.body is None:
        return None
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(422, "invalid-body", "expected a JSON object body")
    return _validated(route.body, payload, "invalid-body", "field")


def _validated(
    model: type[BaseModel], payload: object, code: str, part: str, status: int = 422
) -> BaseModel:
    """``payload`` as ``model``, or a ``status`` ``code`` naming the ``part`` that is wrong."""
    if (where := _unstorable(payload)) is not None:
        raise ApiError(status, code, f"{part} {where} holds a NUL or a lone surrogate")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(status, code, describe_validation_error(exc)) from None


def _unstorable(value: object, where: str = "") -> str | None:
    """Where ``value`` holds text no database or UTF-8 encoder takes (NUL, lone surrogates)."""
    if isinstance(value, str):
        return where or "value" if _BAD_TEXT.search(value) else None
    if isinstance(value, dict):
        items: list[tuple[str, object]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for key, item in items:
        if _BAD_TEXT.search(key):
            return f"{where}.{key!r}" if where else repr(key)
        found = _unstorable(item, f"{where}.{key}" if where and not key.startswith("[") else
                            f"{where}{key}")  # fmt: skip
        if found is not None:
            return found
    return None


def _answer(result: BaseModel | Body, request_id: str) -> flask.Response:
    if isinstance(result, Body):
        response = (
            flask.Response(result.content, content_type=result.media_type)
            if ";" in result.media_type  # parameters given (a boundary): sent as they are
            else flask.Response(result.content, mimetype=result.media_type)
        )
        response.status_code = result.status
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


def _unavailable(detail: str) -> flask.Response:
    answer = _error(503, "unavailable", detail)
    answer.headers["Retry-After"] = "5"
    return answer
