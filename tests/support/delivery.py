"""Delivery-token helpers for tests: a real signer with a throwaway key."""

from __future__ import annotations

from joserfc.jwk import ECKey

from acme.auth import DeliverySigner


def unused_signer() -> DeliverySigner:
    """A signer for components that need one but whose tokens the test does not check."""
    return throwaway_signer()


def throwaway_signer(*, issuer: str = "acme-local-events", ttl: float = 60.0) -> DeliverySigner:
    key = ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"})
    key.ensure_kid()
    return DeliverySigner(key, issuer=issuer, subject="tests", ttl=ttl)
