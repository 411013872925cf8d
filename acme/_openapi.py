"""The OpenAPI 3.1 document of an :class:`~acme.http.HttpApi`, derived from its routes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acme.http import HttpApi

_PARAM = re.compile(r"<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["error", "detail"],
}


def openapi_document(api: HttpApi) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": _ERROR}
    for route in api.routes:
        path = _PARAM.sub(r"{\1}", route.path)
        operation: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": route.summary,
            "security": [{"bearerAuth": []}],
            "x-acme-permission": route.permission,
            "x-acme-phi": route.phi,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(route.path)
            ],
            "responses": {
                "200": {"description": "OK", "content": _content(route, schemas)},
                **{
                    str(status): {
                        "description": text,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    }
                    for status, text in (
                        (401, "no valid bearer token"),
                        (403, "the token's roles lack the permission"),
                        (404, "not found"),
                    )
                },
            },
        }
        if route.body is not None:
            schemas[route.body.__name__] = route.body.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{route.body.__name__}"}
                    }
                },
            }
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version},
        "servers": [{"url": f"/function/{api.name}"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _content(route: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    if route.response is not None:
        schema = route.response.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[route.response.__name__] = schema
        ref = {"$ref": f"#/components/schemas/{route.response.__name__}"}
        return {"application/json": {"schema": ref}}
    return {media: {"schema": {}} for media in route.media_types}
