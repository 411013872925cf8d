"""The HTTP function layer: tokens, roles, body validation, OpenAPI, audited PHI access."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
from jetstream import published
from pydantic import BaseModel, ConfigDict

from acme.auth import Principal, Unauthenticated
from acme.events import EventType
from acme.function import Context
from acme.http import ApiError, ApiRequest, Body, HttpApi, dispatcher_for
from acme.settings import Settings

STUDY = "1.2.826.0.1.3680043.8.498.1"


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class Echo(BaseModel):
    note: str
    user: str


class StaticPolicy:
    """Tokens and grants from tables: the test double of a real AccessPolicy."""

    def __init__(self) -> None:
        self.tokens = {
            "Bearer rad": Principal("dr-rad", frozenset({"radiologist"})),
            "Bearer aud": Principal("auditor-1", frozenset({"auditor"})),
        }
        self.grants = {"radiologist": {"notes:read", "notes:write"}, "auditor": {"audit:read"}}

    def authenticate(self, authorization: str | None) -> Principal:
        if authorization not in self.tokens:
            raise Unauthenticated("no valid bearer token")
        return self.tokens[authorization]

    def allows(self, principal: Principal, permission: str) -> bool:
        return any(permission in self.grants.get(role, set()) for role in principal.roles)


api = HttpApi("notes", title="Notes")


@api.get("/notes/<note_id>", permission="notes:read", phi=True, response=Echo)
def read_note(ctx: Context, request: ApiRequest) -> Echo:
    """Read a note."""
    if request.path_params["note_id"] == "missing":
        raise ApiError(404, "not-found", "no such note")
    request.study_uid = STUDY
    return Echo(note=request.path_params["note_id"], user=request.principal.user)


@api.post("/notes", permission="notes:write", phi=False, action="update", body=Note)
def write_note(ctx: Context, request: ApiRequest) -> Body:
    """Write a note."""
    assert isinstance(request.body, Note)
    return Body(request.body.text.encode(), "text/plain")


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = Context.open("notes", settings)
    yield context
    context.close()


def call(
    ctx: Context, method: str, path: str, token: str | None = None, **kw: object
) -> flask.Response:
    app = flask.Flask("test")
    headers = {"Authorization": token} if token else {}
    with app.test_request_context(path, method=method, headers=headers, **kw):  # type: ignore[arg-type]
        return dispatcher_for(api, StaticPolicy())(ctx, flask.request)


def test_tokens_roles_and_answers(ctx: Context) -> None:
    assert call(ctx, "GET", "/notes/7").status_code == 401
    assert call(ctx, "GET", "/notes/7", "Bearer forged").status_code == 401
    assert call(ctx, "GET", "/notes/7", "Bearer aud").status_code == 403
    ok = call(ctx, "GET", "/notes/7", "Bearer rad")
    assert ok.status_code == 200 and ok.get_json() == {"note": "7", "user": "dr-rad"}
    assert ok.headers["Cache-Control"] == "no-store"
    assert call(ctx, "GET", "/notes/missing", "Bearer rad").status_code == 404
    assert call(ctx, "GET", "/nowhere", "Bearer rad").status_code == 404
    assert call(ctx, "DELETE", "/notes/7", "Bearer rad").status_code == 405


def test_bodies_are_validated(ctx: Context) -> None:
    bad = call(ctx, "POST", "/notes", "Bearer rad", json={"txt": "x"})
    assert bad.status_code == 422 and "text" in bad.get_json()["detail"]
    good = call(ctx, "POST", "/notes", "Bearer rad", json={"text": "hello"})
    assert good.status_code == 200 and good.data == b"hello" and good.mimetype == "text/plain"


def test_every_attempt_at_a_phi_route_is_recorded(ctx: Context) -> None:
    call(ctx, "GET", "/notes/1", "Bearer rad", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    call(ctx, "GET", "/notes/2", "Bearer aud")
    call(ctx, "GET", "/notes/3")
    call(ctx, "POST", "/notes", "Bearer rad", json={"text": "not phi"})
    records = [e.data for e in published(ctx.settings, EventType.ACCESS_RECORDED)]
    assert [(r["actor"], r["outcome"]) for r in records] == [
        ("dr-rad", "success"),
        ("auditor-1", "denied"),
        ("anonymous", "denied"),
    ]
    assert records[0]["study_uid"] == STUDY and records[0]["source_ip"] == "10.1.2.3"
    assert records[0]["resource"] == "GET /function/notes/notes/1"


def test_openapi_lists_routes_with_permission_and_phi(ctx: Context) -> None:
    doc = call(ctx, "GET", "/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    read = doc["paths"]["/notes/{note_id}"]["get"]
    assert read["x-acme-phi"] is True and read["x-acme-permission"] == "notes:read"
    assert read["security"] == [{"bearerAuth": []}]
    write = doc["paths"]["/notes"]["post"]
    assert write["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Note")
