"""How the web app logs a user in: ``GET /auth/config`` and the local login.

``GET /auth/config`` tells the SPA which login to show:

- ``"mode": "oidc"`` when tokens come from the hospital's provider: the SPA runs the
  Authorization Code flow with PKCE against ``authority`` (``ACME_AUTH_ISSUER``) as client
  ``client_id`` (``ACME_WEB_CLIENT_ID``);
- ``"mode": "local"`` when the platform is its own issuer (docs/auth.md): the SPA shows a user
  and role picker and asks ``POST /auth/local/token`` for a token.

Both carry the roles claim and the permission matrix (:data:`acme.auth.ROLE_PERMISSIONS`), so
the SPA offers only what the functions will allow (they check every request regardless).

``POST /auth/local/token`` (``{"user": "dr.house", "roles": ["radiologist"]}``, JSON only, so a
page of another site cannot send it without a CORS preflight the gateway never grants) mints
a local development token (:func:`acme.auth.mint_token`). It exists only with the local issuer
(404 otherwise) and only for a browser on this machine: a request whose direct peer is not a
loopback address, or that came through a proxy (forwarding headers), is refused with 403, so
a platform listening on the intranet never hands out tokens to the intranet.
"""

from __future__ import annotations

from ipaddress import ip_address

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from acme.auth import ROLE_PERMISSIONS, LocalKeyError, Role, mint_token, uses_local_issuer
from acme.errors import ConfigError
from acme.events.models import describe_validation_error
from acme.settings import Settings

__all__ = ["LOCAL_TOKEN_SECONDS", "WebLogin"]

LOCAL_TOKEN_SECONDS = 8 * 3600
"""How long a local login lasts (a working shift); the SPA asks the user again after."""
_FORWARDING = ("forwarded", "x-forwarded-for", "x-real-ip")
_NO_STORE = {"Cache-Control": "no-store"}


class LocalLoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@-]+$")
    roles: list[Role] = Field(min_length=1, max_length=len(Role))


class WebLogin:
    """The two login routes of the gateway, for ``settings``' issuer."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.local = uses_local_issuer(settings)

    async def config(self, _request: Request) -> Response:
        settings = self._settings
        body = {
            "mode": "local" if self.local else "oidc",
            "authority": settings.auth_issuer,
            "client_id": settings.web_client_id,
            "audience": settings.auth_audience,
            "roles_claim": settings.auth_roles_claim,
            "roles": [role.value for role in Role],
            "permissions": {
                role.value: sorted(p.value for p in granted)
                for role, granted in ROLE_PERMISSIONS.items()
            },
        }
        return JSONResponse(body, headers=_NO_STORE)

    async def local_token(self, request: Request) -> Response:
        if not self.local:
            return _error(404, "no-local-issuer", "tokens come from the hospital's provider")
        peer = request.client.host if request.client is not None else ""
        if not _loopback(peer) or any(h in request.headers for h in _FORWARDING):
            return _error(403, "not-local", "the local login serves browsers on this machine only")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return _error(415, "unsupported-media-type", "expected application/json")
        try:
            wanted = LocalLoginRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return _error(400, "invalid-request", describe_validation_error(exc))
        try:
            token = mint_token(
                self._settings,
                user=wanted.user,
                roles=[role.value for role in wanted.roles],
                ttl_seconds=LOCAL_TOKEN_SECONDS,
            )
        except (ConfigError, LocalKeyError) as exc:
            return _error(503, "no-signing-key", str(exc))
        body = {"access_token": token, "token_type": "Bearer", "expires_in": LOCAL_TOKEN_SECONDS}
        return JSONResponse(body, headers=_NO_STORE)


def _loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _error(status: int, code: str, detail: str) -> Response:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=_NO_STORE)
