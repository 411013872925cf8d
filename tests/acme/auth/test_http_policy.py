"""acme.http with the real JWT policy: bad tokens are 401s, a wrong role 403, all recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import flask
import pytest
from jetstream import published
from joserfc.jwk import ECKey
from pydantic import BaseModel
from token_issuer import Issuer

from acme.auth import AccessPolicy
from acme.events import EventType
from acme.function import Context
from acme.http import ApiRequest, HttpApi, dispatcher_for
from acme.settings import Settings

api = HttpApi("studies", title="Studies")


class Study(BaseModel):
    uid: str


@api.get("/studies/<uid>", permission="studies:read", phi=True, response=Study)
def read_study(ctx: Context, request: ApiRequest) -> Study:
    """Read a study."""
    request.study_uid = request.path_params["uid"]
    return Study(uid=request.path_params["uid"])


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    context = Context.open("studies", settings)
    yield context
    context.close()


def call(ctx: Context, policy: AccessPolicy, token: str | None) -> flask.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with flask.Flask("t").test_request_context("/studies/1.2.3", headers=headers):
        return dispatcher_for(api, policy)(ctx, flask.request)


def test_bad_tokens_are_401_a_wrong_role_403(ctx: Context, issuer: Issuer) -> None:
    policy = issuer.policy()
    now = int(time.time())
    forger = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    unauthenticated = {
        "missing": None,
        "expired": issuer.token(exp=now - 3600, iat=now - 7200, nbf=now - 7200),
        "wrong audience": issuer.token(aud="another-app"),
        "wrong issuer": issuer.token(iss="https://evil.example/realms/radiology"),
        "forged signature": issuer.token(forger),
        "alg none": issuer.unsigned({"alg": "none", "kid": "ec-1"}),
    }
    for case, token in unauthenticated.items():
        answer = call(ctx, policy, token)
        assert answer.status_code == 401, case
        assert answer.get_json()["error"] == "unauthenticated", case
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), case
    auditor = call(ctx, policy, issuer.token(roles=["auditor"]))
    assert auditor.status_code == 403
    assert "lack permission 'studies:read'" in auditor.get_json()["detail"]
    allowed = call(ctx, policy, issuer.token(roles=["technologist"]))
    assert allowed.status_code == 200 and allowed.get_json() == {"uid": "1.2.3"}

    records = [e.data for e in published(ctx.settings, EventType.ACCESS_RECORDED)]
    outcomes = [(r["actor"], r["outcome"]) for r in records]
    assert outcomes == [("anonymous", "denied")] * 6 + [
        ("dr.house", "denied"),
        ("dr.house", "success"),
    ]
    assert records[-1]["role"] == "technologist" and records[-1]["study_uid"] == "1.2.3"
