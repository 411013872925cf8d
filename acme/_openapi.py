"""The OpenAPI 3.1 document of an :class:`~acme.http.HttpApi`, derived from its routes.

Every status a route can answer is declared (:func:`statuses`): 200, 400 (a path the gateway
will not forward), 401 and 403 always; 429
for a PHI route (unauthenticated attempts over the audit limit); 404 for a route with path
parameters; 422 for one with a query or body model; 503 when a server it needs is down; and
the statuses its handler raises itself (``errors``). Path parameters take their schema from
their converter (``uuid``, ``int(min=1, max=...)``, those of :data:`acme.http.CONVERTERS`),
query parameters from the route's ``query`` model. An API whose invalid queries are answered
400 (``invalid_query=400``) declares 400 for them, not 422; a route that ``accepts`` a body
other than JSON declares it and 415.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acme.http import HttpApi, Route

_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["error", "detail"],
}
_DESCRIPTIONS = {
    202: "accepted in part: the body says what was not (yet) done",
    400: "the request cannot be served as sent",
    401: "no valid bearer token",
    403: "the token's roles lack the permission",
    404: "not found",
    406: "no acceptable representation",
    409: "the resource changed or cannot move: the detail says why",
    413: "the body is larger than this function takes",
    415: "the body's media type is not one this route takes",
    422: "a parameter or the body is not valid: the detail names it",
    428: "the change must name the version it was made against (If-Match or the body)",
    429: "too many unauthenticated attempts from this address (Retry-After)",
    503: "a server the function needs is unavailable (Retry-After)",
}
_INT32_MAX = 2**31 - 1


def statuses(route: Route, invalid_query: int = 422) -> list[int]:
    """The error statuses ``route`` may answer (see the module docstring)."""
    found = {400, 401, 403, 503, *route.errors}
    if route.phi:
        found.add(429)
    if _PARAM.search(route.path):
        found.add(404)
    if route.body is not None:
        found.add(422)
    if route.query is not None:
        found.add(invalid_query)
    if route.accepts:
        found.add(415)
    return sorted(found)


def openapi_document(api: HttpApi) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": _ERROR}
    for route in api.routes:
        path = _PARAM.sub(lambda m: "{" + m["name"] + "}", route.path)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        operation: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": route.summary,
            "security": [{"bearerAuth": []}],
            "x-acme-permission": route.permission,
            "x-acme-phi": route.phi,
            "parameters": [*_path_parameters(route), *_query_parameters(route, schemas)],
            "responses": {
                "200": {"description": "OK", "content": _content(route, schemas)},
                **{
                    str(status): {"description": _DESCRIPTIONS.get(status, "see the body"),
                                  "content": _content(route, schemas)}
                    for status in route.answers
                },
                **{
                    str(status): {"description": _DESCRIPTIONS.get(status, "error"),
                                  "content": error}
                    for status in statuses(route, api.invalid_query)
                },
            },
        }  # fmt: skip
        if route.description:
            operation["description"] = route.description
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _model_ref(route.body, schemas)}},
            }
        elif route.accepts:
            binary = {"schema": {"type": "string", "format": "binary"}}
            operation["requestBody"] = {
                "required": True,
                "content": {media: binary for media in route.accepts},
            }
        paths.setdefault(path, {})[route.method.lower()] = operation
    info: dict[str, Any] = {"title": api.title, "version": api.version}
    if api.description:
        info["description"] = api.description
    return {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": f"/function/{api.name}"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _path_parameters(route: Route) -> list[dict[str, Any]]:
    return [
        {"name": m["name"], "in": "path", "required": True,
         "schema": _converter_schema(m["converter"], m["args"])}
        for m in _PARAM.finditer(route.path)
    ]  # fmt: skip


def _converter_schema(converter: str | None, args: str | None) -> dict[str, Any]:
    from acme.http import CONVERTERS

    special = CONVERTERS.get(converter or "")
    if special is not None:
        schema: dict[str, Any] = dict(getattr(special, "schema"))  # noqa: B009
        return schema
    if converter == "uuid":
        return {"type": "string", "format": "uuid"}
    if converter == "int":
        bounds = dict(
            (key.strip(), int(value)) for key, value in
            (part.split("=") for part in (args or "").split(",") if "=" in part)
        )  # fmt: skip
        return {
            "type": "integer",
            "minimum": bounds.get("min", 0),
            "maximum": bounds.get("max", _INT32_MAX),
        }
    # what the gateway forwards as one segment: no slash, no control character, not . or ..
    return {"type": "string", "pattern": r"^[^./\\\x00-\x1f\x7f-\x9f][^/\\\x00-\x1f\x7f-\x9f]*$"}


def _query_parameters(route: Route, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    if route.query is None:
        return []
    schema = route.query.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop,
         **({"description": prop["description"]} if "description" in prop else {})}
        for name, prop in schema.get("properties", {}).items()
    ]  # fmt: skip


def _model_ref(model: type[Any], schemas: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _content(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    if route.response is not None:
        return {"application/json": {"schema": _model_ref(route.response, schemas)}}
    return {media: {"schema": {}} for media in route.media_types}
