"""Authenticated event delivery: who may hand a CloudEvent function an event.

Only the platform delivers events (docs/architecture.md, trust boundary). Every delivery carries
``Authorization: Bearer <token>``, a short-lived JWT whose ``aud`` is the receiving function's
audience (:func:`function_audience`), as Knative Eventing does with its OIDC sender identity:

- locally, the router (and the gateway, for the client address it vouches for) signs with the
  delivery key that ``acme up`` creates (``<home>/auth/events-key.json``), issuer
  :data:`DELIVERY_ISSUER`; functions verify with its public half (``events-jwks.json``);
- in a cluster, the broker sends the token Kubernetes issues for the Trigger's
  ``subscriber.audience``; ``ACME_EVENTS_ISSUER`` and ``ACME_EVENTS_JWKS_URL``/``_FILE`` name the
  cluster's service-account issuer and keys (docs/auth.md).

A token we sign says what it is for in the ``acme_use`` claim: ``delivery`` (an event) or
``forwarded`` (the gateway's statement of a request's client address). A delivery is refused a
``forwarded`` token and the other way round, so one cannot stand in for the other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from joserfc import jwt
from joserfc.jwk import ECKey

from acme.auth._jwt import JwtPolicy, bearer_token
from acme.auth._keyfile import ALGORITHM, ensure_key, load_private_key
from acme.auth._keys import JwksFile, JwksUrl, KeySource
from acme.auth._principal import Unauthenticated
from acme.errors import ConfigError
from acme.settings import Settings

DELIVERY_ISSUER: Final = "acme-local-events"
"""``iss`` of the delivery tokens the local platform signs (the default ``ACME_EVENTS_ISSUER``)."""
AUDIENCE_PREFIX: Final = "acme/functions/"
USE_CLAIM: Final = "acme_use"
CLIENT_CLAIM: Final = "client_ip"
FORWARDED_HEADER: Final = "X-Acme-Forwarded"
"""The header carrying the gateway's ``forwarded`` token to an HTTP function."""
Use = Literal["delivery", "forwarded"]


def function_audience(settings: Settings, function: str) -> str:
    """The audience deliveries to ``function`` carry: ``ACME_EVENTS_AUDIENCE`` when set (the
    function's own process), else ``acme/functions/<function>``."""
    return settings.events_audience or f"{AUDIENCE_PREFIX}{function}"


def delivery_key_path(settings: Settings) -> Path:
    """``ACME_EVENTS_SIGNING_KEY`` or ``<home>/auth/events-key.json``."""
    return (settings.events_signing_key or settings.home / "auth" / "events-key.json").resolve()


def delivery_jwks_path(settings: Settings) -> Path:
    """``ACME_EVENTS_JWKS_FILE`` or ``<home>/auth/events-jwks.json``."""
    return (settings.events_jwks_file or settings.home / "auth" / "events-jwks.json").resolve()


def uses_local_delivery_issuer(settings: Settings) -> bool:
    """True when deliveries are signed and verified with the local delivery key."""
    return settings.events_jwks_url is None and settings.events_issuer == DELIVERY_ISSUER


def ensure_delivery_key(settings: Settings) -> Path | None:
    """Create the delivery key if absent and (re)write its JWKS (``acme up``); the JWKS path.

    None when deliveries are verified against a cluster's issuer instead.
    """
    if not uses_local_delivery_issuer(settings):
        return None
    jwks = delivery_jwks_path(settings)
    ensure_key(delivery_key_path(settings), jwks)
    return jwks


class TokenSource(Protocol):
    """Gives the bearer token for a request to ``audience``."""

    def token(self, audience: str, *, use: Use = "delivery", **claims: Any) -> str: ...


