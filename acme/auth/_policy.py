"""The access policy the settings describe."""

from __future__ import annotations

from acme.auth._jwt import JwtPolicy
from acme.auth._keys import JwksFile, JwksUrl, KeySource
from acme.auth._local import local_jwks_path
from acme.auth._principal import AccessPolicy
from acme.errors import ConfigError
from acme.settings import Settings


def policy_from_settings(settings: Settings) -> AccessPolicy:
    """Bearer JWTs for ``ACME_AUTH_ISSUER``/``ACME_AUTH_AUDIENCE``, keys from the JWKS URL,
    else the JWKS file, else the local key's JWKS (``<home>/auth/jwks.json``).

    Nothing is read until the first token arrives. :class:`ConfigError` when both a JWKS URL
    and a JWKS file are set.
    """
    keys: KeySource
    if settings.auth_jwks_url is not None and settings.auth_jwks_file is not None:
        raise ConfigError(
            "ACME_AUTH_JWKS_FILE", "set ACME_AUTH_JWKS_URL or ACME_AUTH_JWKS_FILE, not both"
        )
    if settings.auth_jwks_url is not None:
        keys = JwksUrl(settings.auth_jwks_url, max_age=settings.auth_jwks_max_age)
    else:
        keys = JwksFile((settings.auth_jwks_file or local_jwks_path(settings)).resolve())
    return JwtPolicy(
        keys,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        clock_skew=settings.auth_clock_skew,
        roles_claim=settings.auth_roles_claim,
    )
