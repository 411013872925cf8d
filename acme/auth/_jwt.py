"""The bearer-JWT :class:`~acme.auth.AccessPolicy`: signature, issuer, audience, time, roles.

A token is accepted only when every check passes, in this order, each failure an
:class:`~acme.auth.Unauthenticated` saying which check failed:

1. ``Authorization: Bearer <JWS compact>`` (at most 16 KiB);
2. header ``alg`` is RS256 or ES256 (``none`` and HS* are refused before any key is looked
   at, so a public key can never be used as an HMAC secret); no ``crit`` header;
3. the signature verifies with the :class:`~acme.auth.KeySource` key of the header ``kid``;
4. ``iss`` equals the configured issuer, ``aud`` is or contains the configured audience;
5. ``exp`` (required) is not past, ``nbf`` and ``iat`` (when present) are not ahead, each
   with ``clock_skew`` seconds of tolerance;
6. ``sub`` names the caller; the roles claim (a dotted path, e.g. ``realm_access.roles``) is
   a list of strings (or one space-separated string); roles outside the matrix are dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError

from acme.auth._keys import ALGORITHMS, KeySource
from acme.auth._principal import Principal, Unauthenticated
from acme.auth._roles import grants, known_roles

MAX_TOKEN_BYTES = 16 * 1024


class JwtPolicy:
    """Bearer JWTs verified against ``keys``, for one issuer and audience."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        clock_skew: float = 30.0,
        roles_claim: str = "roles",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("issuer and audience must be non-empty")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.clock_skew = clock_skew
        self.roles_path = tuple(roles_claim.split("."))
        self._clock = clock

    def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        claims = self.verify(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 128:
            raise Unauthenticated("the token's sub must name the caller (1-128 characters)")
        roles = known_roles(_roles_at(claims, self.roles_path))
        return Principal(subject, frozenset(role.value for role in roles), self.issuer)

    def allows(self, principal: Principal, permission: str) -> bool:
        return grants(principal.roles, permission)

    def verify(self, token: str) -> Mapping[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience and times check out."""
        header = _header(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise Unauthenticated(
                f"token algorithm {alg!r} is not accepted (expected {' or '.join(ALGORITHMS)})"
            )
        if "crit" in header:
            raise Unauthenticated("token header 'crit' names extensions this server does not know")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("token header 'kid' must be a string")
        key = self.keys.key_for(kid, alg)
        try:
            signed = jws.deserialize_compact(token, key, algorithms=[alg])
        except BadSignatureError:
            raise Unauthenticated(f"token signature does not verify with key {key.kid!r}") from None
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(f"malformed token: {exc}") from None
        claims = _json_object(signed.payload or b"", "payload")
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise Unauthenticated(
                f"token issuer {claims.get('iss')!r} is not {self.issuer!r} (ACME_AUTH_ISSUER)"
            )
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise Unauthenticated(
                f"token audience {audience!r} does not include {self.audience!r} "
                "(ACME_AUTH_AUDIENCE)"
            )
        now = self._clock()
        expires = _numeric_date(claims, "exp", required=True)
        if expires is not None and now > expires + self.clock_skew:
            raise Unauthenticated(f"token expired at {_when(expires)}")
        not_before = _numeric_date(claims, "nbf", required=False)
        if not_before is not None and now + self.clock_skew < not_before:
            raise Unauthenticated(f"token is not valid before {_when(not_before)}")
        issued = _numeric_date(claims, "iat", required=False)
        if issued is not None and now + self.clock_skew < issued:
            raise Unauthenticated(f"token was issued in the future ({_when(issued)})")


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthenticated("no bearer token: send 'Authorization: Bearer <JWT>'")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(f"Authorization scheme {scheme!r} is not 'Bearer <JWT>'")
    token = token.strip()
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated(f"token longer than {MAX_TOKEN_BYTES} bytes")
    return token


def _header(token: str) -> Mapping[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthenticated("token is not a signed JWT (expected header.payload.signature)")
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise Unauthenticated("token header is not base64url") from None
    return _json_object(raw, "header")


def _json_object(raw: bytes, part: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Unauthenticated(f"token {part} is not JSON") from None
    if not isinstance(value, dict):
        raise Unauthenticated(f"token {part} is not a JSON object")
    return value


def _numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise Unauthenticated(f"token has no {name} claim")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(f"token claim {name} must be a NumericDate, got {value!r}")
    return float(value)


def _when(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return repr(seconds)


def _roles_at(claims: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    value: Any = claims
    for name in path:
        if not isinstance(value, Mapping):
            return []
        value = value.get(name)
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