class DeliverySigner:
    """Signs short-lived tokens for one audience at a time with a private EC key."""

    def __init__(
        self,
        key: ECKey,
        *,
        issuer: str,
        subject: str,
        ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._issuer = issuer
        self._subject = subject
        self._ttl = ttl
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, *, subject: str) -> DeliverySigner:
        """The signer of the delivery key; :class:`LocalKeyError` when there is none."""
        key = load_private_key(delivery_key_path(settings), setting="ACME_EVENTS_SIGNING_KEY")
        return cls(
            key, issuer=settings.events_issuer, subject=subject, ttl=settings.events_token_ttl
        )

    def token(self, audience: str, *, use: Use = "delivery", **claims: Any) -> str:
        now = int(self._clock())
        payload: dict[str, Any] = {
            **claims,
            "iss": self._issuer,
            "sub": self._subject,
            "aud": audience,
            "iat": now,
            "exp": now + int(self._ttl),
            "jti": str(uuid.uuid4()),
            USE_CLAIM: use,
        }
        header = {"alg": ALGORITHM, "kid": str(self._key.kid), "typ": "JWT"}
        return jwt.encode(header, payload, self._key, algorithms=[ALGORITHM])


class TokenFile:
    """A token someone else issues and refreshes in a file: a Kubernetes projected
    service-account token, whose audience was fixed when it was projected."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def token(self, audience: str, *, use: Use = "delivery", **claims: Any) -> str:
        try:
            value = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                "ACME_EVENTS_TOKEN_FILE", f"{self.path}: cannot read the token ({exc.strerror})"
            ) from None
        if not value:
            raise ConfigError("ACME_EVENTS_TOKEN_FILE", f"{self.path}: the file is empty")
        return value


def sink_tokens(settings: Settings, *, subject: str) -> tuple[TokenSource, str]:
    """What an HTTP publisher (``K_SINK``) authenticates with, and the audience it asks for."""
    audience = settings.events_sink_audience or settings.k_sink or ""
    if settings.events_token_file is not None:
        return TokenFile(settings.events_token_file), audience
    if settings.events_sink_audience is None:
        raise ConfigError(
            "ACME_EVENTS_SINK_AUDIENCE",
            "K_SINK is set: name the sink's audience (the Broker's status.address.audience), or "
            "set ACME_EVENTS_TOKEN_FILE to a projected service-account token",
        )
    return DeliverySigner.from_settings(settings, subject=subject), audience


class DeliveryVerifier:
    """Checks the bearer token of a request to one function before anything else is read."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        subjects: tuple[str, ...] = (),
        clock_skew: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audience = audience
        self._policy = JwtPolicy(
            keys, issuer=issuer, audience=audience, clock_skew=clock_skew, clock=clock
        )
        self._subjects = subjects

    @classmethod
    def from_settings(cls, settings: Settings, function: str) -> DeliveryVerifier:
        keys: KeySource
        if settings.events_jwks_url is not None:
            keys = JwksUrl(settings.events_jwks_url, max_age=settings.auth_jwks_max_age)
        else:
            keys = JwksFile(delivery_jwks_path(settings))
        subjects = tuple(
            s.strip() for s in (settings.events_subjects or "").split(",") if s.strip()
        )
        return cls(
            keys,
            issuer=settings.events_issuer,
            audience=function_audience(settings, function),
            subjects=subjects,
            clock_skew=settings.auth_clock_skew,
        )

    def verify(self, authorization: str | None, *, use: Use = "delivery") -> Mapping[str, Any]:
        """The claims of a valid token for this audience; :class:`Unauthenticated` otherwise."""
        claims = self._policy.verify(bearer_token(authorization))
        stated = claims.get(USE_CLAIM)
        if use == "forwarded" and stated != "forwarded":
            raise Unauthenticated("the token does not vouch for a forwarded request")
        if use == "delivery" and stated not in (None, "delivery"):
            raise Unauthenticated(f"a {stated!r} token cannot deliver events")
        subject = claims.get("sub")
        if self._subjects and not any(_matches(str(subject), s) for s in self._subjects):
            raise Unauthenticated(f"sender {subject!r} is not allowed (ACME_EVENTS_SUBJECTS)")
        return claims


def _matches(subject: str, pattern: str) -> bool:
    return subject.startswith(pattern[:-1]) if pattern.endswith("*") else subject == pattern
