"""Access control shared by every HTTP function: bearer JWTs, roles, permissions.

:class:`Principal` and :class:`AccessPolicy` are the interface :mod:`acme.http` uses;
:func:`policy_from_settings` builds the policy the settings describe: a :class:`JwtPolicy`
whose keys come from ``ACME_AUTH_JWKS_URL`` (the hospital's OIDC provider), else
``ACME_AUTH_JWKS_FILE``, else the local key of ``acme up`` (:func:`ensure_local_key`).
:data:`ROLE_PERMISSIONS` is the one table of roles and permissions (docs/auth.md).

Errors::

    AcmeError
    ├── Unauthenticated     no usable bearer token (401), the message says which check failed
    ├── KeySetError         a JWKS document cannot be read or fetched
    └── LocalKeyError       the local signing key is missing or unreadable
"""

from acme.auth._jwt import MAX_TOKEN_BYTES, JwtPolicy
from acme.auth._keys import ALGORITHMS, JwksFile, JwksUrl, KeySetError, KeySource, parse_jwks
from acme.auth._local import (
    LOCAL_ISSUER,
    LocalKeyError,
    ensure_local_key,
    local_jwks_path,
    mint_token,
    served_jwks_file,
    signing_key_path,
    uses_local_issuer,
)
from acme.auth._policy import policy_from_settings
from acme.auth._principal import AccessPolicy, Principal, Unauthenticated
from acme.auth._roles import (
    PHI_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    grants,
    known_roles,
    matrix_markdown,
    permissions_of,
)

__all__ = [
    "ALGORITHMS",
    "LOCAL_ISSUER",
    "MAX_TOKEN_BYTES",
    "PHI_PERMISSIONS",
    "ROLE_PERMISSIONS",
    "AccessPolicy",
    "JwksFile",
    "JwksUrl",
    "JwtPolicy",
    "KeySetError",
    "KeySource",
    "LocalKeyError",
    "Permission",
    "Principal",
    "Role",
    "Unauthenticated",
    "ensure_local_key",
    "grants",
    "known_roles",
    "local_jwks_path",
    "matrix_markdown",
    "mint_token",
    "parse_jwks",
    "permissions_of",
    "policy_from_settings",
    "served_jwks_file",
    "signing_key_path",
    "uses_local_issuer",
]
