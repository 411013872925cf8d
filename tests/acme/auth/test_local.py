"""The local issuer: the key acme up creates, its JWKS at the gateway, and acme token."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from delivery import unused_signer

from acme.auth import (
    LOCAL_ISSUER,
    LocalKeyError,
    ensure_local_key,
    local_jwks_path,
    mint_token,
    policy_from_settings,
    served_jwks_file,
    signing_key_path,
)
from acme.cli.auth_commands import token
from acme.errors import ConfigError
from acme.runtime.forwarding import Forwarding
from acme.runtime.functions import FunctionStatus
from acme.runtime.gateway import Gateway
from acme.runtime.metrics import RuntimeMetrics
from acme.settings import Settings, load_settings
from acme.stack.status import ServerHealth


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home")


def test_the_settings_default_is_the_local_issuer() -> None:
    assert Settings.model_fields["auth_issuer"].default == LOCAL_ISSUER


def test_the_key_is_created_once_private_and_its_jwks_is_public(local: Settings) -> None:
    jwks = ensure_local_key(local)
    assert jwks == local_jwks_path(local) == served_jwks_file(local)
    key_file = signing_key_path(local)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_bytes()
    assert ensure_local_key(local) == jwks and key_file.read_bytes() == first  # kept
    (public,) = json.loads(jwks.read_text())["keys"]
    assert public["kty"] == "EC" and public["alg"] == "ES256" and "d" not in public
    assert public["kid"] == json.loads(first)["kid"]


def test_minted_tokens_verify_with_the_settings_policy(local: Settings) -> None:
    ensure_local_key(local)
    minted = mint_token(local, user="dr.house", roles=["radiologist", "auditor"], ttl_seconds=60)
    principal = policy_from_settings(local).authenticate(f"Bearer {minted}")
    assert principal.user == "dr.house" and principal.roles == {"radiologist", "auditor"}
    keycloak_like = local.model_copy(update={"auth_roles_claim": "realm_access.roles"})
    minted = mint_token(keycloak_like, user="a", roles=["auditor"])
    assert policy_from_settings(keycloak_like).authenticate(f"Bearer {minted}").roles == {"auditor"}


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"auth_jwks_url": "https://kc.example/realms/r/protocol/openid-connect/certs"},
         "ACME_AUTH_JWKS_URL"),
        ({"auth_jwks_file": Path("/etc/acme/jwks.json")}, "ACME_AUTH_JWKS_FILE"),
        ({"auth_issuer": "https://kc.example/realms/r"}, "ACME_AUTH_ISSUER"),
    ],
)  # fmt: skip
def test_no_minting_for_an_external_issuer(
    local: Settings, changes: dict[str, Any], setting: str
) -> None:
    ensure_local_key(local)
    external = local.model_copy(update=changes)
    assert ensure_local_key(external) is None and served_jwks_file(external) is None
    with pytest.raises(ConfigError) as caught:
        mint_token(external, user="x", roles=["admin"])
    assert caught.value.setting == setting
    assert "local development tokens only" in str(caught.value) or "external issuer" in str(
        caught.value
    )


def test_minting_names_what_is_wrong(local: Settings) -> None:
    with pytest.raises(LocalKeyError, match=r"no local signing key .*acme up creates it"):
        mint_token(local, user="x", roles=["admin"])
    ensure_local_key(local)
    with pytest.raises(ValueError, match=r"roles: unknown \['root'\]"):
        mint_token(local, user="x", roles=["root"])
    with pytest.raises(ValueError, match="ttl"):
        mint_token(local, user="x", roles=["admin"], ttl_seconds=30 * 24 * 3600)
    signing_key_path(local).write_text("{}")
    with pytest.raises(LocalKeyError, match="not a private EC JSON Web Key"):
        mint_token(local, user="x", roles=["admin"])


def test_both_a_jwks_url_and_file_is_a_config_error(local: Settings) -> None:
    both = local.model_copy(
        update={"auth_jwks_url": "https://kc.example/certs", "auth_jwks_file": Path("k.json")}
    )
    with pytest.raises(ConfigError, match="ACME_AUTH_JWKS_FILE: set ACME_AUTH_JWKS_URL or"):
        policy_from_settings(both)


def test_acme_token_prints_a_token(local: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_HOME", str(local.home))
    result = CliRunner().invoke(
        token, ["--user", "tech-1", "--role", "technologist", "--ttl", "5m"]
    )
    assert result.exit_code == 0, result.output
    principal = policy_from_settings(load_settings()).authenticate(
        f"Bearer {result.output.strip()}"
    )
    assert principal.user == "tech-1" and principal.roles == {"technologist"}
    bad = CliRunner().invoke(token, ["--user", "x", "--role", "root"])
    assert bad.exit_code == 2 and "'root' is not one of" in bad.output
    bad_ttl = CliRunner().invoke(token, ["--user", "x", "--role", "admin", "--ttl", "soon"])
    assert bad_ttl.exit_code == 2 and "expected a duration" in bad_ttl.output
    monkeypatch.setenv("ACME_AUTH_ISSUER", "https://kc.example/realms/r")
    refused = CliRunner().invoke(token, ["--user", "x", "--role", "admin"])
    assert isinstance(refused.exception, ConfigError)


class _NoFunctions:
    def lease(self, name: str) -> Any:
        raise AssertionError("not used")

    def status(self) -> list[FunctionStatus]:
        return []


async def _no_servers() -> list[ServerHealth]:
    return []


def _jwks_answer(jwks_file: Path | None, web_dir: Path) -> httpx.Response:
    gateway = Gateway(
        _NoFunctions(), metrics=RuntimeMetrics(), web_dir=web_dir, servers=_no_servers,
        function_timeout=5, jwks_file=jwks_file, forwarding=Forwarding([], unused_signer()),
    )  # fmt: skip

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(gateway.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.get("/.well-known/jwks.json")

    return asyncio.run(fetch())


def test_the_gateway_serves_the_local_jwks(local: Settings, tmp_path: Path) -> None:
    jwks = ensure_local_key(local)
    answer = _jwks_answer(served_jwks_file(local), tmp_path)
    assert answer.status_code == 200 and answer.json() == json.loads(jwks.read_text())
    assert answer.headers["content-type"].startswith("application/jwk-set+json")
    external = local.model_copy(update={"auth_jwks_url": "https://kc.example/certs"})
    missing = _jwks_answer(served_jwks_file(external), tmp_path)
    assert missing.status_code == 404 and "ACME_AUTH_JWKS_URL" in missing.json()["error"]
