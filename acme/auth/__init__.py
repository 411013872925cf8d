"""Access control shared by every HTTP function: bearer JWTs, roles, permissions.

:class:`Principal` and :class:`AccessPolicy` are the interface :mod:`acme.http` uses;
:func:`policy_from_settings` builds the policy the settings describe: a :class:`JwtPolicy`
whose keys come from ``ACME_AUTH_JWKS_URL`` (the hospital's OIDC provider), else
``ACME_AUTH_JWKS_FILE``, else the local key of ``acme up`` (:func:`ensure_local_key`).
:data:`ROLE_PERMISSIONS` is the one table of roles and permissions (docs/auth.md).

:mod:`acme.auth._delivery` authenticates event deliveries: :class:`DeliverySigner` (the
router's and gateway's tokens), :class:`DeliveryVerifier` (every CloudEvent function).

Errors::

    AcmeError
    ├── Unauthenticated     no usable bearer token (401), the message says which check failed
    ├── KeySetError         a JWKS document cannot be read or fetched
    └── LocalKeyError       the local signing key is missing or unreadable
"""

from acme.auth._delivery import (
    DELIVERY_ISSUER,
    DeliverySigner,
    DeliveryVerifier,
    TokenFile,
    TokenSource,
    delivery_jwks_path,
    delivery_key_path,
    ensure_delivery_key,
    function_audience,
    sink_tokens,
    uses_local_delivery_issuer,
)
from acme.auth._jwt import MAX_TOKEN_BYTES, JwtPolicy
from acme.auth._keyfile import LocalKeyError
from acme.auth._keys import ALGORITHMS, JwksFile, JwksUrl, KeySetError, KeySource, parse_jwks
from acme.auth._local import (
    LOCAL_ISSUER,
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
    "DELIVERY_ISSUER",
    "LOCAL_ISSUER",
    "MAX_TOKEN_BYTES",
    "PHI_PERMISSIONS",
    "ROLE_PERMISSIONS",
    "AccessPolicy",
    "DeliverySigner",
    "DeliveryVerifier",
    "JwksFile",
    "JwksUrl",
    "JwtPolicy",
    "KeySetError",
    "KeySource",
    "LocalKeyError",
    "Permission",
    "Principal",
    "Role",
    "TokenFile",
    "TokenSource",
    "Unauthenticated",
    "delivery_jwks_path",
    "delivery_key_path",
    "ensure_delivery_key",
    "ensure_local_key",
    "function_audience",
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
    "sink_tokens",
    "uses_local_delivery_issuer",
    "uses_local_issuer",
]
