"""The HTTP function layer: tokens, roles, body validation, OpenAPI, audited PHI access."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
from delivery import throwaway_signer
from jetstream import published
from pydantic import BaseModel, ConfigDict

from acme.auth import DeliverySigner, Principal, Unauthenticated, ensure_delivery_key
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
    ctx: Context,
    method: str,
    path: str,
    token: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **kw: object,
) -> flask.Response:
    app = flask.Flask("test")
    sent = {**(headers or {}), **({"Authorization": token} if token else {})}
    with app.test_request_context(path, method=method, headers=sent, **kw):  # type: ignore[arg-type]
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


def _records(ctx: Context) -> list[dict[str, object]]:
    return [e.data for e in published(ctx.settings, EventType.ACCESS_RECORDED)]


def _context(settings: Settings, **changes: object) -> Context:
    return Context.open("notes", settings.model_copy(update=changes))


def test_forwarding_headers_count_only_from_trusted_proxies(settings: Settings) -> None:
    forged = {"X-Forwarded-For": "10.66.66.66", "Forwarded": "for=10.66.66.67"}
    peer = {"REMOTE_ADDR": "10.9.9.9"}
    untrusted = _context(settings)
    try:
        call(untrusted, "GET", "/notes/1", "Bearer rad", headers=forged, environ_base=peer)
        assert [r["source_ip"] for r in _records(untrusted)] == ["10.9.9.9"]
    finally:
        untrusted.close()
    trusted = _context(settings, trusted_proxies="10.9.0.0/16")
    try:
        proxied = {"X-Forwarded-For": "10.66.66.66, 10.9.1.1"}
        call(trusted, "GET", "/notes/1", "Bearer rad", headers=proxied, environ_base=peer)
        assert [r["source_ip"] for r in _records(trusted)][-1] == "10.66.66.66"
    finally:
        trusted.close()


def test_the_gateways_signed_client_address_is_believed_and_a_forged_one_is_not(
    ctx: Context,
) -> None:
    ensure_delivery_key(ctx.settings)
    gateway = DeliverySigner.from_settings(ctx.settings, subject="acme-runtime")
    vouched = gateway.token("acme/functions/notes", use="forwarded", client_ip="192.0.2.7")
    elsewhere = gateway.token("acme/functions/report", use="forwarded", client_ip="192.0.2.8")
    delivery = gateway.token("acme/functions/notes", client_ip="192.0.2.9")
    stranger = throwaway_signer().token(
        "acme/functions/notes", use="forwarded", client_ip="1.1.1.1"
    )
    peer = {"REMOTE_ADDR": "127.0.0.1"}
    for token in (vouched, elsewhere, delivery, stranger):
        headers = {"X-Acme-Forwarded": token, "X-Forwarded-For": "10.66.66.66"}
        call(ctx, "GET", "/notes/1", "Bearer rad", headers=headers, environ_base=peer)
    assert [r["source_ip"] for r in _records(ctx)] == [
        "192.0.2.7", "127.0.0.1", "127.0.0.1", "127.0.0.1"
    ]  # fmt: skip


def test_unauthenticated_attempts_are_recorded_up_to_the_limit(settings: Settings) -> None:
    ctx = _context(settings, audit_anonymous_limit=3)
    try:
        flood = {"REMOTE_ADDR": "203.0.113.9"}
        answers = [call(ctx, "GET", "/notes/1", environ_base=flood) for _ in range(5)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 61
        assert "ACME_AUDIT_ANONYMOUS_LIMIT" in answers[-1].get_json()["detail"]
        other = call(ctx, "GET", "/notes/1", environ_base={"REMOTE_ADDR": "203.0.113.10"})
        signed_in = call(ctx, "GET", "/notes/1", "Bearer rad", environ_base=flood)
        assert other.status_code == 401 and signed_in.status_code == 200
        records = _records(ctx)
        assert [(r["source_ip"], r["outcome"]) for r in records] == [
            ("203.0.113.9", "denied"), ("203.0.113.9", "denied"), ("203.0.113.9", "denied"),
            ("203.0.113.10", "denied"), ("203.0.113.9", "success"),
        ]  # fmt: skip
    finally:
        ctx.close()


def test_text_no_database_can_store_is_refused_with_the_field(ctx: Context) -> None:
    nul = call(ctx, "POST", "/notes", "Bearer rad", json={"text": "a\u0000b"})
    assert nul.status_code == 422 and "field text" in nul.get_json()["detail"]
    surrogate = call(ctx, "POST", "/notes", "Bearer rad", data='{"text": "\\ud800"}',
                     content_type="application/json")  # fmt: skip
    assert surrogate.status_code == 422


def test_a_client_request_id_is_kept_only_when_it_is_an_identifier(ctx: Context) -> None:
    call(ctx, "GET", "/notes/1", "Bearer rad", headers={"X-Request-Id": "req-42.a"})
    call(ctx, "GET", "/notes/1", "Bearer rad", headers={"X-Request-Id": "<script>"})
    first, second = (r["request_id"] for r in _records(ctx))
    assert first == "req-42.a"
    assert second != "<script>" and len(str(second)) == 36


def test_openapi_declares_every_status_a_route_answers(ctx: Context) -> None:
    doc = call(ctx, "GET", "/openapi.json").get_json()
    read = doc["paths"]["/notes/{note_id}"]["get"]["responses"]
    assert sorted(read) == ["200", "400", "401", "403", "404", "429", "503"]
    write = doc["paths"]["/notes"]["post"]["responses"]
    assert sorted(write) == ["200", "400", "401", "403", "422", "503"]
