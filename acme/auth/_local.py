"""The local development issuer: one ES256 key under ``ACME_HOME``, its JWKS, ``acme token``.

Local mode is when neither ``ACME_AUTH_JWKS_URL`` nor ``ACME_AUTH_JWKS_FILE`` is set and the
issuer is :data:`LOCAL_ISSUER`. Then ``acme up`` creates the private key (``0600``) if absent
and writes its public half to ``<home>/auth/jwks.json``: functions verify tokens with that
file (no network), and the gateway serves it at ``/.well-known/jwks.json``. Pointed at a
hospital's provider, nothing here is used, and :func:`mint_token` refuses to mint.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from joserfc import jwt

from acme.auth._keyfile import ALGORITHM, ensure_key, load_private_key
from acme.auth._roles import Role
from acme.errors import ConfigError
from acme.settings import Settings

LOCAL_ISSUER = "acme-local"
"""``iss`` of the tokens ``acme token`` mints (the default ``ACME_AUTH_ISSUER``)."""
LOCAL_ALGORITHM = ALGORITHM
MAX_TTL_SECONDS = 7 * 24 * 3600


def signing_key_path(settings: Settings) -> Path:
    """The local private key: ``ACME_AUTH_SIGNING_KEY`` or ``<home>/auth/signing-key.json``."""
    path = settings.auth_signing_key or settings.home / "auth" / "signing-key.json"
    return path.resolve()


def local_jwks_path(settings: Settings) -> Path:
    """The public JWKS of the local key: ``<home>/auth/jwks.json``."""
    return (settings.home / "auth" / "jwks.json").resolve()


def uses_local_issuer(settings: Settings) -> bool:
    """True when tokens are verified with the local key (no provider configured)."""
    return (
        settings.auth_jwks_url is None
        and settings.auth_jwks_file is None
        and settings.auth_issuer == LOCAL_ISSUER
    )


def served_jwks_file(settings: Settings) -> Path | None:
    """What the gateway serves at ``/.well-known/jwks.json``: the local JWKS, or None."""
    return local_jwks_path(settings) if uses_local_issuer(settings) else None


def ensure_local_key(settings: Settings) -> Path | None:
    """Create the local signing key if absent and (re)write its JWKS; the JWKS path.

    None (and nothing written) when the settings name an external provider. Safe to call from
    processes starting together: the key file is created atomically, once.
    """
    if not uses_local_issuer(settings):
        return None
    jwks_path = local_jwks_path(settings)
    ensure_key(signing_key_path(settings), jwks_path)
    return jwks_path


def mint_token(
    settings: Settings,
    *,
    user: str,
    roles: Iterable[str],
    ttl_seconds: float = 3600.0,
    now: float | None = None,
) -> str:
    """A token for ``user`` with ``roles``, signed with the local key (local development only).

    Raises :class:`ConfigError` when the settings point at an external issuer, and
    :class:`LocalKeyError` when there is no local key yet (``acme up`` creates it).
    """
    if settings.auth_jwks_url is not None:
        raise ConfigError(
            "ACME_AUTH_JWKS_URL",
            f"tokens come from the provider at {settings.auth_jwks_url}; acme token mints "
            "local development tokens only",
        )
    if settings.auth_jwks_file is not None:
        raise ConfigError(
            "ACME_AUTH_JWKS_FILE",
            "keys come from an external JWKS file; acme token mints local development tokens only",
        )
    if settings.auth_issuer != LOCAL_ISSUER:
        raise ConfigError(
            "ACME_AUTH_ISSUER",
            f"{settings.auth_issuer!r} is an external issuer; acme token mints only for "
            f"{LOCAL_ISSUER!r}",
        )
    if not user or len(user) > 128:
        raise ValueError("user: expected 1-128 characters")
    names = sorted(set(roles))
    unknown = [name for name in names if name not in {role.value for role in Role}]
    if unknown or not names:
        raise ValueError(
            f"roles: unknown {unknown or 'none given'}; expected some of "
            f"{', '.join(role.value for role in Role)}"
        )
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl: expected 0 < seconds <= {MAX_TTL_SECONDS}, got {ttl_seconds:g}")
    key = load_private_key(signing_key_path(settings), setting="ACME_AUTH_SIGNING_KEY")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": settings.auth_audience,
        "sub": user,
        "preferred_username": user,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ttl_seconds),
        "jti": str(uuid.uuid4()),
    }
    _place(claims, settings.auth_roles_claim.split("."), names)
    header = {"alg": LOCAL_ALGORITHM, "kid": str(key.kid), "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[LOCAL_ALGORITHM])


def _place(claims: dict[str, Any], path: list[str], value: list[str]) -> None:
    """Put ``value`` at the dotted ``path`` (``realm_access.roles``) of ``claims``."""
    target = claims
    for name in path[:-1]:
        target = target.setdefault(name, {})
    target[path[-1]] = value
