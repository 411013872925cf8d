"""Every PHI route of every HTTP function in stack.yml needs a token and leaves an audit record.

The routes come from each function's OpenAPI document (its HttpApi, imported from its
main.py), so a function or route added later is covered without touching this test.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import flask
import pytest
from jetstream import published

from acme.audit import AuditQuery, append_event, query_rows
from acme.auth import (
    PHI_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    ensure_local_key,
    mint_token,
    policy_from_settings,
)
from acme.events import EventType
from acme.function import Context
from acme.http import HttpApi, Route, dispatcher_for
from acme.runtime.stackfile import load_stack
from acme.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
STACK = load_stack(ROOT / "stack.yml")
HTTP_FUNCTIONS = sorted(n for n, spec in STACK.functions.items() if spec.signature == "http")
_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SAMPLE = {
    "int": "1",
    "uuid": "0d9e8f7a-6b5c-4d3e-8f21-fedcba987654",
    "float": "1.0",
    "frames": "1",
    "tagpath": "7FE00010",
}


Importer = Callable[[str, Path], ModuleType]


def http_api(name: str, importer: Importer) -> HttpApi | None:
    """The HttpApi behind ``name``'s target, or None while its main.py does not serve one."""
    main = STACK.source(name) / "main.py"
    if not main.is_file():
        return None
    module = importer(f"{name.replace('-', '_')}_main", main)
    if not hasattr(module, STACK.functions[name].annotations.target):
        return None
    apis = {id(v): v for v in vars(module).values() if isinstance(v, HttpApi)}
    assert len(apis) == 1, f"{name}: main.py must hold exactly one HttpApi, found {len(apis)}"
    (api,) = apis.values()
    return api


def concrete(route: Route) -> str:
    """The route's path with a value each converter accepts."""
    return _PARAM.sub(
        lambda m: _SAMPLE.get(m["converter"] or "", "1.2.826.0.1.3680043.8.498.1"), route.path
    )


def test_the_stack_has_http_functions_to_check(importer: Importer) -> None:
    assert "audit" in HTTP_FUNCTIONS
    assert http_api("audit", importer) is not None


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_every_phi_route_needs_a_token_and_is_recorded(
    name: str, settings: Settings, importer: Importer
) -> None:
    api = http_api(name, importer)
    if api is None:
        pytest.skip(f"{name}: no {STACK.source(name)}/main.py serving an HttpApi yet")
    document = api.openapi()
    routes = {(r.method.lower(), r.handler.__name__): r for r in api.routes}
    phi_routes: list[Route] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{name}: {method.upper()} {path}"
            assert operation["security"] == [{"bearerAuth": []}], where
            permission = operation["x-acme-permission"]
            assert permission in {p.value for p in Permission}, f"{where}: unknown {permission}"
            if permission in PHI_PERMISSIONS:
                assert operation["x-acme-phi"], f"{where}: guards PHI ({permission}), not phi"
            if operation["x-acme-phi"]:
                phi_routes.append(routes[(method, operation["operationId"])])
    assert phi_routes, f"{name}: no PHI route (expected at least one read)"

    # two unauthenticated attempts per route: a function with many routes stays under the limit
    settings = settings.model_copy(update={"audit_anonymous_limit": 100000})
    ensure_local_key(settings)
    ctx = Context.open(name, settings)
    try:
        dispatch = dispatcher_for(api, policy_from_settings(settings))
        expected: list[tuple[str, str]] = []
        for route in phi_routes:
            path = concrete(route)
            lacking = next(
                (r for r, granted in ROLE_PERMISSIONS.items() if route.permission not in granted)
            )
            attempts = {
                401: (None, "anonymous"),
                403: (mint_token(settings, user="nurse-1", roles=[lacking]), "nurse-1"),
            }
            expired = mint_token(settings, user="x", roles=["admin"], now=time.time() - 7200)
            for status, token in ((401, expired), *((s, t) for s, (t, _) in attempts.items())):
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                app = flask.Flask("t")
                with app.test_request_context(path, method=route.method, headers=headers):
                    answer = dispatch(ctx, flask.request)
                assert answer.status_code == status, f"{name}: {route.method} {path}"
            resource = f"{route.method} /function/{name}{path}"
            expected += [(resource, "anonymous"), (resource, "anonymous"), (resource, "nurse-1")]

        records = published(settings, EventType.ACCESS_RECORDED)
        assert [(r.data["resource"], r.data["actor"]) for r in records] == expected
        assert {r.data["outcome"] for r in records} == {"denied"}
        for record in records:  # what the audit-events trigger does with them
            append_event(ctx.db, record)
        trail = query_rows(ctx.db, AuditQuery(type=EventType.ACCESS_RECORDED, limit=1000))
        assert sorted((r.data["resource"], r.actor) for r in trail.rows) == sorted(expected)
    finally:
        ctx.close()
