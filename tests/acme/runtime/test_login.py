"""The web app's login routes: which login to show, and local tokens for this machine only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from acme.auth import ensure_local_key, policy_from_settings
from acme.runtime.login import LOCAL_TOKEN_SECONDS, WebLogin
from acme.settings import Settings, load_settings

JSON = {"Content-Type": "application/json"}


def _post(
    settings: Settings, body: bytes, *, peer: str = "127.0.0.1", **headers: str
) -> httpx.Response:
    login = WebLogin(settings)
    app = Starlette(routes=[Route("/auth/local/token", login.local_token, methods=["POST"])])

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app, client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.post("/auth/local/token", content=body, headers=headers)

    return asyncio.run(send())


def _config(settings: Settings) -> dict[str, object]:
    login = WebLogin(settings)
    app = Starlette(routes=[Route("/auth/config", login.config)])

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.get("/auth/config")

    answer = asyncio.run(send())
    assert answer.headers["cache-control"] == "no-store"
    body: dict[str, object] = answer.json()
    return body


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    settings = load_settings(home=tmp_path / "home")
    ensure_local_key(settings)
    return settings


def test_a_local_token_for_the_user_and_roles_picked(local: Settings) -> None:
    answer = _post(local, b'{"user": "dr.house", "roles": ["radiologist"]}', **JSON)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == LOCAL_TOKEN_SECONDS
    principal = policy_from_settings(local).authenticate(f"Bearer {body['access_token']}")
    assert principal.user == "dr.house" and principal.roles == frozenset({"radiologist"})
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"user": "dr.house", "roles": ["surgeon"]}', "roles"),
        (b'{"user": "dr.house", "roles": []}', "roles"),
        (b'{"user": "", "roles": ["radiologist"]}', "user"),
        (b'{"user": "a b<script>", "roles": ["radiologist"]}', "user"),
        (b'{"user": "x", "roles": ["admin"], "ttl": 99999999}', "ttl"),
        (b"not json", "JSON"),
    ],
)
def test_a_bad_login_is_a_400_naming_the_field(local: Settings, body: bytes, named: str) -> None:
    answer = _post(local, body, **JSON)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid-request" and named in answer.json()["detail"]


def test_only_json_so_another_site_cannot_post_it_without_a_preflight(local: Settings) -> None:
    body = b'{"user": "x", "roles": ["admin"]}'
    answer = _post(local, body, **{"Content-Type": "text/plain"})
    assert answer.status_code == 415


def test_only_browsers_on_this_machine_get_local_tokens(local: Settings) -> None:
    body = b'{"user": "x", "roles": ["admin"]}'
    for peer, headers in (
        ("10.20.0.7", JSON),
        ("192.168.1.4", JSON),
        ("127.0.0.1", {**JSON, "X-Forwarded-For": "10.20.0.7"}),
        ("127.0.0.1", {**JSON, "Forwarded": "for=10.20.0.7"}),
    ):
        answer = _post(local, body, peer=peer, **headers)
        assert answer.status_code == 403 and answer.json()["error"] == "not-local"
        assert "access_token" not in answer.text


def test_no_local_tokens_with_the_hospitals_provider(tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path / "home",
        auth_issuer="https://sso.hospital.example/realms/radiology",
        auth_jwks_url="https://sso.hospital.example/realms/radiology/certs",
        web_client_id="acme-web",
    )
    answer = _post(settings, b'{"user": "x", "roles": ["admin"]}', **JSON)
    assert answer.status_code == 404 and answer.json()["error"] == "no-local-issuer"
    config = _config(settings)
    assert config["mode"] == "oidc" and config["client_id"] == "acme-web"
    assert config["authority"] == "https://sso.hospital.example/realms/radiology"


def test_the_local_issuer_shows_the_picker(local: Settings) -> None:
    config = _config(local)
    assert config["mode"] == "local" and "radiologist" in config["roles"]  # type: ignore[operator]
    permissions = config["permissions"]
    assert isinstance(permissions, dict)
    assert "reports:sign" in permissions["radiologist"]
    assert "reports:sign" not in permissions["technologist"]
    assert permissions["auditor"] == ["audit:export", "audit:read"]
